// GET /metrics over a real registry, ModelCache and ONNX Runtime workers: after some inference requests the
// Prometheus text carries the request counters by model, version and status, latency and batch-size
// histograms, queue depth, load time, loaded models, errors by catalog code and the process metrics; apps
// count apart; an app without a model cache still serves errors and process metrics.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { ModelCache } from '../serve/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type ApiFixture, openApiFixture } from './fixtures/api-fixture.js';

const tempDir = useTempDirs('api-metrics');

let fx: ApiFixture;
let cache: ModelCache;
before(async () => {
  fx = await openApiFixture(join(await tempDir(), 'home'));
  cache = new ModelCache(fx.registry, { batching: { maxQueueDelayUs: 0 } });
  await fx.register('metered', 1);
  await fx.register('metered', 2);
});
after(async () => {
  await cache?.close();
  await fx?.close();
});

const body = (data: unknown[] = [[0.5, -1, 2, 0.25]]) => ({ inputs: [{ name: 'features', shape: [data.length, 4], datatype: 'FP32', data }] });

async function scrape(app: FastifyInstance): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  return res.body;
}

/** The value of the one sample `series` (name and labels exactly as Prometheus prints them); undefined if absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('after inference requests, /metrics counts them by model, version and status, with latency, batches, queue and load time', async () => {
  const app = await fx.appWith({ modelCache: cache });
  const other = await fx.appWith({ modelCache: cache });
  const infer = (url: string, payload: object, target = app) => target.inject({ method: 'POST', url, payload });

  assert.equal((await infer('/v2/models/metered/versions/1/infer', body())).statusCode, 200);
  assert.equal((await infer('/v2/models/metered/versions/1/infer', body([[1, 2, 3, 4], [5, 6, 7, 8], [9, 0, 1, 2]]))).statusCode, 200);
  assert.equal((await infer('/v2/models/metered/infer', body())).statusCode, 200, 'the bare name serves version 2');
  assert.equal((await infer('/v2/models/metered/versions/1/infer', { inputs: [{ name: 'pixels', shape: [1], datatype: 'FP32', data: [1] }] })).statusCode, 400);
  assert.equal((await infer('/v2/models/metered/versions/1/infer', { inputs: 'none' })).statusCode, 400, 'refused by the schema before the handler');
  assert.equal((await infer('/v2/models/nowhere/infer', body())).statusCode, 404);
  assert.equal((await infer('/v2/models/metered/versions/9/infer', body())).statusCode, 404);
  assert.equal((await infer('/v2/models/metered/versions/1/infer', body(), other)).statusCode, 200, 'through another app');

  const text = await scrape(app);
  assert.equal(sample(text, 'aimass_inference_requests_total{model="metered",version="1",status="200"}'), 2);
  assert.equal(sample(text, 'aimass_inference_requests_total{model="metered",version="2",status="200"}'), 1);
  assert.equal(sample(text, 'aimass_inference_requests_total{model="metered",version="1",status="400"}'), 2, 'one after the model resolved, one from the schema');
  assert.equal(sample(text, 'aimass_inference_requests_total{model="",version="",status="404"}'), 1, 'an unknown model counts under ""');
  assert.equal(sample(text, 'aimass_inference_requests_total{model="metered",version="",status="404"}'), 1, 'a version not loaded counts under ""');
  assert.equal(sample(text, 'aimass_inference_request_duration_seconds_count{model="metered",version="1"}'), 4);
  assert.ok(sample(text, 'aimass_inference_request_duration_seconds_sum{model="metered",version="1"}')! > 0);
  assert.equal(sample(text, 'aimass_inference_request_duration_seconds_bucket{le="10",model="metered",version="1"}'), 4);
  assert.match(text, /aimass_inference_request_duration_seconds_bucket\{le="0\.0001",model="metered",version="1"\}/, 'buckets start below a millisecond');

  // batches of every app's requests on the cache: 1, 3 and 1 samples on version 1 (the schema-refused and
  // unknown-input requests never reached it), 1 on version 2
  assert.equal(sample(text, 'aimass_inference_batch_size_count{model="metered",version="1"}'), 3);
  assert.equal(sample(text, 'aimass_inference_batch_size_sum{model="metered",version="1"}'), 5);
  assert.equal(sample(text, 'aimass_inference_batch_size_bucket{le="2",model="metered",version="1"}'), 2);
  assert.equal(sample(text, 'aimass_inference_batch_size_count{model="metered",version="2"}'), 1);

  assert.equal(sample(text, 'aimass_inference_queue_depth{model="metered",version="1"}'), 0);
  assert.equal(sample(text, 'aimass_models_loaded'), 2);
  const load = sample(text, 'aimass_model_load_seconds{model="metered",version="1"}');
  assert.ok(load !== undefined && load > 0 && load < 60, `load time ${load}`);

  assert.equal(sample(text, 'aimass_errors_total{code="INVALID_ARGUMENT"}'), 2);
  assert.equal(sample(text, 'aimass_errors_total{code="NOT_FOUND"}'), 2);
  assert.match(text, /^process_cpu_user_seconds_total \d/m, 'process metrics');
  assert.match(text, /^nodejs_eventloop_lag_seconds /m);

  const otherText = await scrape(other);
  assert.equal(sample(otherText, 'aimass_inference_requests_total{model="metered",version="1",status="200"}'), 1, 'each app counts its own requests');

  await cache.unload('metered', 1);
  const after = await scrape(app);
  assert.equal(sample(after, 'aimass_models_loaded'), 1);
  assert.equal(sample(after, 'aimass_model_load_seconds{model="metered",version="1"}'), undefined, 'an unloaded version has no load time');
  assert.equal(sample(after, 'aimass_inference_queue_depth{model="metered",version="1"}'), undefined);
  assert.notEqual(sample(after, 'aimass_model_load_seconds{model="metered",version="2"}'), undefined);
});

test('an app without a model cache serves errors and process metrics, and no inference series', async () => {
  const text = await scrape(fx.app);
  assert.match(text, /^# TYPE aimass_errors_total counter$/m);
  assert.match(text, /^process_resident_memory_bytes \d/m);
  assert.doesNotMatch(text, /aimass_inference_/);
  await fx.app.inject({ method: 'GET', url: '/api/v1/models/absent' });
  assert.equal(sample(await scrape(fx.app), 'aimass_errors_total{code="NOT_FOUND"}'), 1);
});

test('/metrics over a real socket', async () => {
  const app = await fx.appWith({ modelCache: cache });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const res = await request(`${url}/metrics`);
  assert.equal(res.statusCode, 200);
  assert.match(String(res.headers['content-type']), /^text\/plain/);
  assert.match(await res.body.text(), /^# HELP aimass_inference_requests_total /m);
});
