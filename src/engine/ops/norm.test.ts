// Gradient checks for BatchNorm in training mode (batch statistics from primitives, rank 2 and rank 4; x,
// gamma and beta differentiated, running statistics as buffers) and LayerNorm over the last axis. In
// inference mode BatchNorm is ONNX BatchNormalization, which has no gradient rule: autodiff must refuse it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { AimassError } from '../../core/index.js';
import { gradCheck } from '../../../test/support/gradcheck.js';
import { Graph, type Value, ops, writeModel } from '../index.js';

function batchNormWithBuffers(g: Graph, x: Value, gamma: Value, beta: Value, channels: number): Value {
  const runningMean = g.buffer('running_mean', [channels], { kind: 'zeros' });
  const runningVar = g.buffer('running_var', [channels], { kind: 'ones' });
  return ops.batchNorm(g, x, gamma, beta, runningMean, runningVar);
}

test('batch norm, training, [N, C]', async () => {
  await gradCheck((g, [x, gamma, beta]) => batchNormWithBuffers(g, x, gamma, beta, 3), [
    { name: 'x', shape: [4, 3] },
    { name: 'gamma', shape: [3] },
    { name: 'beta', shape: [3] },
  ]);
});

test('batch norm, training, [N, C, H, W]', async () => {
  await gradCheck((g, [x, gamma, beta]) => batchNormWithBuffers(g, x, gamma, beta, 2), [
    { name: 'x', shape: [2, 2, 3, 3] },
    { name: 'gamma', shape: [2] },
    { name: 'beta', shape: [2] },
  ]);
});

test('batch norm, training, [N, C, L] with C = L (per-channel statistics, not per-position)', async () => {
  await gradCheck((g, [x, gamma, beta]) => batchNormWithBuffers(g, x, gamma, beta, 3), [
    { name: 'x', shape: [2, 3, 3] },
    { name: 'gamma', shape: [3] },
    { name: 'beta', shape: [3] },
  ]);
});

test('batch norm, training, updates the running statistics with momentum and the unbiased variance', async () => {
  const g = new Graph({ training: true });
  const x = g.input('x', 'float32', [4, 2]);
  const gamma = g.param('gamma', [2], { kind: 'ones' });
  const beta = g.param('beta', [2], { kind: 'zeros' });
  const rm = g.buffer('rm', [2], { kind: 'zeros' });
  const rv = g.buffer('rv', [2], { kind: 'ones' });
  const y = ops.batchNorm(g, x, gamma, beta, rm, rv, { momentum: 0.25 });
  const bytes = writeModel(g, { outputs: { y, rmNext: g.bufferUpdates.get(rm)!, rvNext: g.bufferUpdates.get(rv)! }, params: 'inputs' });
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const xData = Float32Array.from([1, 10, 2, 20, 3, 30, 6, 40]);
  const out = await session.run({
    x: new ort.Tensor('float32', xData, [4, 2]),
    gamma: new ort.Tensor('float32', Float32Array.from([1, 1]), [2]),
    beta: new ort.Tensor('float32', Float32Array.from([0, 0]), [2]),
    rm: new ort.Tensor('float32', Float32Array.from([1, 2]), [2]),
    rv: new ort.Tensor('float32', Float32Array.from([1, 3]), [2]),
  });
  await session.release();
  const close = (got: ArrayLike<number>, want: number[]) => want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-4 * Math.max(1, Math.abs(w)), `${got[i]} vs ${w}`));
  // column 0: 1, 2, 3, 6 (mean 3, unbiased variance 14/3); column 1: 10, 20, 30, 40 (mean 25, 500/3)
  close(out.rmNext.data as Float32Array, [0.75 * 1 + 0.25 * 3, 0.75 * 2 + 0.25 * 25]);
  close(out.rvNext.data as Float32Array, [0.75 * 1 + 0.25 * (14 / 3), 0.75 * 3 + 0.25 * (500 / 3)]);
  // the output is normalized with the biased (population) variance
  close(out.y.data as Float32Array, [(1 - 3) / Math.sqrt(3.5 + 1e-5), (10 - 25) / Math.sqrt(125 + 1e-5)]);
});

test('batch norm, inference: normalizes with the running statistics', async () => {
  const g = new Graph({ training: false });
  const x = g.input('x', 'float32', [2, 2, 1, 2]);
  const gamma = g.param('gamma', [2], { kind: 'ones' });
  const beta = g.param('beta', [2], { kind: 'zeros' });
  const y = ops.batchNorm(g, x, gamma, beta, g.buffer('rm', [2], { kind: 'zeros' }), g.buffer('rv', [2], { kind: 'ones' }));
  assert.equal(g.bufferUpdates.size, 0);
  const values = new Map([
    ['gamma', Float32Array.from([2, 0.5])],
    ['beta', Float32Array.from([1, -1])],
    ['rm', Float32Array.from([1, -2])],
    ['rv', Float32Array.from([4, 0.25])],
  ]);
  const session = await ort.InferenceSession.create(writeModel(g, { outputs: { y }, params: 'initializers', values }), { logSeverityLevel: 3 });
  const xData = Float32Array.from([3, 5, -1, -3, 1, 2, 0, 1]);
  const out = await session.run({ x: new ort.Tensor('float32', xData, [2, 2, 1, 2]) });
  await session.release();
  const want = Array.from(xData, (v, i) => {
    const c = Math.floor(i / 2) % 2;
    const [gm, bt, m, s2] = c === 0 ? [2, 1, 1, 4] : [0.5, -1, -2, 0.25];
    return gm * ((v - m) / Math.sqrt(s2 + 1e-5)) + bt;
  });
  (out.y.data as Float32Array).forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `${v} vs ${want[i]}`));
});

test('batch norm, inference: autodiff refuses it as UNSUPPORTED, naming the op and the layer', async () => {
  await assert.rejects(
    gradCheck(
      (g, [x, gamma, beta]) => g.scope('bn1', () => batchNormWithBuffers(g, x, gamma, beta, 3)),
      [
        { name: 'x', shape: [4, 3] },
        { name: 'gamma', shape: [3] },
        { name: 'beta', shape: [3] },
      ],
      { training: false },
    ),
    (e: unknown) => e instanceof AimassError && e.code === 'UNSUPPORTED' && e.message.includes('BatchNormalization') && e.message.includes('bn1'),
  );
});

test('batch norm with the wrong channel count fails at build time', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [4, 3, 2, 2]);
  const gamma = g.param('gamma', [2], { kind: 'ones' });
  const beta = g.param('beta', [2], { kind: 'zeros' });
  assert.throws(
    () => g.scope('bn2', () => batchNormWithBuffers(g, x, gamma, beta, 2)),
    (e: unknown) => e instanceof AimassError && e.code === 'SHAPE_MISMATCH' && e.message.includes('bn2') && e.message.includes('[4, 3, 2, 2]'),
  );
});

test('layer norm over the last axis of [2, 3, 5]', async () => {
  await gradCheck((g, [x, gamma, beta]) => ops.layerNorm(g, x, gamma, beta), [
    { name: 'x', shape: [2, 3, 5] },
    { name: 'gamma', shape: [5] },
    { name: 'beta', shape: [5] },
  ]);
});

test('layer norm of [4, 6] with only x differentiated', async () => {
  await gradCheck((g, [x, gamma, beta]) => ops.layerNorm(g, x, gamma, beta), [
    { name: 'x', shape: [4, 6] },
    { name: 'gamma', shape: [6], constant: true },
    { name: 'beta', shape: [6], constant: true },
  ]);
});

test('layer norm of a single vector [5]', async () => {
  await gradCheck((g, [x, gamma, beta]) => ops.layerNorm(g, x, gamma, beta), [
    { name: 'x', shape: [5] },
    { name: 'gamma', shape: [5] },
    { name: 'beta', shape: [5] },
  ]);
});

test('layer norm with a mismatched scale fails at build time', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3, 5]);
  const gamma = g.param('gamma', [4], { kind: 'ones' });
  const beta = g.param('beta', [4], { kind: 'zeros' });
  assert.throws(
    () => g.scope('ln', () => ops.layerNorm(g, x, gamma, beta)),
    (e: unknown) => e instanceof AimassError && e.code === 'SHAPE_MISMATCH' && e.message.includes('ln') && e.message.includes('[2, 3, 5]') && e.message.includes('[4]'),
  );
});
