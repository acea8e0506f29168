// Normalizers fitted on training data and applied unchanged to any later data: standard (z-score), min-max,
// max-abs (per column) and l2 (per row). Every column-wise kind is one formula, x' = (x − center) / scale + shift,
// with per-column center and scale (float64, saved exactly in JSON):
//   standard: center = mean (unless withMean is false), scale = population standard deviation (unless withStd
//             is false); a column with std 0 keeps scale 1, so it is only centered (it becomes all zeros).
//   minmax:   center = column min, scale = (max − min) / (hi − lo), shift = lo; a constant column maps to lo.
//   maxabs:   scale = max |x| (1 for an all-zero column); keeps zeros zero and signs as they are.
//   l2:       each row divided by its l2 norm; nothing to fit (all-zero rows stay zero).
// Dense matrices take every kind. CSR matrices take the kinds that keep zeros at zero: standard with
// withMean: false (scaling only; the fitted std still counts the implicit zeros), maxabs and l2. Centering
// or min-max on CSR would turn every implicit zero into a stored value, so it is refused (UNSUPPORTED).
// Imports core only.
import { z } from 'zod';
import { AimassError, parseWith } from '../core/index.js';
import { assertCsr, assertDense, columnMoments, isCsr, normalizeSpans, type CsrMatrix, type DenseMatrix, type FeatureMatrix } from './sparse.js';

export const NormalizerSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('standard'), withMean: z.boolean().default(true), withStd: z.boolean().default(true) }).strict(),
  z
    .object({
      kind: z.literal('minmax'),
      range: z
        .tuple([z.number().finite(), z.number().finite()])
        .refine(([lo, hi]) => lo < hi, 'the range must be [lo, hi] with lo < hi')
        .default([0, 1]),
    })
    .strict(),
  z.object({ kind: z.literal('maxabs') }).strict(),
  z.object({ kind: z.literal('l2') }).strict(),
]);

export type NormalizerSpec = z.output<typeof NormalizerSpecSchema>;
export type NormalizerSpecInput = z.input<typeof NormalizerSpecSchema>;
export type NormalizerKind = NormalizerSpec['kind'];

export interface NormalizerJSON {
  spec: NormalizerSpec;
  width: number;
  center: number[] | null;
  scale: number[] | null;
  shift: number;
}

export const NormalizerJSONSchema = z
  .object({
    spec: NormalizerSpecSchema,
    width: z.number().int().min(0),
    center: z.array(z.number().finite()).nullable(),
    scale: z.array(z.number().finite().refine((v) => v !== 0, 'a scale must not be 0')).nullable(),
    shift: z.number().finite(),
  })
  .strict()
  .superRefine((s, ctx) => {
    for (const key of ['center', 'scale'] as const) {
      const a = s[key];
      if (a && a.length !== s.width) ctx.addIssue({ code: 'custom', path: [key], message: `expected ${s.width} values (one per column), got ${a.length}` });
    }
  });

function assertFinite(x: FeatureMatrix): void {
  const values = isCsr(x) ? x.values : x.data;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      const where = isCsr(x) ? `stored value ${i} (column ${x.indices[i]})` : `row ${Math.floor(i / x.cols)}, column ${i % x.cols}`;
      throw new AimassError('INVALID_ARGUMENT', `a normalizer needs finite values to fit, but ${where} is ${values[i]}; clean or impute the data first`);
    }
  }
}

export class Normalizer {
  private constructor(
    readonly spec: NormalizerSpec,
    readonly width: number,
    private readonly center: Float64Array | null,
    private readonly scale: Float64Array | null,
    private readonly shift: number,
  ) {}

  /** Fits on the training matrix `x`; INVALID_SPEC for a bad spec, UNSUPPORTED for centering a CSR matrix. */
  static fit(x: FeatureMatrix, spec: NormalizerSpecInput): Normalizer {
    const s = parseWith(NormalizerSpecSchema, spec, 'normalizer spec', 'normalizer');
    if (isCsr(x)) assertCsr(x, 'the matrix to fit a normalizer on');
    else assertDense(x, 'the matrix to fit a normalizer on');
    assertSparseFriendly(s, x);
    assertFinite(x);
    const cols = x.cols;
    switch (s.kind) {
      case 'l2':
        return new Normalizer(s, cols, null, null, 0);
      case 'standard': {
        if (x.rows === 0) throw new AimassError('INVALID_ARGUMENT', 'a standard normalizer needs at least one row to fit');
        const { mean, variance } = columnMoments(x);
        const scale = s.withStd ? variance.map((v) => (v > 0 ? Math.sqrt(v) : 1)) : null;
        return new Normalizer(s, cols, s.withMean ? mean : null, scale, 0);
      }
      case 'minmax':
      case 'maxabs': {
        if (x.rows === 0) throw new AimassError('INVALID_ARGUMENT', `a ${s.kind} normalizer needs at least one row to fit`);
        const { min, max } = columnRange(x);
        if (s.kind === 'maxabs') return new Normalizer(s, cols, null, min.map((lo, j) => Math.max(Math.abs(lo), Math.abs(max[j])) || 1), 0);
        const [lo, hi] = s.range;
        const scale = min.map((m, j) => (max[j] > m ? (max[j] - m) / (hi - lo) : 1));
        return new Normalizer(s, cols, min, scale, lo);
      }
    }
  }

  get kind(): NormalizerKind {
    return this.spec.kind;
  }

  transform(x: DenseMatrix): DenseMatrix;
  transform(x: CsrMatrix): CsrMatrix;
  transform(x: FeatureMatrix): FeatureMatrix;
  transform(x: FeatureMatrix): FeatureMatrix {
    if (x.cols !== this.width) {
      throw new AimassError('SHAPE_MISMATCH', `this normalizer was fitted on ${this.width} columns but got ${x.cols}`, { expected: this.width, actual: x.cols });
    }
    if (isCsr(x)) {
      assertSparseFriendly(this.spec, x);
      const values = x.values.slice();
      if (this.spec.kind === 'l2') normalizeSpans(values, x.indptr, x.rows, 'l2');
      else if (this.scale) {
        const scale = this.scale;
        for (let k = 0; k < values.length; k++) values[k] = values[k] / scale[x.indices[k]];
      }
      return { rows: x.rows, cols: x.cols, indptr: x.indptr.slice(), indices: x.indices.slice(), values };
    }
    assertDense(x);
    const { rows, cols } = x;
    const out = new Float32Array(x.data.length);
    if (this.spec.kind === 'l2') {
      for (let r = 0; r < rows; r++) {
        let total = 0;
        for (let c = 0; c < cols; c++) total += x.data[r * cols + c] * x.data[r * cols + c];
        const norm = total > 0 ? Math.sqrt(total) : 1;
        for (let c = 0; c < cols; c++) out[r * cols + c] = x.data[r * cols + c] / norm;
      }
      return { rows, cols, data: out };
    }
    const center = this.center;
    const scale = this.scale;
    const shift = this.shift;
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) {
        let v = x.data[base + c];
        if (center) v -= center[c];
        if (scale) v /= scale[c];
        out[base + c] = v + shift;
      }
    }
    return { rows, cols, data: out };
  }

  toJSON(): NormalizerJSON {
    return {
      spec: structuredClone(this.spec),
      width: this.width,
      center: this.center ? Array.from(this.center) : null,
      scale: this.scale ? Array.from(this.scale) : null,
      shift: this.shift,
    };
  }

  static fromJSON(obj: unknown): Normalizer {
    const s = parseWith(NormalizerJSONSchema, obj, 'saved normalizer', 'normalizer');
    return new Normalizer(s.spec, s.width, s.center ? Float64Array.from(s.center) : null, s.scale ? Float64Array.from(s.scale) : null, s.shift);
  }
}

/** Whether a normalizer of this spec keeps a CSR matrix's zeros at zero. */
export function isSparseFriendly(spec: NormalizerSpec): boolean {
  return spec.kind === 'l2' || spec.kind === 'maxabs' || (spec.kind === 'standard' && !spec.withMean);
}

function assertSparseFriendly(spec: NormalizerSpec, x: FeatureMatrix): void {
  if (!isCsr(x) || isSparseFriendly(spec)) return;
  const fix = spec.kind === 'standard' ? 'use { "kind": "standard", "withMean": false } (scaling only)' : 'use "maxabs" (scales into [-1, 1] and keeps zeros)';
  throw new AimassError('UNSUPPORTED', `a ${spec.kind} normalizer with centering would turn every zero of a sparse matrix into a stored value; ${fix}, or convert to dense first`, {
    kind: spec.kind,
  });
}

/** Per column min and max; a CSR matrix's implicit zeros count when a column has any. */
function columnRange(x: FeatureMatrix): { min: Float64Array; max: Float64Array } {
  const min = new Float64Array(x.cols).fill(Infinity);
  const max = new Float64Array(x.cols).fill(-Infinity);
  if (isCsr(x)) {
    const stored = new Int32Array(x.cols);
    for (let k = 0; k < x.indices.length; k++) {
      const j = x.indices[k];
      const v = x.values[k];
      if (v < min[j]) min[j] = v;
      if (v > max[j]) max[j] = v;
      stored[j]++;
    }
    for (let j = 0; j < x.cols; j++) {
      if (stored[j] < x.rows) {
        if (min[j] > 0) min[j] = 0;
        if (max[j] < 0) max[j] = 0;
      }
    }
  } else {
    for (let r = 0; r < x.rows; r++) {
      for (let c = 0; c < x.cols; c++) {
        const v = x.data[r * x.cols + c];
        if (v < min[c]) min[c] = v;
        if (v > max[c]) max[c] = v;
      }
    }
  }
  return { min, max };
}
