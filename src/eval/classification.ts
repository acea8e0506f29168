// Classification metrics from true and predicted class indices, as scikit-learn 1.2 defines them with
// labels = every class and zero_division=0:
//   - confusion matrix: rows are the true class, columns the predicted class;
//   - precision tp/(tp+fp), recall tp/(tp+fn), F1 2PR/(P+R); a 0/0 is 0 (zero_division=0);
//   - macro: plain mean over all classes, including a class never seen in y_true or predicted;
//     micro: from summed counts (equals accuracy when every class is counted); weighted: by support;
//   - balanced accuracy: mean recall over the classes present in y_true (sklearn drops the others);
//   - min_class_recall (ours, not sklearn's): the lowest recall among classes present in y_true;
//   - log loss: probabilities clipped to [ε, 1 − ε] with ε = 2⁻⁵² and each row renormalized, then the mean of
//     −ln p(true class) (sklearn's eps="auto" for float64).
// Imports nothing of ours.

export interface ClassCounts {
  /** k×k, counts[true][predicted]. */
  confusion: number[][];
  support: number[];
  predicted: number[];
  truePositives: number[];
}

export interface PrfRow {
  precision: number;
  recall: number;
  f1: number;
}

export interface Averaged {
  macro: PrfRow;
  micro: PrfRow;
  weighted: PrfRow;
}

export function countClasses(y: Int32Array, predictions: Int32Array, k: number): ClassCounts {
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < y.length; i++) confusion[y[i]][predictions[i]]++;
  const support = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const predicted = confusion[0].map((_, c) => confusion.reduce((a, row) => a + row[c], 0));
  const truePositives = confusion.map((row, c) => row[c]);
  return { confusion, support, predicted, truePositives };
}

function divide(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

function prf(tp: number, predicted: number, support: number): PrfRow {
  const precision = divide(tp, predicted);
  const recall = divide(tp, support);
  return { precision, recall, f1: fScore(precision, recall) };
}

function fScore(precision: number, recall: number): number {
  const den = precision + recall;
  return den === 0 ? 0 : (2 * precision * recall) / den;
}

export function perClassPrf(counts: ClassCounts): PrfRow[] {
  return counts.truePositives.map((tp, c) => prf(tp, counts.predicted[c], counts.support[c]));
}

export function averagePrf(counts: ClassCounts, rows: readonly PrfRow[]): Averaged {
  const k = rows.length;
  const sum = (f: (r: PrfRow, c: number) => number) => rows.reduce((a, r, c) => a + f(r, c), 0);
  const totalSupport = counts.support.reduce((a, b) => a + b, 0);
  const weighted = (key: keyof PrfRow) => divide(sum((r, c) => r[key] * counts.support[c]), totalSupport);
  const tp = counts.truePositives.reduce((a, b) => a + b, 0);
  const predicted = counts.predicted.reduce((a, b) => a + b, 0);
  return {
    macro: { precision: sum((r) => r.precision) / k, recall: sum((r) => r.recall) / k, f1: sum((r) => r.f1) / k },
    micro: prf(tp, predicted, totalSupport),
    weighted: { precision: weighted('precision'), recall: weighted('recall'), f1: weighted('f1') },
  };
}

export function accuracyOf(counts: ClassCounts): number {
  const n = counts.support.reduce((a, b) => a + b, 0);
  return divide(
    counts.truePositives.reduce((a, b) => a + b, 0),
    n,
  );
}

/** Mean recall over classes present in y_true. */
export function balancedAccuracyOf(counts: ClassCounts, rows: readonly PrfRow[]): number {
  const present = rows.filter((_, c) => counts.support[c] > 0);
  return present.reduce((a, r) => a + r.recall, 0) / present.length;
}

/** Lowest recall among classes present in y_true, and which class has it (the first, on a tie). */
export function minClassRecallOf(counts: ClassCounts, rows: readonly PrfRow[]): { value: number; classIndex: number } {
  let best = { value: Infinity, classIndex: -1 };
  rows.forEach((r, c) => {
    if (counts.support[c] > 0 && r.recall < best.value) best = { value: r.recall, classIndex: c };
  });
  return best;
}

export const LOG_LOSS_EPSILON = Number.EPSILON;

/** Mean negative log-likelihood of the true class; `matrix` is n×k probability rows. */
export function logLossOf(y: Int32Array, matrix: Float64Array, k: number): number {
  const lo = LOG_LOSS_EPSILON;
  const hi = 1 - LOG_LOSS_EPSILON;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    let rowSum = 0;
    for (let j = 0; j < k; j++) rowSum += Math.min(hi, Math.max(lo, matrix[i * k + j]));
    const p = Math.min(hi, Math.max(lo, matrix[i * k + y[i]]));
    total += -Math.log(p / rowSum);
  }
  return total / y.length;
}
