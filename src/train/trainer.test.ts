import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { AimassError } from '../core/index.js';
import { blobs, linear, squares } from '../../test/support/synthetic.js';
import { type TrainSpecInput, loadCheckpoint, parseTrainSpec, train } from './index.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'aimass-train-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const dummyData = { format: 'csv', train: 'unused.csv' } as const;

function spec(over: Partial<TrainSpecInput>) {
  return parseTrainSpec({ model: { type: 'mlp', input: 4, hidden: [16], classes: 3 }, data: dummyData, epochs: 3, batchSize: 16, seed: 5, threads: 1, ...over });
}

function sameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) assert.ok(Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(b.get(k)!.buffer, b.get(k)!.byteOffset, b.get(k)!.byteLength)), `weights ${k} differ`);
}

test('a classifier learns separable blobs, validates each epoch and writes its run folder', async () => {
  const dir = await tempDir();
  const data = blobs(600, 4, 3);
  const events: string[] = [];
  const r = await train(spec({ data: { ...dummyData, validation: 0.2 } }), { train: data, validation: blobs(120, 4, 3, 9), test: blobs(150, 4, 3, 11) }, {
    runDir: dir,
    onEvent: (e) => events.push(e.type),
  });
  assert.equal(r.history.length, 3);
  for (const h of r.history) assert.ok(h.val_loss !== undefined && h.val_accuracy !== undefined, 'validation metrics each epoch');
  assert.ok(r.history[2].train_loss < r.history[0].train_loss, 'training loss decreases');
  assert.ok(r.test!.accuracy! > 0.9, `test accuracy ${r.test!.accuracy}`);
  for (const f of ['model.onnx', 'train_step.onnx', 'metrics.json', 'checkpoint.json', 'spec.json', 'meta.json', 'pipeline.json']) await stat(join(dir, f));
  const metrics = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
  assert.equal(metrics.history.length, 3);
  assert.ok(metrics.test.accuracy > 0.9);
  assert.ok(events.includes('start') && events.includes('epoch') && events.includes('step'));
});

test('same seed and one thread give the same weights; another seed gives others', async () => {
  const data = { train: blobs(200, 4, 3) };
  const a = await train(spec({}), data, { runDir: await tempDir() });
  const b = await train(spec({}), data, { runDir: await tempDir() });
  sameWeights(a.weights, b.weights);
  const c = await train(spec({ seed: 6 }), data, { runDir: await tempDir() });
  assert.notDeepEqual([...c.weights.values()][0], [...a.weights.values()][0]);
});

test('a stopped run resumes from its checkpoint and ends with the same weights as an uninterrupted run', async () => {
  const data = { train: blobs(200, 4, 3), validation: blobs(60, 4, 3, 8) };
  const s = spec({ epochs: 4, optimizer: { type: 'adam', lr: 0.01 }, schedule: { type: 'cosine' } });
  const full = await train(s, data, { runDir: await tempDir() });

  const dir = await tempDir();
  const controller = new AbortController();
  await assert.rejects(
    train(s, data, { runDir: dir, signal: controller.signal, onEvent: (e) => e.type === 'checkpoint' && e.epoch === 2 && controller.abort() }),
    (e: unknown) => e instanceof AimassError && e.code === 'CANCELLED',
  );
  assert.equal((await loadCheckpoint(dir)).meta.epoch, 2);
  const resumed = await train(s, data, { runDir: dir, resume: true });
  assert.equal(resumed.history.length, 4);
  sameWeights(full.weights, resumed.weights);
});

test('resuming with a spec whose model differs is refused', async () => {
  const dir = await tempDir();
  await train(spec({ epochs: 1 }), { train: blobs(64, 4, 3) }, { runDir: dir });
  await assert.rejects(train(spec({ model: { type: 'mlp', input: 4, hidden: [8], classes: 3 } }), { train: blobs(64, 4, 3) }, { runDir: dir, resume: true }), /does not match/);
});

test('early stopping stops when validation stops improving and keeps the best weights', async () => {
  const dir = await tempDir();
  // a tiny training set and a large model overfit: validation loss turns up
  const s = spec({ epochs: 60, optimizer: { type: 'adam', lr: 0.05 }, earlyStopping: { patience: 2 }, model: { type: 'mlp', input: 4, hidden: [64, 64], classes: 3 } });
  const r = await train(s, { train: blobs(24, 4, 3, 21), validation: blobs(300, 4, 3, 22) }, { runDir: dir });
  assert.ok(r.stoppedEarly, 'stopped early');
  assert.ok(r.history.length < 60);
  const best = Math.min(...r.history.map((h) => h.val_loss!));
  assert.equal(r.history[r.bestEpoch! - 1].val_loss, best);
  assert.equal(r.history.length, r.bestEpoch! + 2, 'stopped after `patience` epochs without improvement');
  // resuming an early-stopped run trains nothing more and exports the same best weights
  const again = await train(s, { train: blobs(24, 4, 3, 21), validation: blobs(300, 4, 3, 22) }, { runDir: dir, resume: true });
  assert.equal(again.history.length, r.history.length);
  sameWeights(r.weights, again.weights);
});

test('a NaN loss stops training with TRAINING_DIVERGED and keeps the last good checkpoint', async () => {
  const dir = await tempDir();
  // SGD above the stability bound (lr > 1 for unit-variance inputs): the error doubles every step, and
  // overflows float32 after several epochs
  const s = spec({ model: { type: 'linear', input: 3, task: 'regression' }, optimizer: { type: 'sgd', lr: 1.5 }, epochs: 40 });
  let details: Record<string, unknown> = {};
  await assert.rejects(train(s, { train: linear(256, 3) }, { runDir: dir }), (e: unknown) => {
    assert.ok(e instanceof AimassError && e.code === 'TRAINING_DIVERGED', String(e));
    assert.match(e.message, /last good checkpoint/);
    details = e.details ?? {};
    return true;
  });
  const ck = await loadCheckpoint(dir);
  assert.ok(ck.meta.epoch >= 1, 'some epochs completed before the divergence');
  assert.equal(ck.meta.epoch, details.checkpointEpoch);
  for (const [name, t] of ck.tensors) assert.ok(t.every(Number.isFinite), `checkpoint tensor ${name} is finite`);
});

test('linear regression fits a linear target', async () => {
  const r = await train(spec({ model: { type: 'linear', input: 5, task: 'regression' }, optimizer: { type: 'adam', lr: 0.05 }, epochs: 20 }), { train: linear(512, 5), test: linear(128, 5, 3) }, { runDir: await tempDir() });
  assert.ok(r.test!.loss < 0.05, `test mse ${r.test!.loss}`);
});

test('the exported model.onnx gives the training graph forward outputs, in plain ONNX Runtime, at any batch size', async () => {
  const dir = await tempDir();
  const s = spec({ model: { type: 'cnn', input: [1, 8, 8], classes: 4, blocks: [{ filters: 4, kernel: 3, padding: 'same', pool: 2 }], dense: [8] }, epochs: 2 });
  const data = squares(96, 8, 4);
  const r = await train(s, { train: data }, { runDir: dir });
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
  assert.deepEqual(session.inputNames, ['image']);
  assert.deepEqual(session.outputNames, ['logits', 'probabilities']);
  for (const n of [1, 5]) {
    const x = data.inputs[0].subarray(0, n * 64) as Float32Array;
    const out = await session.run({ image: new ort.Tensor('float32', x, [n, 1, 8, 8]) });
    assert.deepEqual(out.logits.dims, [n, 4]);
    const p = out.probabilities.data as Float32Array;
    for (let i = 0; i < n; i++) assert.ok(Math.abs(p[i * 4] + p[i * 4 + 1] + p[i * 4 + 2] + p[i * 4 + 3] - 1) < 1e-5);
  }
  assert.ok(r.weights.size > 0);
});
