import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectAimassError } from '../../test/support/aimass-errors.js';
import {
  CsrBuilder,
  assertCsr,
  columnMoments,
  countEmptyRows,
  csrColumnSums,
  csrFromDense,
  csrNormalizeRows,
  csrRow,
  csrRowSlice,
  csrSelectColumns,
  csrSelectRows,
  csrToDense,
  denseFromRows,
  denseSelectColumns,
  emptyCsr,
  type CsrMatrix,
} from './index.js';

const dense = (m: CsrMatrix) => {
  const d = csrToDense(m);
  return Array.from({ length: d.rows }, (_, r) => Array.from(d.data.subarray(r * d.cols, (r + 1) * d.cols)));
};

// [[1 0 2 0]
//  [0 0 0 0]
//  [0 3 0 4]]
const sample = () => csrFromDense(denseFromRows([[1, 0, 2, 0], [0, 0, 0, 0], [0, 3, 0, 4]]));

test('the builder sorts each row, sums repeated columns and drops zeros', () => {
  const b = new CsrBuilder(5, 1, 1);
  b.addRow([4, 0, 4, 2], [1, 5, 2, 0]);
  b.addEmptyRow();
  b.addSortedRow([1, 3], [7, 8]);
  b.addRow([2, 2], [1, -1]);
  const m = b.build();
  assertCsr(m);
  assert.deepEqual(dense(m), [[5, 0, 0, 0, 3], [0, 0, 0, 0, 0], [0, 7, 0, 8, 0], [0, 0, 0, 0, 0]]);
  assert.deepEqual(Array.from(m.indptr), [0, 2, 2, 4, 4]);
  assert.equal(countEmptyRows(m), 2);
  expectAimassError(() => b.addSortedRow([3, 1], [1, 1]), 'INVALID_ARGUMENT', 'out of order');
  expectAimassError(() => b.addRow([5], [1]), 'INVALID_ARGUMENT', 'outside 0..4');
});

test('row access, slices and row selection', () => {
  const m = sample();
  assert.deepEqual(Array.from(csrRow(m, 2).indices), [1, 3]);
  assert.deepEqual(dense(csrRowSlice(m, 1, 3)), [[0, 0, 0, 0], [0, 3, 0, 4]]);
  assert.deepEqual(dense(csrSelectRows(m, [2, 0, 2])), [[0, 3, 0, 4], [1, 0, 2, 0], [0, 3, 0, 4]]);
  expectAimassError(() => csrRowSlice(m, 2, 5), 'INVALID_ARGUMENT', 'outside the 3 rows');
});

test('column selection renumbers columns in the order given and keeps rows sorted', () => {
  const m = sample();
  const kept = csrSelectColumns(m, [1, 2]);
  assertCsr(kept);
  assert.deepEqual(dense(kept), [[0, 2], [0, 0], [3, 0]]);
  const permuted = csrSelectColumns(m, [3, 0, 1]);
  assertCsr(permuted);
  assert.deepEqual(dense(permuted), [[0, 1, 0], [0, 0, 0], [4, 0, 3]]);
  assert.deepEqual(Array.from(denseSelectColumns(csrToDense(m), [3, 0, 1]).data), [0, 1, 0, 0, 0, 0, 4, 0, 3]);
  expectAimassError(() => csrSelectColumns(m, [1, 1]), 'INVALID_ARGUMENT', 'listed twice');
});

test('column sums, row normalization and moments', () => {
  const m = sample();
  assert.deepEqual(Array.from(csrColumnSums(m)), [1, 3, 2, 4]);
  const l2 = csrNormalizeRows(m);
  assert.deepEqual(Array.from(l2.values), [1 / Math.sqrt(5), 2 / Math.sqrt(5), 3 / 5, 4 / 5].map(Math.fround));
  assert.deepEqual(Array.from(m.values), [1, 2, 3, 4], 'the input is left alone');
  assert.deepEqual(Array.from(csrNormalizeRows(m, 'l1').values), [1 / 3, 2 / 3, 3 / 7, 4 / 7].map(Math.fround));
  const fromSparse = columnMoments(m);
  const fromDense = columnMoments(csrToDense(m));
  for (let j = 0; j < 4; j++) {
    assert.ok(Math.abs(fromSparse.mean[j] - fromDense.mean[j]) < 1e-12);
    assert.ok(Math.abs(fromSparse.variance[j] - fromDense.variance[j]) < 1e-12);
  }
  // column 1 is [0, 0, 3]: mean 1, population variance (1 + 1 + 4) / 3 = 2
  assert.equal(fromSparse.mean[1], 1);
  assert.equal(fromSparse.variance[1], 2);
});

test('invalid CSR structures are named', () => {
  const m = sample();
  expectAimassError(() => assertCsr({ ...m, indices: Int32Array.from([2, 0, 1, 3]) }), 'INVALID_ARGUMENT', 'row 0: column 0 is out of order');
  expectAimassError(() => assertCsr({ ...m, indptr: Int32Array.from([0, 2, 4]) }), 'INVALID_ARGUMENT', 'indptr has 3 entries');
  expectAimassError(() => csrToDense({ ...emptyCsr(1 << 15, 1 << 15) }), 'RESOURCE_EXHAUSTED', 'convert row slices');
  expectAimassError(() => denseFromRows([[1, 2], [3]]), 'INVALID_ARGUMENT', 'row 1 has 1 values, expected 2');
});
