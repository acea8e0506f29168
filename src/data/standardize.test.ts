// Pins scaling (fitted on one table, applied to another, nulls kept, constant columns safe, invertible) and
// unit conversion (factors, temperature offsets, refusals across dimensions).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyScaler, convertColumn, convertUnit, fitScaler, tableFromObjects, unitConverter, unscale } from './index.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} ≉ ${b}`);

const train = () =>
  tableFromObjects([
    { x: 1, c: 5, s: 'a' },
    { x: 2, c: 5, s: 'b' },
    { x: 3, c: 5, s: 'c' },
    { x: 4, c: 5, s: 'd' },
    { x: 100, c: 5, s: 'e' },
    { x: null, c: 5, s: 'f' },
  ]);

test('z-score, min-max and robust scalers fit on number columns; applying keeps nulls and other columns', () => {
  const t = train();
  const z = fitScaler(t, 'zscore');
  assert.deepEqual(z.columns.map((c) => c.column), ['x', 'c']);
  const zx = z.columns[0];
  close(zx.center, 22);
  close(zx.scale, Math.sqrt(((1 - 22) ** 2 + (2 - 22) ** 2 + (3 - 22) ** 2 + (4 - 22) ** 2 + (100 - 22) ** 2) / 5));
  assert.deepEqual(z.columns[1], { column: 'c', method: 'zscore', center: 5, scale: 1 }, 'a constant column maps to 0, not NaN');
  const scaled = applyScaler(t, z);
  assert.equal(scaled.rows[5][0], null);
  assert.equal(scaled.rows[0][2], 'a');
  assert.equal(scaled.rows[0][1], 0);
  const xs = scaled.rows.slice(0, 5).map((r) => r[0] as number);
  close(xs.reduce((a, b) => a + b) / 5, 0);
  close(unscale(xs[4], zx), 100);

  const mm = fitScaler(t, 'minmax', ['x']);
  assert.deepEqual(applyScaler(t, mm).rows.map((r) => r[0]), [0, 1 / 99, 2 / 99, 3 / 99, 1, null]);

  const robust = fitScaler(t, 'robust', ['x']).columns[0];
  assert.deepEqual([robust.center, robust.scale], [3, 2], 'median 3, IQR 4 − 2: the outlier barely moves it');
});

test('a scaler fitted on train applies unchanged to new data', () => {
  const z = fitScaler(train(), 'minmax', ['x']);
  const test_ = tableFromObjects([{ x: 199, c: 1, s: 'z' }]);
  assert.equal(applyScaler(test_, z).rows[0][0], 2);
  assert.throws(() => fitScaler(train(), 'minmax', ['s']), /column "s" is string; scaling needs a number column/);
  assert.throws(() => fitScaler(train(), 'bogus' as 'zscore'), /unknown scaling method "bogus"/);
});

test('units convert by factor and offset within a dimension', () => {
  close(convertUnit(1500, 'ms', 's'), 1.5);
  close(convertUnit(2, 'h', 'min'), 120);
  close(convertUnit(2500, 'g', 'kg'), 2.5);
  close(convertUnit(1, 'lb', 'g'), 453.59237);
  close(convertUnit(212, 'F', 'C'), 100);
  close(convertUnit(32, '°F', '°C'), 0);
  close(convertUnit(-40, 'C', 'F'), -40);
  close(convertUnit(0, 'C', 'K'), 273.15);
  close(convertUnit(1, 'mi', 'km'), 1.609344);
  close(convertUnit(1, 'GiB', 'MiB'), 1024);
  const f = unitConverter('s', 'ms');
  assert.equal(f(2), 2000);
  assert.throws(() => convertUnit(1, 'kg', 'm'), /cannot convert kg \(mass\) to m \(length\)/);
  assert.throws(() => convertUnit(1, 'stone', 'kg'), /unknown unit "stone"/);
  const t = convertColumn(tableFromObjects([{ ms: 1500 }, { ms: null }]), 'ms', 'ms', 's');
  assert.deepEqual(t.rows, [[1.5], [null]]);
});
