// Bad inputs to evaluate() and evaluateRegression() fail with every problem listed; undefined metrics (one class
// in y_true, scores instead of probabilities) are null with a reason, never NaN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectAimassError, problemsOf } from '../../test/support/aimass-errors.js';
import { evaluate, evaluateRegression, summarizeLatency } from './index.js';

const classNames = ['cat', 'dog', 'bird'];
const rows = [
  [0.7, 0.2, 0.1],
  [0.1, 0.8, 0.1],
  [0.2, 0.2, 0.6],
];

test('labels and probability rows of different lengths are rejected, naming both counts', () => {
  expectAimassError(
    () => evaluate({ labels: ['cat', 'dog'], probabilities: rows, classNames }),
    'INVALID_ARGUMENT',
    'probabilities has 3 rows but labels has 2 entries',
  );
  expectAimassError(
    () => evaluate({ labels: ['cat', 'dog', 'bird'], probabilities: [0.1, 0.2, 0.7, 0.3], classNames }),
    'INVALID_ARGUMENT',
    'probabilities has 4 values but labels has 3 entries and classNames 3',
  );
  expectAimassError(
    () => evaluate({ labels: ['cat', 'dog', 'bird'], probabilities: [[0.5, 0.5], ...rows.slice(1)], classNames }),
    'INVALID_ARGUMENT',
    'probabilities[0]: expected 3 numbers',
  );
});

test('probability rows that do not sum to 1 are rejected, not renormalized, and scores are suggested', () => {
  const e = expectAimassError(
    () => evaluate({ labels: ['cat', 'dog', 'bird'], probabilities: [[0.7, 0.2, 0.2], rows[1], [2, -1, 0]], classNames }),
    'INVALID_ARGUMENT',
    /probabilities\[0\] sums to 1\.0999.*not renormalized/,
    /probabilities\[2\] has a value outside \[0, 1\].*scores/,
  );
  assert.equal(problemsOf(e).length, 2);
  // within numpy.allclose's tolerance is fine: float32 softmax outputs do not sum to exactly 1
  const r = evaluate({ labels: ['cat', 'dog', 'bird'], probabilities: [[0.7, 0.2, 0.1 + 5e-6], rows[1], rows[2]], classNames });
  assert.equal(r.metrics.accuracy, 1);
  // the same values as scores are accepted
  const s = evaluate({ labels: ['cat', 'dog', 'bird'], scores: [[3, 1, 1], [0, 2, 1], [1, -1, 5]], classNames });
  assert.equal(s.metrics.accuracy, 1);
  assert.equal(s.metrics.log_loss, null);
});

test('NaN and Infinity are rejected with their positions; every problem is listed at once', () => {
  const e = expectAimassError(
    () => evaluate({ labels: ['cat', 'dog', 'bird'], scores: [[NaN, 1, 1], [0, Infinity, 1], [1, 2, 3]], classNames }),
    'INVALID_ARGUMENT',
    'scores[0][0] is NaN',
    'scores[1][1] is Infinity',
  );
  assert.equal(problemsOf(e).length, 2);
  expectAimassError(() => evaluateRegression({ targets: [1, NaN], predictions: [1, 2] }), 'INVALID_ARGUMENT', 'targets[1] is NaN');
});

test('a label outside classNames, a bad index and duplicate class names are each named', () => {
  const e = expectAimassError(
    () => evaluate({ labels: ['cat', 'horse', 7], probabilities: rows, classNames }),
    'INVALID_ARGUMENT',
    'labels[1] is "horse", which is not one of classNames ("cat", "dog", "bird")',
    'labels[2] is 7; a numeric label is a class index, an integer from 0 to 2',
  );
  assert.equal(problemsOf(e).length, 2);
  expectAimassError(() => evaluate({ labels: [0], probabilities: [[1, 0]], classNames: ['a', 'a'] }), 'INVALID_ARGUMENT', 'classNames[1]: "a" repeats classNames[0]');
  expectAimassError(() => evaluate({ labels: [0], probabilities: [[1]], classNames: ['only'] }), 'INVALID_ARGUMENT', 'at least 2 classes');
});

test('exactly one of probabilities and scores; empty inputs are rejected', () => {
  expectAimassError(() => evaluate({ labels: ['cat'], classNames }), 'INVALID_ARGUMENT', 'give probabilities');
  expectAimassError(() => evaluate({ labels: ['cat'], probabilities: [rows[0]], scores: [rows[0]], classNames }), 'INVALID_ARGUMENT', 'not both');
  expectAimassError(() => evaluate({ labels: [], probabilities: [], classNames }), 'INVALID_ARGUMENT', 'no samples');
  expectAimassError(() => evaluateRegression({ targets: [1, 2], predictions: [1] }), 'INVALID_ARGUMENT', 'targets has 2 values but predictions has 1');
  expectAimassError(() => evaluateRegression({ targets: [], predictions: [] }), 'INVALID_ARGUMENT', 'no samples');
});

test('single-class y_true: ROC-AUC and average precision are null with a reason; the rest is computed', () => {
  const r = evaluate({ labels: ['pos', 'pos', 'pos'], probabilities: [0.9, 0.4, 0.7], classNames: ['neg', 'pos'] });
  assert.equal(r.task, 'binary');
  assert.equal(r.metrics.roc_auc, null);
  assert.match(r.undefinedMetrics.roc_auc, /every sample in y_true is of the class/);
  // AP of the positive class is defined (it has positives); the negative class has none
  assert.equal(r.metrics.average_precision, 1);
  assert.equal(r.perClass[0].averagePrecision, null);
  assert.match(r.undefinedMetrics['average_precision[neg]'], /no sample of the class/);
  assert.equal(r.metrics.accuracy, 2 / 3);
  assert.equal(typeof r.metrics.log_loss, 'number');
  assert.equal(r.curves.roc.length, 0);
  // balanced accuracy and min_class_recall leave out the class with no sample (as sklearn's balanced_accuracy)
  assert.equal(r.metrics.balanced_accuracy, 2 / 3);
  assert.equal(r.metrics.min_class_recall, 2 / 3);
  assert.ok(r.notes.some((n) => n.startsWith('recall[neg] is 0: the class has no sample in y_true')), r.notes.join('\n'));
  // JSON-safe: no NaN anywhere
  assert.doesNotMatch(JSON.stringify(r), /NaN|Infinity/);
});

test('multiclass with a class absent from y_true: per-class AUC null, macro and weighted null with the class named', () => {
  const r = evaluate({ labels: ['cat', 'dog', 'cat', 'dog'], probabilities: [rows[0], rows[1], rows[2], rows[1]], classNames });
  assert.equal(r.metrics.roc_auc_macro, null);
  assert.match(r.undefinedMetrics.roc_auc_macro, /class "bird"/);
  assert.equal(r.metrics.roc_auc, null);
  assert.equal(typeof r.metrics.roc_auc_micro, 'number');
  assert.equal(r.curves.roc.map((c) => c.className).join(), 'cat,dog');
});

test('binary decision scores: one score per sample predicts the positive class when > 0', () => {
  const r = evaluate({ labels: [0, 1, 1, 0], scores: [-2, 0.5, 0, 3], classNames: ['neg', 'pos'] });
  assert.deepEqual(r.confusionMatrix, [
    [1, 1],
    [1, 1],
  ]);
  assert.equal(r.calibration, null);
});

test('latency: samples are summarized with linearly interpolated percentiles; bad values are rejected', () => {
  const s = summarizeLatency([4, 1, 3, 2, 10]);
  const expected = { count: 5, meanMs: 4, p50Ms: 3, p90Ms: 7.6, p95Ms: 8.8, p99Ms: 9.76, maxMs: 10 };
  assert.deepEqual(Object.keys(s).sort(), Object.keys(expected).sort());
  for (const [k, v] of Object.entries(expected)) assert.ok(Math.abs((s as Record<string, number>)[k] - v) < 1e-12, `${k}: ${(s as Record<string, number>)[k]} vs ${v}`);
  assert.deepEqual(summarizeLatency({ p99Ms: 4.5 }), { p99Ms: 4.5 });
  expectAimassError(() => summarizeLatency([1, -2]), 'INVALID_ARGUMENT', 'latency[1] is -2');
  const r = evaluate({ labels: [0, 1], probabilities: [0.2, 0.9], classNames: ['n', 'p'], latency: { p99Ms: 4.5 }, model: { name: 'm', version: 3 } });
  assert.deepEqual(r.latency, { p99Ms: 4.5 });
  assert.deepEqual(r.model, { name: 'm', version: 3 });
});

test('typed arrays are accepted: Int32Array labels and a flat row-major Float32Array of probabilities', () => {
  const flat = Float32Array.from(rows.flat());
  const r = evaluate({ labels: Int32Array.from([0, 1, 2]), probabilities: flat, classNames });
  assert.equal(r.metrics.accuracy, 1);
  assert.equal(r.nSamples, 3);
  // float32 rounding leaves row sums within the tolerance
  assert.equal(typeof r.metrics.log_loss, 'number');
});
