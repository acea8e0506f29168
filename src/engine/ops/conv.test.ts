// Gradient checks for Conv2d over strides 1 and 2 and every padding mode (valid, same, explicit symmetric
// and asymmetric), with and without bias, a non-square kernel and sizes the stride does not divide (where
// the weight gradient is sliced and the input gradient needs output padding). Shape errors name the layer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AimassError } from '../../core/index.js';
import { gradCheck } from '../../../test/support/gradcheck.js';
import { Graph, ops } from '../index.js';

const PADDINGS: ops.Padding[] = ['valid', 'same', 1, [0, 1, 1, 0]];
const label = (p: ops.Padding) => (typeof p === 'string' ? p : JSON.stringify(p));

for (const stride of [1, 2]) {
  for (const padding of PADDINGS) {
    test(`conv 3x3 stride ${stride} padding ${label(padding)}, with bias`, async () => {
      await gradCheck((g, [x, w, b]) => ops.conv2d(g, x, w, b, { stride, padding }), [
        { name: 'x', shape: [2, 2, 5, 5] },
        { name: 'w', shape: [3, 2, 3, 3] },
        { name: 'b', shape: [3] },
      ]);
    });
    test(`conv 2x3 kernel stride ${stride} padding ${label(padding)} on 6x7, no bias`, async () => {
      await gradCheck((g, [x, w]) => ops.conv2d(g, x, w, null, { stride, padding }), [
        { name: 'x', shape: [2, 2, 6, 7] },
        { name: 'w', shape: [2, 2, 2, 3] },
      ]);
    });
  }
}

test('conv 3x3 stride 2 on 6x7, valid and same (stride does not divide the input)', async () => {
  for (const padding of ['valid', 'same'] as const) {
    await gradCheck((g, [x, w, b]) => ops.conv2d(g, x, w, b, { stride: 2, padding }), [
      { name: 'x', shape: [1, 2, 6, 7] },
      { name: 'w', shape: [2, 2, 3, 3] },
      { name: 'b', shape: [2] },
    ]);
  }
});

test('conv with different strides per axis and [h, w] padding', async () => {
  await gradCheck((g, [x, w, b]) => ops.conv2d(g, x, w, b, { stride: [2, 1], padding: [1, 0] }), [
    { name: 'x', shape: [1, 2, 6, 5] },
    { name: 'w', shape: [2, 2, 3, 3] },
    { name: 'b', shape: [2] },
  ]);
});

test('conv 1x1 (stride 1 and 2, the residual shortcut) and a kernel as large as the input', async () => {
  for (const stride of [1, 2]) {
    await gradCheck((g, [x, w, b]) => ops.conv2d(g, x, w, b, { stride }), [
      { name: 'x', shape: [2, 3, 5, 5] },
      { name: 'w', shape: [2, 3, 1, 1] },
      { name: 'b', shape: [2] },
    ]);
  }
  await gradCheck((g, [x, w]) => ops.conv2d(g, x, w, null), [
    { name: 'x', shape: [2, 2, 3, 4] },
    { name: 'w', shape: [3, 2, 3, 4] },
  ]);
});

test('the weight gradient of a large input (dilated-conv form, no patch matrix) matches finite differences', async () => {
  // C·kh·kw·N·oh·ow = 8·9·2·(≈340²) > 2^24 patch floats, so the im2col form is not used
  await gradCheck(
    (g, [x, w]) => ops.conv2d(g, x, w, null, { stride: 2, padding: 'same' }),
    [
      { name: 'x', shape: [2, 8, 680, 680], constant: true },
      { name: 'w', shape: [2, 8, 3, 3] },
    ],
    // the output is linear in w, so a large step is exact and keeps float32 rounding of the big sum small
    { maxElements: 10, eps: 0.5 },
  );
});

test('resolvePads: same is ceil(in/stride) outputs with the odd pixel at the end', () => {
  assert.deepEqual(ops.resolvePads('same', 6, 7, 3, 3, 2, 2), [0, 1, 1, 1]);
  assert.deepEqual(ops.resolvePads('same', 5, 5, 3, 3, 1, 1), [1, 1, 1, 1]);
  assert.deepEqual(ops.resolvePads('same', 4, 4, 2, 2, 1, 1), [0, 0, 1, 1]);
  assert.deepEqual(ops.resolvePads('valid', 4, 4, 3, 3, 1, 1), [0, 0, 0, 0]);
  assert.deepEqual(ops.resolvePads(2, 4, 4, 3, 3, 1, 1), [2, 2, 2, 2]);
  assert.deepEqual(ops.resolvePads([1, 2], 4, 4, 3, 3, 1, 1), [1, 2, 1, 2]);
  assert.deepEqual(ops.resolvePads([0, 1, 1, 0], 4, 4, 3, 3, 1, 1), [0, 1, 1, 0]);
});

test('output shapes follow floor((in + pads − k) / s) + 1', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [1, 2, 6, 7]);
  const w = g.input('w', 'float32', [4, 2, 3, 3]);
  assert.deepEqual(ops.conv2d(g, x, w, null, { stride: 2, padding: 'same' }).shape, [1, 4, 3, 4]);
  assert.deepEqual(ops.conv2d(g, x, w, null, { stride: 2, padding: 'valid' }).shape, [1, 4, 2, 3]);
  assert.deepEqual(ops.conv2d(g, x, w, null, { stride: 1, padding: [0, 1, 1, 0] }).shape, [1, 4, 5, 6]);
});

function shapeMismatch(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AimassError, `expected an AimassError, got ${String(e)}`);
    assert.equal(e.code, 'SHAPE_MISMATCH');
    for (const f of fragments) assert.ok(e.message.includes(f), `message "${e.message}" does not mention ${f}`);
    return true;
  });
}

test('a kernel expecting other input channels fails at build time naming the layer and both shapes', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3, 8, 8]);
  const w = g.param('w', [4, 2, 3, 3], { kind: 'zeros' });
  shapeMismatch(() => g.scope('conv2', () => ops.conv2d(g, x, w, null)), 'conv2', '[2, 3, 8, 8]', '[4, 2, 3, 3]');
});

test('a bad bias, a rank-3 input and a kernel larger than the input fail at build time', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [2, 3, 4, 4]);
  const w = g.param('w', [4, 3, 3, 3], { kind: 'zeros' });
  const b = g.param('b', [5], { kind: 'zeros' });
  shapeMismatch(() => g.scope('block1', () => g.scope('conv', () => ops.conv2d(g, x, w, b))), 'block1/conv', '[5]');
  const x3 = g.input('x3', 'float32', [3, 4, 4]);
  shapeMismatch(() => g.scope('conv3', () => ops.conv2d(g, x3, w, null)), 'conv3', '[3, 4, 4]');
  const big = g.param('big', [4, 3, 5, 5], { kind: 'zeros' });
  shapeMismatch(() => g.scope('conv4', () => ops.conv2d(g, x, big, null)), 'conv4', '[2, 3, 4, 4]');
});
