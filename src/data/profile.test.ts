// Pins profiling and the bounded sketches behind it: exact statistics on small tables, the same numbers from a
// file as from its table, and estimates that stay close once the sketches stop being exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../core/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { DistinctCounter, FingerprintSet, Moments, Reservoir, TopValues, loadTable, openTable, profile, tableFromObjects } from './index.js';

const tempDir = useTempDirs('data-profile');

test('profile: count, nulls, min/max/mean/std for numbers, ISO min/max for timestamps, distinct and top values for text', async () => {
  const t = tableFromObjects([
    { n: 1, s: 'x', b: true, t: '2024-01-02T00:00:00Z' },
    { n: 3, s: 'y', b: false, t: '2024-01-01T00:00:00Z' },
    { n: null, s: 'x', b: true, t: null },
    { n: 5, s: null, b: true, t: '2024-03-01T00:00:00Z' },
  ]);
  const p = await profile(t);
  assert.equal(p.rows, 4);
  assert.deepEqual(p.columns[0], { name: 'n', type: 'number', count: 3, nulls: 1, min: 1, max: 5, mean: 3, std: Math.sqrt(8 / 3) });
  assert.deepEqual(p.columns[1], { name: 's', type: 'string', count: 3, nulls: 1, distinct: 2, distinctExact: true, top: [{ value: 'x', count: 2 }, { value: 'y', count: 1 }], topExact: true });
  assert.deepEqual(p.columns[2].top, [
    { value: true, count: 3 },
    { value: false, count: 1 },
  ]);
  assert.deepEqual([p.columns[3].min, p.columns[3].max, p.columns[3].count], ['2024-01-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z', 3]);
});

test('profiling a file streams it and counts its bad records; the row statistics equal those of the loaded table', async () => {
  const path = join(await tempDir(), 'p.csv');
  await writeFile(path, 'a,b\n1,x\n2\n3,y\nfour,z\n5,x\n');
  const fromFile = await profile(await openTable(path, { columns: { a: 'number' } }));
  assert.deepEqual(fromFile.rejected, {
    rows: 2,
    byReason: { ragged: 1, type: 1 },
    first: ['line 3: has 1 field(s), the header has 2', 'line 5: column "a": "four" is not a number'],
  });
  const { table } = await loadTable(path, { columns: { a: 'number' } });
  const { rejected: _, ...stats } = fromFile;
  assert.deepEqual(stats, await profile(table));
});

test('Moments match the two-pass formulas', () => {
  const rng = new Rng(1);
  const xs = Array.from({ length: 10_000 }, () => rng.normal(1e6, 3));
  const m = new Moments();
  xs.forEach((x) => m.add(x));
  const mean = xs.reduce((a, b) => a + b) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  assert.ok(Math.abs(m.mean - mean) < 1e-6 && Math.abs(m.std - std) < 1e-6);
});

test('DistinctCounter is exact up to 10,000 values, then within 3% (HyperLogLog)', () => {
  const d = new DistinctCounter();
  for (let i = 0; i < 10_000; i++) d.add(`v${i % 5000}`);
  assert.equal(d.estimate(), 5000);
  assert.ok(d.isExact);
  for (let i = 0; i < 200_000; i++) d.add(`v${i}`);
  assert.ok(!d.isExact);
  assert.ok(Math.abs(d.estimate() / 200_000 - 1) < 0.03, `estimate ${d.estimate()}`);
});

test('TopValues finds the heavy hitters in a long tail', () => {
  const top = new TopValues();
  const rng = new Rng(2);
  for (let i = 0; i < 100_000; i++) top.add(i % 10 === 0 ? 'hot' : i % 25 === 0 ? 'warm' : `cold${rng.int(1e9)}`);
  assert.ok(!top.isExact);
  assert.deepEqual(top.top(2).map((t) => t.value), ['hot', 'warm']);
});

test('Reservoir quantiles are exact below its capacity and close above it', () => {
  const r = new Reservoir(1, 1000);
  for (const x of [5, 1, 4, 2, 3]) r.add(x);
  assert.deepEqual([r.quantile(0), r.quantile(0.25), r.quantile(0.5), r.quantile(1)], [1, 2, 3, 5]);
  for (let i = 0; i < 100_000; i++) r.add(i / 100_000);
  assert.ok(!r.isExact);
  assert.ok(Math.abs(r.quantile(0.5) - 0.5) < 0.05);
  assert.ok(Number.isNaN(new Reservoir().quantile(0.5)));
});

test('FingerprintSet remembers what it saw across growth', () => {
  const s = new FingerprintSet(4);
  for (let i = 0; i < 50_000; i++) assert.equal(s.add(`row ${i}`), true);
  for (let i = 0; i < 50_000; i += 7) assert.equal(s.add(`row ${i}`), false);
  assert.equal(s.size, 50_000);
});
