// The run routes (/api/v1/runs…) through app.inject() over a real metadata store (SQLite on a fresh AIMASS_HOME),
// with runs recorded the way training records them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type ApiFixture, openApiFixture } from './fixtures/api-fixture.js';

let fx: ApiFixture;
// hooks run in the order they are added: close the registry before its folder is removed
after(async () => fx?.close());
const tempDir = useTempDirs('api-runs');
let app: FastifyInstance;

before(async () => {
  fx = await openApiFixture(join(await tempDir(), 'home'));
  app = fx.app;
  const meta = fx.registry.meta;
  const runs = [
    { id: 'run-a', name: 'mlp-small', params: { model: { hidden: [8] }, optimizer: { lr: 0.1 }, epochs: 3 }, acc: [0.5, 0.7, 0.8], status: 'finished' },
    { id: 'run-b', name: 'mlp-large', params: { model: { hidden: [64] }, optimizer: { lr: 0.1 }, epochs: 3 }, acc: [0.6, 0.9], status: 'finished' },
    { id: 'run-c', name: 'cnn', params: { model: { hidden: [8] }, optimizer: { lr: 0.01 }, epochs: 3 }, acc: [0.4], status: 'failed' },
  ] as const;
  for (const r of runs) {
    await meta.createRun({ id: r.id, name: r.name, params: r.params as unknown as Record<string, unknown> });
    await meta.logMetrics(r.id, r.acc.map((value, i) => ({ key: 'accuracy', step: i + 1, value })));
    if (r.id !== 'run-c') await meta.logMetrics(r.id, [{ key: 'loss', step: 1, value: r.id === 'run-a' ? 0.3 : 0.2 }]);
    await meta.endRun(r.id, r.status, r.status === 'failed' ? 'diverged' : undefined);
  }
  await meta.createRun({ id: 'run-d', name: 'still-going', params: {} });
});

const get = (url: string) => app.inject({ method: 'GET', url });
const ids = (res: { json(): { runs: { id: string }[] } }) => res.json().runs.map((r) => r.id);

test('GET /runs lists runs; filters by status and name; orders by a metric either way; limits', async () => {
  const all = await get('/api/v1/runs');
  assert.equal(all.statusCode, 200, all.body);
  assert.deepEqual(ids(all).sort(), ['run-a', 'run-b', 'run-c', 'run-d']);
  const a = all.json().runs.find((r: { id: string }) => r.id === 'run-a');
  assert.deepEqual(a.params, { model: { hidden: [8] }, optimizer: { lr: 0.1 }, epochs: 3 });
  assert.equal(a.metrics.accuracy, 0.8);
  assert.equal(a.error, null);

  assert.deepEqual(ids(await get('/api/v1/runs?status=failed')), ['run-c']);
  assert.deepEqual(ids(await get('/api/v1/runs?name=mlp')).sort(), ['run-a', 'run-b']);
  assert.deepEqual(ids(await get('/api/v1/runs?status=finished&orderBy=accuracy')), ['run-b', 'run-a']);
  assert.deepEqual(ids(await get('/api/v1/runs?status=finished&orderBy=loss&descending=false')), ['run-b', 'run-a']);
  assert.deepEqual(ids(await get('/api/v1/runs?status=finished&orderBy=accuracy&limit=1')), ['run-b']);
});

test('GET /runs refuses bad filters with a 400 listing each problem', async () => {
  const res = await get('/api/v1/runs?status=done&limit=0&descending=maybe');
  assert.equal(res.statusCode, 400, res.body);
  const e = res.json().error;
  assert.equal(e.code, 'INVALID_ARGUMENT');
  assert.deepEqual([...e.details.problems].sort(), [
    'querystring.descending: must be boolean',
    'querystring.limit: must be >= 1',
    'querystring.status: must be one of "running", "finished", "failed", "killed"',
  ]);
});

test('GET /runs/:id has the run with its metric history; 404 names the run', async () => {
  const res = await get('/api/v1/runs/run-a');
  assert.equal(res.statusCode, 200, res.body);
  const run = res.json();
  assert.equal(run.name, 'mlp-small');
  assert.equal(run.status, 'finished');
  assert.equal(typeof run.endedAt, 'string');
  assert.deepEqual(
    run.history.filter((p: { key: string }) => p.key === 'accuracy').map((p: { step: number; value: number }) => [p.step, p.value]),
    [[1, 0.5], [2, 0.7], [3, 0.8]],
  );
  const failed = (await get('/api/v1/runs/run-c')).json();
  assert.equal(failed.error, 'diverged');

  const missing = await get('/api/v1/runs/run-zzz');
  assert.equal(missing.statusCode, 404);
  assert.match(missing.json().error.message, /no run "run-zzz"/);
  assert.equal((await get('/api/v1/runs/bad%20id')).statusCode, 400);
});

test('GET /runs/compare puts runs side by side: differing params as values, every metric', async () => {
  const res = await get('/api/v1/runs/compare?ids=run-a,run-b,run-c');
  assert.equal(res.statusCode, 200, res.body);
  const c = res.json();
  assert.deepEqual(c.ids, ['run-a', 'run-b', 'run-c']);
  assert.deepEqual(c.runs.map((r: { id: string }) => r.id), c.ids);
  assert.deepEqual(c.differingParams, { 'model.hidden': [[8], [64], [8]], 'optimizer.lr': [0.1, 0.1, 0.01] });
  assert.deepEqual(c.metrics, { accuracy: [0.8, 0.9, 0.4], loss: [0.3, 0.2, null] });

  const one = await get('/api/v1/runs/compare?ids=run-a');
  assert.equal(one.statusCode, 400);
  assert.match(one.json().error.details.problems[0], /^querystring\.ids: must be two to 20 run ids/);
  assert.equal((await get('/api/v1/runs/compare')).json().error.details.problems[0], 'querystring.ids: is required');
  const unknown = await get('/api/v1/runs/compare?ids=run-a,run-nope');
  assert.equal(unknown.statusCode, 404);
  assert.match(unknown.json().error.message, /"run-nope"/);
});
