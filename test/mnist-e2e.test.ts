// The bar, end to end through the CLI: `aimass train` with the reference CNN spec on the reference
// MNIST split reaches at least 0.96 test accuracy in 3 epochs, and leaves a loadable model.onnx; registered, the
// model classifies test digits sent as PNG pictures through `aimass predict` (the pipeline.json the trainer
// wrote decodes and scales them as the training pixels were).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'aimass-mnist-'));
after(() => rmSync(work, { recursive: true, force: true }));

function aimass(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'aimass.js'), ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, AIMASS_HOME: join(work, 'home') } });
  return r;
}

test('aimass train on the reference MNIST split reaches >= 0.96 test accuracy in 3 epochs', { timeout: 300_000 }, async () => {
  const exported = aimass(['datasets', 'export', 'mnist', '--out', 'data']);
  assert.equal(exported.status, 0, exported.stderr);
  const spec = JSON.parse(readFileSync(join(root, 'examples', 'mnist-cnn.json'), 'utf8'));
  spec.data.train = 'data/mnist_train.csv';
  spec.data.test = 'data/mnist_test.csv';
  assert.equal(spec.epochs, 3);
  writeFileSync(join(work, 'spec.json'), JSON.stringify(spec));
  const r = aimass(['--json', 'train', '--spec', 'spec.json', '--out', 'run', '--threads', '2', '--no-progress', '--register', 'digits']);
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.ok(result.test.accuracy >= 0.96, `test accuracy ${result.test.accuracy}`);
  assert.equal(result.test.n, 1996);
  const session = await ort.InferenceSession.create(join(work, 'run', 'model.onnx'));
  assert.deepEqual(session.outputNames, ['logits', 'probabilities']);

  // 20 test digits as PNG files, through the registered model's pipeline
  const rows = readFileSync(join(work, 'data', 'mnist_test.csv'), 'utf8').trim().split('\n').slice(0, 20).map((l) => l.split(',').map(Number));
  const files: string[] = [];
  for (const [i, row] of rows.entries()) {
    const file = join(work, `digit-${i}.png`);
    await sharp(Buffer.from(row.slice(1)), { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(file);
    files.push(file);
  }
  const p = aimass(['--json', 'predict', 'digits', ...files.flatMap((f) => ['--image', f])]);
  assert.equal(p.status, 0, p.stderr);
  const { predictions } = JSON.parse(p.stdout) as { predictions: { label: string }[] };
  const right = predictions.filter((x, i) => x.label === String(rows[i][0])).length;
  assert.ok(right >= 17, `${right} of 20 test digits classified right from PNG pictures (labels ${predictions.map((x) => x.label).join(',')})`);
});
