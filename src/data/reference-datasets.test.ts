// Pins the MNIST export: the fixed 8004/1996 split of the `mnist` package's 10,000 digits, as CSVs that
// loadImageCsv reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { checkMnistCsv } from '../../test/support/mnist-csv.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { exportMnist, loadImageCsv } from './index.js';

const tempDir = useTempDirs('mnist');

test('exportMnist writes 8004 training and 1996 test rows of a label and 784 pixels 0..255', async () => {
  const out = join(await tempDir(), 'nested', 'mnist');
  const r = await exportMnist(out);
  assert.deepEqual(r, { train: join(out, 'mnist_train.csv'), test: join(out, 'mnist_test.csv'), trainRows: 8004, testRows: 1996 });
  const train = await checkMnistCsv(r.train, 8004);
  const test_ = await checkMnistCsv(r.test, 1996);
  // every 5th image of each digit is a test image
  train.forEach((n, digit) => assert.equal(test_[digit], Math.floor((n + test_[digit]) / 5), `digit ${digit}`));

  const d = await loadImageCsv(r.test, { shape: [1, 28, 28] });
  assert.equal(d.n, 1996);
  assert.deepEqual(d.classNames, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  const pixels = d.inputs[0] as Float32Array;
  assert.ok(pixels.every((p) => p >= 0 && p <= 1));
  assert.ok(pixels.some((p) => p === 1));
});
