// Gradient checks for the elementwise family: binary arithmetic under every broadcasting pattern a model
// produces, an input used as both operands, the unary maths, and Where with a fixed condition.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AimassError } from '../../core/index.js';
import { gradCheck, spaced, spacedParts, uniform } from '../../../test/support/gradcheck.js';
import { Graph, type Value, ops } from '../index.js';

type Binary = (g: Graph, a: Value, b: Value) => Value;

const BINARY: Record<string, Binary> = { add: ops.add, sub: ops.sub, mul: ops.mul, div: ops.div };

/** Shape pairs: row vector, middle-axis broadcast on both sides, scalar on either side, same shape. */
const BROADCASTS: [number[], number[]][] = [
  [[2, 3], [3]],
  [[2, 1, 4], [3, 1]],
  [[2, 3], []],
  [[], [2, 3]],
  [[2, 3], [2, 3]],
];

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

for (const [name, fn] of Object.entries(BINARY)) {
  for (const [sa, sb] of BROADCASTS) {
    test(`${name} [${sa}] with [${sb}]`, async () => {
      // the divisor stays away from zero so the finite differences are well conditioned
      const b = name === 'div' ? uniform(size(sb), 0.5, 2) : undefined;
      await gradCheck((g, [x, y]) => fn(g, x, y), [
        { name: 'a', shape: sa },
        { name: 'b', shape: sb, data: b },
      ]);
    });
  }
}

test('max [2, 3] with [3] sends the gradient to the larger input', async () => {
  const [a, b] = spacedParts([6, 3]);
  await gradCheck((g, [x, y]) => ops.maximum(g, x, y), [
    { name: 'a', shape: [2, 3], data: a },
    { name: 'b', shape: [3], data: b },
  ]);
});

test('max [2, 1, 4] with [3, 1]', async () => {
  const [a, b] = spacedParts([8, 3], 11);
  await gradCheck((g, [x, y]) => ops.maximum(g, x, y), [
    { name: 'a', shape: [2, 1, 4], data: a },
    { name: 'b', shape: [3, 1], data: b },
  ]);
});

test('max with a scalar and with the same shape', async () => {
  const [a, b] = spacedParts([6, 1], 4);
  await gradCheck((g, [x, y]) => ops.maximum(g, x, y), [
    { name: 'a', shape: [2, 3], data: a },
    { name: 'b', shape: [], data: b },
  ]);
  const [c, d] = spacedParts([6, 6], 5);
  await gradCheck((g, [x, y]) => ops.maximum(g, x, y), [
    { name: 'a', shape: [2, 3], data: c },
    { name: 'b', shape: [2, 3], data: d },
  ]);
});

test('one value as both operands gets both gradients summed', async () => {
  await gradCheck((g, [x]) => ops.mul(g, x, x), [{ name: 'x', shape: [2, 3] }]);
  await gradCheck((g, [x]) => ops.add(g, x, x), [{ name: 'x', shape: [2, 3] }]);
  await gradCheck((g, [x]) => ops.sub(g, x, x), [{ name: 'x', shape: [2, 3] }]);
  await gradCheck((g, [x]) => ops.div(g, ops.exp(g, x), ops.add(g, x, g.scalar(3))), [{ name: 'x', shape: [2, 3], data: uniform(6, -1, 1) }]);
  // a tie in every element: the whole gradient goes to one operand, which is the same value
  await gradCheck((g, [x]) => ops.maximum(g, x, x), [{ name: 'x', shape: [2, 3] }]);
});

test('neg, exp and erf', async () => {
  await gradCheck((g, [x]) => ops.neg(g, x), [{ name: 'x', shape: [2, 3] }]);
  await gradCheck((g, [x]) => ops.exp(g, x), [{ name: 'x', shape: [2, 3] }]);
  await gradCheck((g, [x]) => g.op('Erf', [x]), [{ name: 'x', shape: [2, 4] }]);
});

test('log and sqrt of positive inputs', async () => {
  await gradCheck((g, [x]) => ops.log(g, x), [{ name: 'x', shape: [2, 3], data: uniform(6, 0.5, 2) }]);
  await gradCheck((g, [x]) => ops.sqrt(g, x), [{ name: 'x', shape: [2, 3], data: uniform(6, 0.5, 2) }]);
});

test('abs away from zero', async () => {
  await gradCheck((g, [x]) => ops.abs(g, x), [{ name: 'x', shape: [3, 4], data: spaced(12) }]);
});

test('where with a fixed condition, broadcasting both branches', async () => {
  const cond = Float32Array.from([1, -1, 2, -2, 0.5, -0.5]);
  await gradCheck((g, [c, a, b]) => ops.where(g, ops.greater(g, c, g.scalar(0)), a, b), [
    { name: 'c', shape: [2, 3], data: cond, constant: true },
    { name: 'a', shape: [2, 3] },
    { name: 'b', shape: [3] },
  ]);
  await gradCheck((g, [c, a, b]) => ops.where(g, ops.greater(g, c, g.scalar(0)), a, b), [
    { name: 'c', shape: [2, 1], data: Float32Array.from([1, -1]), constant: true },
    { name: 'a', shape: [] },
    { name: 'b', shape: [2, 3] },
  ]);
  // the condition alone sets the output shape
  await gradCheck((g, [c, a, b]) => ops.where(g, ops.greater(g, c, g.scalar(0)), a, b), [
    { name: 'c', shape: [2, 3], data: cond, constant: true },
    { name: 'a', shape: [3] },
    { name: 'b', shape: [1] },
  ]);
});

test('identity passes the gradient through', async () => {
  await gradCheck((g, [x]) => g.op('Identity', [x]), [{ name: 'x', shape: [2, 3] }]);
});

test('shapes that do not broadcast fail at build time naming the layer and both shapes', () => {
  const g = new Graph();
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4]);
  for (const fn of Object.values(BINARY)) {
    assert.throws(
      () => g.scope('residual', () => fn(g, a, b)),
      (e: unknown) => e instanceof AimassError && e.code === 'SHAPE_MISMATCH' && ['layer "residual"', '[2, 3]', '[4]'].every((f) => e.message.includes(f)),
    );
  }
  const ids = g.input('ids', 'int64', [2, 3]);
  assert.throws(() => ops.add(g, a, ids), (e: unknown) => e instanceof AimassError && e.code === 'SHAPE_MISMATCH' && e.message.includes('int64'));
});
