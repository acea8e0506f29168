// Pins merging: inner and left joins (one row per match, base order, suffixed clashes, missing keys never
// match), and the as-of join against a brute-force reference on random data — same key, latest context time at
// or before the base time, within tolerance, last in context order among equal times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/index.js';
import { type Table, asofJoin, asofMatches, joinTables, parseDuration, tableFromObjects, unmatchedRows } from './index.js';

const base = () =>
  tableFromObjects([
    { id: 1, name: 'a' },
    { id: 2, name: 'b' },
    { id: null, name: 'c' },
    { id: 1, name: 'd' },
    { id: 3, name: 'e' },
  ]);
const context = () =>
  tableFromObjects([
    { id: '1', name: 'one', score: 10 },
    { id: '2', name: 'two', score: 20 },
    { id: '2', name: 'deux', score: 21 },
    { id: null, name: 'none', score: 0 },
  ]);

test('an inner join keeps matching base rows, one per match, in base order; keys compare by text', () => {
  const t = joinTables(base(), context(), { on: 'id' });
  assert.deepEqual(t.schema.map((c) => c.name), ['id', 'name', 'name_context', 'score']);
  assert.deepEqual(t.rows, [
    [1, 'a', 'one', 10],
    [2, 'b', 'two', 20],
    [2, 'b', 'deux', 21],
    [1, 'd', 'one', 10],
  ]);
  assert.deepEqual(t.lines, [1, 2, 2, 4]);
  assert.deepEqual(unmatchedRows(base(), context(), { on: 'id' }), [2, 4]);
});

test('a left join keeps every base row, with nulls (and nullable columns) where nothing matches', () => {
  const t = joinTables(base(), context(), { on: 'id', how: 'left', suffix: '_ctx' });
  assert.deepEqual(t.rows.map((r) => r[2]), ['one', 'two', 'deux', null, 'one', null]);
  assert.equal(t.schema[2].name, 'name_ctx');
  assert.ok(t.schema[3].nullable);
  assert.throws(() => joinTables(base(), context(), { on: 'nope' }), /no column "nope"/);
  assert.throws(() => joinTables(base(), context(), { on: ['id', 'name'], contextOn: ['id'] }), /same number/);
});

test('multi-column keys join on all of them', () => {
  const a = tableFromObjects([
    { k1: 'x', k2: 1, v: 'a' },
    { k1: 'x', k2: 2, v: 'b' },
  ]);
  const b = tableFromObjects([
    { k1: 'x', k2: 2, w: 'B' },
    { k1: 'y', k2: 1, w: 'no' },
  ]);
  assert.deepEqual(joinTables(a, b, { on: ['k1', 'k2'], how: 'left' }).rows, [
    ['x', 1, 'a', null],
    ['x', 2, 'b', 'B'],
  ]);
});

test('as-of: the latest context row at or before the base time, within tolerance, else nulls', () => {
  const t0 = Date.UTC(2024, 0, 1);
  const min = 60_000;
  const trades = tableFromObjects([
    { sym: 'A', at: new Date(t0 + 1 * min).toISOString(), qty: 1 },
    { sym: 'A', at: new Date(t0 + 10 * min).toISOString(), qty: 2 },
    { sym: 'B', at: new Date(t0 + 3 * min).toISOString(), qty: 3 },
    { sym: 'A', at: new Date(t0 + 4 * min).toISOString(), qty: 4 },
    { sym: 'C', at: new Date(t0 + 4 * min).toISOString(), qty: 5 },
  ]);
  const quotes = tableFromObjects([
    { sym: 'A', at: new Date(t0).toISOString(), bid: 100 },
    { sym: 'B', at: new Date(t0 + 3 * min).toISOString(), bid: 200 },
    { sym: 'A', at: new Date(t0 + 4 * min).toISOString(), bid: 101 },
    { sym: 'A', at: new Date(t0 + 4 * min).toISOString(), bid: 102 }, // same time: the later row wins
    { sym: 'B', at: new Date(t0 + 5 * min).toISOString(), bid: 201 },
  ]);
  const t = asofJoin(trades, quotes, { on: 'sym', time: 'at', tolerance: parseDuration('5m') });
  assert.deepEqual(t.schema.map((c) => c.name), ['sym', 'at', 'qty', 'at_context', 'bid']);
  assert.deepEqual(t.rows.map((r) => r[4]), [100, null, 200, 102, null]); // 10m trade: last quote 6m earlier > 5m
  assert.equal(t.rows[0][3], t0);
  const strict = asofMatches(trades, quotes, { on: 'sym', time: 'at', allowExactMatches: false });
  assert.deepEqual(Array.from(strict), [0, 3, -1, 0, -1]);
});

/** The definition, row by row: O(n·m). */
function bruteAsof(base: Table, context: Table, tolerance: number): number[] {
  return base.rows.map((b) => {
    let best = -1;
    context.rows.forEach((c, j) => {
      if (b[0] === null || b[1] === null || c[0] === null || c[1] === null) return;
      if (String(c[0]) !== String(b[0]) || (c[1] as number) > (b[1] as number) || (b[1] as number) - (c[1] as number) > tolerance) return;
      if (best < 0 || (c[1] as number) >= (context.rows[best][1] as number)) best = j;
    });
    return best;
  });
}

test('as-of matches equal a brute-force reference on random data (keys, ties, nulls, tolerances)', () => {
  const rng = new Rng(17);
  const schema = [
    { name: 'k', type: 'string' as const, nullable: true },
    { name: 't', type: 'number' as const, nullable: true },
  ];
  const randomTable = (n: number): Table => ({
    schema,
    rows: Array.from({ length: n }, () => [rng.int(20) === 0 ? null : `k${rng.int(6)}`, rng.int(25) === 0 ? null : rng.int(200)]),
  });
  for (let round = 0; round < 40; round++) {
    const b = randomTable(1 + rng.int(120));
    const c = randomTable(rng.int(120));
    const tolerance = [0, 3, 15, Infinity][round % 4];
    const got = Array.from(asofMatches(b, c, { on: 'k', time: 't', tolerance }));
    assert.deepEqual(got, bruteAsof(b, c, tolerance), `round ${round}`);
  }
});

test('parseDuration reads units and refuses nonsense', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('42'), 42);
  assert.throws(() => parseDuration('5 parsecs'), /not a duration/);
  assert.throws(() => parseDuration('-5m'), /not a duration/);
});
