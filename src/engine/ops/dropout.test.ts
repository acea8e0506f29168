// Dropout: the gradient is checked with a new ONNX Runtime session per evaluation, because ORT's seeded
// Dropout draws the same mask only in the first run of a session. Outside training it is the identity.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { gradCheck } from '../../../test/support/gradcheck.js';
import { Graph, ops, writeModel } from '../index.js';

test('dropout gradient is dY·mask/(1−ratio)', async () => {
  await gradCheck((g, [x]) => ops.dropout(g, x, 0.5, 42), [{ name: 'x', shape: [3, 4] }], { freshSessions: true });
  await gradCheck((g, [x]) => ops.dropout(g, x, 0.2, 7), [{ name: 'x', shape: [2, 5] }], { freshSessions: true });
});

test('dropout in training zeroes some activations and scales the rest by 1/(1−ratio)', async () => {
  const g = new Graph({ training: true });
  const x = g.input('x', 'float32', [64]);
  const y = ops.dropout(g, x, 0.25, 3);
  assert.notEqual(y, x);
  const session = await ort.InferenceSession.create(writeModel(g, { outputs: { y }, params: 'inputs' }), { logSeverityLevel: 3 });
  const xData = Float32Array.from({ length: 64 }, (_, i) => i + 1);
  const out = (await session.run({ x: new ort.Tensor('float32', xData, [64]) })).y.data as Float32Array;
  await session.release();
  let dropped = 0;
  out.forEach((v, i) => {
    if (v === 0) dropped++;
    else assert.ok(Math.abs(v - xData[i] / 0.75) < 1e-4, `kept value ${v} is not ${xData[i]}/0.75`);
  });
  assert.ok(dropped > 0 && dropped < 64, `dropped ${dropped} of 64`);
});

test('dropout outside training, or with ratio 0, is the identity', async () => {
  const g = new Graph({ training: false });
  const x = g.input('x', 'float32', [2, 3]);
  assert.equal(ops.dropout(g, x, 0.5, 1), x);
  assert.equal(g.nodes.length, 0);
  const t = new Graph({ training: true });
  const tx = t.input('x', 'float32', [2, 3]);
  assert.equal(ops.dropout(t, tx, 0, 1), tx);
  await gradCheck((gg, [v]) => ops.mul(gg, ops.dropout(gg, v, 0.5, 1), v), [{ name: 'x', shape: [2, 3] }], { training: false });
});

test('a dropout ratio outside [0, 1) fails at build time', () => {
  const g = new Graph({ training: true });
  const x = g.input('x', 'float32', [2, 3]);
  assert.throws(() => g.scope('drop', () => ops.dropout(g, x, 1, 1)), (e: unknown) => (e as { code?: string }).code === 'SHAPE_MISMATCH' && (e as Error).message.includes('drop'));
});
