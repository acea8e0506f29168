// Gradient checks for the indexing ops: Gather as an embedding lookup (ids with repeats: their rows'
// gradients are summed; only the table is differentiated) and GatherElements along either axis.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { gradCheck, ints64 } from '../../../test/support/gradcheck.js';
import { Graph, gradients, ops, writeModel } from '../index.js';

test('gather: [2, 3] ids with repeats into a [5, 4] table', async () => {
  await gradCheck((g, [table, ids]) => ops.gather(g, table, ids), [
    { name: 'table', shape: [5, 4] },
    { name: 'ids', shape: [2, 3], dtype: 'int64', data: ints64([1, 3, 1, 4, 1, 0]) },
  ]);
});

test('gather: flat ids into a rank-3 table', async () => {
  await gradCheck((g, [table, ids]) => ops.gather(g, table, ids), [
    { name: 'table', shape: [4, 2, 3] },
    { name: 'ids', shape: [3], dtype: 'int64', data: ints64([2, 2, 0]) },
  ]);
});

test('gather: a repeated row gets the sum of its gradients, an unused row zeros', async () => {
  const g = new Graph();
  const table = g.input('table', 'float32', [3, 2]);
  const ids = g.input('ids', 'int64', [4]);
  const loss = ops.reduceSum(g, ops.gather(g, table, ids));
  const [dTable] = gradients(g, loss, [table]);
  const session = await ort.InferenceSession.create(writeModel(g, { outputs: { dTable }, params: 'inputs' }), { logSeverityLevel: 3 });
  const out = await session.run({
    table: new ort.Tensor('float32', new Float32Array(6), [3, 2]),
    ids: new ort.Tensor('int64', ints64([2, 0, 2, 2]), [4]),
  });
  await session.release();
  assert.deepEqual(Array.from(out.dTable.data as Float32Array), [1, 1, 0, 0, 3, 3]);
});

test('gather elements along axis 1 with repeated indices', async () => {
  await gradCheck((g, [data, idx]) => ops.gatherElements(g, data, idx, 1), [
    { name: 'data', shape: [3, 4] },
    { name: 'idx', shape: [3, 2], dtype: 'int64', data: ints64([0, 3, 2, 2, 1, 0]) },
  ]);
});

test('gather elements along axis 0 (given as -2)', async () => {
  await gradCheck((g, [data, idx]) => ops.gatherElements(g, data, idx, -2), [
    { name: 'data', shape: [3, 4] },
    { name: 'idx', shape: [2, 4], dtype: 'int64', data: ints64([0, 2, 2, 1, 0, 0, 1, 2]) },
  ]);
});
