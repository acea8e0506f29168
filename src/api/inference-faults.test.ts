// Faults at the HTTP level of the Open Inference Protocol routes: a real Fastify app over a real registry and
// ModelCache, with ONNX Runtime in real worker threads. A worker that crashes mid-request, a stored model that
// rots, a full queue, a deadline that passes in the queue, and requests the model cannot take: each answers with
// its OIP status and `{"error"}` body, never hangs, and leaves the server serving. Moments that the tests need
// (a batch in flight, the queue full) come from a tap on the model's worker pool (test/support/served-model-tap.ts),
// not from sleeps. Input errors already pinned by inference-routes.test.ts are not repeated here.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { request } from 'undici';
import type { VersionRecord } from '../storage/index.js';
import { ModelCache, type ModelCacheOptions } from '../serve/index.js';
import { partsOf, tapServedModel } from '../../test/support/served-model-tap.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type ApiFixture, openApiFixture, oipError } from './fixtures/api-fixture.js';

const TWO_INPUTS_ONNX = fileURLToPath(new URL('../../test/fixtures/pytorch-two-inputs.onnx', import.meta.url));
/** A hang guard, not the budget: each test takes 1–3 s on an idle machine. */
const FAST = { timeout: 20_000 };

const tempDir = useTempDirs('api-faults');

let fx: ApiFixture;
const caches: ModelCache[] = [];
before(async () => {
  fx = await openApiFixture(join(await tempDir(), 'home'));
  await fx.register('iris', 1);
  // "features" FP32 [-1, 4] and "category" INT64 [-1] → "scores" FP32 [-1, 2], exported from PyTorch
  await fx.registry.importOnnx('two', TWO_INPUTS_ONNX);
});
after(async () => {
  await Promise.all(caches.map((c) => c.close()));
  await fx?.close();
});

/** An app over its own ModelCache (closed after the file's tests); batches go out at once unless told otherwise. */
async function serve(o: ModelCacheOptions = {}): Promise<{ app: FastifyInstance; cache: ModelCache }> {
  const cache = new ModelCache(fx.registry, { ...o, batching: { maxQueueDelayUs: 0, ...o.batching } });
  caches.push(cache);
  return { app: await fx.appWith({ modelCache: cache }), cache };
}

const irisBody = (rows = [[0.5, -1, 2, 0.25]]) => ({ inputs: [{ name: 'features', shape: [rows.length, 4], datatype: 'FP32', data: rows }] });

const infer = (app: FastifyInstance, route: string, payload: object, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: `/v2/models/${route}/infer`, headers, payload });

function outputsOf(res: LightMyRequestResponse): { name: string; data: number[] }[] {
  assert.equal(res.statusCode, 200, res.body);
  return res.json().outputs;
}

// --- a worker crashes --------------------------------------------------------------------------------------

test('a worker that crashes with a request in flight answers it 503 over the socket, and the replacement serves the next', FAST, async () => {
  const { app, cache } = await serve({ workers: 1 });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const post = async () => {
    // a hung request fails here instead of stalling the suite
    const res = await request(`${url}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(irisBody()), headersTimeout: 10_000, bodyTimeout: 10_000 });
    return { status: res.statusCode, headers: res.headers, body: (await res.body.json()) as { error?: string; outputs?: unknown } };
  };
  const healthy = await post();
  assert.equal(healthy.status, 200, JSON.stringify(healthy.body));

  const model = await cache.get('iris');
  const tap = tapServedModel(model);
  tap.crashBeforeNextRun();
  const crashed = await post();
  assert.equal(tap.runs, 1, 'the request reached the worker before it died');
  assert.equal(crashed.status, 503, JSON.stringify(crashed.body));
  assert.match(String(crashed.headers['content-type']), /^application\/json/);
  assert.deepEqual(Object.keys(crashed.body), ['error']);
  assert.match(crashed.body.error!, /worker.*(exited|crashed).*retry/);

  const next = await post();
  assert.equal(next.status, 200, JSON.stringify(next.body));
  assert.deepEqual(next.body.outputs, healthy.body.outputs, 'the replacement worker runs the same model');
  assert.equal(partsOf(model).pool.size, 1, 'the dead worker was replaced, not added to');
  assert.equal(cache.isReady('iris'), true, 'a replaced worker does not unload the model');
  assert.equal((await app.inject({ method: 'GET', url: '/v2/models/iris/ready' })).statusCode, 200);
});

// --- the stored model rots ---------------------------------------------------------------------------------

test('a corrupted artifact answers every request 500 and never becomes ready, while other models keep serving', FAST, async () => {
  const { app } = await serve();
  const rotten: VersionRecord = await fx.register('rotten', 3);
  await fx.corrupt(rotten); // same size, different bytes: only the sha256 tells
  for (let attempt = 1; attempt <= 3; attempt++) {
    const message = oipError(await infer(app, 'rotten', irisBody()), 500);
    assert.match(message, /model\.onnx/, `attempt ${attempt}: the message names the damaged file`);
    assert.match(message, /sha256|corrupt|checksum/i);
    for (const url of ['/v2/models/rotten/ready', '/v2/models/rotten/versions/1/ready']) {
      const ready = await app.inject({ method: 'GET', url });
      assert.equal(ready.statusCode, 400, `attempt ${attempt}: ${url} ${ready.body}`);
      assert.deepEqual(ready.json(), { name: 'rotten', ready: false });
    }
  }
  oipError(await infer(app, 'rotten/versions/1', irisBody()), 500);
  const meta = await app.inject({ method: 'GET', url: '/v2/models/rotten' });
  assert.equal(meta.statusCode, 200, 'metadata comes from the registry record, which is intact');
  assert.equal(outputsOf(await infer(app, 'iris', irisBody())).length, 2, 'a healthy model on the same server still serves');
});

// --- the queue fills ---------------------------------------------------------------------------------------

test('a full queue answers 503 with Retry-After at once, and the queued request still completes', FAST, async () => {
  const { app, cache } = await serve({ workers: 1, batching: { maxQueue: 1 } });
  const tap = tapServedModel(await cache.get('iris'));
  tap.hold(); // the model is as slow as the test needs: the running batch waits for release()
  const running = infer(app, 'iris', irisBody());
  await tap.reachedPool(1);
  // One worker runs one batch at a time, so the next request waits in the queue of one sample, and fills it.
  const queued = infer(app, 'iris', irisBody());
  await tap.reachedBatcher(2);
  for (let attempt = 1; attempt <= 2; attempt++) {
    const refused = await infer(app, 'iris', irisBody());
    assert.match(oipError(refused, 503), /queue is full.*retry/);
    assert.equal(refused.headers['retry-after'], '1', `attempt ${attempt}`);
  }
  tap.release();
  for (const res of await Promise.all([running, queued])) assert.equal(res.statusCode, 200, res.body);
  assert.equal(tap.runs, 2, 'the running batch and the queued request; refused requests never reach a worker');
  assert.equal((await infer(app, 'iris', irisBody())).statusCode, 200, 'the queue drains and takes requests again');
});

// --- a deadline passes in the queue ------------------------------------------------------------------------

test('a deadline shorter than the queue wait answers 504, and the dropped request never runs', FAST, async () => {
  const { app, cache } = await serve({ workers: 1 });
  const tap = tapServedModel(await cache.get('iris'));
  tap.hold();
  const running = infer(app, 'iris', irisBody());
  await tap.reachedPool(1);
  const late = await infer(app, 'iris', irisBody([[9, 9, 9, 9]]), { 'x-aimass-timeout-ms': '50' });
  assert.match(oipError(late, 504), /waited more than 50 ms.*queue/);

  tap.release();
  assert.equal((await running).statusCode, 200, 'the request already running is not cut short by a later deadline');
  assert.equal(tap.runs, 1, 'the timed-out request was dropped from the queue, not run after its answer');
  const next = await infer(app, 'iris', irisBody(), { 'x-aimass-timeout-ms': '5000' });
  assert.equal(next.statusCode, 200, next.body);
  assert.equal(tap.runs, 2);
});

// --- requests the model cannot take ------------------------------------------------------------------------

const twoBody = (o: { features?: object | null; category?: object | null } = {}) => ({
  inputs: [
    o.features === null ? undefined : { name: 'features', shape: [2, 4], datatype: 'FP32', data: [1, 2, 3, 4, -1, -2, -3, -4], ...o.features },
    o.category === null ? undefined : { name: 'category', shape: [2], datatype: 'INT64', data: [0, 3], ...o.category },
  ].filter(Boolean),
});

test('a model with an FP32 and an INT64 input: missing, mistyped and misshapen inputs are 400 naming the input', FAST, async () => {
  const { app } = await serve();
  assert.equal(outputsOf(await infer(app, 'two', twoBody()))[0].name, 'scores', 'the well-formed request runs');

  assert.match(oipError(await infer(app, 'two', twoBody({ category: null })), 400), /missing input "category"/);
  assert.match(oipError(await infer(app, 'two', twoBody({ features: null })), 400), /missing input "features"/);
  assert.match(oipError(await infer(app, 'two', twoBody({ category: { datatype: 'FP32', data: [0, 3] } })), 400), /"category".*FP32.*INT64/);
  assert.match(oipError(await infer(app, 'two', twoBody({ features: { datatype: 'FP64' } })), 400), /"features".*FP64.*FP32/);
  assert.match(oipError(await infer(app, 'two', twoBody({ category: { data: [0, 1.5] } })), 400), /"category".*INT64.*1\.5.*whole number/);
  assert.match(oipError(await infer(app, 'two', twoBody({ category: { data: [0, 2 ** 60] } })), 400), /"category".*whole number/);
  assert.match(oipError(await infer(app, 'two', twoBody({ category: { shape: [2, 1] } })), 400), /"category" has shape \[2,1\].*\[-1\]/);
  assert.match(oipError(await infer(app, 'two', twoBody({ features: { shape: [8] } })), 400), /"features" has shape \[8\].*\[-1,4\]/);
  const twice = twoBody();
  twice.inputs.push({ ...twice.inputs[1]! });
  assert.match(oipError(await infer(app, 'two', twice), 400), /"category" is given twice/);
  const disagree = twoBody({ category: { shape: [3], data: [0, 1, 2] } });
  assert.match(oipError(await infer(app, 'two', disagree), 400), /batch size.*"features".*2.*"category".*3/);
  assert.match(oipError(await infer(app, 'two', twoBody({ category: { datatype: 'INT65' } })), 400), /datatype/);
});

test('unknown models and versions are 404 on every inference route; malformed versions are 400', FAST, async () => {
  const { app } = await serve();
  assert.match(oipError(await infer(app, 'two/versions/2', twoBody()), 404), /version 2/);
  assert.match(oipError(await infer(app, 'nope/versions/1', twoBody()), 404), /nope/);
  assert.match(oipError(await app.inject({ method: 'GET', url: '/v2/models/two/versions/2' }), 404), /version 2/);
  assert.match(oipError(await app.inject({ method: 'GET', url: '/v2/models/nope/versions/1' }), 404), /nope/);
  for (const bad of ['0', '01', 'latest', '-1']) {
    assert.match(oipError(await infer(app, `two/versions/${bad}`, twoBody()), 400), /version/, `version "${bad}"`);
  }
  const stillServing = await infer(app, 'two/versions/1', twoBody());
  assert.equal(stillServing.json().model_version, '1');
});

// --- one bad request in a merged batch ---------------------------------------------------------------------

test(
  'a request the model fails on, batched with others, fails alone and as a client error',
  FAST,
  async () => {
    const { app, cache } = await serve({ workers: 1 });
    const tap = tapServedModel(await cache.get('two'));
    tap.hold();
    const running = infer(app, 'two', twoBody());
    await tap.reachedPool(1);
    // queued together behind the running batch, so the batcher merges them into one batch on release
    const bad = infer(app, 'two', twoBody({ category: { data: [0, 9] } })); // the embedding has 5 rows
    const good = infer(app, 'two', twoBody());
    await tap.reachedBatcher(3);
    tap.release();
    assert.equal((await running).statusCode, 200);
    assert.equal((await good).statusCode, 200, `an innocent request shares the fate of another: ${(await good).body}`);
    assert.match(oipError(await bad, 400), /could not run on this input.*idx=9/);
  },
);
