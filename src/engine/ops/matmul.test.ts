// Gradient checks for MatMul (2-D and a batch of rows times a matrix) and Gemm (every transpose combination,
// every bias shape that broadcasts to [M, N]).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AimassError } from '../../core/index.js';
import { gradCheck } from '../../../test/support/gradcheck.js';
import { Graph, ops } from '../index.js';

test('matmul [3, 4] x [4, 5]', async () => {
  await gradCheck((g, [a, b]) => ops.matmul(g, a, b), [
    { name: 'a', shape: [3, 4] },
    { name: 'b', shape: [4, 5] },
  ]);
});

test('matmul batched [2, 3, 4] x [4, 5]', async () => {
  await gradCheck((g, [a, b]) => ops.matmul(g, a, b), [
    { name: 'a', shape: [2, 3, 4] },
    { name: 'b', shape: [4, 5] },
  ]);
});

test('matmul with one operand held constant', async () => {
  await gradCheck((g, [a, b]) => ops.matmul(g, a, b), [
    { name: 'a', shape: [2, 3, 4] },
    { name: 'b', shape: [4, 2], constant: true },
  ]);
  await gradCheck((g, [a, b]) => ops.matmul(g, a, b), [
    { name: 'a', shape: [2, 3, 4], constant: true },
    { name: 'b', shape: [4, 2] },
  ]);
});

// M = 3, K = 4, N = 2
for (const transA of [false, true]) {
  for (const transB of [false, true]) {
    test(`gemm transA=${transA} transB=${transB}, no bias`, async () => {
      await gradCheck((g, [a, b]) => ops.gemm(g, a, b, { transA, transB }), [
        { name: 'a', shape: transA ? [4, 3] : [3, 4] },
        { name: 'b', shape: transB ? [2, 4] : [4, 2] },
      ]);
    });
  }
}

for (const bias of [[2], [1, 2], [3, 2], [3, 1], [1, 1], [1], []]) {
  for (const [transA, transB] of [
    [false, false],
    [true, true],
  ]) {
    test(`gemm bias [${bias}] transA=${transA} transB=${transB}`, async () => {
      await gradCheck((g, [a, b, c]) => ops.gemm(g, a, b, { transA, transB, bias: c }), [
        { name: 'a', shape: transA ? [4, 3] : [3, 4] },
        { name: 'b', shape: transB ? [2, 4] : [4, 2] },
        { name: 'c', shape: bias },
      ]);
    });
  }
}

const isMismatch =
  (...fragments: string[]) =>
  (e: unknown): boolean =>
    e instanceof AimassError && e.code === 'SHAPE_MISMATCH' && fragments.every((f) => e.message.includes(f));

test('matmul with different inner dimensions fails at build time naming the layer and both shapes', () => {
  const g = new Graph();
  const x = g.input('x', 'float32', [8, 10]);
  const w = g.param('w', [12, 4], { kind: 'zeros' });
  assert.throws(() => g.scope('dense2', () => ops.matmul(g, x, w)), isMismatch('layer "dense2"', '[8, 10]', '[12, 4]'));
  const x3 = g.input('x3', 'float32', [2, 8, 10]);
  assert.throws(() => g.scope('attn', () => g.scope('proj', () => ops.matmul(g, x3, w))), isMismatch('attn/proj', '[2, 8, 10]', '[12, 4]'));
});

test('gemm with different inner dimensions or a bias that does not broadcast to [M, N] fails at build time', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [3, 4]);
  const b = g.input('b', 'float32', [4, 2]);
  assert.throws(() => g.scope('fc', () => ops.gemm(g, a, b, { transB: true })), isMismatch('fc', '[3, 4]', '[4, 2]'));
  for (const bias of [[3], [2, 2], [1, 3, 2]]) {
    const c = g.input(`c${bias.join('x')}`, 'float32', bias);
    assert.throws(() => g.scope('fc', () => ops.gemm(g, a, b, { bias: c })), isMismatch('fc', `[${bias.join(', ')}]`, '[3, 2]'));
  }
});
