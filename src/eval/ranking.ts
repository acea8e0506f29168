// Ranking metrics of one class against the rest, defined as scikit-learn 1.2 defines them:
//   - the binary curve: samples sorted by score, one point per distinct score (ties move together);
//   - ROC: that curve with sklearn's drop_intermediate (points on a straight run are dropped), starting at
//     (0, 0); ROC-AUC is the trapezoid area under it (ties count one half, as in the Mann-Whitney U);
//   - precision-recall: one point per distinct score, recall decreasing, ending at (recall 0, precision 1);
//     average precision is the step sum Σ (Rₙ − Rₙ₋₁) Pₙ, no interpolation (sklearn's average_precision_score).
// A class with no positive (or, for ROC, no negative) sample has no curve: the functions return a reason
// instead of a number. sklearn raises for ROC-AUC there and returns AP 0 with a warning; we say why.
// Imports nothing of ours.

export interface BinaryCurve {
  /** Cumulative false and true positives at each distinct score, highest score first. */
  fps: Float64Array;
  tps: Float64Array;
  thresholds: Float64Array;
}

export interface RocPoints {
  fpr: number[];
  tpr: number[];
  /** thresholds[0] is null: the starting point (0, 0), where nothing is predicted positive. */
  thresholds: (number | null)[];
}

export interface PrPoints {
  precision: number[];
  recall: number[];
  /** Aligned with the points; the last is null: the closing point (recall 0, precision 1) has no threshold. */
  thresholds: (number | null)[];
}

export type Defined<T> = { value: T } | { reason: string };

/** `positive[i]` is 1 when sample i belongs to the class; `score[i]` is its score for the class. */
export function binaryCurve(positive: Uint8Array, score: Float64Array): BinaryCurve {
  // Two native numeric sorts instead of sorting indices with a comparator (several times faster at 10⁶ cells):
  // walking all scores from the top, the true positives at a threshold are the positive scores ≥ it.
  const n = score.length;
  const all = Float64Array.from(score).sort();
  let positives = 0;
  for (let i = 0; i < n; i++) positives += positive[i];
  const pos = new Float64Array(positives);
  for (let i = 0, j = 0; i < n; i++) if (positive[i]) pos[j++] = score[i];
  pos.sort();
  const fps: number[] = [];
  const tps: number[] = [];
  const thresholds: number[] = [];
  let j = positives - 1;
  for (let i = n - 1; i >= 0; i--) {
    const s = all[i];
    if (i > 0 && all[i - 1] === s) continue; // not yet the last sample of this score
    while (j >= 0 && pos[j] >= s) j--;
    const tp = positives - 1 - j;
    tps.push(tp);
    fps.push(n - i - tp);
    thresholds.push(s);
  }
  return { fps: Float64Array.from(fps), tps: Float64Array.from(tps), thresholds: Float64Array.from(thresholds) };
}

export function rocFromCurve(curve: BinaryCurve): Defined<RocPoints> {
  const m = curve.tps.length;
  const totalPositive = m ? curve.tps[m - 1] : 0;
  const totalNegative = m ? curve.fps[m - 1] : 0;
  if (totalPositive <= 0) return { reason: 'no sample of the class in y_true, so the true positive rate is undefined' };
  if (totalNegative <= 0) return { reason: 'every sample in y_true is of the class, so the false positive rate is undefined' };
  const keep: number[] = [];
  for (let i = 0; i < m; i++) {
    // drop_intermediate: keep the ends and every point where fps or tps changes its step (a corner).
    const corner =
      m <= 2 ||
      i === 0 ||
      i === m - 1 ||
      curve.fps[i - 1] - 2 * curve.fps[i] + curve.fps[i + 1] !== 0 ||
      curve.tps[i - 1] - 2 * curve.tps[i] + curve.tps[i + 1] !== 0;
    if (corner) keep.push(i);
  }
  const fpr = [0];
  const tpr = [0];
  const thresholds: (number | null)[] = [null];
  for (const i of keep) {
    fpr.push(curve.fps[i] / totalNegative);
    tpr.push(curve.tps[i] / totalPositive);
    thresholds.push(curve.thresholds[i]);
  }
  return { value: { fpr, tpr, thresholds } };
}

/** Trapezoid area under (x, y) with x non-decreasing, as sklearn's auc on a ROC curve. */
export function trapezoidArea(x: readonly number[], y: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < x.length; i++) area += ((x[i] - x[i - 1]) * (y[i] + y[i - 1])) / 2;
  return area;
}

export function prFromCurve(curve: BinaryCurve): Defined<PrPoints> {
  const m = curve.tps.length;
  const totalPositive = m ? curve.tps[m - 1] : 0;
  if (totalPositive <= 0) return { reason: 'no sample of the class in y_true, so recall is undefined' };
  const precision: number[] = [];
  const recall: number[] = [];
  const thresholds: (number | null)[] = [];
  for (let i = m - 1; i >= 0; i--) {
    const predicted = curve.tps[i] + curve.fps[i];
    precision.push(predicted > 0 ? curve.tps[i] / predicted : 0);
    recall.push(curve.tps[i] / totalPositive);
    thresholds.push(curve.thresholds[i]);
  }
  precision.push(1);
  recall.push(0);
  thresholds.push(null);
  return { value: { precision, recall, thresholds } };
}

/** Σ (Rₙ − Rₙ₋₁) Pₙ over a precision-recall curve in prFromCurve's order (recall decreasing). */
export function averagePrecisionOf(pr: PrPoints): number {
  let ap = 0;
  for (let j = 0; j + 1 < pr.recall.length; j++) ap += (pr.recall[j] - pr.recall[j + 1]) * pr.precision[j];
  return ap;
}

export interface ClassRanking {
  roc: Defined<RocPoints>;
  rocAuc: Defined<number>;
  pr: Defined<PrPoints>;
  averagePrecision: Defined<number>;
}

/** ROC and PR of one class (or any binary problem) from 0/1 membership and scores. */
export function rankClass(positive: Uint8Array, score: Float64Array): ClassRanking {
  const curve = binaryCurve(positive, score);
  const roc = rocFromCurve(curve);
  const pr = prFromCurve(curve);
  return {
    roc,
    rocAuc: 'value' in roc ? { value: trapezoidArea(roc.value.fpr, roc.value.tpr) } : roc,
    pr,
    averagePrecision: 'value' in pr ? { value: averagePrecisionOf(pr.value) } : pr,
  };
}

/** Column `c` of an n×k row-major matrix and the 0/1 membership of class `c`. */
export function oneVsRest(y: Int32Array, matrix: Float64Array, k: number, c: number): { positive: Uint8Array; score: Float64Array } {
  const n = y.length;
  const positive = new Uint8Array(n);
  const score = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    positive[i] = y[i] === c ? 1 : 0;
    score[i] = matrix[i * k + c];
  }
  return { positive, score };
}

/** Every (sample, class) cell as one binary problem: sklearn's average='micro' for one-vs-rest. */
export function flattenedOneVsRest(y: Int32Array, matrix: Float64Array, k: number): { positive: Uint8Array; score: Float64Array } {
  const positive = new Uint8Array(matrix.length);
  for (let i = 0; i < y.length; i++) positive[i * k + y[i]] = 1;
  return { positive, score: matrix };
}
