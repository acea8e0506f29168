// Pins cleaning: each step (invalid, duplicate, near-duplicate, missing, outlier) on small tables with known
// answers; the report's invariant rowsIn = rowsOut + dropped and its per-column counts; a quarantine entry for
// every dropped row; the file path (two streaming passes) matching the in-memory one; and MinHash on texts of
// known similarity.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError, Rng } from '../core/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import {
  type CleaningReport,
  NearDuplicateIndex,
  type Table,
  cleanFile,
  cleanTable,
  loadTable,
  minHashSignature,
  normalizeText,
  shingleJaccard,
  signatureSimilarity,
  tableFromObjects,
} from './index.js';

const tempDir = useTempDirs('data-clean');

function assertBalanced(r: CleaningReport, quarantined: number): void {
  assert.equal(r.rowsIn, r.rowsOut + r.dropped, 'rowsIn = rowsOut + dropped');
  assert.equal(Object.values(r.droppedByReason).reduce((a, b) => a + (b ?? 0), 0), r.dropped, 'dropped by reason adds up');
  assert.equal(quarantined, r.dropped, 'every dropped row is quarantined');
}

const people = (): Table =>
  tableFromObjects([
    { id: 1, name: 'Ann', age: 30, city: 'Oslo' },
    { id: 2, name: 'Bob', age: null, city: 'Rome' },
    { id: 3, name: 'Cy', age: 50, city: null },
    { id: 1, name: ' Ann ', age: 30.0, city: 'Oslo' }, // an exact duplicate once normalized
    { id: 4, name: 'Dee', age: 40, city: 'Rome' },
    { id: 5, name: 'Eve', age: null, city: null },
  ]);

test('exact duplicates are dropped by the normalized row; a column subset compares only those columns', () => {
  const r = cleanTable(people(), { dedupe: true });
  assert.deepEqual(r.table.rows.map((row) => row[0]), [1, 2, 3, 4, 5]);
  assert.deepEqual(r.report.droppedByReason, { duplicate: 1 });
  assert.equal(r.quarantine[0].line, 4);
  assert.equal(r.quarantine[0].reason, 'duplicate');
  assert.deepEqual(r.quarantine[0].row, { id: 1, name: ' Ann ', age: 30, city: 'Oslo' });
  assertBalanced(r.report, r.quarantine.length);
  const byCity = cleanTable(people(), { dedupe: { columns: ['city'] } });
  assert.deepEqual(byCity.table.rows.map((row) => row[0]), [1, 2, 3]); // Oslo, Rome, null; later ones repeat them
  assert.equal(byCity.report.droppedByReason.duplicate, 3);
});

test('missing values: drop, mean, median, mode and constant, per column; each fill counted on its column', () => {
  const dropped = cleanTable(people(), { missing: 'drop' });
  assert.deepEqual(dropped.table.rows.map((row) => row[0]), [1, 1, 4]);
  assert.equal(dropped.report.droppedByReason.missing, 3);
  assert.equal(dropped.report.columns.age.missingDropped, 2);
  assert.equal(dropped.report.columns.city.missingDropped, 2);
  assert.match(dropped.quarantine[2].message!, /missing value in column\(s\) "age", "city"/);

  const mean = cleanTable(people(), { missing: 'mean' });
  // mean of 30, 50, 30, 40; city (a string column) takes its mode
  assert.deepEqual(mean.table.rows[1], [2, 'Bob', 37.5, 'Rome']);
  assert.deepEqual(mean.table.rows[5], [5, 'Eve', 37.5, 'Oslo']);
  assert.equal(mean.report.columns.age.filled, 2);
  assert.equal(mean.report.columns.city.filled, 2);
  assert.equal(mean.report.changed, 3);
  assert.deepEqual(mean.report.changedByReason, { filled: 3 });
  assert.deepEqual(mean.report.fills.age, { strategy: 'mean', value: 37.5 });
  assert.equal(mean.report.dropped, 0);

  const mixed = cleanTable(people(), { missing: 'keep', missingByColumn: { age: 'median', city: { constant: 'unknown' } }, dedupe: true });
  assert.deepEqual(
    mixed.table.rows.map((row) => [row[2], row[3]]),
    [
      [30, 'Oslo'],
      [40, 'Rome'],
      [50, 'unknown'],
      [40, 'Rome'],
      [40, 'unknown'],
    ],
  );
  assert.deepEqual(mixed.report.fills.age, { strategy: 'median', value: 40 }, 'the median of the deduplicated rows (30, 50, 40)');

  const kept = cleanTable(people(), {});
  assert.equal(kept.report.columns.age.nullsKept, 2);
  assert.equal(kept.report.changed, 0);
});

test('bad strategies fail before any row is touched, naming the column', () => {
  const t = people();
  assert.throws(() => cleanTable(t, { missingByColumn: { city: 'mean' } }), (e: unknown) => e instanceof AimassError && /cannot fill column "city" with its mean/.test(e.message));
  assert.throws(() => cleanTable(t, { missing: { constant: 'n/a' } }), /cannot fill column "id" \(number\) with the constant "n\/a"/);
  assert.throws(() => cleanTable(t, { missingByColumn: { nope: 'drop' } }), /no column "nope"/);
  assert.throws(() => cleanTable(t, { outliers: { method: 'zscore', threshold: 3, columns: ['city'] } }), /column "city" is string; outlier detection needs a number column/);
  assert.throws(() => cleanTable(t, { nearDedupe: { column: 'age' } }), /near-duplicate removal needs a string column/);
  assert.throws(() => cleanTable(t, { outliers: { method: 'zscore', threshold: 0 } }), /positive number/);
});

test('a column with no values at all cannot be filled: its rows are dropped as missing, and the report says so', () => {
  const t = tableFromObjects([{ a: 1, b: null }, { a: 2, b: null }], [
    { name: 'a', type: 'number', nullable: false },
    { name: 'b', type: 'number', nullable: true },
  ]);
  const r = cleanTable(t, { missing: 'mean' });
  assert.equal(r.table.rows.length, 0);
  assert.deepEqual(r.report.fills.b, { strategy: 'mean', value: null });
  assert.match(r.quarantine[0].message!, /which have no values to fill it from/);
  assertBalanced(r.report, r.quarantine.length);
});

test('outliers by z-score and by IQR are dropped (or clipped), with their bounds reported', () => {
  const values = [10, 11, 9, 10, 12, 8, 10, 11, 9, 100];
  const t = tableFromObjects(values.map((v, i) => ({ i, v })));
  const z = cleanTable(t, { outliers: { method: 'zscore', threshold: 2, columns: ['v'] } });
  assert.deepEqual(z.quarantine.map((q) => q.line), [10]);
  assert.equal(z.report.columns.v.outliers, 1);
  assert.match(z.quarantine[0].message!, /column "v": 100 is outside \[/);
  const iqr = cleanTable(t, { outliers: { method: 'iqr', threshold: 1.5 } });
  assert.deepEqual(iqr.quarantine.map((q) => q.line), [10]);
  // quartiles of the values: Q1 = 9.25, Q3 = 11 → [9.25 − 2.625, 11 + 2.625]
  assert.deepEqual(iqr.report.outlierBounds.v, { method: 'iqr', threshold: 1.5, low: 6.625, high: 13.625 });
  const clipped = cleanTable(t, { outliers: { method: 'iqr', threshold: 1.5, columns: ['v'], action: 'clip' } });
  assert.equal(clipped.table.rows[9][1], 13.625);
  assert.equal(clipped.report.columns.v.clipped, 1);
  assert.deepEqual(clipped.report.changedByReason, { clipped: 1 });
  assert.equal(clipped.report.dropped, 0);
});

test('cells that do not fit their column are dropped as type errors, before anything else looks at them', () => {
  const t: Table = { schema: [{ name: 'n', type: 'number', nullable: true }], rows: [[1], ['two'], [NaN], [3, 4]] };
  const r = cleanTable(t, { missing: 'mean' });
  assert.deepEqual(r.table.rows, [[1]]);
  assert.deepEqual(r.report.droppedByReason, { type: 2, ragged: 1 });
  assert.equal(r.report.columns.n.invalid, 2);
  assertBalanced(r.report, r.quarantine.length);
});

// --- near-duplicates ------------------------------------------------------------------------------------------

const TEXTS = [
  'The quick brown fox jumps over the lazy dog near the riverbank on a sunny afternoon.',
  'Completely different: quarterly revenue grew by twelve percent, driven by cloud services.',
  'A recipe for bread needs flour, water, salt and a little yeast, plus patience.',
];

test('normalization ignores case, punctuation and spacing; MinHash similarity tracks the exact Jaccard similarity', () => {
  assert.equal(normalizeText('  Hello,   WORLD!!  ＡＢＣ '), 'hello world abc');
  const a = TEXTS[0];
  const b = 'The quick brown fox jumped over the lazy dog near the riverbank on a sunny afternoon!';
  const exact = shingleJaccard(a, b);
  const est = signatureSimilarity(minHashSignature(a), minHashSignature(b));
  assert.ok(exact > 0.8, `exact ${exact}`);
  assert.ok(Math.abs(est - exact) < 0.15, `estimate ${est} vs exact ${exact}`);
  assert.ok(signatureSimilarity(minHashSignature(TEXTS[0]), minHashSignature(TEXTS[1])) < 0.2);
  assert.equal(signatureSimilarity(minHashSignature('Same text.'), minHashSignature('same   TEXT')), 1);
});

test('near-duplicate texts are dropped, naming the earlier line; distinct texts survive', () => {
  const rows = [
    { id: 1, text: TEXTS[0] },
    { id: 2, text: TEXTS[1] },
    { id: 3, text: 'the QUICK brown fox jumps over the lazy dog, near the riverbank on a sunny afternoon' },
    { id: 4, text: TEXTS[2] },
    { id: 5, text: 'The quick brown fox jumps over the lazy dog near the riverbank on a sunny afternoon!!!' },
    { id: 6, text: 'Last year quarterly revenue fell by two percent, dragged down by hardware sales.' }, // shares some words with 2
    { id: 7, text: null },
    { id: 8, text: 'A recipe for bread needs: flour, water, salt, and a little yeast... plus patience' },
  ];
  const r = cleanTable(tableFromObjects(rows), { nearDedupe: { column: 'text' } });
  assert.deepEqual(r.table.rows.map((row) => row[0]), [1, 2, 4, 6, 7]);
  assert.deepEqual(r.quarantine.map((q) => [q.line, q.reason]), [
    [3, 'near-duplicate'],
    [5, 'near-duplicate'],
    [8, 'near-duplicate'],
  ]);
  assert.match(r.quarantine[0].message!, /column "text" nearly duplicates line 1 \(estimated similarity [01]\.\d\d\)/);
  assert.match(r.quarantine[2].message!, /nearly duplicates line 4/);
  // a reworded text (exact shingle similarity 0.89) is a near-duplicate at 0.8, not at 0.95
  const reworded = [TEXTS[1], 'Quarterly revenue grew by twelve percent, driven by cloud services — completely different.'].map((text) => ({ text }));
  assert.equal(cleanTable(tableFromObjects(reworded), { nearDedupe: { column: 'text' } }).table.rows.length, 1);
  assert.equal(cleanTable(tableFromObjects(reworded), { nearDedupe: { column: 'text', threshold: 0.95 } }).table.rows.length, 2);
});

test('the MinHash index finds planted near-duplicates among many random texts, with no false positives', () => {
  const rng = new Rng(5);
  const words = Array.from({ length: 500 }, (_, i) => `w${i.toString(36)}${'xyz'[i % 3]}`);
  const texts = Array.from({ length: 2000 }, () => Array.from({ length: 30 }, () => words[rng.int(words.length)]).join(' '));
  const index = new NearDuplicateIndex();
  texts.forEach((t, i) => assert.equal(index.check(t, i), null, `random text ${i} flagged`));
  for (let k = 0; k < 50; k++) {
    const i = rng.int(texts.length);
    const variant = texts[i].replace(/^\S+/, 'changed'); // one word of thirty differs
    const m = index.check(variant, 10_000 + k);
    assert.ok(m && m.of === i, `variant of ${i} not found (${JSON.stringify(m)})`);
  }
});

// --- files ------------------------------------------------------------------------------------------------------

test('cleanFile streams (two passes when fitting) to the same result as cleanTable, with a quarantine next to the output', async () => {
  const dir = await tempDir();
  const input = join(dir, 'in.csv');
  await writeFile(
    input,
    [
      'id,text,score', //               1
      '1,alpha beta gamma delta,1.0', // 2
      '2,zzz,', //                      3  score filled with the median
      '3,Alpha  beta gamma delta!,3', // 4  near-duplicate of line 2
      '4,bad,x', //                     5  type
      '5,other', //                     6  ragged
      '1,alpha beta gamma delta,1', //  7  duplicate of line 2 (1.0 = 1)
      '6,six,2', //                     8
      '7,seven,3', //                   9
      '8,eight,2', //                  10
      '9,last one,100', //             11  outlier
    ].join('\n'),
  );
  const options = { dedupe: true, nearDedupe: { column: 'text' }, missing: 'median' as const, outliers: { method: 'iqr' as const, threshold: 1 } };
  const out = join(dir, 'out.csv');
  const report = await cleanFile(input, out, { ...options, load: { columns: { score: 'number' } } });
  // fitted on lines 2, 3, 8, 9, 10, 11: scores 1, 2, 3, 2, 100 → median 2, Q1 2, Q3 3, bounds [1, 4]
  assert.deepEqual(report.fills.score, { strategy: 'median', value: 2 });
  assert.deepEqual(report.outlierBounds.score, { method: 'iqr', threshold: 1, low: 1, high: 4 });
  const written = await readFile(out, 'utf8');
  assert.equal(written, 'id,text,score\n1,alpha beta gamma delta,1\n2,zzz,2\n6,six,2\n7,seven,3\n8,eight,2\n');
  const quarantine = (await readFile(join(dir, 'out.quarantine.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number; reason: string; row: unknown });
  assert.deepEqual(quarantine.map((q) => [q.line, q.reason]), [
    [4, 'near-duplicate'],
    [5, 'type'],
    [6, 'ragged'],
    [7, 'duplicate'],
    [11, 'outlier'],
  ]);
  assert.deepEqual(quarantine[2].row, ['5', 'other'], 'a bad record is quarantined as it was read');
  assertBalanced(report, quarantine.length);
  assert.equal(report.rowsIn, 10);
  assert.equal(report.columns.score.filled, 1);
  assert.equal(report.columns.score.invalid, 1);
  assert.equal(report.quarantine, join(dir, 'out.quarantine.jsonl'));

  const { table, bad } = await loadTable(input, { columns: { score: 'number' } });
  const inMemory = cleanTable(table, options);
  assert.equal(inMemory.table.rows.map((r) => r.join(',')).join('\n'), written.trim().split('\n').slice(1).join('\n'));
  assert.equal(inMemory.report.dropped + bad.length, report.dropped);
});
