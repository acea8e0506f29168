// Gradient checks for the losses and penalties: softmax cross-entropy (logits differentiated, int64 labels),
// sigmoid cross-entropy (fused gradients), MSE, and the L1 (well-separated weights, away from the kink) and
// L2 penalties; plus their values against a direct computation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { AimassError } from '../../core/index.js';
import { gradCheck, ints64, spacedParts } from '../../../test/support/gradcheck.js';
import { Graph, ops, writeModel } from '../index.js';

test('softmax cross-entropy: logits [4, 3], int64 labels', async () => {
  await gradCheck((g, [z, y]) => ops.softmaxCrossEntropy(g, z, y), [
    { name: 'logits', shape: [4, 3] },
    { name: 'labels', shape: [4], dtype: 'int64', data: ints64([0, 2, 2, 1]) },
  ]);
});

test('softmax cross-entropy inside a larger graph (logits from a matmul)', async () => {
  await gradCheck((g, [x, w, y]) => ops.softmaxCrossEntropy(g, ops.matmul(g, x, w), y), [
    { name: 'x', shape: [3, 4] },
    { name: 'w', shape: [4, 5] },
    { name: 'labels', shape: [3], dtype: 'int64', data: ints64([4, 0, 4]) },
  ]);
});

test('sigmoid cross-entropy: logits differentiated, 0/1 targets constant', async () => {
  await gradCheck((g, [z, y]) => ops.sigmoidCrossEntropy(g, z, y), [
    { name: 'logits', shape: [6] },
    { name: 'targets', shape: [6], data: Float32Array.from([1, 0, 0, 1, 1, 0]), constant: true },
  ]);
  await gradCheck((g, [z, y]) => ops.sigmoidCrossEntropy(g, z, y), [
    { name: 'logits', shape: [2, 3] },
    { name: 'targets', shape: [2, 3], data: Float32Array.from([0, 1, 1, 0, 1, 0]), constant: true },
  ]);
});

test('sigmoid cross-entropy: soft targets differentiated too', async () => {
  await gradCheck((g, [z, y]) => ops.sigmoidCrossEntropy(g, z, y), [
    { name: 'logits', shape: [5] },
    { name: 'targets', shape: [5], data: Float32Array.from([0.1, 0.9, 0.5, 0.3, 0.7]) },
  ]);
});

test('mse: both sides differentiated', async () => {
  await gradCheck((g, [p, t]) => ops.mse(g, p, t), [
    { name: 'pred', shape: [4, 2] },
    { name: 'target', shape: [4, 2] },
  ]);
});

test('l1 penalty over two weights', async () => {
  const [a, b] = spacedParts([6, 4], 21);
  await gradCheck((g, [w1, w2]) => ops.l1Penalty(g, [w1, w2], 0.3), [
    { name: 'w1', shape: [2, 3], data: a },
    { name: 'w2', shape: [4, 1], data: b },
  ]);
});

test('l2 penalty over two weights', async () => {
  await gradCheck((g, [w1, w2]) => ops.l2Penalty(g, [w1, w2], 0.3), [
    { name: 'w1', shape: [2, 3] },
    { name: 'w2', shape: [4, 1] },
  ]);
});

test('loss values match a direct computation', async () => {
  const g = new Graph();
  const z = g.input('z', 'float32', [2, 3]);
  const y = g.input('y', 'int64', [2]);
  const t = g.input('t', 'float32', [2, 3]);
  const outputs = {
    sce: ops.softmaxCrossEntropy(g, z, y),
    bce: ops.sigmoidCrossEntropy(g, z, t),
    mse: ops.mse(g, z, t),
    l1: ops.l1Penalty(g, [z], 0.5),
    l2: ops.l2Penalty(g, [z], 0.5),
  };
  const session = await ort.InferenceSession.create(writeModel(g, { outputs, params: 'inputs' }), { logSeverityLevel: 3 });
  const zData = [2, -1, 0.5, -30, 40, 0];
  const tData = [1, 0, 1, 0, 1, 0];
  const labels = [0, 2];
  const out = await session.run({
    z: new ort.Tensor('float32', Float32Array.from(zData), [2, 3]),
    y: new ort.Tensor('int64', ints64(labels), [2]),
    t: new ort.Tensor('float32', Float32Array.from(tData), [2, 3]),
  });
  await session.release();
  const value = (k: string) => Number((out[k].data as Float32Array)[0]);
  const rows = [zData.slice(0, 3), zData.slice(3)];
  const sce = rows.reduce((s, r, i) => s + Math.log(r.reduce((a, v) => a + Math.exp(v), 0)) - r[labels[i]], 0) / 2;
  // stable for the large logits: log(1 + e^z) − z·t
  const bce = zData.reduce((s, v, i) => s + Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))) - v * tData[i], 0) / 6;
  const mse = zData.reduce((s, v, i) => s + (v - tData[i]) ** 2, 0) / 6;
  const close = (got: number, want: number) => assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)), `${got} vs ${want}`);
  close(value('sce'), sce);
  close(value('bce'), bce);
  close(value('mse'), mse);
  close(value('l1'), 0.5 * zData.reduce((s, v) => s + Math.abs(v), 0));
  close(value('l2'), 0.5 * zData.reduce((s, v) => s + v * v, 0));
});

test('losses reject mismatched shapes at build time', () => {
  const g = new Graph();
  const z = g.input('z', 'float32', [4, 3]);
  const isMismatch = (...fragments: string[]) => (e: unknown) =>
    e instanceof AimassError && e.code === 'SHAPE_MISMATCH' && fragments.every((f) => e.message.includes(f));
  assert.throws(() => g.scope('loss', () => ops.softmaxCrossEntropy(g, z, g.input('y', 'int64', [3]))), isMismatch('loss', '[4, 3]', '[3]'));
  assert.throws(() => g.scope('loss', () => ops.softmaxCrossEntropy(g, z, g.input('yf', 'float32', [4]))), isMismatch('loss', 'int64'));
  assert.throws(() => g.scope('loss', () => ops.sigmoidCrossEntropy(g, z, g.input('t', 'float32', [4]))), isMismatch('loss', '[4, 3]', '[4]'));
  assert.throws(() => g.scope('loss', () => ops.mse(g, z, g.input('m', 'float32', [4, 1]))), isMismatch('loss', '[4, 3]', '[4, 1]'));
});
