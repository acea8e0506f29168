// Gradient checks for ReduceSum and ReduceMean (some axes, negative axes, with and without keepdims, all
// axes) and for maskedMean with a constant 0/1 mask that includes an all-padding row. ArgMax and ReduceMax
// carry no gradient (see autodiff.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { AimassError } from '../../core/index.js';
import { gradCheck } from '../../../test/support/gradcheck.js';
import { Graph, ops, writeModel } from '../index.js';

const AXES: (number[] | undefined)[] = [[1], [0, 2], [-1], undefined];

for (const [name, fn] of [
  ['sum', ops.reduceSum],
  ['mean', ops.reduceMean],
] as const) {
  for (const axes of AXES) {
    for (const keepdims of [false, true]) {
      test(`reduce ${name} over ${axes ? `axes [${axes}]` : 'all axes'}, keepdims ${keepdims}`, async () => {
        await gradCheck((g, [x]) => fn(g, x, axes, keepdims), [{ name: 'x', shape: [2, 3, 4] }]);
      });
    }
  }
}

test('reducing over an empty axes list is the identity, as the shape rule says', async () => {
  await gradCheck((g, [x]) => ops.reduceSum(g, x, []), [{ name: 'x', shape: [2, 3] }]);
  await gradCheck((g, [x]) => ops.reduceMean(g, x, [], true), [{ name: 'x', shape: [2, 3] }]);
  const g = new Graph({ training: false });
  const x = g.input('x', 'float32', [2, 3]);
  const outputs = { sum: ops.reduceSum(g, x, []), mean: ops.reduceMean(g, x, []), max: ops.reduceMax(g, x, []) };
  for (const v of Object.values(outputs)) assert.deepEqual(v.shape, [2, 3]);
  const session = await ort.InferenceSession.create(writeModel(g, { outputs, params: 'inputs' }), { logSeverityLevel: 3 });
  const xData = Float32Array.from([1, 2, 3, 4, 5, 6]);
  const out = await session.run({ x: new ort.Tensor('float32', xData, [2, 3]) });
  await session.release();
  for (const k of Object.keys(outputs)) assert.deepEqual(Array.from(out[k].data as Float32Array), Array.from(xData), k);
});

test('reduce output shapes', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3, 4]);
  assert.deepEqual(ops.reduceSum(g, x, [0, 2]).shape, [3]);
  assert.deepEqual(ops.reduceSum(g, x, [0, 2], true).shape, [1, 3, 1]);
  assert.deepEqual(ops.reduceMean(g, x).shape, []);
  assert.deepEqual(ops.reduceMean(g, x, undefined, true).shape, [1, 1, 1]);
  assert.deepEqual(ops.reduceMean(g, x, [-1]).shape, [2, 3]);
});

// row 0: three tokens then padding; row 1: all padding; row 2: one token
const MASK = Float32Array.from([1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]);

test('masked mean with a 0/1 mask including an all-padding row', async () => {
  await gradCheck((g, [x, m]) => ops.maskedMean(g, x, m), [
    { name: 'x', shape: [3, 4, 2] },
    { name: 'mask', shape: [3, 4], data: MASK, constant: true },
  ]);
});

test('masked mean values: padding ignored, an all-padding row gives zeros', async () => {
  const g = new Graph({ training: false });
  const x = g.input('x', 'float32', [3, 4, 2]);
  const m = g.input('mask', 'float32', [3, 4]);
  const y = ops.maskedMean(g, x, m);
  assert.deepEqual(y.shape, [3, 2]);
  const session = await ort.InferenceSession.create(writeModel(g, { outputs: { y }, params: 'inputs' }), { logSeverityLevel: 3 });
  const xData = Float32Array.from({ length: 24 }, (_, i) => i);
  const out = await session.run({ x: new ort.Tensor('float32', xData, [3, 4, 2]), mask: new ort.Tensor('float32', MASK, [3, 4]) });
  await session.release();
  // row 0 averages tokens 0..2: (0+2+4)/3, (1+3+5)/3; row 2 is its single token 0: x[2, 0, :] = 16, 17
  assert.deepEqual(Array.from(out.y.data as Float32Array), [2, 3, 0, 0, 16, 17]);
});

test('masked mean rejects a mask that does not match x, naming the layer', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [3, 4, 2]);
  const m = g.input('mask', 'float32', [3, 5]);
  assert.throws(
    () => g.scope('pool', () => ops.maskedMean(g, x, m)),
    (e: unknown) => e instanceof AimassError && e.code === 'SHAPE_MISMATCH' && e.message.includes('pool') && e.message.includes('[3, 4, 2]') && e.message.includes('[3, 5]'),
  );
});
