// In-memory datasets as flat typed arrays: one array per model input (n samples × per-sample size) and one
// of labels, with helpers to take subsets (for validation splits and batches) without copying more than needed.
import { AimassError, Rng } from '../core/index.js';

export type HostArray = Float32Array | BigInt64Array;

export interface Dataset {
  n: number;
  /** Per model input, the flat samples (n × product of the sample shape). */
  inputs: HostArray[];
  /** Per model input, the shape of one sample. */
  sampleShapes: number[][];
  /** int64 class ids (multiclass), 0/1 floats (binary) or floats n × outputs (regression). */
  labels: HostArray;
  labelWidth: number;
  classNames?: string[];
  featureNames?: string[];
}

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function take<T extends HostArray>(src: T, width: number, idx: ArrayLike<number>): T {
  const out = new (src.constructor as { new (n: number): T })(idx.length * width);
  for (let i = 0; i < idx.length; i++) {
    const s = idx[i] * width;
    if (width === 1) out[i] = src[s];
    else out.set(src.subarray(s, s + width) as never, i * width);
  }
  return out;
}

/** The samples at `idx`, in that order. */
export function subset(d: Dataset, idx: ArrayLike<number>): Dataset {
  return {
    ...d,
    n: idx.length,
    inputs: d.inputs.map((x, k) => take(x, sizeOf(d.sampleShapes[k]), idx)),
    labels: take(d.labels, d.labelWidth, idx),
  };
}

/** Splits off a seeded random fraction for validation; returns [train, validation]. */
export function splitFraction(d: Dataset, fraction: number, seed: number): [Dataset, Dataset] {
  if (!(fraction > 0 && fraction < 1)) throw new AimassError('INVALID_ARGUMENT', `validation fraction must be between 0 and 1, got ${fraction}`);
  const idx = new Rng(seed).shuffle(Array.from({ length: d.n }, (_, i) => i));
  const nVal = Math.max(1, Math.round(d.n * fraction));
  if (nVal >= d.n) throw new AimassError('INVALID_ARGUMENT', `a validation fraction of ${fraction} leaves no training data from ${d.n} rows`);
  const val = idx.slice(0, nVal).sort((a, b) => a - b);
  const train = idx.slice(nVal).sort((a, b) => a - b);
  return [subset(d, train), subset(d, val)];
}

/**
 * Copies the samples at idx[from .. from+count) into reusable batch buffers (one per input, plus labels),
 * so a training loop allocates nothing per step.
 */
export class BatchBuffers {
  readonly inputs: HostArray[];
  readonly labels: HostArray;
  private readonly widths: number[];

  constructor(
    private readonly d: Dataset,
    readonly batchSize: number,
  ) {
    this.widths = d.sampleShapes.map(sizeOf);
    this.inputs = d.inputs.map((x, k) => new (x.constructor as { new (n: number): HostArray })(batchSize * this.widths[k]));
    this.labels = new (d.labels.constructor as { new (n: number): HostArray })(batchSize * d.labelWidth);
  }

  fill(idx: ArrayLike<number>, from: number): void {
    const { d, batchSize } = this;
    // past the end, idx[…] is undefined and the copy would silently fill nothing
    if (!(from >= 0 && from + batchSize <= idx.length)) {
      throw new AimassError('INVALID_ARGUMENT', `a batch of ${batchSize} from position ${from} does not fit in ${idx.length} indices`);
    }
    for (let k = 0; k < d.inputs.length; k++) {
      const w = this.widths[k];
      const src = d.inputs[k];
      const dst = this.inputs[k];
      for (let i = 0; i < batchSize; i++) {
        const s = idx[from + i] * w;
        dst.set(src.subarray(s, s + w) as never, i * w);
      }
    }
    const lw = d.labelWidth;
    for (let i = 0; i < batchSize; i++) {
      const s = idx[from + i] * lw;
      if (lw === 1) this.labels[i] = d.labels[s];
      else this.labels.set(d.labels.subarray(s, s + lw) as never, i * lw);
    }
  }
}

/** Growable typed-array storage for loaders that do not know the row count in advance. */
export class Growable {
  private buf: Float32Array;
  length = 0;
  constructor(initial = 1 << 16) {
    this.buf = new Float32Array(initial);
  }
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float32Array(Math.max(16, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  toArray(): Float32Array {
    return this.buf.slice(0, this.length);
  }
}
