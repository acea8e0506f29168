// The Open Inference Protocol v2 routes (/v2…) through app.inject() and one real socket, over a real registry
// (SQLite and file:// artifacts on a fresh AIMASS_HOME) and a ModelCache running engine-compiled ONNX models.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import * as ort from 'onnxruntime-node';
import { request } from 'undici';
import { ModelCache } from '../serve/index.js';
import { type ApiFixture, mlpOnnx, openApiFixture, oipError } from './fixtures/api-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'aimass-api-infer-'));

let fx: ApiFixture;
let cache: ModelCache;
let app: FastifyInstance;
before(async () => {
  fx = await openApiFixture(join(root, 'home'));
  cache = new ModelCache(fx.registry);
  app = await fx.appWith({ modelCache: cache });
  await fx.register('iris', 1);
  await fx.register('iris', 2);
});
// hooks run in the order they are added: unload models, close apps and registry, then remove the folder
after(async () => cache?.close());
after(async () => fx?.close());
after(() => rmSync(root, { recursive: true, force: true }));

const rows = [
  [0.5, -1, 2, 0.25],
  [1, 0, -0.5, 3],
];

const inferBody = (o: { name?: string; datatype?: string; shape?: number[]; data?: unknown[] } = {}) => ({
  id: 'req-1',
  inputs: [{ name: o.name ?? 'features', shape: o.shape ?? [2, 4], datatype: o.datatype ?? 'FP32', data: o.data ?? rows }],
});

/** Probabilities of `rows` from the same ONNX bytes, run in-process by onnxruntime-node. */
async function reference(seed: number): Promise<number[]> {
  const session = await ort.InferenceSession.create(mlpOnnx({ seed }));
  try {
    const out = await session.run({ features: new ort.Tensor('float32', Float32Array.from(rows.flat()), [2, 4]) });
    return Array.from(out.probabilities.data as Float32Array);
  } finally {
    await session.release();
  }
}

function assertClose(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]) <= 1e-6, `element ${i}: ${a} vs ${expected[i]}`));
}

test('server metadata and health', async () => {
  const meta = await app.inject({ method: 'GET', url: '/v2' });
  assert.equal(meta.statusCode, 200, meta.body);
  assert.equal(meta.json().name, 'aimass');
  assert.equal(typeof meta.json().version, 'string');
  assert.deepEqual(meta.json().extensions, ['binary_tensor_data']);
  assert.equal((await app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/v2/health/ready' })).statusCode, 200);
  const docs = await app.inject({ method: 'GET', url: '/docs/json' });
  assert.equal(docs.statusCode, 200, docs.body);
  assert.ok(docs.json().paths['/v2/models/{name}/versions/{version}/infer'].post, 'the OpenAPI document lists the inference routes');
});

test('model metadata comes from the signature of the resolved version', async () => {
  const res = await app.inject({ method: 'GET', url: '/v2/models/iris' });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), {
    name: 'iris',
    versions: ['1', '2'],
    platform: 'onnxruntime',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [
      { name: 'logits', datatype: 'FP32', shape: [-1, 3] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    ],
  });
  const v1 = await app.inject({ method: 'GET', url: '/v2/models/iris/versions/1' });
  assert.equal(v1.statusCode, 200, v1.body);
  assert.equal(v1.json().inputs[0].name, 'features');
  assert.match(oipError(await app.inject({ method: 'GET', url: '/v2/models/iris/versions/9' }), 404), /version 9/);
});

test('a model is not ready before its first request, runs it like onnxruntime in-process, and is ready after', async () => {
  const notReady = await app.inject({ method: 'GET', url: '/v2/models/iris/ready' });
  assert.equal(notReady.statusCode, 400, notReady.body);
  assert.deepEqual(notReady.json(), { name: 'iris', ready: false });

  const res = await app.inject({ method: 'POST', url: '/v2/models/iris/infer', payload: inferBody() });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.model_name, 'iris');
  assert.equal(body.model_version, '2', 'no production alias: the latest version');
  assert.equal(body.id, 'req-1');
  const probs = body.outputs.find((o: { name: string }) => o.name === 'probabilities');
  assert.deepEqual(probs.shape, [2, 3]);
  assert.equal(probs.datatype, 'FP32');
  assertClose(probs.data, await reference(2));

  const ready = await app.inject({ method: 'GET', url: '/v2/models/iris/ready' });
  assert.equal(ready.statusCode, 200, ready.body);
  assert.deepEqual(ready.json(), { name: 'iris', ready: true });
  assert.equal((await app.inject({ method: 'GET', url: '/v2/models/iris/versions/2/ready' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/v2/models/iris/versions/1/ready' })).statusCode, 400);
});

test('the versions route runs that version; flat data and requested outputs are accepted', async () => {
  const res = await app.inject({
    method: 'POST',
    url: '/v2/models/iris/versions/1/infer',
    headers: { 'x-aimass-timeout-ms': '5000' },
    payload: { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: rows.flat() }], outputs: [{ name: 'probabilities' }] },
  });
  assert.equal(res.statusCode, 200, res.body);
  const body = res.json();
  assert.equal(body.model_version, '1');
  assert.equal(body.id, undefined);
  assert.deepEqual(body.outputs.map((o: { name: string }) => o.name), ['probabilities']);
  assertClose(body.outputs[0].data, await reference(1));
  assert.equal((await app.inject({ method: 'GET', url: '/v2/models/iris/versions/1/ready' })).statusCode, 200);
});

test('unknown models and versions are 404 with the OIP error body', async () => {
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/nope/infer', payload: inferBody() }), 404), /nope/);
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/iris/versions/9/infer', payload: inferBody() }), 404), /version 9/);
  oipError(await app.inject({ method: 'GET', url: '/v2/models/nope' }), 404);
  assert.match(oipError(await app.inject({ method: 'GET', url: '/v2/models/nope/ready' }), 404), /nope/);
  assert.match(oipError(await app.inject({ method: 'GET', url: '/v2/models/iris/versions/9/ready' }), 404), /version 9/);
});

test('bad inputs are 400 naming the input', async () => {
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/iris/infer', payload: inferBody({ name: 'pixels' }) }), 400), /"pixels".*features/);
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/iris/infer', payload: inferBody({ datatype: 'INT64' }) }), 400), /"features".*INT64.*FP32/);
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/iris/infer', payload: inferBody({ shape: [3, 4] }) }), 400), /"features" has 8 elements.*12/);
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/iris/infer', payload: inferBody({ shape: [2, 5] }) }), 400), /"features" has shape/);
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/iris/infer', payload: inferBody({ data: [[1, 2, 3, 'x'], rows[1]] }) }), 400), /"features".*"x".*not a number/);
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/iris/infer', payload: { inputs: [] } }), 400), /inputs/);
  const unknownOutput = { ...inferBody(), outputs: [{ name: 'embedding' }] };
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/iris/infer', payload: unknownOutput }), 400), /"embedding"/);
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/iris/infer', headers: { 'x-aimass-timeout-ms': '0' }, payload: inferBody() }), 400), /x-aimass-timeout-ms/);
});

test('inference over a real socket', async () => {
  const served = await fx.appWith({ modelCache: cache });
  const url = await served.listen({ port: 0, host: '127.0.0.1' });
  const res = await request(`${url}/v2/models/iris/versions/2/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(inferBody()) });
  assert.equal(res.statusCode, 200);
  const body = (await res.body.json()) as { model_version: string; outputs: { name: string; data: number[] }[] };
  assert.equal(body.model_version, '2');
  assertClose(body.outputs.find((o) => o.name === 'probabilities')!.data, await reference(2));
  const missing = await request(`${url}/v2/models/nope`);
  assert.equal(missing.statusCode, 404);
  assert.equal(typeof ((await missing.body.json()) as { error: unknown }).error, 'string');
});
