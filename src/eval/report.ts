// The evaluation report of one model version on one held-out set, and the functions that build it.
// Owns the report's shape (format 'aimass-eval/1', plain JSON: no NaN, no Infinity, no typed arrays), the names
// of its metrics (the same names gates use), and the notes that explain each metric that is null or that an
// edge case decided (a class never predicted, constant regression targets, scores instead of probabilities).
//
//   evaluate({ labels, probabilities | scores, classNames, … })   → ClassificationReport
//   evaluateRegression({ targets, predictions, … })               → RegressionReport
//
// Binary (two classes): classNames[1] is the positive class; precision, recall, f1, roc_auc and
// average_precision are of that class. Multiclass: roc_auc and average_precision are the one-vs-rest macro
// averages, with _macro, _weighted (by support) and _micro variants. A class absent from y_true has no ROC-AUC
// or AP: the macro average is then null with the reason (sklearn raises for ROC-AUC, and counts AP as 0), while
// the weighted average, where that class weighs 0, leaves it out (sklearn's weighted AP agrees; it raises for
// weighted ROC-AUC). Curves in the report are thinned to at most
// `maxCurvePoints` points each (default 1000; the metrics always use every point).
// Imports core only.
import { AimassError } from '../core/index.js';
import { calibrationOf, type Calibration } from './calibration.js';
import { accuracyOf, averagePrf, balancedAccuracyOf, countClasses, logLossOf, minClassRecallOf, perClassPrf } from './classification.js';
import { prepareClassification, prepareRegression, type ClassificationInput, type RegressionInput } from './inputs.js';
import { summarizeLatency, type LatencySummary } from './latency.js';
import { flattenedOneVsRest, oneVsRest, rankClass, type ClassRanking, type PrPoints, type RocPoints } from './ranking.js';
import { regressionMetricsOf } from './regression.js';

export const REPORT_FORMAT = 'aimass-eval/1';
export const DEFAULT_MAX_CURVE_POINTS = 1000;
const REGRESSION_SAMPLE_POINTS = 500;

export interface ModelRef {
  name?: string;
  version?: string | number;
}

/** What every report may carry besides the data: who was evaluated, on what, and how fast it answered. */
export interface ReportContext {
  model?: ModelRef;
  /** The held-out set, e.g. its dataset hash. A baseline should have been scored on the same one. */
  dataset?: string;
  /** Per-request latencies in milliseconds, or an already computed summary. */
  latency?: ArrayLike<number> | LatencySummary;
  /** Defaults to now; fixed in tests for byte-stable reports. */
  createdAt?: Date | string;
}

export interface EvaluateOptions extends ClassificationInput, ReportContext {
  /** Most points kept per curve in the report (default 1000); metrics always use the full curves. */
  maxCurvePoints?: number;
}

export interface EvaluateRegressionOptions extends RegressionInput, ReportContext {}

interface ReportCommon {
  format: typeof REPORT_FORMAT;
  createdAt: string;
  model?: ModelRef;
  dataset?: string;
  nSamples: number;
  /** Scalar metrics by gate name; null when undefined for this data (see undefinedMetrics). */
  metrics: Record<string, number | null>;
  /** Why each null metric is null, keyed by gate name: "roc_auc", "roc_auc[fish]", "log_loss". */
  undefinedMetrics: Record<string, string>;
  latency: LatencySummary | null;
  /** Plain-language notes on decisions and edge cases that affect how to read the numbers. */
  notes: string[];
}

export interface PerClassMetrics {
  className: string;
  /** Samples of the class in y_true. */
  support: number;
  /** Samples predicted as the class. */
  predicted: number;
  precision: number;
  recall: number;
  f1: number;
  rocAuc: number | null;
  averagePrecision: number | null;
}

export interface RocCurve extends RocPoints {
  className: string;
  auc: number;
  /** Set when the curve was thinned for the report: how many points it had. */
  pointsBeforeThinning?: number;
}

export interface PrCurve extends PrPoints {
  className: string;
  averagePrecision: number;
  pointsBeforeThinning?: number;
}

export interface ClassificationReport extends ReportCommon {
  task: 'binary' | 'multiclass';
  inputKind: 'probabilities' | 'scores';
  classNames: string[];
  /** classNames[1] for a binary task, else null. */
  positiveClass: string | null;
  perClass: PerClassMetrics[];
  /** confusionMatrix[true][predicted], in classNames order. */
  confusionMatrix: number[][];
  /** Binary: the positive class's curves. Multiclass: one-vs-rest curves of each class that has them. */
  curves: { roc: RocCurve[]; pr: PrCurve[] };
  /** Null when scores, not probabilities, were given. */
  calibration: Calibration | null;
}

export interface RegressionReport extends ReportCommon {
  task: 'regression';
  residuals: { mean: number; min: number; max: number };
  /** Up to 500 evenly spaced (target, prediction) pairs, for the report's scatter plot. */
  sample: { targets: number[]; predictions: number[] };
}

export type EvaluationReport = ClassificationReport | RegressionReport;

function createdAtOf(v: Date | string | undefined): string {
  if (v === undefined) return new Date().toISOString();
  const d = typeof v === 'string' ? new Date(v) : v;
  if (Number.isNaN(d.getTime())) throw new AimassError('INVALID_ARGUMENT', `createdAt ${String(v)} is not a valid date; pass a Date or an ISO 8601 string`);
  return d.toISOString();
}

function commonOf(ctx: ReportContext, nSamples: number): Omit<ReportCommon, 'metrics' | 'undefinedMetrics' | 'notes'> {
  const out: Omit<ReportCommon, 'metrics' | 'undefinedMetrics' | 'notes'> = {
    format: REPORT_FORMAT,
    createdAt: createdAtOf(ctx.createdAt),
    nSamples,
    latency: ctx.latency === undefined ? null : summarizeLatency(ctx.latency),
  };
  if (ctx.model !== undefined) out.model = { ...ctx.model };
  if (ctx.dataset !== undefined) out.dataset = ctx.dataset;
  return out;
}

/** Indices 0..length-1 thinned to at most `max`, always keeping the first and the last. */
function thinIndices(length: number, max: number): number[] | null {
  if (length <= max) return null;
  const keep = new Set<number>();
  for (let i = 0; i < max; i++) keep.add(Math.round((i * (length - 1)) / (max - 1)));
  return [...keep].sort((a, b) => a - b);
}

function pick<T>(values: readonly T[], idx: readonly number[] | null): T[] {
  return idx ? idx.map((i) => values[i]) : [...values];
}

function rocCurveOf(className: string, roc: RocPoints, auc: number, max: number): RocCurve {
  const idx = thinIndices(roc.fpr.length, max);
  const curve: RocCurve = { className, auc, fpr: pick(roc.fpr, idx), tpr: pick(roc.tpr, idx), thresholds: pick(roc.thresholds, idx) };
  if (idx) curve.pointsBeforeThinning = roc.fpr.length;
  return curve;
}

function prCurveOf(className: string, pr: PrPoints, ap: number, max: number): PrCurve {
  const idx = thinIndices(pr.precision.length, max);
  const curve: PrCurve = {
    className,
    averagePrecision: ap,
    precision: pick(pr.precision, idx),
    recall: pick(pr.recall, idx),
    thresholds: pick(pr.thresholds, idx),
  };
  if (idx) curve.pointsBeforeThinning = pr.precision.length;
  return curve;
}

function checkMaxCurvePoints(v: number | undefined): number {
  if (v === undefined) return DEFAULT_MAX_CURVE_POINTS;
  if (!(v === Infinity || (Number.isInteger(v) && v >= 2))) {
    throw new AimassError('INVALID_ARGUMENT', `maxCurvePoints is ${v}; expected an integer ≥ 2 (or Infinity to keep every point)`);
  }
  return v;
}

/** Scores a classifier's outputs against the true labels; see the module header for the metric names. */
export function evaluate(options: EvaluateOptions): ClassificationReport {
  const maxPoints = checkMaxCurvePoints(options?.maxCurvePoints);
  const data = prepareClassification(options);
  const { classNames, k, y, matrix, predictions } = data;
  const binary = k === 2;
  const metrics: Record<string, number | null> = {};
  const undefinedMetrics: Record<string, string> = {};
  const notes: string[] = [];
  const setMetric = (name: string, v: { value: number } | { reason: string }) => {
    if ('value' in v) metrics[name] = v.value;
    else {
      metrics[name] = null;
      undefinedMetrics[name] = v.reason;
    }
  };

  const counts = countClasses(y, predictions, k);
  const rows = perClassPrf(counts);
  const avg = averagePrf(counts, rows);
  metrics.n_samples = data.n;
  metrics.accuracy = accuracyOf(counts);
  metrics.balanced_accuracy = balancedAccuracyOf(counts, rows);
  const minRecall = minClassRecallOf(counts, rows);
  metrics.min_class_recall = minRecall.value;
  if (binary) {
    metrics.precision = rows[1].precision;
    metrics.recall = rows[1].recall;
    metrics.f1 = rows[1].f1;
  }
  for (const a of ['macro', 'micro', 'weighted'] as const) {
    metrics[`precision_${a}`] = avg[a].precision;
    metrics[`recall_${a}`] = avg[a].recall;
    metrics[`f1_${a}`] = avg[a].f1;
  }

  const rankings: ClassRanking[] = classNames.map((_, c) => {
    const { positive, score } = oneVsRest(y, matrix, k, c);
    return rankClass(positive, score);
  });
  rankings.forEach((r, c) => {
    if ('reason' in r.rocAuc) undefinedMetrics[`roc_auc[${classNames[c]}]`] = r.rocAuc.reason;
    if ('reason' in r.averagePrecision) undefinedMetrics[`average_precision[${classNames[c]}]`] = r.averagePrecision.reason;
  });
  if (binary) {
    setMetric('roc_auc', rankings[1].rocAuc);
    setMetric('average_precision', rankings[1].averagePrecision);
  } else {
    const averaged = (pickOne: (r: ClassRanking) => { value: number } | { reason: string }, label: string, weighted: boolean) => {
      let sum = 0;
      let weight = 0;
      for (let c = 0; c < k; c++) {
        // A class with no sample weighs 0 in the weighted average, so its undefined value does not matter there.
        if (weighted && counts.support[c] === 0) continue;
        const v = pickOne(rankings[c]);
        if ('reason' in v) {
          return { reason: `${label} is undefined for class ${JSON.stringify(classNames[c])} (${v.reason}), so its average over classes is too` };
        }
        const w = weighted ? counts.support[c] : 1;
        sum += w * v.value;
        weight += w;
      }
      return { value: sum / weight };
    };
    setMetric('roc_auc_macro', averaged((r) => r.rocAuc, 'ROC-AUC', false));
    setMetric('roc_auc_weighted', averaged((r) => r.rocAuc, 'ROC-AUC', true));
    const flat = flattenedOneVsRest(y, matrix, k);
    const micro = rankClass(flat.positive, flat.score);
    setMetric('roc_auc_micro', micro.rocAuc);
    setMetric('average_precision_macro', averaged((r) => r.averagePrecision, 'average precision', false));
    setMetric('average_precision_weighted', averaged((r) => r.averagePrecision, 'average precision', true));
    setMetric('average_precision_micro', micro.averagePrecision);
    metrics.roc_auc = metrics.roc_auc_macro;
    if (metrics.roc_auc === null) undefinedMetrics.roc_auc = undefinedMetrics.roc_auc_macro;
    metrics.average_precision = metrics.average_precision_macro;
    if (metrics.average_precision === null) undefinedMetrics.average_precision = undefinedMetrics.average_precision_macro;
  }

  let calibration: Calibration | null = null;
  if (data.kind === 'probabilities') {
    metrics.log_loss = logLossOf(y, matrix, k);
    calibration = calibrationOf(y, predictions, matrix, k);
    metrics.ece = calibration.ece;
    metrics.mce = calibration.mce;
  } else {
    for (const name of ['log_loss', 'ece', 'mce']) setMetric(name, { reason: 'needs probabilities, but scores were given' });
  }

  // Notes: say what decided a number, so nobody has to guess why a value is 0 or missing.
  if (binary) {
    notes.push(`Binary task: the positive class is ${JSON.stringify(classNames[1])} (classNames[1]); precision, recall, f1, roc_auc and average_precision are of that class.`);
  } else {
    notes.push('Multiclass task: roc_auc and average_precision are one-vs-rest macro averages (plain mean over classes).');
  }
  if (data.kind === 'scores') {
    notes.push(
      'Scores were given, not probabilities: log_loss, ece, mce and the reliability diagram need probabilities and are left out.' +
        (binary ? ' A single score per sample predicts the positive class when > 0.' : ' Ranking metrics use each class\'s score column as given (scikit-learn accepts only probabilities for multiclass ROC-AUC).'),
    );
  }
  classNames.forEach((name, c) => {
    if (counts.predicted[c] === 0) {
      notes.push(`precision[${name}] is 0: the class was never predicted, and 0/0 counts as 0 (scikit-learn's zero_division=0).`);
    }
    if (counts.support[c] === 0) {
      notes.push(
        `recall[${name}] is 0: the class has no sample in y_true (0/0 counts as 0); it is left out of balanced_accuracy and min_class_recall, and its ROC-AUC and average precision are undefined.`,
      );
    }
  });
  if (minRecall.classIndex >= 0) notes.push(`min_class_recall is the recall of ${JSON.stringify(classNames[minRecall.classIndex])}.`);
  notes.push('Predictions are the argmax of each row; a tie goes to the class listed first in classNames.');

  const perClass: PerClassMetrics[] = classNames.map((className, c) => ({
    className,
    support: counts.support[c],
    predicted: counts.predicted[c],
    precision: rows[c].precision,
    recall: rows[c].recall,
    f1: rows[c].f1,
    rocAuc: 'value' in rankings[c].rocAuc ? rankings[c].rocAuc.value : null,
    averagePrecision: 'value' in rankings[c].averagePrecision ? rankings[c].averagePrecision.value : null,
  }));

  const roc: RocCurve[] = [];
  const pr: PrCurve[] = [];
  for (let c = binary ? 1 : 0; c < k; c++) {
    const r = rankings[c];
    if ('value' in r.roc && 'value' in r.rocAuc) roc.push(rocCurveOf(classNames[c], r.roc.value, r.rocAuc.value, maxPoints));
    if ('value' in r.pr && 'value' in r.averagePrecision) pr.push(prCurveOf(classNames[c], r.pr.value, r.averagePrecision.value, maxPoints));
  }

  return {
    ...commonOf(options, data.n),
    task: binary ? 'binary' : 'multiclass',
    inputKind: data.kind,
    classNames,
    positiveClass: binary ? classNames[1] : null,
    metrics,
    undefinedMetrics,
    notes,
    perClass,
    confusionMatrix: counts.confusion,
    curves: { roc, pr },
    calibration,
  };
}

/** Scores a regressor's predictions against the targets: mae, mse, rmse, r2. */
export function evaluateRegression(options: EvaluateRegressionOptions): RegressionReport {
  const data = prepareRegression(options);
  const m = regressionMetricsOf(data.targets, data.predictions);
  const notes: string[] = [];
  if (m.r2ConstantTarget) {
    notes.push(
      `The targets are constant, so R² (1 − SS_res/SS_tot) is undefined; r2 is ${m.r2} as scikit-learn gives (1 for a perfect fit, else 0).`,
    );
  }
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.n; i++) {
    const r = data.predictions[i] - data.targets[i];
    sum += r;
    min = Math.min(min, r);
    max = Math.max(max, r);
  }
  notes.push('Residuals are prediction − target.');
  const idx = thinIndices(data.n, REGRESSION_SAMPLE_POINTS);
  const all = Array.from({ length: data.n }, (_, i) => i);
  const sampleIdx = idx ?? all;
  return {
    ...commonOf(options, data.n),
    task: 'regression',
    metrics: { n_samples: data.n, mae: m.mae, mse: m.mse, rmse: m.rmse, r2: m.r2 },
    undefinedMetrics: {},
    notes,
    residuals: { mean: sum / data.n, min, max },
    sample: { targets: sampleIdx.map((i) => data.targets[i]), predictions: sampleIdx.map((i) => data.predictions[i]) },
  };
}
