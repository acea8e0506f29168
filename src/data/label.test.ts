// Pins labels: maps that rename and merge (unknown and missing labels quarantined or kept, and counted),
// rules that vote or abstain, majority votes with ties abstaining, rules from JSON, and class balance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimassError } from '../core/index.js';
import { applyRules, classBalance, keywordRule, parseLabelRules, regexRule, relabel, tableFromObjects, thresholdRule, withLabelColumn } from './index.js';

const animals = () =>
  tableFromObjects([
    { id: 1, label: 'cat' },
    { id: 2, label: 'dog' },
    { id: 3, label: 'animal' },
    { id: 4, label: 'car' },
    { id: 5, label: null },
    { id: 6, label: 'kitten' },
  ]);

test('a label map renames and merges classes; unknown and missing labels are quarantined with their lines', () => {
  const r = relabel(animals(), 'label', { cat: 'animal', kitten: 'animal', dog: 'animal', car: 'vehicle' });
  assert.deepEqual(r.table.rows, [
    [1, 'animal'],
    [2, 'animal'],
    [3, 'animal'],
    [4, 'vehicle'],
    [6, 'animal'],
  ]);
  assert.deepEqual(r.report, { rows: 6, changed: 4, unknown: {}, missing: 1, dropped: 1 });
  assert.deepEqual(r.quarantine.map((q) => [q.line, q.reason]), [[5, 'missing-label']]);

  const partial = relabel(animals(), 'label', { cat: 'feline' });
  assert.deepEqual(partial.report.unknown, { dog: 1, animal: 1, car: 1, kitten: 1 });
  assert.deepEqual(partial.table.rows, [[1, 'feline']]);
  assert.deepEqual(partial.quarantine.map((q) => [q.line, q.reason]), [
    [2, 'unknown-label'],
    [3, 'unknown-label'],
    [4, 'unknown-label'],
    [5, 'missing-label'],
    [6, 'unknown-label'],
  ]);
  assert.match(partial.quarantine[0].message!, /column "label": label "dog" is not in the label map \(known: "cat", "feline"\)/);

  const kept = relabel(animals(), 'label', { cat: 'feline' }, { onUnknown: 'keep', onMissing: 'keep' });
  assert.equal(kept.table.rows.length, 6);
  assert.equal(kept.report.dropped, 0);
  assert.ok(kept.table.schema[1].nullable);
});

const tickets = () =>
  tableFromObjects([
    { text: 'I want a refund for my invoice', amount: 120 }, // billing ×2 (keyword, regex), big
    { text: 'The app crashes on start', amount: 0 }, //         bug
    { text: 'Refund please, the app crashes', amount: 5 }, //  billing 1, bug 1: a tie
    { text: 'Hello there', amount: 10 }, //                     nobody votes
    { text: 'refunds are slow', amount: 600 }, //               "refund" is not a whole word here; big → billing
    { text: null, amount: null },
  ]);

const rules = () => [
  keywordRule({ column: 'text', keywords: ['refund', 'invoice'], label: 'billing' }),
  regexRule({ name: 'money-words', column: 'text', pattern: 'invoice|charge', flags: 'i', label: 'billing' }),
  keywordRule({ column: 'text', keywords: ['crash', 'crashes', 'error'], label: 'bug' }),
  thresholdRule({ column: 'amount', op: '>', value: 500, label: 'billing' }),
];

test('rules vote or abstain; the majority wins, ties and silence abstain, and every case is counted', () => {
  const { labels, report } = applyRules(tickets(), rules());
  assert.deepEqual(labels, ['billing', 'bug', null, null, 'billing', null]);
  assert.deepEqual(report, {
    rows: 6,
    labeled: 3,
    abstained: 2,
    ties: 1,
    conflicts: 1,
    byLabel: { billing: 2, bug: 1 },
    votesByRule: { 'keyword:billing': 2, 'money-words': 1, 'keyword:bug': 2, 'threshold:amount>500:billing': 1 },
  });
  const t = withLabelColumn(tickets(), 'topic', labels);
  assert.deepEqual(t.schema.at(-1), { name: 'topic', type: 'string', nullable: true });
  assert.equal(t.rows[0][2], 'billing');
});

test('rules bind to the schema and fail clearly on a wrong column', () => {
  assert.throws(() => applyRules(tickets(), [thresholdRule({ column: 'text', op: '>', value: 1, label: 'x' })]), /column "text" is string; a threshold rule needs a number or timestamp column/);
  assert.throws(() => applyRules(tickets(), [keywordRule({ column: 'nope', keywords: ['a'], label: 'x' })]), /no column "nope"/);
  assert.throws(() => applyRules(tickets(), [rules()[0], rules()[0]]), /two labelling rules are named "keyword:billing"/);
  assert.throws(() => regexRule({ column: 'text', pattern: '(', label: 'x' }), /regex rule for "x"/);
  // a global regex would remember lastIndex between rows; the rule strips the flag
  const g = applyRules(tickets(), [regexRule({ column: 'text', pattern: /app/g, label: 'app' })]);
  assert.deepEqual(g.labels, [null, 'app', 'app', null, null, null]);
});

test('rules from JSON are validated, every problem listed', () => {
  const parsed = parseLabelRules([
    { type: 'keyword', column: 'text', keywords: ['refund'], label: 'billing' },
    { type: 'threshold', column: 'amount', op: '>=', value: 100, label: 'billing', name: 'big' },
  ]);
  assert.deepEqual(applyRules(tickets(), parsed).labels, ['billing', null, 'billing', null, 'billing', null]);
  assert.throws(
    () => parseLabelRules([{ type: 'keyword', column: 'text', keywords: [], label: 'x' }, { type: 'threshold', column: 'a', op: '=>', value: 1, label: 'y' }, { type: 'magic' }]),
    (e: unknown) => {
      assert.ok(e instanceof AimassError && e.code === 'INVALID_SPEC');
      const problems = e.details?.problems as string[];
      assert.ok(problems.some((p) => p.startsWith('[0].keywords')));
      assert.ok(problems.some((p) => p.startsWith('[1].op')));
      assert.ok(problems.some((p) => p.startsWith('[2]')));
      return true;
    },
  );
});

test('class balance: counts, fractions, most frequent first, imbalance ratio, missing apart', () => {
  const b = classBalance(['a', 'b', 'a', null, 'c', 'a', 'b']);
  assert.deepEqual(b, {
    total: 6,
    missing: 1,
    classes: [
      { label: 'a', count: 3, fraction: 0.5 },
      { label: 'b', count: 2, fraction: 2 / 6 },
      { label: 'c', count: 1, fraction: 1 / 6 },
    ],
    imbalanceRatio: 3,
  });
  assert.deepEqual(classBalance([]), { total: 0, missing: 0, classes: [], imbalanceRatio: 1 });
});
