// Reverse-mode autodiff over the IR: gradients reaching a value along several paths are summed, parameters
// the loss ignores get zeros, the loss must be a float scalar, a differentiable op without a gradient rule
// fails loudly, and non-differentiable ops (ArgMax, comparisons, casts) stop gradients.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { AimassError } from '../core/index.js';
import { gradCheck, spaced } from '../../test/support/gradcheck.js';
import { Graph, type Value, gradients, ops, writeModel } from './index.js';

async function run(g: Graph, outputs: Record<string, Value>, feeds: Record<string, Float32Array>): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(writeModel(g, { outputs, params: 'inputs' }), { logSeverityLevel: 3 });
  try {
    const byName = new Map([...g.inputs, ...g.params].map((v) => [v.name, v]));
    const tensors = Object.fromEntries(Object.entries(feeds).map(([k, data]) => [k, new ort.Tensor('float32', data, byName.get(k)!.shape as number[])]));
    const out = await session.run(tensors);
    return Object.fromEntries(Object.keys(outputs).map((k) => [k, Array.from(out[k].data as Float32Array)]));
  } finally {
    await session.release();
  }
}

test('a value used along two paths gets the sum of both gradients', async () => {
  // y = x·w feeds both tanh(y) and y², and w is used twice as well
  await gradCheck(
    (g, [x, w]) => {
      const y = ops.matmul(g, x, w);
      return ops.add(g, ops.tanh(g, y), ops.mul(g, ops.mul(g, y, y), ops.reduceSum(g, w)));
    },
    [
      { name: 'x', shape: [2, 3] },
      { name: 'w', shape: [3, 2] },
    ],
  );
});

test('the summed gradient of x·x + 3x is 2x + 3', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3]);
  const loss = ops.reduceSum(g, ops.add(g, ops.mul(g, x, x), ops.scale(g, x, 3)));
  const [dx] = gradients(g, loss, [x]);
  const out = await run(g, { dx }, { x: Float32Array.from([1, -2, 0.5]) });
  assert.deepEqual(out.dx, [5, -1, 4]);
});

test('a parameter the loss does not depend on gets a zero gradient of its shape', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2]);
  const used = g.param('used', [2], { kind: 'zeros' });
  const unused = g.param('unused', [3, 2], { kind: 'zeros' });
  const alsoUnused = g.param('also_unused', [4], { kind: 'zeros' });
  // also_unused feeds a value that never reaches the loss
  ops.exp(g, alsoUnused);
  const loss = ops.reduceSum(g, ops.mul(g, x, used));
  const [dUsed, dUnused, dAlso] = gradients(g, loss, [used, unused, alsoUnused]);
  assert.deepEqual(dUnused.shape, [3, 2]);
  assert.deepEqual(dAlso.shape, [4]);
  const out = await run(g, { dUsed, dUnused, dAlso }, { x: Float32Array.from([2, -3]), used: Float32Array.from([1, 1]) });
  assert.deepEqual(out.dUsed, [2, -3]);
  assert.deepEqual(out.dUnused, [0, 0, 0, 0, 0, 0]);
  assert.deepEqual(out.dAlso, [0, 0, 0, 0]);
});

test('a non-scalar or non-float loss is rejected', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3]);
  const notScalar = ops.reduceSum(g, x, [1]);
  assert.throws(
    () => gradients(g, notScalar, [x]),
    (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT' && e.message.includes('scalar') && e.message.includes('[2]'),
  );
  const ints = ops.argMax(g, ops.reduceSum(g, x, [1], true), 0);
  assert.throws(() => gradients(g, ints, [x]), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT' && e.message.includes('int64'));
});

test('an op without a gradient rule on the path fails with UNSUPPORTED naming the op and layer', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3]);
  const y = g.scope('block1', () => ops.pow(g, x, g.scalar(2)));
  const loss = ops.reduceSum(g, y);
  assert.throws(
    () => gradients(g, loss, [x]),
    (e: unknown) => e instanceof AimassError && e.code === 'UNSUPPORTED' && e.message.includes('Pow') && e.message.includes('block1'),
  );
});

test('an op without a gradient rule off the path is fine', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3]);
  const c = g.input('c', 'float32', [3]);
  // Pow reads only a constant input, so no gradient has to pass through it
  const loss = ops.reduceSum(g, ops.mul(g, x, ops.pow(g, c, g.scalar(2))));
  const [dx] = gradients(g, loss, [x]);
  const out = await run(g, { dx }, { x: Float32Array.from([5, 5, 5]), c: Float32Array.from([1, -2, 3]) });
  assert.deepEqual(out.dx, [1, 4, 9]);
});

test('non-differentiable ops stop gradients: ArgMax → OneHot selects without passing a gradient', async () => {
  // loss = Σ x · onehot(argmax(x)) = max(x) per row, whose gradient is the one-hot of the argmax
  const build = (g: Graph, [x]: Value[]) => ops.reduceSum(g, ops.mul(g, x, ops.oneHot(g, ops.argMax(g, x, 1), x.shape[1] as number)), [1]);
  await gradCheck(build, [{ name: 'x', shape: [3, 4], data: spaced(12, 8) }]);

  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3]);
  const [dx] = gradients(g, ops.reduceSum(g, build(g, [x])), [x]);
  const out = await run(g, { dx }, { x: Float32Array.from([1, 5, 2, 9, -1, 0]) });
  assert.deepEqual(out.dx, [0, 1, 0, 1, 0, 0]);
});

test('comparisons and casts stop gradients: x · cast(x > 0) has gradient cast(x > 0)', async () => {
  await gradCheck((g, [x]) => ops.mul(g, x, ops.cast(g, ops.greater(g, x, g.scalar(0)), 'float32')), [
    { name: 'x', shape: [2, 4], data: spaced(8, 6) },
  ]);
});

test('gradients with respect to an intermediate value and to several values at once', async () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2]);
  const w = g.input('w', 'float32', [2]);
  const h = ops.mul(g, x, w);
  const loss = ops.reduceSum(g, ops.mul(g, h, h));
  const [dh, dx, dw] = gradients(g, loss, [h, x, w]);
  const out = await run(g, { dh, dx, dw }, { x: Float32Array.from([1, 2]), w: Float32Array.from([3, -1]) });
  // h = [3, −2]; dL/dh = 2h; dL/dx = 2h·w; dL/dw = 2h·x
  assert.deepEqual(out.dh, [6, -4]);
  assert.deepEqual(out.dx, [18, 4]);
  assert.deepEqual(out.dw, [6, -8]);
});
