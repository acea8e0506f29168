// The registry routes (/api/v1/models…) through app.inject() over a real registry: SQLite and file:// artifacts
// on a fresh AIMASS_HOME, with small ONNX models compiled by the engine.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { type ApiFixture, SERVER_USER, leftovers, mlpOnnx, openApiFixture } from './fixtures/api-fixture.js';

// Uploads and downloads use the OS temp folder; a private one shows that they leave nothing behind.
const root = mkdtempSync(join(tmpdir(), 'aimass-api-models-'));
const scratch = join(root, 'tmp');
mkdirSync(scratch);
process.env.TMPDIR = scratch;

let fx: ApiFixture;
let app: FastifyInstance;
before(async () => {
  fx = await openApiFixture(join(root, 'home'));
  app = fx.app;
});
// hooks run in the order they are added: close the registry, then remove its folder
after(async () => fx?.close());
after(() => rmSync(root, { recursive: true, force: true }));

/** Temporary files left in the scratch folder, once the removals started when responses ended have run. */
async function settledLeftovers(): Promise<string[]> {
  for (let i = 0; i < 50; i++) {
    const left = await leftovers(scratch);
    if (!left.length) return left;
    await new Promise((r) => setTimeout(r, 20));
  }
  return leftovers(scratch);
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The error body of a failed response, after checking its status and code. */
function failure(res: LightMyRequestResponse, status: number, code: string): { message: string; details?: Record<string, unknown> } {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = res.json();
  assert.equal(body.error.code, code, res.body);
  assert.equal(body.error.status, status);
  assert.equal(typeof body.error.title, 'string');
  return body.error;
}

function problems(res: LightMyRequestResponse): string[] {
  const e = failure(res, 400, 'INVALID_ARGUMENT');
  assert.ok(Array.isArray(e.details?.problems), res.body);
  return e.details!.problems as string[];
}

// --- models and versions -----------------------------------------------------------------------------------

test('GET /models lists models with latest version and aliases; GET /models/:name has versions and aliases', async () => {
  await fx.register('listed', 1);
  await fx.register('listed', 2);
  await fx.registry.setAlias('listed', 'staging', 2);

  const list = await app.inject({ method: 'GET', url: '/api/v1/models' });
  assert.equal(list.statusCode, 200, list.body);
  const listed = list.json().models.find((m: { name: string }) => m.name === 'listed');
  assert.equal(listed.latestVersion, 2);
  assert.deepEqual(listed.aliases.map((a: { alias: string; version: number }) => [a.alias, a.version]), [['staging', 2]]);

  const show = await app.inject({ method: 'GET', url: '/api/v1/models/listed' });
  assert.equal(show.statusCode, 200, show.body);
  const d = show.json();
  assert.equal(d.model.name, 'listed');
  assert.deepEqual(d.versions.map((v: { version: number }) => v.version), [1, 2]);
  assert.equal(d.aliases[0].alias, 'staging');
  // the version record arrives whole: nested params, signature shapes with symbolic dims, nullable lineage
  const v1 = d.versions[0];
  assert.equal(v1.createdBy, SERVER_USER);
  assert.deepEqual(v1.files.map((f: { path: string }) => f.path).sort(), ['model.onnx', 'pipeline.json']);
  assert.equal(v1.signature.inputs[0].shape[0], 'N');
  assert.equal(v1.runId, null);

  const versions = await app.inject({ method: 'GET', url: '/api/v1/models/listed/versions' });
  assert.deepEqual(versions.json().versions.map((v: { version: number }) => v.version), [1, 2]);
});

test('GET a version by number, alias and latest; 404s name the model, version or alias', async () => {
  await fx.register('refs', 1);
  await fx.register('refs', 2);
  await fx.register('refs', 3);
  await fx.registry.setAlias('refs', 'production', 2);

  for (const [ref, expected] of [['1', 1], ['production', 2], ['latest', 3]] as const) {
    const res = await app.inject({ method: 'GET', url: `/api/v1/models/refs/versions/${ref}` });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().version, expected, ref);
    assert.equal(res.json().model, 'refs');
  }
  assert.match(failure(await app.inject({ method: 'GET', url: '/api/v1/models/nope' }), 404, 'NOT_FOUND').message, /"nope"/);
  assert.match(failure(await app.inject({ method: 'GET', url: '/api/v1/models/nope/versions/1' }), 404, 'NOT_FOUND').message, /"nope"/);
  assert.match(failure(await app.inject({ method: 'GET', url: '/api/v1/models/refs/versions/9' }), 404, 'NOT_FOUND').message, /"refs" has no version 9/);
  assert.match(failure(await app.inject({ method: 'GET', url: '/api/v1/models/refs/versions/canary' }), 404, 'NOT_FOUND').message, /"refs" has no alias "canary"/);
});

test('a version that is neither a number, an alias nor latest is a 400 naming the field', async () => {
  for (const bad of ['0', '-1', 'v%201', '1.5', '_x']) {
    const p = problems(await app.inject({ method: 'GET', url: `/api/v1/models/refs/versions/${bad}` }));
    assert.equal(p.length, 1, p.join('\n'));
    assert.match(p[0], /^params\.version: must be a version number \(1, 2, …\), an alias name, or latest \(got "/, bad);
  }
  const p = problems(await app.inject({ method: 'GET', url: '/api/v1/models/.hidden/versions/x%20y' }));
  assert.equal(p.length, 2, 'both the name and the version are reported');
  assert.ok(p.some((x) => x.startsWith('params.name: must be a model name')));
  assert.ok(p.some((x) => x.startsWith('params.version:')));
  assert.deepEqual(problems(await app.inject({ method: 'GET', url: '/api/v1/models?page=2' })), ['querystring.page: is not a known field']);
});

// --- downloads ---------------------------------------------------------------------------------------------

for (const [mode, bufferFilesUpTo] of [['in memory', undefined], ['through a temporary copy', 0]] as const) {
  test(`GET a file sends the stored bytes with type, length and sha256 (verified ${mode})`, async () => {
    const target = bufferFilesUpTo === undefined ? app : await fx.appWith({ bufferFilesUpTo });
    const v = await fx.register('files', 7);
    const res = await target.inject({ method: 'GET', url: `/api/v1/models/files/versions/${v.version}/files/model.onnx` });
    assert.equal(res.statusCode, 200, res.body);
    const expected = mlpOnnx({ seed: 7 });
    assert.deepEqual(res.rawPayload, Buffer.from(expected));
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.equal(Number(res.headers['content-length']), expected.length);
    assert.equal(res.headers['x-aimass-sha256'], sha256(expected));
    assert.equal(res.headers['x-aimass-sha256'], v.files.find((f) => f.path === 'model.onnx')!.sha256);
    assert.match(String(res.headers['content-disposition']), /attachment; filename="model.onnx"/);

    const pipeline = await target.inject({ method: 'GET', url: '/api/v1/models/files/versions/latest/files/pipeline.json' });
    assert.equal(pipeline.statusCode, 200);
    assert.match(String(pipeline.headers['content-type']), /^application\/json/);
    assert.deepEqual(pipeline.json(), { labels: ['a', 'b', 'c'] });

    const missing = failure(await target.inject({ method: 'GET', url: '/api/v1/models/files/versions/latest/files/weights.bin' }), 404, 'NOT_FOUND');
    assert.match(missing.message, /has no file "weights.bin" \(it has .*model\.onnx/);
    assert.deepEqual(await settledLeftovers(), []);
  });

  test(`a corrupted file is never served: 500 DATA_CORRUPT as JSON and no file bytes (verified ${mode})`, async () => {
    const target = bufferFilesUpTo === undefined ? app : await fx.appWith({ bufferFilesUpTo });
    const name = `fragile-${bufferFilesUpTo ?? 'mem'}`;
    const v = await fx.register(name, 3);
    await fx.corrupt(v, 'model.onnx');

    const res = await target.inject({ method: 'GET', url: `/api/v1/models/${name}/versions/1/files/model.onnx` });
    const e = failure(res, 500, 'DATA_CORRUPT');
    assert.match(e.message, /model\.onnx/);
    assert.equal(res.headers['x-aimass-sha256'], undefined);
    assert.equal(res.headers['content-disposition'], undefined);
    assert.ok(!res.rawPayload.includes(Buffer.alloc(64, 0x5a)), 'no stored bytes in the body');
    assert.equal(Number(res.headers['content-length']), res.rawPayload.length);

    // the version's other files are intact and still served
    const ok = await target.inject({ method: 'GET', url: `/api/v1/models/${name}/versions/1/files/pipeline.json` });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(await settledLeftovers(), [], 'the temporary copy is removed when verification fails');
  });
}

// --- upload ------------------------------------------------------------------------------------------------

test('POST an ONNX file registers it: 201 with the version, acting as x-aimass-user; the upload is cleaned up', async () => {
  const bytes = mlpOnnx({ seed: 11, input: 5, classes: 2 });
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/models/uploaded/versions?description=from%20pytorch&filename=classifier.onnx&framework=pytorch%202.1',
    headers: { 'content-type': 'application/octet-stream', 'x-aimass-user': 'alice' },
    payload: Buffer.from(bytes),
  });
  assert.equal(res.statusCode, 201, res.body);
  const v = res.json();
  assert.equal(v.model, 'uploaded');
  assert.equal(v.version, 1);
  assert.equal(v.source, 'imported');
  assert.equal(v.framework, 'pytorch 2.1');
  assert.equal(v.description, 'from pytorch');
  assert.equal(v.createdBy, 'alice');
  assert.equal(res.headers.location, '/api/v1/models/uploaded/versions/1');
  assert.deepEqual(v.signature.inputs[0].shape, ['N', 5]);

  const back = await app.inject({ method: 'GET', url: '/api/v1/models/uploaded/versions/1/files/model.onnx' });
  assert.deepEqual(back.rawPayload, Buffer.from(bytes));
  const meta = await app.inject({ method: 'GET', url: '/api/v1/models/uploaded/versions/1/files/meta.json' });
  assert.equal(meta.json().importedFrom, 'classifier.onnx');

  const second = await app.inject({ method: 'POST', url: '/api/v1/models/uploaded/versions', headers: { 'content-type': 'application/octet-stream' }, payload: Buffer.from(bytes) });
  assert.equal(second.statusCode, 201, second.body);
  assert.equal(second.json().version, 2);
  assert.equal(second.json().createdBy, SERVER_USER);
  assert.deepEqual(await settledLeftovers(), []);
});

test('uploads that cannot be registered are refused and leave no files and no model behind', async () => {
  const post = (o: { url?: string; type?: string; payload?: string | Buffer; target?: FastifyInstance }) =>
    (o.target ?? app).inject({ method: 'POST', url: o.url ?? '/api/v1/models/rejected/versions', headers: o.type ? { 'content-type': o.type } : {}, payload: o.payload });

  const notOnnx = failure(await post({ type: 'application/octet-stream', payload: Buffer.from('definitely not a protobuf') }), 400, 'INVALID_ARGUMENT');
  assert.match(notOnnx.message, /^the uploaded file is not a model ONNX Runtime can load/);
  assert.ok(!notOnnx.message.includes(scratch), 'the server\'s temporary path is not shown');

  assert.match(failure(await post({ type: 'application/octet-stream', payload: Buffer.alloc(0) }), 400, 'INVALID_ARGUMENT').message, /body is empty/);
  assert.match(failure(await post({ type: 'application/json', payload: '{"path":"/etc/passwd"}' }), 415, 'UNSUPPORTED_MEDIA_TYPE').message, /application\/octet-stream/);
  assert.match(failure(await post({}), 415, 'UNSUPPORTED_MEDIA_TYPE').message, /takes the file itself as the body/);

  const small = await fx.appWith({ maxUploadBytes: 500 });
  const big = Buffer.from(mlpOnnx({ seed: 1 }));
  assert.ok(big.length > 500);
  const tooBig = failure(await post({ target: small, type: 'application/octet-stream', payload: big }), 413, 'PAYLOAD_TOO_LARGE');
  assert.match(tooBig.message, /over the limit of 500 bytes/);

  // refused by validation after the body was spooled: the spooled file goes too
  assert.deepEqual(problems(await post({ url: '/api/v1/models/bad%20name/versions', type: 'application/octet-stream', payload: big })).length, 1);
  assert.deepEqual(problems(await post({ url: '/api/v1/models/rejected/versions?filename=../x.onnx', type: 'application/octet-stream', payload: big })).length, 1);

  // a file body on a route that takes JSON is refused before it is read
  assert.match(failure(await app.inject({ method: 'PUT', url: '/api/v1/models/refs/aliases/x', headers: { 'content-type': 'application/octet-stream' }, payload: big }), 415, 'UNSUPPORTED_MEDIA_TYPE').message, /takes no file/);

  failure(await app.inject({ method: 'GET', url: '/api/v1/models/rejected' }), 404, 'NOT_FOUND');
  assert.deepEqual(await settledLeftovers(), []);
});

// --- aliases and rollback ----------------------------------------------------------------------------------

test('PUT an alias moves it with compare-and-set (409 on a stale expected), acting as x-aimass-user', async () => {
  for (const seed of [1, 2, 3]) await fx.register('cas', seed);
  const put = (body: unknown, user?: string) =>
    app.inject({ method: 'PUT', url: '/api/v1/models/cas/aliases/production', payload: body as object, headers: user ? { 'x-aimass-user': user } : {} });

  const created = await put({ version: 1, expected: null, reason: 'first release' }, 'alice');
  assert.equal(created.statusCode, 200, created.body);
  const { id, at, ...event } = created.json() as Record<string, unknown>;
  assert.equal(typeof id, 'number');
  assert.equal(typeof at, 'string');
  assert.deepEqual(event, { model: 'cas', alias: 'production', from: null, to: 1, actor: 'alice', reason: 'first release' });

  const moved = await put({ version: 2, expected: 1 });
  assert.equal(moved.statusCode, 200, moved.body);
  assert.equal(moved.json().from, 1);
  assert.equal(moved.json().actor, SERVER_USER);

  const stale = failure(await put({ version: 3, expected: 1 }), 409, 'CONFLICT');
  assert.match(stale.message, /2/, 'names the version the alias holds');
  failure(await put({ version: 3, expected: null }), 409, 'CONFLICT');

  const get = await app.inject({ method: 'GET', url: '/api/v1/models/cas/aliases/production' });
  assert.equal(get.statusCode, 200);
  assert.equal(get.json().version, 2);
  assert.equal(get.json().updatedBy, SERVER_USER);

  const list = await app.inject({ method: 'GET', url: '/api/v1/models/cas/aliases' });
  assert.deepEqual(list.json().aliases.map((a: { alias: string }) => a.alias), ['production']);

  const history = await app.inject({ method: 'GET', url: '/api/v1/models/cas/aliases/production/history' });
  assert.deepEqual(history.json().events.map((e: { from: number | null; to: number }) => [e.from, e.to]), [[null, 1], [1, 2]]);

  assert.match(failure(await put({ version: 9 }), 404, 'NOT_FOUND').message, /no version 9/);
  assert.match(failure(await app.inject({ method: 'GET', url: '/api/v1/models/cas/aliases/staging' }), 404, 'NOT_FOUND').message, /"cas" has no alias "staging"/);
  assert.match(failure(await app.inject({ method: 'GET', url: '/api/v1/models/ghost/aliases' }), 404, 'NOT_FOUND').message, /"ghost"/);
});

test('bad alias bodies and names are 400s listing every problem', async () => {
  const put = (body: unknown, alias = 'production') => app.inject({ method: 'PUT', url: `/api/v1/models/cas/aliases/${alias}`, payload: body as object });
  assert.deepEqual(problems(await put({ version: 'three' })), ['body.version: must be integer']);
  assert.deepEqual(problems(await put({})), ['body.version: is required']);
  assert.deepEqual(problems(await put({ version: 2, expect: 1 })), ['body.expect: is not a known field'], 'a misspelt expected is not ignored');
  assert.deepEqual(problems(await put({ version: 0, expected: 'one', reason: { text: 'x' } })).sort(), [
    'body.expected: must be integer,null',
    'body.reason: must be string',
    'body.version: must be >= 1',
  ]);
  const badName = problems(await put({ version: 1 }, '1st'));
  assert.match(badName[0], /^params\.alias: must be an alias name/);
  assert.match(failure(await put({ version: 1 }, 'latest'), 400, 'INVALID_ARGUMENT').message, /"latest" always names the newest version/);
  assert.match(failure(await app.inject({ method: 'PUT', url: '/api/v1/models/cas/aliases/production', headers: { 'content-type': 'application/json' }, payload: '{"version": 1' }), 400, 'INVALID_ARGUMENT').message, /JSON/i);
});

test('POST rollback walks an alias back (body optional); 409 when there is nothing to go back to', async () => {
  for (const seed of [1, 2, 3]) await fx.register('rb', seed);
  for (const version of [1, 2, 3]) await fx.registry.setAlias('rb', 'production', version);

  const first = await app.inject({ method: 'POST', url: '/api/v1/models/rb/rollback', payload: { reason: 'error rate 12%' }, headers: { 'x-aimass-user': 'gateway' } });
  assert.equal(first.statusCode, 200, first.body);
  assert.deepEqual([first.json().from, first.json().to, first.json().actor, first.json().reason], [3, 2, 'gateway', 'rollback: error rate 12%']);

  const second = await app.inject({ method: 'POST', url: '/api/v1/models/rb/rollback' });
  assert.equal(second.statusCode, 200, second.body);
  assert.deepEqual([second.json().from, second.json().to], [2, 1]);

  assert.match(failure(await app.inject({ method: 'POST', url: '/api/v1/models/rb/rollback', payload: {} }), 409, 'CONFLICT').message, /nothing to roll back to/);
  assert.match(failure(await app.inject({ method: 'POST', url: '/api/v1/models/rb/rollback', payload: { alias: 'staging' } }), 404, 'NOT_FOUND').message, /no alias "staging"/);
  assert.deepEqual(problems(await app.inject({ method: 'POST', url: '/api/v1/models/rb/rollback', payload: { alias: 'production', why: 'x' } })), ['body.why: is not a known field']);
  assert.equal((await app.inject({ method: 'GET', url: '/api/v1/models/rb/aliases/production' })).json().version, 1);
});

test('DELETE an alias (compare-and-set by ?expected=), then it is gone', async () => {
  await fx.register('del-alias', 1);
  await fx.registry.setAlias('del-alias', 'staging', 1);
  failure(await app.inject({ method: 'DELETE', url: '/api/v1/models/del-alias/aliases/staging?expected=2' }), 409, 'CONFLICT');
  const res = await app.inject({ method: 'DELETE', url: '/api/v1/models/del-alias/aliases/staging?expected=1&reason=retired', headers: { 'x-aimass-user': 'bob' } });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual([res.json().from, res.json().to, res.json().actor, res.json().reason], [1, null, 'bob', 'retired']);
  failure(await app.inject({ method: 'GET', url: '/api/v1/models/del-alias/aliases/staging' }), 404, 'NOT_FOUND');
  failure(await app.inject({ method: 'DELETE', url: '/api/v1/models/del-alias/aliases/staging' }), 404, 'NOT_FOUND');
});

// --- deletion ----------------------------------------------------------------------------------------------

test('DELETE a version (409 while an alias holds it) and a whole model (only with ?confirm=true)', async () => {
  for (const seed of [1, 2]) await fx.register('doomed', seed);
  await fx.registry.setAlias('doomed', 'production', 1);

  failure(await app.inject({ method: 'DELETE', url: '/api/v1/models/doomed/versions/1' }), 409, 'CONFLICT');
  assert.deepEqual(problems(await app.inject({ method: 'DELETE', url: '/api/v1/models/doomed/versions/latest' })), ['params.version: must be integer']);
  const del = await app.inject({ method: 'DELETE', url: '/api/v1/models/doomed/versions/2' });
  assert.equal(del.statusCode, 200, del.body);
  assert.deepEqual(del.json(), { deleted: { model: 'doomed', version: 2 } });
  failure(await app.inject({ method: 'GET', url: '/api/v1/models/doomed/versions/2' }), 404, 'NOT_FOUND');
  failure(await app.inject({ method: 'DELETE', url: '/api/v1/models/doomed/versions/2' }), 404, 'NOT_FOUND');

  assert.match(failure(await app.inject({ method: 'DELETE', url: '/api/v1/models/doomed' }), 400, 'INVALID_ARGUMENT').message, /\?confirm=true/);
  assert.deepEqual(problems(await app.inject({ method: 'DELETE', url: '/api/v1/models/doomed?confirm=yes' })), ['querystring.confirm: must be boolean']);
  const gone = await app.inject({ method: 'DELETE', url: '/api/v1/models/doomed?confirm=true' });
  assert.equal(gone.statusCode, 200, gone.body);
  assert.deepEqual(gone.json(), { deleted: { model: 'doomed' } });
  failure(await app.inject({ method: 'GET', url: '/api/v1/models/doomed' }), 404, 'NOT_FOUND');
  failure(await app.inject({ method: 'DELETE', url: '/api/v1/models/doomed?confirm=true' }), 404, 'NOT_FOUND');
});
