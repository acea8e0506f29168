/**
 * Tensors as the Open Inference Protocol v2 carries them, both ways: its datatypes (BOOL, INT8…UINT64, FP32,
 * FP64, BYTES) against serving's host types, element values from JSON (`data`, flat or nested) and from the
 * binary tensor data extension (little-endian, row-major; BOOL one byte 0 or 1; BYTES each a 4-byte
 * little-endian length then the bytes), and outputs back to JSON values or binary. Every failure names the
 * tensor. FP16 has no host type here and is refused where a model takes or gives it.
 */
import { AimassError } from '../core/index.js';
import { type HostData, type HostTensor, type HostTensorType, allocate } from '../serve/index.js';

export const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
export type Datatype = (typeof DATATYPES)[number];

interface Codec {
  datatype: Datatype;
  /** Bytes per element in binary form; 0 for BYTES (length-prefixed). */
  size: number;
  /** The range a JSON integer must fall in (integer types only). */
  range?: readonly [number, number];
}

/** Each host type's OIP datatype: the one table the conversions below read. */
const CODECS: Record<HostTensorType, Codec> = {
  bool: { datatype: 'BOOL', size: 1 },
  uint8: { datatype: 'UINT8', size: 1, range: [0, 0xff] },
  uint16: { datatype: 'UINT16', size: 2, range: [0, 0xffff] },
  uint32: { datatype: 'UINT32', size: 4, range: [0, 0xffffffff] },
  uint64: { datatype: 'UINT64', size: 8, range: [0, Number.MAX_SAFE_INTEGER] },
  int8: { datatype: 'INT8', size: 1, range: [-0x80, 0x7f] },
  int16: { datatype: 'INT16', size: 2, range: [-0x8000, 0x7fff] },
  int32: { datatype: 'INT32', size: 4, range: [-0x80000000, 0x7fffffff] },
  int64: { datatype: 'INT64', size: 8, range: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] },
  float32: { datatype: 'FP32', size: 4 },
  float64: { datatype: 'FP64', size: 8 },
  string: { datatype: 'BYTES', size: 0 },
};

const HOST_TYPE_OF = new Map<Datatype, HostTensorType>(Object.entries(CODECS).map(([host, c]) => [c.datatype, host as HostTensorType]));

/** The OIP datatype of a model tensor's element type (an ONNX Runtime type name), if serving passes that type. */
export function datatypeOf(dtype: string): Datatype | undefined {
  return Object.prototype.hasOwnProperty.call(CODECS, dtype) ? CODECS[dtype as HostTensorType].datatype : undefined;
}

/** What model metadata reports for an element type: its OIP datatype, else the type's own name in capitals. */
export function metadataDatatype(dtype: string): string {
  return datatypeOf(dtype) ?? dtype.toUpperCase();
}

export function hostTypeOf(datatype: Datatype): HostTensorType | undefined {
  return HOST_TYPE_OF.get(datatype);
}

// --- from the request --------------------------------------------------------------------------------------

/** The elements of `data` (flat or nested in any way, row-major) as an array of `type` filling `shape`. */
export function fromJson(type: HostTensorType, data: unknown[], shape: readonly number[], name: string): HostData {
  const count = sizeOf(shape);
  if ((type === 'float32' || type === 'float64') && data.length === count) {
    // The usual request, flat floats: one pass straight into the array (a third of the general path's time);
    // anything else (nested, not a number) takes the general path below, which also words the error.
    const out = allocate(type, count) as Float32Array | Float64Array;
    let i = 0;
    for (; i < count; i++) {
      const x = data[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) break;
      out[i] = x;
    }
    if (i === count) return out;
  }
  const flat: unknown[] = [];
  const walk = (xs: unknown[]) => {
    for (const x of xs) {
      if (Array.isArray(x)) walk(x);
      else flat.push(x);
    }
  };
  walk(data);
  if (flat.length !== count) throw new AimassError('INVALID_ARGUMENT', `input "${name}" has ${flat.length} elements, but shape [${shape}] needs ${count}`, { input: name });
  const codec = CODECS[type];
  const bad = (x: unknown, what: string) =>
    new AimassError('INVALID_ARGUMENT', `input "${name}" is ${codec.datatype} but holds ${JSON.stringify(x) ?? String(x)}, which is not ${what}`, { input: name });
  if (type === 'string') {
    for (const x of flat) if (typeof x !== 'string') throw bad(x, 'a string');
    return flat as string[];
  }
  if (type === 'bool') {
    const out = new Uint8Array(count);
    flat.forEach((x, i) => {
      if (typeof x !== 'boolean') throw bad(x, 'true or false');
      out[i] = x ? 1 : 0;
    });
    return out;
  }
  for (const x of flat) if (typeof x !== 'number' || !Number.isFinite(x)) throw bad(x, 'a number');
  const numbers = flat as number[];
  if (codec.range) {
    const [lo, hi] = codec.range;
    for (const x of numbers) {
      if (!Number.isInteger(x) || x < lo || x > hi) throw bad(x, `a whole number from ${lo} to ${hi}`);
    }
  }
  const out = allocate(type, count);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) numbers.forEach((x, i) => (out[i] = BigInt(x)));
  else (out as Float32Array).set(numbers);
  return out;
}

/** Elements of `type` filling `shape` from their binary form (copied, so the bytes may be unaligned). */
export function fromBinary(type: HostTensorType, bytes: Uint8Array, shape: readonly number[], name: string): HostData {
  const codec = CODECS[type];
  const count = sizeOf(shape);
  if (type === 'string') return decodeStrings(bytes, count, name);
  if (bytes.length !== count * codec.size) {
    throw new AimassError('INVALID_ARGUMENT', `input "${name}" has binary_data_size ${bytes.length}, but shape [${shape}] of ${codec.datatype} takes ${count * codec.size} bytes`, { input: name });
  }
  littleEndianOnly();
  const out = allocate(type, count) as Exclude<HostData, string[]>;
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  if (type === 'bool') {
    const i = (out as Uint8Array).findIndex((b) => b > 1);
    if (i >= 0) throw new AimassError('INVALID_ARGUMENT', `input "${name}" is BOOL but its element ${i} is the byte ${(out as Uint8Array)[i]}; BOOL elements are 0 or 1`, { input: name });
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeStrings(bytes: Uint8Array, count: number, name: string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new AimassError('INVALID_ARGUMENT', `input "${name}" is BYTES but its binary data ends inside the length of element ${out.length}`, { input: name });
    const length = view.getUint32(at, true);
    at += 4;
    if (at + length > bytes.length) throw new AimassError('INVALID_ARGUMENT', `input "${name}" is BYTES but element ${out.length} claims ${length} bytes and only ${bytes.length - at} remain`, { input: name });
    try {
      out.push(utf8.decode(bytes.subarray(at, at + length)));
    } catch {
      throw new AimassError('INVALID_ARGUMENT', `input "${name}" is BYTES but element ${out.length} is not UTF-8 text; serving passes BYTES as text`, { input: name });
    }
    at += length;
  }
  if (out.length !== count) throw new AimassError('INVALID_ARGUMENT', `input "${name}" has ${out.length} BYTES elements in its binary data, but its shape needs ${count}`, { input: name });
  return out;
}

// --- to the response ---------------------------------------------------------------------------------------

/** An output's elements as JSON values: numbers (INT64 and UINT64 as numbers, exact up to 2^53), booleans, strings. */
export function toJson(t: HostTensor): (number | boolean | string)[] {
  if (t.type === 'string') return t.data as string[];
  if (t.type === 'bool') return Array.from(t.data as Uint8Array, (b) => b !== 0);
  if (t.data instanceof BigInt64Array || t.data instanceof BigUint64Array) return Array.from(t.data, (x) => Number(x));
  return Array.from(t.data as Float32Array);
}

/** An output's elements in binary form. */
export function toBinary(t: HostTensor): Uint8Array {
  if (t.type === 'string') {
    const encoded = (t.data as string[]).map((s) => Buffer.from(s, 'utf8'));
    const out = Buffer.allocUnsafe(encoded.reduce((n, b) => n + 4 + b.length, 0));
    let at = 0;
    for (const b of encoded) {
      out.writeUInt32LE(b.length, at);
      b.copy(out, at + 4);
      at += 4 + b.length;
    }
    return out;
  }
  littleEndianOnly();
  const data = t.data as Exclude<HostData, string[]>;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function datatypeOfHost(type: HostTensorType): Datatype {
  return CODECS[type].datatype;
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function littleEndianOnly(): void {
  if (!LITTLE_ENDIAN) throw new AimassError('UNSUPPORTED', 'binary tensor data is little-endian and this server runs on a big-endian machine; send tensors as JSON');
}
