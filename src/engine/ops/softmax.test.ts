// Gradient checks for Softmax and LogSoftmax along the last and the first axis.
import { test } from 'node:test';
import { gradCheck } from '../../../test/support/gradcheck.js';
import { ops } from '../index.js';

for (const axis of [-1, 0, 1]) {
  test(`softmax axis ${axis} of [3, 4, 2]`, async () => {
    await gradCheck((g, [x]) => ops.softmax(g, x, axis), [{ name: 'x', shape: [3, 4, 2] }]);
  });
  test(`log-softmax axis ${axis} of [3, 4, 2]`, async () => {
    await gradCheck((g, [x]) => ops.logSoftmax(g, x, axis), [{ name: 'x', shape: [3, 4, 2] }]);
  });
}

test('softmax and log-softmax of [2, 5] on both axes', async () => {
  for (const axis of [-1, 0]) {
    await gradCheck((g, [x]) => ops.softmax(g, x, axis), [{ name: 'x', shape: [2, 5] }]);
    await gradCheck((g, [x]) => ops.logSoftmax(g, x, axis), [{ name: 'x', shape: [2, 5] }]);
  }
});
