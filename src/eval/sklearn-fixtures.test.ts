// Pins every metric src/eval shares with scikit-learn to sklearn's own numbers on fixed inputs, written by
// scripts/make-eval-fixtures.py into test/fixtures/eval/ (the test reads the JSON; no Python needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluate, evaluateRegression, type ClassificationReport } from './index.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/eval');
const TOLERANCE = 1e-9;

interface CurvesFixture {
  roc: { fpr: number[]; tpr: number[]; thresholds: number[] };
  pr: { precision: number[]; recall: number[]; thresholds: number[] };
}

interface ClassificationFixture {
  sklearn: string;
  classNames: string[];
  /** Classes with no sample in y_true: where src/eval documents a difference from sklearn. */
  absentClasses: string[];
  labels: (string | number)[];
  probabilities: number[][];
  scores?: number[];
  expected: {
    metrics: Record<string, number | null>;
    predictions: number[];
    confusionMatrix: number[][];
    perClass: Record<'precision' | 'recall' | 'f1', number[]> & { support: number[]; rocAuc: (number | null)[]; averagePrecision: number[] };
    curves: Record<string, CurvesFixture>;
    calibration: { ece: number; bins: { count: number; meanConfidence: number | null; accuracy: number | null }[] };
  };
}

interface RegressionFixture {
  cases: { name: string; targets: number[]; predictions: number[]; expected: Record<string, number> }[];
}

function load<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as T;
}

function close(actual: number | null | undefined, expected: number, what: string): void {
  assert.ok(typeof actual === 'number', `${what}: got ${String(actual)}, sklearn gives ${expected}`);
  assert.ok(Math.abs(actual - expected) <= TOLERANCE * Math.max(1, Math.abs(expected)), `${what}: got ${actual}, sklearn gives ${expected}`);
}

function closeArray(actual: readonly (number | null)[], expected: readonly (number | null)[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} points, sklearn has ${expected.length}`);
  expected.forEach((e, i) => (e === null ? assert.equal(actual[i], null, `${what}[${i}]: sklearn has none`) : close(actual[i], e, `${what}[${i}]`)));
}

/**
 * The documented differences for a class absent from y_true (see report.ts): sklearn counts its AP as 0, we leave
 * it undefined, so the macro AP is null; sklearn raises for weighted ROC-AUC, we leave the class (weight 0) out.
 */
function applyDocumentedDifferences(fx: ClassificationFixture): ClassificationFixture['expected'] {
  const ex = structuredClone(fx.expected);
  if (fx.absentClasses.length === 0) return ex;
  const absent = new Set(fx.absentClasses.map((c) => fx.classNames.indexOf(c)));
  ex.perClass.averagePrecision = ex.perClass.averagePrecision.map((v, c) => (absent.has(c) ? (null as unknown as number) : v));
  ex.metrics.average_precision_macro = null;
  ex.metrics.average_precision = null;
  let sum = 0;
  let weight = 0;
  ex.perClass.rocAuc.forEach((v, c) => {
    if (v !== null) (sum += v * ex.perClass.support[c]), (weight += ex.perClass.support[c]);
  });
  ex.metrics.roc_auc_weighted = sum / weight;
  return ex;
}

function checkClassification(fx: ClassificationFixture, report: ClassificationReport, options: { probabilityMetrics: boolean }): void {
  const ex = applyDocumentedDifferences(fx);
  for (const [name, value] of Object.entries(ex.metrics)) {
    if (!options.probabilityMetrics && (name === 'log_loss' || name === 'ece')) continue;
    if (value === null) {
      assert.equal(report.metrics[name], null, `metrics.${name}: sklearn has no value`);
      assert.ok(report.undefinedMetrics[name], `metrics.${name} is null without a reason`);
    } else close(report.metrics[name], value, `metrics.${name}`);
  }
  assert.deepEqual(report.confusionMatrix, ex.confusionMatrix);
  const per = report.perClass;
  closeArray(per.map((r) => r.precision), ex.perClass.precision, 'precision per class');
  closeArray(per.map((r) => r.recall), ex.perClass.recall, 'recall per class');
  closeArray(per.map((r) => r.f1), ex.perClass.f1, 'f1 per class');
  assert.deepEqual(per.map((r) => r.support), ex.perClass.support);
  closeArray(per.map((r) => r.rocAuc), ex.perClass.rocAuc, 'ROC-AUC per class');
  closeArray(per.map((r) => r.averagePrecision), ex.perClass.averagePrecision, 'average precision per class');
  for (const [className, curves] of Object.entries(ex.curves)) {
    const roc = report.curves.roc.find((c) => c.className === className);
    const pr = report.curves.pr.find((c) => c.className === className);
    assert.ok(roc && pr, `no curves for ${className}`);
    closeArray(roc.fpr, curves.roc.fpr, `roc[${className}].fpr`);
    closeArray(roc.tpr, curves.roc.tpr, `roc[${className}].tpr`);
    assert.equal(roc.thresholds[0], null);
    if (options.probabilityMetrics) closeArray(roc.thresholds.slice(1), curves.roc.thresholds, `roc[${className}].thresholds`);
    closeArray(pr.precision, curves.pr.precision, `pr[${className}].precision`);
    closeArray(pr.recall, curves.pr.recall, `pr[${className}].recall`);
    assert.equal(pr.thresholds.at(-1), null);
    if (options.probabilityMetrics) closeArray(pr.thresholds.slice(0, -1), curves.pr.thresholds, `pr[${className}].thresholds`);
  }
}

for (const name of ['binary', 'multiclass', 'ties', 'absent']) {
  test(`${name}: every metric, table, curve and the confusion matrix match scikit-learn`, () => {
    const fx = load<ClassificationFixture>(name);
    const report = evaluate({ labels: fx.labels, probabilities: fx.probabilities, classNames: fx.classNames, maxCurvePoints: Infinity });
    checkClassification(fx, report, { probabilityMetrics: true });
    assert.ok(report.calibration);
    close(report.calibration.ece, fx.expected.calibration.ece, 'calibration.ece');
    report.calibration.bins.forEach((bin, b) => {
      const e = fx.expected.calibration.bins[b];
      assert.equal(bin.count, e.count, `bin ${b} count`);
      if (e.meanConfidence === null) assert.equal(bin.meanConfidence, null);
      else close(bin.meanConfidence, e.meanConfidence, `bin ${b} mean confidence`);
      if (e.accuracy === null) assert.equal(bin.accuracy, null);
      else close(bin.accuracy, e.accuracy, `bin ${b} accuracy`);
    });
    // The report is plain JSON: it survives a round trip unchanged.
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });
}

test('binary: a flat P(pos) column and flat logit scores give the same numbers as probability rows', () => {
  const fx = load<ClassificationFixture>('binary');
  const pPos = fx.probabilities.map((row) => row[1]);
  const flat = evaluate({ labels: fx.labels, probabilities: pPos, classNames: fx.classNames, maxCurvePoints: Infinity });
  checkClassification(fx, flat, { probabilityMetrics: true });

  assert.ok(fx.scores);
  const scored = evaluate({ labels: fx.labels, scores: fx.scores, classNames: fx.classNames, maxCurvePoints: Infinity });
  checkClassification(fx, scored, { probabilityMetrics: false });
  assert.equal(scored.inputKind, 'scores');
  assert.equal(scored.metrics.log_loss, null);
  assert.match(scored.undefinedMetrics.log_loss, /needs probabilities/);
  assert.equal(scored.calibration, null);
});

test('multiclass: the class never predicted has precision 0 (zero_division=0), with a note saying so', () => {
  const fx = load<ClassificationFixture>('multiclass');
  const report = evaluate({ labels: fx.labels, probabilities: fx.probabilities, classNames: fx.classNames });
  const fish = report.perClass.find((r) => r.className === 'fish');
  assert.ok(fish);
  assert.equal(fish.predicted, 0);
  assert.equal(fish.precision, 0);
  assert.equal(fish.f1, 0);
  assert.equal(report.metrics.min_class_recall, 0);
  assert.ok(report.notes.some((n) => n.startsWith('precision[fish] is 0')), report.notes.join('\n'));
});

test('curves are thinned for the report to maxCurvePoints, keeping both ends; the metrics are unchanged', () => {
  const fx = load<ClassificationFixture>('multiclass');
  const full = evaluate({ labels: fx.labels, probabilities: fx.probabilities, classNames: fx.classNames, maxCurvePoints: Infinity });
  const thin = evaluate({ labels: fx.labels, probabilities: fx.probabilities, classNames: fx.classNames, maxCurvePoints: 10 });
  assert.deepEqual(thin.metrics, full.metrics);
  const [a, b] = [full.curves.pr[0], thin.curves.pr[0]];
  assert.equal(b.precision.length, 10);
  assert.equal(b.pointsBeforeThinning, a.precision.length);
  assert.equal(b.recall[0], a.recall[0]);
  assert.equal(b.recall.at(-1), 0);
});

test('regression: MAE, MSE, RMSE and R² match scikit-learn, including constant targets', () => {
  const fx = load<RegressionFixture>('regression');
  for (const c of fx.cases) {
    const report = evaluateRegression({ targets: c.targets, predictions: c.predictions });
    for (const [name, value] of Object.entries(c.expected)) close(report.metrics[name], value, `${c.name}: ${name}`);
    if (c.name.startsWith('constant')) assert.ok(report.notes.some((n) => n.includes('targets are constant')), report.notes.join('\n'));
  }
});
