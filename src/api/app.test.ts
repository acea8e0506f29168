// The app as a whole: health, error handling shared by every route, the OpenAPI document, and the API over a
// real socket (undici against app.listen on a free port).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type ApiFixture, mlpOnnx, openApiFixture } from './fixtures/api-fixture.js';
import { buildApp } from './index.js';

let fx: ApiFixture;
// hooks run in the order they are added: close the registry before its folder is removed
after(async () => fx?.close());
const tempDir = useTempDirs('api-app');

before(async () => {
  fx = await openApiFixture(join(await tempDir(), 'home'));
});

test('GET /healthz answers ok', async () => {
  const res = await fx.app.inject({ method: 'GET', url: '/healthz' });
  assert.equal(res.statusCode, 200);
  assert.deepEqual(res.json(), { status: 'ok' });
});

test('an unknown route is a 404 NOT_FOUND in the catalog format', async () => {
  const res = await fx.app.inject({ method: 'GET', url: '/api/v2/models?x=1' });
  assert.equal(res.statusCode, 404);
  assert.deepEqual(res.json(), {
    error: {
      code: 'NOT_FOUND',
      status: 404,
      title: 'Not found',
      message: 'no route GET /api/v2/models; the API is under /api/v1 and its documentation at /docs',
      details: { method: 'GET', path: '/api/v2/models' },
    },
  });
  assert.equal((await fx.app.inject({ method: 'PATCH', url: '/api/v1/models' })).json().error.code, 'NOT_FOUND');
});

test('an unexpected failure is a 500 INTERNAL naming the request, with no message or stack of the fault', async () => {
  const app = buildApp({ registry: fx.registry });
  app.get('/boom', async () => {
    throw new TypeError('secret internals at /srv/aimass/thing.ts:42');
  });
  try {
    const res = await app.inject({ method: 'GET', url: '/boom' });
    assert.equal(res.statusCode, 500);
    const e = res.json().error;
    assert.equal(e.code, 'INTERNAL');
    assert.match(e.message, /^internal error while serving request \S+; the server log has the details$/);
    assert.ok(!res.body.includes('secret') && !res.body.includes('thing.ts') && !res.body.includes('stack'), res.body);
  } finally {
    await app.close();
  }
});

test('a body of a media type no route takes is refused with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
  const res = await fx.app.inject({ method: 'PUT', url: '/api/v1/models/m/aliases/prod', headers: { 'content-type': 'text/xml' }, payload: '<version>1</version>' });
  assert.equal(res.statusCode, 415, res.body);
  assert.equal(res.json().error.code, 'UNSUPPORTED_MEDIA_TYPE');
});

test('a JSON body over the route\'s limit is refused with 413 PAYLOAD_TOO_LARGE naming the limit', async () => {
  // Fastify's default body limit (1 MiB) holds for the JSON routes
  const payload = JSON.stringify({ version: 1, note: 'x'.repeat(1024 * 1024) });
  const res = await fx.app.inject({ method: 'PUT', url: '/api/v1/models/m/aliases/prod', headers: { 'content-type': 'application/json' }, payload });
  assert.equal(res.statusCode, 413, res.body);
  const e = res.json().error;
  assert.equal(e.code, 'PAYLOAD_TOO_LARGE');
  assert.match(e.message, /limit of 1048576 bytes/);
});

test('the OpenAPI document lists every route with its parameters, and /docs serves the browser UI', async () => {
  const res = await fx.app.inject({ method: 'GET', url: '/docs/json' });
  assert.equal(res.statusCode, 200);
  const doc = res.json();
  assert.match(doc.openapi, /^3\./);
  assert.equal(doc.info.title, 'AI Mass API');
  const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, ops]) => Object.keys(ops).filter((m) => m !== 'parameters').map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  assert.deepEqual(routes, [
    'DELETE /api/v1/models/{name}',
    'DELETE /api/v1/models/{name}/aliases/{alias}',
    'DELETE /api/v1/models/{name}/versions/{version}',
    'GET /api/v1/models',
    'GET /api/v1/models/{name}',
    'GET /api/v1/models/{name}/aliases',
    'GET /api/v1/models/{name}/aliases/{alias}',
    'GET /api/v1/models/{name}/aliases/{alias}/history',
    'GET /api/v1/models/{name}/versions',
    'GET /api/v1/models/{name}/versions/{version}',
    'GET /api/v1/models/{name}/versions/{version}/files/{path}',
    'GET /api/v1/runs',
    'GET /api/v1/runs/compare',
    'GET /api/v1/runs/{id}',
    'GET /healthz',
    'GET /metrics',
    'POST /api/v1/models/{name}/rollback',
    'POST /api/v1/models/{name}/versions',
    'PUT /api/v1/models/{name}/aliases/{alias}',
  ]);
  const upload = doc.paths['/api/v1/models/{name}/versions'].post;
  assert.deepEqual(Object.keys(upload.requestBody.content), ['application/octet-stream']);
  assert.ok(upload.parameters.some((p: { in: string; name: string }) => p.in === 'header' && p.name === 'x-aimass-user'));
  const put = doc.paths['/api/v1/models/{name}/aliases/{alias}'].put;
  assert.deepEqual(put.requestBody.content['application/json'].schema.required, ['version']);
  assert.ok(put.responses['4XX'], 'error responses are documented');
  assert.equal(doc.paths['/api/v1/models/{name}/rollback'].post.requestBody.required, false, 'rollback takes no body too');

  const ui = await fx.app.inject({ method: 'GET', url: '/docs' });
  assert.ok([200, 302].includes(ui.statusCode), `GET /docs: ${ui.statusCode}`);
});

test('over a real socket: list, upload, download with checksum, errors, and an oversized upload answered, not reset', async () => {
  const app = await fx.appWith({ maxUploadBytes: 4096 });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });

  const bytes = Buffer.from(mlpOnnx({ seed: 21 }));
  const created = await request(`${base}/api/v1/models/socket/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'x-aimass-user': 'carol' },
    // a stream body goes out chunked, without a content-length, so only the byte count enforces the limit
    body: Readable.from([bytes.subarray(0, 100), bytes.subarray(100)]),
  });
  const v = (await created.body.json()) as { version: number; createdBy: string };
  assert.equal(created.statusCode, 201, JSON.stringify(v));
  assert.equal(v.createdBy, 'carol');

  const list = await request(`${base}/api/v1/models`);
  assert.equal(list.statusCode, 200);
  assert.ok(((await list.body.json()) as { models: { name: string }[] }).models.some((m) => m.name === 'socket'));

  const file = await request(`${base}/api/v1/models/socket/versions/${v.version}/files/model.onnx`);
  assert.equal(file.statusCode, 200);
  const received = Buffer.from(await file.body.arrayBuffer());
  assert.deepEqual(received, bytes);
  assert.equal(file.headers['x-aimass-sha256'], createHash('sha256').update(received).digest('hex'));
  assert.equal(Number(file.headers['content-length']), bytes.length);

  const missing = await request(`${base}/api/v1/models/socket/versions/7`);
  assert.equal(missing.statusCode, 404);
  assert.equal(((await missing.body.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');

  const big = Buffer.alloc(1024 * 1024, 1);
  const refused = await request(`${base}/api/v1/models/socket/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Readable.from((function* () {
      for (let i = 0; i < big.length; i += 16384) yield big.subarray(i, i + 16384);
    })()),
  });
  assert.equal(refused.statusCode, 413);
  assert.match(((await refused.body.json()) as { error: { message: string } }).error.message, /limit of 4096 bytes/);
  // with a content-length the upload is refused before a byte is read
  const declared = await request(`${base}/api/v1/models/socket/versions`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: big });
  assert.equal(declared.statusCode, 413);
  assert.match(((await declared.body.json()) as { error: { message: string } }).error.message, /is 1048576 bytes, over the limit of 4096 bytes/);
  await app.close();
});
