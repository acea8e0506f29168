// Pins the record model: type inference from samples (and what it refuses to call a number), coercion of text
// and JSON values, timestamps (UTC unless zoned, impossible dates refused), and the row/object conversions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimassError, Rng } from '../core/index.js';
import { cellFits, coerce, columnIndex, formatTimestamp, inferSchema, parseNumber, parseTimestamp, rowToObject, tableFromObjects } from './index.js';

test('inferSchema picks the narrowest type per column and marks columns with missing values nullable', () => {
  const schema = inferSchema(
    ['n', 'b', 't', 's', 'mixed', 'empty'],
    [
      ['1', 'true', '2024-01-01', 'x', '1', ''],
      ['2.5e3', 'FALSE', '2024-01-02T10:00:00Z', 'y', 'two', ''],
      ['', 'true', '2024-01-03 12:30', '', '3', null],
    ],
  );
  assert.deepEqual(schema, [
    { name: 'n', type: 'number', nullable: true },
    { name: 'b', type: 'boolean', nullable: false },
    { name: 't', type: 'timestamp', nullable: false },
    { name: 's', type: 'string', nullable: true },
    { name: 'mixed', type: 'string', nullable: false },
    { name: 'empty', type: 'string', nullable: true },
  ]);
});

test('identifiers that only look numeric stay strings: leading zeros, integers too long for a double, hex, NaN', () => {
  for (const values of [['007', '12'], ['1234567890123456789'], ['0x1f'], ['NaN'], ['Infinity'], ['1,5']]) {
    assert.equal(inferSchema(['c'], values.map((v) => [v]))[0].type, 'string', values.join(' '));
  }
  assert.equal(inferSchema(['c'], [['0'], ['0.5'], ['-3'], ['+4'], ['.5'], ['1e-3']])[0].type, 'number');
});

test('JSON values infer from their JSON type; numbers are never guessed to be timestamps', () => {
  const schema = inferSchema(['a', 'b', 'c', 'd'], [
    [1, true, 1700000000000, { x: 1 }],
    [2.5, false, 1700000000001, [1]],
  ]);
  assert.deepEqual(
    schema.map((c) => c.type),
    ['number', 'boolean', 'number', 'string'],
  );
});

test('coerce converts text and JSON values, turns blanks into null and says what is wrong otherwise', () => {
  assert.deepEqual(coerce(' 42 ', 'number'), { ok: true, cell: 42 });
  assert.deepEqual(coerce('007', 'number'), { ok: true, cell: 7 }); // a declared number column accepts it
  assert.deepEqual(coerce('', 'number'), { ok: true, cell: null });
  assert.deepEqual(coerce('   ', 'string'), { ok: true, cell: null });
  assert.deepEqual(coerce(undefined, 'boolean'), { ok: true, cell: null });
  assert.deepEqual(coerce(12, 'string'), { ok: true, cell: '12' });
  assert.deepEqual(coerce({ a: 1 }, 'string'), { ok: true, cell: '{"a":1}' });
  assert.deepEqual(coerce('True', 'boolean'), { ok: true, cell: true });
  assert.deepEqual(coerce(1700000000000, 'timestamp'), { ok: true, cell: 1700000000000 });
  const bad = coerce('abc', 'number');
  assert.equal(bad.ok, false);
  assert.match((bad as { problem: string }).problem, /"abc" is not a number/);
  assert.equal(coerce('yes', 'boolean').ok, false);
  assert.equal(coerce('2024-13-01', 'timestamp').ok, false);
  assert.equal(coerce(1e20, 'timestamp').ok, false);
});

test('timestamps are UTC unless zoned; impossible dates and times are refused', () => {
  assert.equal(parseTimestamp('2024-03-01'), Date.UTC(2024, 2, 1));
  assert.equal(parseTimestamp('2024-03-01T12:34'), Date.UTC(2024, 2, 1, 12, 34));
  assert.equal(parseTimestamp('2024-03-01 12:34:56.789'), Date.UTC(2024, 2, 1, 12, 34, 56, 789));
  assert.equal(parseTimestamp('2024-03-01T12:00:00.123456Z'), Date.UTC(2024, 2, 1, 12, 0, 0, 123));
  assert.equal(parseTimestamp('2024-03-01T12:00:00+02:00'), Date.UTC(2024, 2, 1, 10));
  assert.equal(parseTimestamp('2024-03-01T12:00:00-0130'), Date.UTC(2024, 2, 1, 13, 30));
  assert.equal(parseTimestamp('0050-06-01'), Date.parse('0050-06-01T00:00:00Z'));
  for (const bad of ['2024-02-30', '2023-02-29', '2024-01-01T24:00', '2024-1-1', '01/02/2024', 'today']) assert.equal(parseTimestamp(bad), undefined, bad);
  assert.equal(parseTimestamp('2024-02-29'), Date.UTC(2024, 1, 29));
});

test('parseNumber accepts decimals only', () => {
  assert.equal(parseNumber('-1.5e3'), -1500);
  for (const bad of ['', '.', 'e5', '1e', '0x10', '1_000', 'Infinity', '--1']) assert.equal(parseNumber(bad), undefined, bad);
});

test('tableFromObjects infers the schema; rowToObject prints timestamps as ISO; cellFits checks a cell against its type', () => {
  const t = tableFromObjects([
    { id: 1, at: '2024-01-01T00:00:00Z', ok: true },
    { id: 2, at: null, extra: 'x' },
  ]);
  assert.deepEqual(
    t.schema.map((c) => [c.name, c.type]),
    [
      ['id', 'number'],
      ['at', 'timestamp'],
      ['ok', 'boolean'],
      ['extra', 'string'],
    ],
  );
  assert.deepEqual(t.rows[1], [2, null, null, 'x']);
  assert.deepEqual(rowToObject(t.schema, t.rows[0]), { id: 1, at: '2024-01-01T00:00:00.000Z', ok: true, extra: null });
  assert.ok(cellFits(3, 'number') && !cellFits('3', 'number') && !cellFits(NaN, 'number') && cellFits('x', 'string') && !cellFits(1, 'boolean'));
  assert.throws(() => columnIndex(t.schema, 'nope'), (e: unknown) => e instanceof AimassError && /no column "nope"; the columns are: id, at, ok, extra/.test(e.message));
});

test('parseTimestamp and formatTimestamp agree with Date on random instants from year 0 to 9999', () => {
  const rng = new Rng(8);
  const lo = Date.parse('0000-01-01T00:00:00Z');
  const hi = Date.parse('9999-12-31T23:59:59.999Z');
  for (let i = 0; i < 20_000; i++) {
    const ms = lo + Math.floor(rng.next() * (hi - lo));
    const iso = new Date(ms).toISOString();
    assert.equal(formatTimestamp(ms), iso);
    assert.equal(parseTimestamp(iso), ms, iso);
    assert.equal(parseTimestamp(iso.slice(0, 19)), Math.floor(ms / 1000) * 1000, 'no zone is UTC');
    assert.equal(parseTimestamp(iso.slice(0, 10)), Date.parse(iso.slice(0, 10)), 'a date alone');
  }
});
