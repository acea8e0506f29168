// The inference fast lane answers exactly as the Fastify route does: every request below goes once over a real
// socket (where the lane takes POST …/infer) and once through inject() (which always reaches the route), and
// status, media type, headers that matter and body must be identical. Also: the lane really takes the socket
// requests (Fastify's hooks never see them), leaves what it does not understand to Fastify, counts in the same
// metrics series, and refuses oversize bodies with 413.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { ModelCache } from '../serve/index.js';
import { buildApp } from './app.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type ApiFixture, openApiFixture } from './fixtures/api-fixture.js';

const tempDir = useTempDirs('api-fast-lane');

let fx: ApiFixture;
let cache: ModelCache;
let app: FastifyInstance;
let base: string;
/** Requests Fastify's hooks saw (the lane's never reach them). */
let routed = 0;

before(async () => {
  fx = await openApiFixture(join(await tempDir(), 'home'));
  cache = new ModelCache(fx.registry, { batching: { maxQueueDelayUs: 0 } });
  app = buildApp({ registry: fx.registry, modelCache: cache, maxRequestBytes: 4096 });
  app.addHook('onRequest', async () => {
    routed++;
  });
  await fx.register('iris', 1);
  await fx.register('iris', 2);
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await app?.close();
  await cache?.close();
  await fx?.close();
});

const rows = [
  [0.5, -1, 2, 0.25],
  [1, 0, -0.5, 3],
];
const features = (o: object = {}) => ({ name: 'features', shape: [2, 4], datatype: 'FP32', data: rows, ...o });
const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

function binary(head: object, bytes: Uint8Array, extra: Record<string, string> = {}) {
  const h = Buffer.from(JSON.stringify(head));
  return { headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(h.length), ...extra }, body: Buffer.concat([h, bytes]) };
}
const pixels = Buffer.from(Float32Array.from(rows.flat()).buffer);

interface Case {
  what: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

const cases: Case[] = [
  { what: 'JSON request', path: 'iris', ...json({ inputs: [features()] }) },
  { what: 'JSON request with id and one output', path: 'iris/versions/1', ...json({ id: 'r-1', inputs: [features()], outputs: [{ name: 'probabilities' }] }) },
  { what: 'binary request, JSON answer', path: 'iris', ...binary({ inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }] }, pixels) },
  {
    what: 'binary request, binary answer',
    path: 'iris/versions/2',
    ...binary({ inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }], parameters: { binary_data_output: true } }, pixels),
  },
  { what: 'wrong shape', path: 'iris', ...json({ inputs: [features({ shape: [2, 5] })] }) },
  { what: 'wrong datatype', path: 'iris', ...json({ inputs: [features({ datatype: 'INT64' })] }) },
  { what: 'unknown datatype', path: 'iris', ...json({ inputs: [features({ datatype: 'INT65' })] }) },
  { what: 'not a number', path: 'iris', ...json({ inputs: [features({ data: [[1, 2, 3, 'x'], rows[1]] })] }) },
  { what: 'no inputs', path: 'iris', ...json({ inputs: [] }) },
  { what: 'unknown field', path: 'iris', ...json({ inputs: [features({ colour: 'red' })] }) },
  { what: 'unknown output', path: 'iris', ...json({ inputs: [features()], outputs: [{ name: 'embedding' }] }) },
  { what: 'invalid JSON', path: 'iris', ...json('{"inputs": [') },
  { what: 'empty body', path: 'iris', ...json('') },
  { what: 'a __proto__ key', path: 'iris', ...json('{"inputs": [], "__proto__": {"x": 1}}') },
  { what: 'unknown model', path: 'nope', ...json({ inputs: [features()] }) },
  { what: 'unknown version', path: 'iris/versions/9', ...json({ inputs: [features()] }) },
  { what: 'version 0', path: 'iris/versions/0', ...json({ inputs: [features()] }) },
  { what: 'timeout header 0', path: 'iris', ...json({ inputs: [features()] }), headers: { 'content-type': 'application/json', 'x-aimass-timeout-ms': '0' } },
  { what: 'binary sizes that do not add up', path: 'iris', ...binary({ inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, pixels) },
  { what: 'a bad header length', path: 'iris', ...binary({ inputs: [] }, pixels, { 'inference-header-content-length': '99999' }) },
];

async function overSocket(c: Case) {
  const res = await request(`${base}/v2/models/${c.path}/infer`, { method: 'POST', headers: c.headers, body: c.body });
  return { status: res.statusCode, type: String(res.headers['content-type']), retry: res.headers['retry-after'], length: res.headers['inference-header-content-length'], body: Buffer.from(await res.body.arrayBuffer()) };
}

async function throughRoute(c: Case) {
  const res = await app.inject({ method: 'POST', url: `/v2/models/${c.path}/infer`, headers: c.headers, payload: c.body });
  return { status: res.statusCode, type: String(res.headers['content-type']), retry: res.headers['retry-after'], length: res.headers['inference-header-content-length'], body: res.rawPayload };
}

test('the fast lane and the route give the same answer to every request', async () => {
  for (const c of cases) {
    const before = routed;
    const lane = await overSocket(c);
    assert.equal(routed, before, `${c.what}: the socket request went through the lane, not Fastify`);
    const route = await throughRoute(c);
    assert.equal(routed, before + 1, `${c.what}: inject reached the route`);
    assert.deepEqual({ ...lane, body: lane.body.toString('latin1') }, { ...route, body: route.body.toString('latin1') }, c.what);
  }
  // and the answers are the ones expected, not merely equal
  const ok = JSON.parse((await overSocket(cases[0])).body.toString()) as { model_version: string; outputs: { name: string; shape: number[] }[] };
  assert.equal(ok.model_version, '2');
  assert.deepEqual(ok.outputs.map((o) => o.shape), [[2, 3], [2, 3]].slice(0, ok.outputs.length));
  assert.equal((await overSocket(cases[4])).status, 400);
  assert.equal((await overSocket(cases[14])).status, 404);
});

test('what the lane does not understand goes to Fastify unchanged: other media types, query strings, other methods', async () => {
  const before = routed;
  const plain = await request(`${base}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
  assert.equal(plain.statusCode, 415);
  assert.match(((await plain.body.json()) as { error: string }).error, /text\/plain/);
  const query = await request(`${base}/v2/models/iris/infer?x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [features()] }) });
  assert.equal(query.statusCode, 400);
  await query.body.dump();
  const get = await request(`${base}/v2/models/iris/infer`, { method: 'GET' });
  assert.equal(get.statusCode, 404);
  await get.body.dump();
  assert.equal(routed, before + 3, 'Fastify answered all three');
});

test('a body over the limit is 413 from the lane, declared or streamed', async () => {
  const big = JSON.stringify({ inputs: [features({ data: Array.from({ length: 2000 }, () => 0.5) })] });
  const declared = await request(`${base}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
  assert.equal(declared.statusCode, 413);
  assert.match(((await declared.body.json()) as { error: string }).error, /over this route's limit of 4096 bytes.*--max-request-bytes/);
  async function* chunks() {
    for (let i = 0; i < 10; i++) yield Buffer.alloc(1024, 0x20);
  }
  const streamed = await request(`${base}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Readable.from(chunks()) });
  assert.equal(streamed.statusCode, 413);
  await streamed.body.dump();
});

test('lane requests count in the same metrics series as the route', async () => {
  const metric = async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const m = /aimass_inference_requests_total\{model="iris",version="2",status="200"\} (\d+)/.exec(text);
    return m ? Number(m[1]) : 0;
  };
  const before = await metric();
  for (let i = 0; i < 3; i++) assert.equal((await overSocket(cases[0])).status, 200);
  assert.equal(await metric(), before + 3);
});
