// Feature selection: scores per column (chi², mutual information with the class, variance), the choice of the
// top k or of the columns above a threshold, and the fitted selector, which is just the kept column indices
// (increasing, so selected columns keep their relative order) with their scores. Works on CSR and dense
// matrices. Imports core only.
//
// Estimators (all computed in float64):
//   chi²: as scikit-learn's chi2 for non-negative features (counts, frequencies, TF-IDF). Observed O[c][j] is the
//     sum of column j over the rows of class c; expected E[c][j] = (rows of class c / rows) × (sum of column j);
//     score = Σ_c (O − E)² / E. A column that is zero everywhere scores 0.
//   mutual information: between the binary indicator "value > 0" (term present / absent) and the class, with
//     the plug-in (maximum-likelihood) estimate from the 2 × classes contingency table, in nats:
//     I = Σ_{x∈{0,1}} Σ_c p(x, c) ln(p(x, c) / (p(x) p(c))). This is information gain for text features. It is
//     not scikit-learn's mutual_info_classif on continuous values (a k-nearest-neighbour estimate); it equals
//     sklearn's mutual_info_score on the present/absent column. Features must be non-negative.
//   variance: population variance (divide by rows) of each column; needs no labels.
import { z } from 'zod';
import { AimassError, parseWith } from '../core/index.js';
import { assertCsr, assertDense, columnMoments, csrSelectColumns, denseSelectColumns, isCsr, type CsrMatrix, type DenseMatrix, type FeatureMatrix } from './sparse.js';

export type LabelValue = string | number | bigint;
/** Class labels, one per row: numbers, strings or bigints (a Dataset's BigInt64Array labels work as they are). */
export type LabelsLike = ArrayLike<LabelValue>;

export type SelectionMethod = 'chi2' | 'mutual_info' | 'variance';

// z.custom rather than a union, so a bad k gets one message at its own path
const KSchema = z.custom<number | 'all'>((v) => v === 'all' || (Number.isInteger(v) && (v as number) > 0), {
  message: 'expected a whole number of columns (>= 1) or "all"',
});

export const SelectorSpecSchema = z
  .object({
    method: z.enum(['chi2', 'mutual_info', 'variance']),
    /** Keep the k best columns (ties: the lower column index); 'all', or k above the width, keeps every column. */
    k: KSchema.nullable().default(null),
    /** Keep the columns whose score is greater than this. */
    threshold: z.number().finite().nullable().default(null),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.k !== null && s.threshold !== null) ctx.addIssue({ code: 'custom', path: ['k'], message: 'give either k or threshold, not both' });
    if (s.k === null && s.threshold === null && s.method !== 'variance') {
      ctx.addIssue({ code: 'custom', path: ['k'], message: `${s.method} selection needs k (how many columns to keep) or threshold (the score to beat)` });
    }
  })
  .transform((s) => (s.method === 'variance' && s.k === null && s.threshold === null ? { ...s, threshold: 0 } : s));

export type SelectorSpec = z.output<typeof SelectorSpecSchema>;
export type SelectorSpecInput = z.input<typeof SelectorSpecSchema>;

export interface FeatureSelectorJSON {
  method: SelectionMethod;
  k: number | 'all' | null;
  threshold: number | null;
  inputWidth: number;
  /** Kept column indices, increasing. */
  columns: number[];
  /** Score of each kept column, aligned with `columns`. */
  scores: number[];
}

export const FeatureSelectorJSONSchema = z
  .object({
    method: z.enum(['chi2', 'mutual_info', 'variance']),
    k: KSchema.nullable(),
    threshold: z.number().finite().nullable(),
    inputWidth: z.number().int().min(1),
    columns: z.array(z.number().int().min(0)).min(1),
    scores: z.array(z.number()),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.scores.length !== s.columns.length) ctx.addIssue({ code: 'custom', path: ['scores'], message: `expected ${s.columns.length} scores (one per kept column), got ${s.scores.length}` });
    for (let j = 0; j < s.columns.length; j++) {
      if (s.columns[j] >= s.inputWidth || (j > 0 && s.columns[j] <= s.columns[j - 1])) {
        ctx.addIssue({ code: 'custom', path: ['columns', j], message: `columns must increase and stay below inputWidth ${s.inputWidth}` });
        break;
      }
    }
  });

/** Class ids 0..classes-1 for each row, in order of first appearance. */
export function encodeLabels(labels: LabelsLike, rows: number): { classOf: Int32Array; classes: LabelValue[] } {
  if (labels === null || typeof labels !== 'object' || typeof labels.length !== 'number') {
    throw new AimassError('INVALID_ARGUMENT', 'labels must be an array (or typed array) with one class label per row');
  }
  if (labels.length !== rows) throw new AimassError('INVALID_ARGUMENT', `there are ${labels.length} labels for ${rows} rows; give exactly one label per row`);
  const ids = new Map<LabelValue, number>();
  const classes: LabelValue[] = [];
  const classOf = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const label = labels[r];
    if (typeof label !== 'string' && typeof label !== 'number' && typeof label !== 'bigint') {
      throw new AimassError('INVALID_ARGUMENT', `label ${r} is ${label === null ? 'null' : typeof label}; labels must be strings, numbers or bigints`);
    }
    let id = ids.get(label);
    if (id === undefined) {
      id = classes.length;
      ids.set(label, id);
      classes.push(label);
    }
    classOf[r] = id;
  }
  return { classOf, classes };
}

function checkMatrix(x: FeatureMatrix): void {
  if (isCsr(x)) assertCsr(x, 'the feature matrix');
  else assertDense(x, 'the feature matrix');
}

/** Throws INVALID_ARGUMENT at the first negative or non-finite value; `why` names the method that needs it. */
function assertNonNegative(x: FeatureMatrix, why: string): void {
  if (isCsr(x)) {
    for (let r = 0; r < x.rows; r++) {
      for (let k = x.indptr[r]; k < x.indptr[r + 1]; k++) {
        const v = x.values[k];
        if (!(v >= 0 && v < Infinity)) badValue(r, x.indices[k], v, why);
      }
    }
  } else {
    for (let i = 0; i < x.data.length; i++) {
      const v = x.data[i];
      if (!(v >= 0 && v < Infinity)) badValue(Math.floor(i / x.cols), i % x.cols, v, why);
    }
  }
}

function badValue(row: number, col: number, v: number, why: string): never {
  throw new AimassError('INVALID_ARGUMENT', `${why} needs finite, non-negative features, but row ${row}, column ${col} is ${v}; select on counts or TF-IDF before any centering normalizer, and turn off alternateSign for hashed features`, { row, column: col, value: v });
}

function classCounts(classOf: Int32Array, classes: number): Float64Array {
  const counts = new Float64Array(classes);
  for (let r = 0; r < classOf.length; r++) counts[classOf[r]]++;
  return counts;
}

/** Per class and column: the sum of the column's values (or, with `presence`, of value > 0). */
function classColumnTotals(x: FeatureMatrix, classOf: Int32Array, classes: number, presence: boolean): Float64Array {
  const totals = new Float64Array(classes * x.cols);
  if (isCsr(x)) {
    for (let r = 0; r < x.rows; r++) {
      const base = classOf[r] * x.cols;
      for (let k = x.indptr[r]; k < x.indptr[r + 1]; k++) totals[base + x.indices[k]] += presence ? (x.values[k] > 0 ? 1 : 0) : x.values[k];
    }
  } else {
    for (let r = 0; r < x.rows; r++) {
      const base = classOf[r] * x.cols;
      const row = r * x.cols;
      for (let c = 0; c < x.cols; c++) {
        const v = x.data[row + c];
        totals[base + c] += presence ? (v > 0 ? 1 : 0) : v;
      }
    }
  }
  return totals;
}

/** chi² of each column against the class (see the header for the estimator). */
export function chi2Scores(x: FeatureMatrix, labels: LabelsLike): Float64Array {
  checkMatrix(x);
  const { classOf, classes } = encodeLabels(labels, x.rows);
  assertNonNegative(x, 'chi² selection');
  const nClasses = classes.length;
  const observed = classColumnTotals(x, classOf, nClasses, false);
  const counts = classCounts(classOf, nClasses);
  const scores = new Float64Array(x.cols);
  for (let j = 0; j < x.cols; j++) {
    let columnTotal = 0;
    for (let c = 0; c < nClasses; c++) columnTotal += observed[c * x.cols + j];
    if (columnTotal === 0) continue;
    let score = 0;
    for (let c = 0; c < nClasses; c++) {
      const expected = (counts[c] / x.rows) * columnTotal;
      const d = observed[c * x.cols + j] - expected;
      score += (d * d) / expected;
    }
    scores[j] = score;
  }
  return scores;
}

/** Mutual information (nats) between "column > 0" and the class (see the header for the estimator). */
export function mutualInfoScores(x: FeatureMatrix, labels: LabelsLike): Float64Array {
  checkMatrix(x);
  const { classOf, classes } = encodeLabels(labels, x.rows);
  assertNonNegative(x, 'mutual-information selection');
  const nClasses = classes.length;
  const present = classColumnTotals(x, classOf, nClasses, true);
  const counts = classCounts(classOf, nClasses);
  const n = x.rows;
  const scores = new Float64Array(x.cols);
  const term = (joint: number, marginalX: number, marginalC: number) => (joint === 0 ? 0 : (joint / n) * Math.log((n * joint) / (marginalX * marginalC)));
  for (let j = 0; j < x.cols; j++) {
    let withTerm = 0;
    for (let c = 0; c < nClasses; c++) withTerm += present[c * x.cols + j];
    const withoutTerm = n - withTerm;
    let mi = 0;
    for (let c = 0; c < nClasses; c++) {
      const p = present[c * x.cols + j];
      mi += term(p, withTerm, counts[c]) + term(counts[c] - p, withoutTerm, counts[c]);
    }
    // rounding can leave a tiny negative for an independent column; information is never negative
    scores[j] = mi > 0 ? mi : 0;
  }
  return scores;
}

/** Population variance of each column (zeros of a CSR matrix included). */
export function varianceScores(x: FeatureMatrix): Float64Array {
  checkMatrix(x);
  return columnMoments(x).variance;
}

/** Scores of every column by `method`; labels are required except for 'variance'. */
export function scoreFeatures(x: FeatureMatrix, labels: LabelsLike | undefined, method: SelectionMethod): Float64Array {
  if (method === 'variance') return varianceScores(x);
  if (labels === undefined) throw new AimassError('INVALID_ARGUMENT', `${method} selection compares features with class labels; pass one label per row`);
  return method === 'chi2' ? chi2Scores(x, labels) : mutualInfoScores(x, labels);
}

/** Column indices by decreasing score; equal scores keep the lower index first. */
export function rankByScore(scores: ArrayLike<number>): Int32Array {
  const order = Int32Array.from({ length: scores.length }, (_, i) => i);
  return order.sort((a, b) => scores[b] - scores[a] || a - b);
}

export class FeatureSelector {
  private constructor(
    readonly spec: SelectorSpec,
    readonly inputWidth: number,
    /** Kept column indices, increasing. */
    readonly columns: Int32Array,
    /** Score of each kept column, aligned with `columns`. */
    readonly scores: Float64Array,
  ) {}

  /** Scores the columns of `x` and keeps the top k or those above the threshold. */
  static fit(x: FeatureMatrix, labels: LabelsLike | undefined, spec: SelectorSpecInput): FeatureSelector {
    const s = parseWith(SelectorSpecSchema, spec, 'feature selector spec', 'selector');
    const all = scoreFeatures(x, labels, s.method);
    let kept: Int32Array;
    if (s.k !== null) {
      const k = s.k === 'all' ? x.cols : Math.min(s.k, x.cols);
      kept = rankByScore(all).slice(0, k).sort();
    } else {
      const threshold = s.threshold!;
      const chosen: number[] = [];
      let best = -Infinity;
      for (let j = 0; j < all.length; j++) {
        if (all[j] > threshold) chosen.push(j);
        if (all[j] > best) best = all[j];
      }
      if (chosen.length === 0) {
        throw new AimassError(
          'INVALID_ARGUMENT',
          `the ${s.method} threshold ${threshold} removed all ${x.cols} columns (the highest score is ${best === -Infinity ? 'undefined: there are no columns' : best}); lower the threshold or use k`,
          { setting: 'threshold', threshold, bestScore: best === -Infinity ? null : best },
        );
      }
      kept = Int32Array.from(chosen);
    }
    if (kept.length === 0) throw new AimassError('INVALID_ARGUMENT', 'the feature matrix has no columns to select from');
    return new FeatureSelector(s, x.cols, kept, Float64Array.from(kept, (j) => all[j]));
  }

  /** Number of columns kept. */
  get width(): number {
    return this.columns.length;
  }

  transform(x: CsrMatrix): CsrMatrix;
  transform(x: DenseMatrix): DenseMatrix;
  transform(x: FeatureMatrix): FeatureMatrix;
  transform(x: FeatureMatrix): FeatureMatrix {
    if (x.cols !== this.inputWidth) {
      throw new AimassError('SHAPE_MISMATCH', `this selector was fitted on ${this.inputWidth} columns but got ${x.cols}; transform with the same vectorizer it was fitted after`, {
        expected: this.inputWidth,
        actual: x.cols,
      });
    }
    return isCsr(x) ? csrSelectColumns(x, this.columns) : denseSelectColumns(x, this.columns);
  }

  /** Names of the kept columns, given the names of the input columns. */
  names(inputNames: readonly string[]): string[] {
    return Array.from(this.columns, (j) => inputNames[j]);
  }

  toJSON(): FeatureSelectorJSON {
    return {
      method: this.spec.method,
      k: this.spec.k,
      threshold: this.spec.threshold,
      inputWidth: this.inputWidth,
      columns: Array.from(this.columns),
      scores: Array.from(this.scores),
    };
  }

  static fromJSON(obj: unknown): FeatureSelector {
    const s = parseWith(FeatureSelectorJSONSchema, obj, 'saved feature selector', 'selector');
    return new FeatureSelector({ method: s.method, k: s.k, threshold: s.threshold }, s.inputWidth, Int32Array.from(s.columns), Float64Array.from(s.scores));
  }
}
