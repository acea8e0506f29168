// Gradient checks for the data-movement ops (Reshape with 0 and -1, Flatten, Transpose, Concat, Slice with
// negative and clamped bounds, Pad, Unsqueeze, Squeeze, Expand), and the forward graph with a symbolic batch
// 'N' run in ONNX Runtime at two batch sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { AimassError } from '../../core/index.js';
import { gradCheck } from '../../../test/support/gradcheck.js';
import { Graph, ops, writeModel } from '../index.js';

test('reshape with a copied (0) and an inferred (-1) dimension', async () => {
  await gradCheck((g, [x]) => ops.reshape(g, x, [0, -1]), [{ name: 'x', shape: [2, 3, 4] }]);
  await gradCheck((g, [x]) => ops.reshape(g, x, [4, 0, -1]), [{ name: 'x', shape: [2, 3, 4] }]);
  await gradCheck((g, [x]) => ops.reshape(g, x, [-1, 2]), [{ name: 'x', shape: [2, 3, 4] }]);
});

test('flatten at axis 1 and axis 2', async () => {
  await gradCheck((g, [x]) => ops.flatten(g, x), [{ name: 'x', shape: [2, 3, 2, 2] }]);
  await gradCheck((g, [x]) => ops.flatten(g, x, 2), [{ name: 'x', shape: [2, 3, 2, 2] }]);
});

test('transpose', async () => {
  await gradCheck((g, [x]) => ops.transpose(g, x, [2, 0, 1]), [{ name: 'x', shape: [2, 3, 4] }]);
  await gradCheck((g, [x]) => ops.transpose(g, x, [0, 2, 3, 1]), [{ name: 'x', shape: [2, 3, 2, 2] }]);
});

test('concat of 3 inputs along axis 1, and along the last axis given as -1', async () => {
  await gradCheck((g, [a, b, c]) => ops.concat(g, [a, b, c], 1), [
    { name: 'a', shape: [2, 1, 3] },
    { name: 'b', shape: [2, 2, 3] },
    { name: 'c', shape: [2, 3, 3] },
  ]);
  await gradCheck((g, [a, b]) => ops.concat(g, [a, b], -1), [
    { name: 'a', shape: [2, 3] },
    { name: 'b', shape: [2, 2] },
  ]);
});

test('concat with one input held constant', async () => {
  await gradCheck((g, [a, b, c]) => ops.concat(g, [a, b, c], 1), [
    { name: 'a', shape: [2, 2] },
    { name: 'b', shape: [2, 1], constant: true },
    { name: 'c', shape: [2, 3] },
  ]);
});

test('slice with positive, negative and clamped bounds', async () => {
  await gradCheck((g, [x]) => ops.slice(g, x, [1], [3], [1]), [{ name: 'x', shape: [2, 5] }]);
  await gradCheck((g, [x]) => ops.slice(g, x, [-3], [5], [1]), [{ name: 'x', shape: [2, 5] }]);
  await gradCheck((g, [x]) => ops.slice(g, x, [-3, 0], [-1, 100], [-1, 0]), [{ name: 'x', shape: [3, 2, 6] }]);
});

test('slice output shapes', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3, 6]);
  assert.deepEqual(ops.slice(g, x, [-2], [100], [1]).shape, [3, 2]);
  assert.deepEqual(ops.slice(g, x, [-100], [2], [1]).shape, [3, 2]);
  assert.deepEqual(ops.slice(g, x, [1, 2], [-1, -1], [0, 1]).shape, [1, 3]);
});

test('pad (begins then ends of each axis)', async () => {
  await gradCheck((g, [x]) => g.op('Pad', [x], { pads: [0, 1, 2, 1, 0, 1] }), [{ name: 'x', shape: [2, 3, 2] }]);
});

test('unsqueeze and squeeze', async () => {
  await gradCheck((g, [x]) => ops.unsqueeze(g, x, [0, 2]), [{ name: 'x', shape: [2, 3] }]);
  await gradCheck((g, [x]) => ops.unsqueeze(g, x, [-1]), [{ name: 'x', shape: [2, 3] }]);
  await gradCheck((g, [x]) => ops.squeeze(g, x, [1]), [{ name: 'x', shape: [2, 1, 3] }]);
  await gradCheck((g, [x]) => ops.squeeze(g, x, [0, -1]), [{ name: 'x', shape: [1, 3, 1] }]);
});

test('expand sums the gradient over the broadcast axes', async () => {
  await gradCheck((g, [x]) => ops.expand(g, x, [2, 3, 4]), [{ name: 'x', shape: [3, 1] }]);
  await gradCheck((g, [x]) => ops.expand(g, x, [2, 3]), [{ name: 'x', shape: [] }]);
  await gradCheck((g, [x]) => ops.expand(g, x, [2, 1, 3]), [{ name: 'x', shape: [2, 4, 1] }]);
});

test('bad shapes fail at build time naming the layer and the shapes', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3, 4]);
  const expectMismatch = (fn: () => unknown, ...fragments: string[]) =>
    assert.throws(fn, (e: unknown) => e instanceof AimassError && e.code === 'SHAPE_MISMATCH' && fragments.every((f) => e.message.includes(f)));
  expectMismatch(() => g.scope('head', () => ops.reshape(g, x, [5, -1])), 'head', '[2, 3, 4]', '5,-1');
  expectMismatch(() => g.scope('head', () => ops.reshape(g, x, [2, 3, 5])), 'head', '[2, 3, 4]');
  expectMismatch(() => g.scope('merge', () => ops.concat(g, [x, g.input('y', 'float32', [2, 4, 5])], 1)), 'merge', '[2, 3, 4]', '[2, 4, 5]');
  expectMismatch(() => g.scope('sq', () => ops.squeeze(g, x, [1])), 'sq', '[2, 3, 4]');
  expectMismatch(() => g.scope('ex', () => ops.expand(g, x, [2, 5, 4])), 'ex', '[2, 3, 4]');
  expectMismatch(() => g.scope('tr', () => ops.transpose(g, x, [0, 0, 1])), 'tr', '[2, 3, 4]');
});

test('symbolic batch: reshape [0, -1], flatten and reshape [-1, k] keep N and run at two batch sizes', async () => {
  const g = new Graph({ training: false });
  const x = g.input('x', 'float32', ['N', 2, 3, 2]);
  const w = g.param('w', [12, 2], { kind: 'zeros' });
  const viaReshape = ops.reshape(g, x, [0, -1]);
  const viaFlatten = ops.flatten(g, x);
  const pairs = ops.reshape(g, x, [-1, 6]);
  assert.deepEqual(viaReshape.shape, ['N', 12]);
  assert.deepEqual(viaFlatten.shape, ['N', 12]);
  assert.deepEqual(pairs.shape, ['N*2', 6]);
  const y = ops.matmul(g, viaReshape, w);
  const z = ops.add(g, viaFlatten, viaReshape);
  assert.deepEqual(y.shape, ['N', 2]);

  const wData = Float32Array.from({ length: 24 }, (_, i) => (i % 5) - 2);
  const bytes = writeModel(g, { outputs: { y, z, pairs }, params: 'initializers', values: new Map([['w', wData]]) });
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    for (const n of [1, 3]) {
      const xData = Float32Array.from({ length: n * 12 }, (_, i) => Math.sin(i));
      const out = await session.run({ x: new ort.Tensor('float32', xData, [n, 2, 3, 2]) });
      assert.deepEqual(out.y.dims, [n, 2]);
      assert.deepEqual(out.z.dims, [n, 12]);
      assert.deepEqual(out.pairs.dims, [n * 2, 6]);
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < 2; c++) {
          let want = 0;
          for (let k = 0; k < 12; k++) want += xData[r * 12 + k] * wData[k * 2 + c];
          assert.ok(Math.abs((out.y.data as Float32Array)[r * 2 + c] - want) < 1e-5);
        }
      }
      assert.deepEqual(Array.from(out.z.data as Float32Array), Array.from(xData, (v) => Math.fround(2 * v)));
      assert.deepEqual(Array.from(out.pairs.data as Float32Array), Array.from(xData));
    }
  } finally {
    await session.release();
  }
});

test('symbolic batch through transpose, concat, slice on a fixed axis and unsqueeze', async () => {
  const g = new Graph({ training: false });
  const x = g.input('x', 'float32', ['N', 3]);
  const both = ops.concat(g, [x, x], 1);
  const tail = ops.slice(g, both, [-4], [6], [1]);
  const t = ops.transpose(g, ops.unsqueeze(g, tail, [1]), [1, 0, 2]);
  assert.deepEqual(t.shape, [1, 'N', 4]);
  const bytes = writeModel(g, { outputs: { t }, params: 'inputs' });
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    for (const n of [2, 5]) {
      const xData = Float32Array.from({ length: n * 3 }, (_, i) => i);
      const out = await session.run({ x: new ort.Tensor('float32', xData, [n, 3]) });
      assert.deepEqual(out.t.dims, [1, n, 4]);
      const want: number[] = [];
      for (let r = 0; r < n; r++) want.push(xData[r * 3 + 2], xData[r * 3], xData[r * 3 + 1], xData[r * 3 + 2]);
      assert.deepEqual(Array.from(out.t.data as Float32Array), want);
    }
  } finally {
    await session.release();
  }
});
