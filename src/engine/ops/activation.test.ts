// Gradient checks for the activations. Relu and LeakyRelu get well-separated values so no element sits within
// a finite-difference step of the kink at 0.
import { test } from 'node:test';
import { gradCheck, spaced } from '../../../test/support/gradcheck.js';
import { ops } from '../index.js';

test('relu', async () => {
  await gradCheck((g, [x]) => ops.relu(g, x), [{ name: 'x', shape: [3, 4], data: spaced(12) }]);
});

test('leaky relu, default and large slope', async () => {
  await gradCheck((g, [x]) => ops.leakyRelu(g, x), [{ name: 'x', shape: [3, 4], data: spaced(12) }]);
  await gradCheck((g, [x]) => ops.leakyRelu(g, x, 0.3), [{ name: 'x', shape: [2, 2, 3], data: spaced(12, 9) }]);
});

test('sigmoid', async () => {
  await gradCheck((g, [x]) => ops.sigmoid(g, x), [{ name: 'x', shape: [3, 4] }]);
});

test('tanh', async () => {
  await gradCheck((g, [x]) => ops.tanh(g, x), [{ name: 'x', shape: [3, 4] }]);
});

test('gelu', async () => {
  await gradCheck((g, [x]) => ops.gelu(g, x), [{ name: 'x', shape: [3, 4] }]);
});

test('activation() dispatches every kind, "none" passing its input through', async () => {
  for (const kind of ops.ACTIVATIONS) {
    await gradCheck((g, [x]) => ops.activation(g, x, kind), [{ name: 'x', shape: [2, 3], data: spaced(6, 13) }]);
  }
});
