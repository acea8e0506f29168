// POST /api/v1/predict/{model}: raw records through a model's pipeline.json, over a real registry and real
// serving workers. Predictions are checked against onnxruntime run in-process on the same features, so the
// route, the pipeline and the model agree number for number.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { FeaturePipeline, csrToDense } from '../features/index.js';
import { ModelCache } from '../serve/index.js';
import { type ApiFixture, mlpOnnx, openApiFixture } from './fixtures/api-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'aimass-api-predict-'));

const docs = ['cheap pills buy now', 'meeting moved to noon', 'buy cheap watches', 'lunch at noon with the team', 'win money now', 'project meeting notes'];
const features = FeaturePipeline.fit({ vectorizer: { type: 'tfidf' } }, docs);

let fx: ApiFixture;
let cache: ModelCache;
let app: FastifyInstance;

async function registerWith(name: string, onnx: Uint8Array, pipeline: unknown): Promise<void> {
  const dir = join(root, 'src', name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), onnx);
  if (pipeline !== undefined) await writeFile(join(dir, 'pipeline.json'), JSON.stringify(pipeline));
  await fx.registry.register(name, dir);
}

before(async () => {
  fx = await openApiFixture(join(root, 'home'));
  cache = new ModelCache(fx.registry);
  app = await fx.appWith({ modelCache: cache });
  await registerWith('digits', mlpOnnx({ input: 16, classes: 3, seed: 5 }), {
    format: 'aimass-pipeline/1',
    input: { kind: 'image', tensor: 'features', channels: 1, height: 4, width: 4, scale: 1 / 255 },
    output: { tensor: 'probabilities', kind: 'probabilities', labels: ['zero', 'one', 'two'] },
  });
  await registerWith('spam', mlpOnnx({ input: features.width, classes: 2, seed: 7 }), {
    format: 'aimass-pipeline/1',
    input: { kind: 'text', tensor: 'features', features: features.toJSON() },
    output: { tensor: 'probabilities', kind: 'probabilities', labels: ['ham', 'spam'] },
  });
  await fx.register('iris', 1); // an import-style {labels} pipeline: arrays of numbers in
  await fx.register('iris', 2);
  await fx.registry.setAlias('iris', 'production', 1);
});
after(async () => cache?.close());
after(async () => fx?.close());
after(() => rmSync(root, { recursive: true, force: true }));

async function referenceProbs(onnx: Uint8Array, data: Float32Array, dims: number[]): Promise<number[][]> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const out = await session.run({ features: new ort.Tensor('float32', data, dims) });
    const p = Array.from(out.probabilities.data as Float32Array);
    const width = p.length / dims[0];
    return Array.from({ length: dims[0] }, (_, r) => p.slice(r * width, (r + 1) * width));
  } finally {
    await session.release();
  }
}

const post = (model: string, body: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: `/api/v1/predict/${model}`, payload: body as object, headers });

interface Scored {
  label: string;
  score: number;
  scores: { label: string; score: number }[];
}

test('text records get labels and scores equal to the model run on the feature pipeline output', async () => {
  const texts = ['buy cheap pills', 'team lunch meeting'];
  const res = await post('spam', { inputs: texts });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json() as { model: string; model_version: string; predictions: Scored[] };
  assert.equal(body.model, 'spam');
  assert.equal(body.model_version, '1');
  const dense = csrToDense(features.transform(texts));
  const expected = await referenceProbs(mlpOnnx({ input: features.width, classes: 2, seed: 7 }), Float32Array.from(dense.data), [2, features.width]);
  body.predictions.forEach((p, r) => {
    const best = expected[r][1] > expected[r][0] ? 1 : 0;
    assert.equal(p.label, ['ham', 'spam'][best]);
    assert.ok(Math.abs(p.score - expected[r][best]) < 1e-6);
    assert.equal(p.scores.length, 2);
    assert.ok(Math.abs(p.scores.reduce((s, x) => s + x.score, 0) - 1) < 1e-5);
  });
  const metrics = await app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /aimass_inference_requests_total\{model="spam",version="1",status="200"\} 1/);
});

test('image records (base64 PNG) are decoded, scaled and classified; top_k limits the scores', async () => {
  const raw = Buffer.from(Array.from({ length: 16 }, (_, i) => i * 16));
  const b64 = (await sharp(raw, { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer()).toString('base64');
  const res = await post('digits', { inputs: [b64, { image: b64 }], top_k: 1 });
  assert.equal(res.statusCode, 200, res.body);
  const { predictions } = res.json() as { predictions: Scored[] };
  const expected = await referenceProbs(mlpOnnx({ input: 16, classes: 3, seed: 5 }), Float32Array.from(raw, (v) => v / 255), [1, 16]);
  const best = expected[0].indexOf(Math.max(...expected[0]));
  for (const p of predictions) {
    assert.equal(p.label, ['zero', 'one', 'two'][best]);
    assert.equal(p.scores.length, 1);
    assert.ok(Math.abs(p.score - expected[0][best]) < 1e-6);
  }
});

test('a bare name follows production; name:version and name@alias pick a version', async () => {
  const record = [0.5, -1, 2, 0.25];
  const bare = (await post('iris', { inputs: [record] })).json() as { model_version: string; predictions: Scored[] };
  assert.equal(bare.model_version, '1');
  assert.ok(['a', 'b', 'c'].includes(bare.predictions[0].label), 'labels come from the version pipeline.json');
  assert.equal((await post('iris:2', { inputs: [record] })).json().model_version, '2');
  assert.equal((await post('iris@production', { inputs: [record] })).json().model_version, '1');
  assert.equal((await post('iris:latest', { inputs: [record] })).json().model_version, '2');
});

test('bad requests are 400 naming the record or field; unknown models 404', async () => {
  const check = async (model: string, body: unknown, status: number, pattern: RegExp) => {
    const res = await post(model, body);
    assert.equal(res.statusCode, status, res.body);
    const e = res.json().error as { code: string; message: string };
    assert.match(e.message, pattern);
  };
  await check('spam', { inputs: ['fine', ''] }, 400, /record 1: the text is empty/);
  await check('digits', { inputs: ['bm90IGFuIGltYWdl'] }, 400, /record 0: the image could not be decoded/);
  await check('iris', { inputs: [[1, 2, 3]] }, 400, /record 0: input "features" has 3 values, but the model takes 4/);
  await check('iris', { inputs: [] }, 400, /inputs/);
  await check('iris', { records: [[1, 2, 3, 4]] }, 400, /body.inputs: is required/);
  await check('iris', { inputs: [[1, 2, 3, 4]], top_k: 0 }, 400, /top_k/);
  await check('nope', { inputs: ['x'] }, 404, /nope/);
  await check('iris:9', { inputs: [[1, 2, 3, 4]] }, 404, /9/);
  await check('iris@nowhere', { inputs: [[1, 2, 3, 4]] }, 404, /nowhere/);
  await check('bad%20name', { inputs: [[1]] }, 400, /params.model/);
});
