// Gradient checks for MaxPool (tiled windows: maxima found again against the upsampled output; otherwise the
// gradient is placed or scattered at the argmax through ONNX's flattened Indices),
// AveragePool (gradient as a transposed convolution, padding counted) and GlobalAveragePool, over
// non-overlapping, strided-with-padding and overlapping windows. MaxPool inputs are well separated so no
// window has a near tie within a finite-difference step.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { gradCheck, spaced } from '../../../test/support/gradcheck.js';
import { Graph, gradients, ops, writeModel } from '../index.js';

interface Variant {
  name: string;
  kernel: number | [number, number];
  options: ops.PoolOptions;
  shape: number[];
}

const VARIANTS: Variant[] = [
  { name: 'kernel 2', kernel: 2, options: {}, shape: [2, 2, 4, 4] },
  { name: 'kernel 2 on 5x5 (last row and column unused)', kernel: 2, options: {}, shape: [1, 2, 5, 5] },
  { name: 'kernel 3 stride 2 padding 1', kernel: 3, options: { stride: 2, padding: 1 }, shape: [2, 2, 5, 5] },
  { name: 'kernel 3 stride 2 padding same on 6x7', kernel: 3, options: { stride: 2, padding: 'same' }, shape: [1, 2, 6, 7] },
  { name: 'kernel 3 stride 2 asymmetric padding [0, 1, 1, 0]', kernel: 3, options: { stride: 2, padding: [0, 1, 1, 0] }, shape: [1, 2, 6, 6] },
  { name: 'overlapping kernel 3 stride 1', kernel: 3, options: { stride: 1 }, shape: [2, 2, 5, 5] },
  { name: 'overlapping kernel 3 stride 1 padding same', kernel: 3, options: { stride: 1, padding: 'same' }, shape: [1, 2, 4, 5] },
  { name: 'kernel [2, 3] stride 1', kernel: [2, 3], options: { stride: 1 }, shape: [1, 2, 4, 5] },
  { name: 'kernel [2, 3], default stride [2, 3]', kernel: [2, 3], options: {}, shape: [1, 2, 4, 7] },
  { name: 'kernel 3 stride [1, 2] padding same', kernel: 3, options: { stride: [1, 2], padding: 'same' }, shape: [1, 2, 4, 5] },
  { name: 'kernel 2 stride 2 padding 1 (tiles with padding)', kernel: 2, options: { padding: 1 }, shape: [1, 2, 5, 5] },
  { name: 'kernel 2 stride 3 (gaps between windows)', kernel: 2, options: { stride: 3 }, shape: [1, 2, 7, 7] },
];

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

for (const v of VARIANTS) {
  test(`max pool ${v.name}`, async () => {
    await gradCheck((g, [x]) => ops.maxPool2d(g, x, v.kernel, v.options), [{ name: 'x', shape: v.shape, data: spaced(count(v.shape), 17) }]);
  });
  test(`average pool ${v.name}`, async () => {
    await gradCheck((g, [x]) => ops.avgPool2d(g, x, v.kernel, v.options), [{ name: 'x', shape: v.shape }]);
  });
}

test('global average pool', async () => {
  await gradCheck((g, [x]) => ops.globalAvgPool(g, x), [{ name: 'x', shape: [2, 3, 3, 4] }]);
});

test('max pool where one input wins several overlapping windows accumulates their gradients', async () => {
  // the centre of a 3x3 image is its maximum: all four 2x2 windows (stride 1) pick it
  const x = Float32Array.from([0.1, 0.2, 0.3, 0.4, 2.0, 0.5, 0.6, 0.7, 0.8]);
  const report = await gradCheck((g, [v]) => ops.maxPool2d(g, v, 2, { stride: 1 }), [{ name: 'x', shape: [1, 1, 3, 3], data: x }]);
  assert.equal(report.checked, 9);
});

test('tied maxima in a tiled window share the gradient evenly', async () => {
  const g = new Graph({ training: true });
  const x = g.input('x', 'float32', [1, 1, 2, 4]);
  const [dx] = gradients(g, ops.reduceSum(g, ops.maxPool2d(g, x, 2)), [x]);
  const session = await ort.InferenceSession.create(writeModel(g, { outputs: { dx }, params: 'inputs' }));
  // window 1 has two maxima (5), window 2 one (7)
  const data = Float32Array.from([5, 1, 7, 2, 0, 5, 3, 6]);
  const out = await session.run({ x: new ort.Tensor('float32', data, [1, 1, 2, 4]) });
  assert.deepEqual(Array.from(out.dx.data as Float32Array), [0.5, 0, 1, 0, 0, 0.5, 0, 0]);
});

test('pool output shapes', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [1, 2, 6, 7]);
  assert.deepEqual(ops.maxPool2d(g, x, 2).shape, [1, 2, 3, 3]);
  assert.deepEqual(ops.maxPool2d(g, x, 3, { stride: 2, padding: 'same' }).shape, [1, 2, 3, 4]);
  assert.deepEqual(ops.avgPool2d(g, x, 3, { stride: 1 }).shape, [1, 2, 4, 5]);
  assert.deepEqual(ops.globalAvgPool(g, x).shape, [1, 2, 1, 1]);
  // the stride defaults to the kernel along each axis: non-overlapping windows
  assert.deepEqual(ops.maxPool2d(g, x, [2, 3]).shape, [1, 2, 3, 2]);
  assert.deepEqual(ops.avgPool2d(g, x, [3, 2], { stride: [1, 2] }).shape, [1, 2, 4, 3]);
});
