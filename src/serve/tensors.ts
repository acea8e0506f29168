// Host tensors as serving passes them around (typed arrays, or string arrays, with dims; no runtime types), and the batch
// arithmetic on them: the batch size of a request, concatenation of requests along dim 0, splitting outputs back,
// and dummy inputs built from a signature for warm-up. Runtime-free: nothing here knows about ONNX Runtime.
import { AimassError } from '../core/index.js';

/**
 * Element types serving passes (ONNX Runtime's, less float16). A bool is one byte, 0 or 1, in a Uint8Array; a
 * string tensor is a plain array of strings, which cannot be transferred between threads and is copied instead.
 */
export type HostTensorType = 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool' | 'string';
export type HostData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array | string[];

/** A zero-filled (empty-string) array of `length` elements of `type`; the one place that maps types to arrays. */
const ALLOCATE: Record<HostTensorType, (length: number) => HostData> = {
  float32: (n) => new Float32Array(n),
  float64: (n) => new Float64Array(n),
  int8: (n) => new Int8Array(n),
  int16: (n) => new Int16Array(n),
  int32: (n) => new Int32Array(n),
  int64: (n) => new BigInt64Array(n),
  uint8: (n) => new Uint8Array(n),
  uint16: (n) => new Uint16Array(n),
  uint32: (n) => new Uint32Array(n),
  uint64: (n) => new BigUint64Array(n),
  bool: (n) => new Uint8Array(n),
  string: (n) => new Array<string>(n).fill(''),
};

export const HOST_TENSOR_TYPES = Object.keys(ALLOCATE) as HostTensorType[];

export function isHostTensorType(value: unknown): value is HostTensorType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ALLOCATE, value);
}

/** A fresh array of `length` elements of `type`: zeros, false, or empty strings. */
export function allocate(type: HostTensorType, length: number): HostData {
  return ALLOCATE[type](length);
}

export interface HostTensor {
  type: HostTensorType;
  data: HostData;
  dims: readonly number[];
}

/** Tensors by input or output name. */
export type HostTensors = Record<string, HostTensor>;

/** What warm-up needs of a model signature (the registry's ModelSignature fits). */
export interface InputSignature {
  inputs: { name: string; dtype: string; shape: readonly (number | string)[] }[];
}

/** The number of samples in a request: dim 0, which every input must share. */
export function batchSizeOf(feeds: HostTensors): number {
  const entries = Object.entries(feeds);
  if (entries.length === 0) throw new AimassError('INVALID_ARGUMENT', 'a request needs at least one input tensor');
  let n: number | undefined;
  for (const [name, t] of entries) {
    const first = t.dims[0];
    if (t.dims.length === 0 || !Number.isInteger(first) || first < 1) {
      throw new AimassError('SHAPE_MISMATCH', `input "${name}" has dims [${t.dims}]; inputs need a batch dimension (dim 0) of at least 1`);
    }
    if (n === undefined) n = first;
    else if (n !== first) throw new AimassError('SHAPE_MISMATCH', `inputs disagree on the batch size: "${entries[0][0]}" has ${n} samples, "${name}" has ${first}`);
  }
  return n!;
}

/** True when two requests can share a batch: same input names, types and per-sample dims. */
export function sameSampleShape(a: HostTensors, b: HostTensors): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    const x = a[k];
    const y = b[k];
    if (!y || x.type !== y.type || x.dims.length !== y.dims.length) return false;
    for (let i = 1; i < x.dims.length; i++) if (x.dims[i] !== y.dims[i]) return false;
  }
  return true;
}

/** Concatenates requests (already checked with sameSampleShape) along dim 0 into fresh arrays. */
export function concatBatch(parts: HostTensors[]): HostTensors {
  const out: HostTensors = {};
  for (const name of Object.keys(parts[0])) {
    const first = parts[0][name];
    const total = parts.reduce((s, p) => s + p[name].dims[0], 0);
    const length = parts.reduce((s, p) => s + p[name].data.length, 0);
    const data = allocate(first.type, length);
    let offset = 0;
    for (const p of parts) {
      if (Array.isArray(data)) for (let i = 0; i < p[name].data.length; i++) data[offset + i] = (p[name].data as string[])[i];
      else (data as Float32Array).set(p[name].data as Float32Array, offset);
      offset += p[name].data.length;
    }
    out[name] = { type: first.type, data, dims: [total, ...first.dims.slice(1)] };
  }
  return out;
}

/** Splits every output along dim 0 into pieces of `sizes` samples (copies, so each caller owns its arrays). */
export function splitBatch(outputs: HostTensors, sizes: number[]): HostTensors[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const pieces: HostTensors[] = sizes.map(() => ({}));
  for (const [name, t] of Object.entries(outputs)) {
    if (t.dims[0] !== total) {
      throw new AimassError('INTERNAL', `output "${name}" has dims [${t.dims}], but the batch had ${total} samples; batching needs outputs with the batch on dim 0`);
    }
    const row = total === 0 ? 0 : t.data.length / total;
    let start = 0;
    sizes.forEach((n, i) => {
      pieces[i][name] = { type: t.type, data: t.data.slice(start * row, (start + n) * row), dims: [n, ...t.dims.slice(1)] };
      start += n;
    });
  }
  return pieces;
}

/** Zero-filled inputs of one sample (symbolic or unknown dims become 1), used to warm a model up. */
export function dummyFeeds(signature: InputSignature): HostTensors {
  const feeds: HostTensors = {};
  for (const input of signature.inputs) {
    const dims = input.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const size = dims.reduce((a, b) => a * b, 1);
    if (!isHostTensorType(input.dtype)) throw new AimassError('UNSUPPORTED', `input "${input.name}" has dtype ${input.dtype}; serving takes ${HOST_TENSOR_TYPES.join(', ')} inputs`);
    feeds[input.name] = { type: input.dtype, data: allocate(input.dtype, size), dims };
  }
  return feeds;
}

/** The buffers of `tensors` that can be moved to another thread without copying: whole, unshared, distinct. */
export function transferablesOf(tensors: HostTensors): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const t of Object.values(tensors)) {
    if (Array.isArray(t.data)) continue; // strings are copied
    const buffer = t.data.buffer;
    if (buffer instanceof ArrayBuffer && t.data.byteOffset === 0 && t.data.byteLength === buffer.byteLength) seen.add(buffer);
  }
  return [...seen];
}
