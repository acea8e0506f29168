import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectAimassError } from '../../test/support/aimass-errors.js';
import { Normalizer, csrFromDense, csrToDense, denseFromRows, type DenseMatrix, type NormalizerSpecInput } from './index.js';

// columns: [1, 2, 3] (mean 2, population std √(2/3)), constant 5, [-4, 0, 2]
const TRAIN = denseFromRows([
  [1, 5, -4],
  [2, 5, 0],
  [3, 5, 2],
]);

const rowsOf = (d: DenseMatrix) => Array.from({ length: d.rows }, (_, r) => Array.from(d.data.subarray(r * d.cols, (r + 1) * d.cols)));

function assertClose(actual: number[][], expected: number[][]): void {
  actual.forEach((row, r) => row.forEach((v, c) => assert.ok(Math.abs(v - expected[r][c]) < 1e-6, `(${r}, ${c}): got ${v}, expected ${expected[r][c]}`)));
}

test('standard: z-scores with the population std; a constant column is only centered', () => {
  const n = Normalizer.fit(TRAIN, { kind: 'standard' });
  const s1 = Math.sqrt(2 / 3);
  // third column: mean -2/3, deviations -10/3, 2/3, 8/3, variance (100 + 4 + 64) / 27 = 168/27
  const s3 = Math.sqrt(168 / 27);
  assertClose(rowsOf(n.transform(TRAIN)), [
    [-1 / s1, 0, (-4 + 2 / 3) / s3],
    [0, 0, (0 + 2 / 3) / s3],
    [1 / s1, 0, (2 + 2 / 3) / s3],
  ]);
  // fitted on training data, applied unchanged to new rows
  assertClose(rowsOf(n.transform(denseFromRows([[4, 6, 0]]))), [[2 / s1, 1, (2 / 3) / s3]]);
});

test('min-max maps each column into the range; a constant column maps to its low end', () => {
  const n = Normalizer.fit(TRAIN, { kind: 'minmax' });
  assertClose(rowsOf(n.transform(TRAIN)), [
    [0, 0, 0],
    [0.5, 0, 4 / 6],
    [1, 0, 1],
  ]);
  const wide = Normalizer.fit(TRAIN, { kind: 'minmax', range: [-1, 1] });
  assertClose(rowsOf(wide.transform(TRAIN)), [
    [-1, -1, -1],
    [0, -1, 1 / 3],
    [1, -1, 1],
  ]);
});

test('l2 normalizes rows; maxabs scales columns; both keep sparse matrices sparse', () => {
  const x = denseFromRows([
    [3, 0, 4],
    [0, 0, 0],
    [0, -2, 0],
  ]);
  const l2 = Normalizer.fit(x, { kind: 'l2' });
  assertClose(rowsOf(l2.transform(x)), [
    [0.6, 0, 0.8],
    [0, 0, 0],
    [0, -1, 0],
  ]);
  const sparse = csrFromDense(x);
  assert.deepEqual(csrToDense(l2.transform(sparse)), l2.transform(x));
  const maxabs = Normalizer.fit(sparse, { kind: 'maxabs' });
  assertClose(rowsOf(csrToDense(maxabs.transform(sparse))), [
    [1, 0, 1],
    [0, 0, 0],
    [0, -1, 0],
  ]);
});

test('sparse input: standard scaling without centering counts the implicit zeros; centering is refused', () => {
  const x = denseFromRows([[2], [0], [0], [0]]);
  const sparse = csrFromDense(x);
  // mean 0.5, population variance (2.25 + 3 × 0.25) / 4 = 0.75
  const n = Normalizer.fit(sparse, { kind: 'standard', withMean: false });
  assertClose(rowsOf(csrToDense(n.transform(sparse))), [[2 / Math.sqrt(0.75)], [0], [0], [0]]);
  expectAimassError(() => Normalizer.fit(sparse, { kind: 'standard' }), 'UNSUPPORTED', 'withMean": false');
  expectAimassError(() => Normalizer.fit(sparse, { kind: 'minmax' }), 'UNSUPPORTED', 'maxabs');
  // fitted on dense with centering, then given sparse rows: refused the same way
  expectAimassError(() => Normalizer.fit(x, { kind: 'standard' }).transform(sparse), 'UNSUPPORTED');
});

test('a fitted normalizer survives JSON bit for bit', () => {
  const specs: NormalizerSpecInput[] = [{ kind: 'standard' }, { kind: 'minmax', range: [-3, 7] }, { kind: 'maxabs' }, { kind: 'l2' }];
  for (const spec of specs) {
    const n = Normalizer.fit(TRAIN, spec);
    const loaded = Normalizer.fromJSON(JSON.parse(JSON.stringify(n.toJSON())));
    const probe = denseFromRows([[0.1, 7, -3.3], [1e6, -2, 1 / 3]]);
    assert.deepEqual(loaded.transform(probe), n.transform(probe), spec.kind);
  }
});

test('bad specs, non-finite training values and width mismatches are reported', () => {
  expectAimassError(() => Normalizer.fit(TRAIN, { kind: 'zscore' } as never), 'INVALID_SPEC', /^normalizer\.kind/);
  expectAimassError(() => Normalizer.fit(TRAIN, { kind: 'minmax', range: [1, 0] }), 'INVALID_SPEC', 'lo < hi');
  expectAimassError(() => Normalizer.fit(TRAIN, { kind: 'l2', withMean: true } as never), 'INVALID_SPEC', 'normalizer.withMean: unknown field');
  expectAimassError(() => Normalizer.fit(denseFromRows([[1, Infinity]]), { kind: 'standard' }), 'INVALID_ARGUMENT', 'row 0, column 1 is Infinity');
  expectAimassError(() => Normalizer.fit(TRAIN, { kind: 'standard' }).transform(denseFromRows([[1, 2]])), 'SHAPE_MISMATCH', 'fitted on 3 columns but got 2');
  expectAimassError(() => Normalizer.fit({ rows: 0, cols: 2, data: new Float32Array(0) }, { kind: 'standard' }), 'INVALID_ARGUMENT', 'at least one row');
});
