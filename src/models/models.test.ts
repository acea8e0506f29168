import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { AimassError, Rng, parseWith } from '../core/index.js';
import { BatchBuffers, type Dataset } from '../data/index.js';
import { ForwardRunner, TrainStepRunner, compileForward, compileTrainStep, initialValues, type ModelDefinition } from '../engine/index.js';
import { blobs, keywordTokens, squares } from '../../test/support/synthetic.js';
import { ModelSpecSchema, buildModel } from './index.js';

const model = (spec: unknown): ModelDefinition => buildModel(parseWith(ModelSpecSchema, spec, 'model spec'));

/** Trains `steps` Adam steps over the data in order; returns the first and last epoch's mean loss. */
async function fit(m: ModelDefinition, d: Dataset, epochs: number, batch = 16, lr = 0.01): Promise<{ first: number; last: number }> {
  const c = compileTrainStep(m, { batchSize: batch, optimizer: { type: 'adam', lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } });
  const runner = await TrainStepRunner.create(c, initialValues([...c.params, ...c.buffers], new Rng(1)), { threads: 1 });
  const buf = new BatchBuffers(d, batch);
  const order = Array.from({ length: d.n }, (_, i) => i);
  const losses: number[] = [];
  for (let e = 0; e < epochs; e++) {
    let sum = 0;
    const steps = Math.floor(d.n / batch);
    for (let s = 0; s < steps; s++) {
      buf.fill(order, s * batch);
      sum += (await runner.step(buf.inputs, buf.labels, lr)).loss;
    }
    losses.push(sum / steps);
  }
  await runner.release();
  return { first: losses[0], last: losses[losses.length - 1] };
}

// [name, spec, data, required loss ratio last/first]
const cases: [string, unknown, Dataset, number][] = [
  ['mlp with dropout and batch norm', { type: 'mlp', input: 6, hidden: [32, 16], dropout: 0.1, batchNorm: true, classes: 3 }, blobs(192, 6, 3), 0.7],
  ['logistic regression (multiclass)', { type: 'linear', input: 6, classes: 3 }, blobs(192, 6, 3), 0.7],
  ['cnn with same padding, batch norm and avg pool', { type: 'cnn', input: [1, 10, 10], classes: 4, blocks: [{ filters: 6, padding: 'same', batchNorm: true, pool: 2, poolType: 'avg' }, { filters: 8, stride: 2 }], dense: [16], activation: 'gelu' }, squares(128, 10, 4), 0.7],
  // global average pooling discards where the square is, which is what tells these classes apart: it learns slowly
  ['cnn with global pooling', { type: 'cnn', input: [1, 10, 10], classes: 4, blocks: [{ filters: 8, padding: 1, pool: 2 }], globalPool: true }, squares(128, 10, 4), 0.9],
  ['bag of embeddings (binary)', { type: 'bag_of_embeddings', vocabSize: 30, seqLen: 12, embedDim: 8, hidden: [8], task: 'binary' }, keywordTokens(256, 12, 30), 0.7],
  ['textcnn (binary)', { type: 'textcnn', vocabSize: 30, seqLen: 12, embedDim: 8, kernels: [2, 3], filters: 8, task: 'binary' }, keywordTokens(256, 12, 30), 0.7],
];

for (const [name, spec, data, ratio] of cases) {
  test(`${name}: trains (loss falls) and exports a forward graph with a symbolic batch`, async () => {
    const m = model(spec);
    const { first, last } = await fit(m, data, 8);
    assert.ok(last < first * ratio, `loss ${first} -> ${last}`);
    const c = compileTrainStep(m, { batchSize: 8, optimizer: { type: 'sgd', lr: 0.1, momentum: 0, nesterov: false, weightDecay: 0 } });
    const values = initialValues([...c.params, ...c.buffers], new Rng(2));
    const runner = await ForwardRunner.create(compileForward(m, { params: 'initializers', values }), m.inputs, { threads: 1 });
    for (const n of [1, 3]) {
      const widths = data.sampleShapes.map((s) => s.reduce((a, b) => a * b, 1));
      const out = await runner.run(data.inputs.map((x, k) => x.subarray(0, n * widths[k])), n);
      const first = Object.values(out)[0];
      assert.equal(first.length % n, 0);
      assert.ok(first.every(Number.isFinite));
    }
  });
}

test("the forward graph gives the train step's forward outputs for the same weights", async () => {
  const m = model({ type: 'cnn', input: [1, 8, 8], classes: 3, blocks: [{ filters: 4, padding: 'same', pool: 2 }, { filters: 6 }], dense: [10] });
  const B = 5;
  const c = compileTrainStep(m, { batchSize: B, optimizer: { type: 'adam', lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, outputLogits: true });
  const values = initialValues([...c.params, ...c.buffers], new Rng(3));
  const data = squares(B, 8, 3);
  // the train step's logits come from the weights fed in, before its update
  const step = await ort.InferenceSession.create(c.bytes);
  const feeds: Record<string, ort.Tensor> = { image: new ort.Tensor('float32', data.inputs[0] as Float32Array, [B, 1, 8, 8]), label: new ort.Tensor('int64', data.labels, [B]), lr: new ort.Tensor('float32', [0.1], []), step: new ort.Tensor('float32', [1], []) };
  for (const s of [...c.params, ...c.state]) feeds[s.name] = new ort.Tensor('float32', values.get(s.name) ?? new Float32Array(s.shape.reduce((a, b) => a * b, 1)), s.shape);
  const trainLogits = (await step.run(feeds)).logits.data as Float32Array;
  const fwd = await ort.InferenceSession.create(compileForward(m, { params: 'initializers', values }));
  const fwdLogits = (await fwd.run({ image: feeds.image })).logits.data as Float32Array;
  assert.equal(fwdLogits.length, B * 3);
  for (let i = 0; i < fwdLogits.length; i++) assert.ok(Math.abs(fwdLogits[i] - trainLogits[i]) < 1e-5, `logit ${i}: ${fwdLogits[i]} vs ${trainLogits[i]}`);
});

test('a model that does not fit its input fails when the graph is built, naming the layer and both shapes', () => {
  const m = model({ type: 'cnn', input: [1, 6, 6], classes: 2, blocks: [{ filters: 4, kernel: 5, pool: 2 }, { filters: 4, kernel: 3 }] });
  assert.throws(
    () => compileTrainStep(m, { batchSize: 2, optimizer: { type: 'sgd', lr: 0.1, momentum: 0, nesterov: false, weightDecay: 0 } }),
    (e: unknown) => {
      assert.ok(e instanceof AimassError && e.code === 'SHAPE_MISMATCH', String(e));
      assert.match(e.message, /block2\/conv/);
      assert.match(e.message, /\[2, 4, 1, 1\]/);
      return true;
    },
  );
});

test('a multiclass model without classes is an invalid spec', () => {
  assert.throws(() => model({ type: 'mlp', input: 3 }), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_SPEC');
});
