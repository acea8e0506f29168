// The gate language: every syntax error with its position, rules split at top-level `and`, per-class metrics
// in brackets, baseline comparisons and the no-baseline policy, unknown metrics as errors, and undefined
// metrics failing closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectAimassError, problemsOf } from '../../test/support/aimass-errors.js';
import { checkGate, evaluate, evaluateRegression, gateSyntaxErrors, parseGate, type ClassificationReport, type GateSyntaxError } from './index.js';

const classNames = ['go', 'stop', '停止', '<b>&"'];

/** 8 samples, 2 per class; everything right except one "stop" predicted as "go". */
function report(extra: Partial<Parameters<typeof evaluate>[0]> = {}): ClassificationReport {
  const labels = [0, 0, 1, 1, 2, 2, 3, 3];
  const predicted = [0, 0, 0, 1, 2, 2, 3, 3];
  const probabilities = predicted.map((p) => classNames.map((_, c) => (c === p ? 0.7 : 0.1)));
  return evaluate({ labels, probabilities, classNames, latency: { p99Ms: 4 }, ...extra });
}

function errorsOf(text: string): string[] {
  return gateSyntaxErrors(text).map((e: GateSyntaxError) => `${e.column}: ${e.message}`);
}

test('a valid gate parses into its top-level rules, keeping each rule\'s text', () => {
  const gate = parseGate('accuracy >= 0.97 and min_class_recall >= 0.9 and p99_latency_ms <= 5');
  assert.deepEqual(
    gate.rules.map((r) => r.text),
    ['accuracy >= 0.97', 'min_class_recall >= 0.9', 'p99_latency_ms <= 5'],
  );
  const nested = parseGate('(accuracy >= 0.9 or f1_macro > 0.8) and not recall[stop] < 0.5 AND accuracy >= baseline.accuracy - 0.005');
  assert.deepEqual(
    nested.rules.map((r) => [r.text, r.usesBaseline]),
    [
      ['(accuracy >= 0.9 or f1_macro > 0.8)', false],
      ['not recall[stop] < 0.5', false],
      ['accuracy >= baseline.accuracy - 0.005', true],
    ],
  );
  // precedence: * before -, unary minus, comparison before not
  const arith = parseGate('-accuracy * 2 + 3 > 1 - 0.5 / 2').expression;
  assert.equal(arith.type, 'compare');
});

test('every syntax error is reported with its column, in one pass', () => {
  assert.deepEqual(errorsOf('accuracy >= and recall[stop] <= 2 or f1 >'), [
    '13: expected a metric name, a number, not or ( but found "and"',
    '42: expected a metric name, a number, not or ( but found the end of the gate',
  ]);
  assert.deepEqual(errorsOf('accuracy = 0.9 && (recall_macro >= 1'), [
    '10: use == to compare for equality (a single = is not an operator)',
    '16: use and instead of &&',
    '37: expected ) to close the ( at offset 18, found the end of the gate',
  ]);
  assert.deepEqual(errorsOf('accuracy >= 0.9 recall_macro >= 0.8)'), ['17: expected and / or before "recall_macro": join rules with and', '36: ) without a matching (']);
  assert.deepEqual(errorsOf('0.9 < accuracy < 1'), ['16: comparisons cannot be chained; write a < x and a < y instead']);
  assert.deepEqual(errorsOf('accuracy'), ['1: the gate must be a condition such as accuracy >= 0.97, but this is only a number']);
  assert.deepEqual(errorsOf('not accuracy and 1 > 0'), ['5: not needs a comparison such as accuracy >= 0.9, but found a number']);
  assert.deepEqual(errorsOf('accuracy >= 97%'), ['15: percent signs are not supported; write 0.97 instead of 97%']);
  assert.deepEqual(errorsOf('accuracy >= 1.2.3'), ['13: "1.2.3" is not a number; write plain decimals such as 0.97 or 1e-3']);
  assert.deepEqual(errorsOf('recall[ >= 1'), ['7: unclosed [ : a per-class metric is written recall[class] or recall["class name"]']);
  assert.deepEqual(errorsOf('recall.stop >= 1'), ['7: "recall." is not a prefix: only baseline.<metric> takes a dot; a per-class metric is written recall[class]']);
  assert.deepEqual(errorsOf(''), ['1: the gate is empty; write at least one rule, e.g. accuracy >= 0.97']);
  assert.deepEqual(errorsOf('accuracy >= 0.9; f1_macro > 0.5'), [
    '16: unexpected ";"; a gate has metric names, numbers, comparisons, + - * /, and, or, not and parentheses',
    '18: expected and / or before "f1_macro": join rules with and',
  ]);
  // a comment runs to the end of its line
  assert.deepEqual(errorsOf('accuracy >= 0.9 # the floor\nand f1_macro > 0.5 # (unbalanced'), []);
});

test('parseGate throws INVALID_SPEC with every error; lines and columns count characters, CJK included', () => {
  const e = expectAimassError(
    () => parseGate('recall[停止] >= 0.9 and\n  f1 = 0.5 and 停止 > 1'),
    'INVALID_SPEC',
    '2 syntax error(s)',
    'line 2, column 6: use == to compare',
    'line 2, column 16: unexpected "停止"; metric names are ASCII letters, digits and _, and a class name goes in brackets: recall[停止]',
  );
  assert.deepEqual(
    (e.details?.syntaxErrors as GateSyntaxError[]).map((s) => [s.line, s.column, s.offset]),
    [
      [2, 6, 27],
      [2, 16, 37],
    ],
  );
  assert.equal(problemsOf(e).length, 2);
});

test('per-class metrics use brackets, with quotes for any name; CJK and markup characters work', () => {
  const r = report();
  const result = checkGate('recall[stop] >= 0.5 and recall[停止] == 1 and precision["<b>&\\""] == 1 and recall[ go ] == 1', r);
  assert.deepEqual(
    result.rules.map((x) => [x.passed, x.actual, x.expected]),
    [
      [true, 0.5, 0.5],
      [true, 1, 1],
      [true, 1, 1],
      [true, 1, 1],
    ],
  );
  assert.equal(result.passed, true);
});

test('checkGate reports each rule with its actual value, its threshold and a message', () => {
  const r = report();
  const result = checkGate('accuracy >= 0.97 and min_class_recall >= 0.5 and p99_latency_ms <= 5', r);
  assert.equal(result.passed, false);
  assert.deepEqual(result.rules[0], {
    text: 'accuracy >= 0.97',
    passed: false,
    actual: 0.875,
    expected: 0.97,
    message: 'failed: accuracy = 0.875 >= 0.97 is false',
  });
  assert.deepEqual(
    result.rules.slice(1).map((x) => [x.passed, x.actual, x.expected]),
    [
      [true, 0.5, 0.5],
      [true, 4, 5],
    ],
  );
  const compound = checkGate('(recall[stop] >= 0.9 or f1_macro > 0.9)', r).rules[0];
  assert.equal(compound.passed, false);
  assert.equal(compound.actual, null);
  assert.match(compound.message, /^failed: recall\[stop\] = 0\.5 >= 0\.9 is false; f1_macro = 0\.8\d* > 0\.9 is false$/);
});

test('baseline: compared against the production report; without one, baseline rules pass with a note', () => {
  const current = report();
  const production = evaluate({ labels: [0, 1, 2, 3], probabilities: classNames.map((_, i) => classNames.map((__, c) => (c === i ? 0.7 : 0.1))), classNames });
  const gate = 'accuracy >= 0.8 and accuracy >= baseline.accuracy - 0.005 and f1_macro >= baseline.f1_macro * 0.5';
  const withBaseline = checkGate(gate, current, production);
  assert.equal(withBaseline.passed, false);
  assert.deepEqual(withBaseline.rules[1], {
    text: 'accuracy >= baseline.accuracy - 0.005',
    passed: false,
    actual: 0.875,
    expected: 0.995,
    message: 'failed: accuracy = 0.875 >= baseline.accuracy - 0.005 = 0.995 is false',
  });
  assert.equal(withBaseline.rules[2].passed, true);

  const first = checkGate(gate, current);
  assert.equal(first.passed, true);
  assert.deepEqual(
    first.rules.map((x) => [x.passed, x.skipped ?? false]),
    [
      [true, false],
      [true, true],
      [true, true],
    ],
  );
  assert.match(first.rules[1].message, /no baseline.*passes by the no-baseline policy/);
  assert.match(first.notes[0], /No baseline was given/);

  const elsewhere = checkGate(gate, { ...current, dataset: 'sha256:aaa' }, { ...production, dataset: 'sha256:bbb' });
  assert.ok(elsewhere.notes.some((n) => n.includes('scored on dataset sha256:bbb')), elsewhere.notes.join('\n'));
});

test('an unknown metric is an error naming it and listing the known ones, never a silent false', () => {
  const r = report();
  const e = expectAimassError(
    () => checkGate('acuracy >= 0.9 and recall[cat] > 0 and accuracy[stop] > 0 and recall >= 0.5 and baseline.f2 > 0', r),
    'INVALID_SPEC',
    'unknown metrics ("acuracy", "recall[cat]", "accuracy[stop]", "recall", "f2")',
    'known metrics of this multiclass report: accuracy, average_precision, average_precision_macro',
    'column 1: unknown metric "acuracy"',
    'column 20: recall[cat]: unknown class "cat"; the classes are "go", "stop", "停止", "<b>&\\""',
    'column 40: accuracy[stop]: accuracy has no per-class values',
    'column 63: recall is per class in a multiclass report: write recall[class] or recall_macro',
    'column 81: baseline.unknown metric "f2"',
  );
  assert.ok((e.details?.known as string[]).includes('min_class_recall'));
  expectAimassError(() => checkGate('recall[a] > 0', evaluateRegression({ targets: [1, 2], predictions: [1, 2] })), 'INVALID_SPEC', 'a regression report has no per-class metrics');
});

test('an undefined metric fails its rule with the reason, also under not (three-valued logic)', () => {
  const scored = evaluate({ labels: [0, 1, 1], scores: [-1, 2, 0.5], classNames: ['neg', 'pos'] });
  const result = checkGate('log_loss <= 0.5 and not log_loss > 0.5 and (log_loss < 1 or accuracy >= 0.9) and mean_latency_ms < 9', scored);
  assert.deepEqual(
    result.rules.map((x) => x.passed),
    [false, false, true, false],
  );
  assert.match(result.rules[0].message, /^failed \(unknown: a value is undefined\): log_loss \(log_loss is undefined: needs probabilities, but scores were given\) <= 0\.5 is unknown$/);
  assert.match(result.rules[3].message, /the report has no latency fields/);
  assert.equal(result.passed, false);
});

test('regression gates', () => {
  const r = evaluateRegression({ targets: [1, 2, 3, 4], predictions: [1.1, 1.9, 3.2, 3.8] });
  const result = checkGate('rmse <= 0.2 and r2 >= 0.95 and mae < baseline.mae', r, r);
  assert.deepEqual(
    result.rules.map((x) => x.passed),
    [true, true, false],
  );
});
