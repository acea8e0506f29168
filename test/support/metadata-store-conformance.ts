// The one conformance suite for MetadataStore, run against every backend (sqlite.test.ts, postgres.test.ts):
// each method's semantics and error codes, concurrent version numbering and alias compare-and-set across
// separate connections, history order, consistent snapshots and snapshot → restore round trips.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { AimassError, sha256Hex, type ErrorCode } from '../../src/core/index.js';
import type { MetadataSnapshot, MetadataStore, NewVersion } from '../../src/storage/metadata/index.js';

export interface MetadataBackend {
  /** Names the backend in test titles. */
  name: string;
  /** When set, the whole suite is skipped with this reason. */
  skip?: string;
  /** A new, empty database; every `open()` is a separate connection (pool) to it, migrating it if needed. */
  freshDatabase(): Promise<{ open(): Promise<MetadataStore> }>;
}

/** A valid new version of `model`; `overrides` replace fields. */
export function sampleVersion(model: string, overrides: Partial<NewVersion> = {}): NewVersion {
  return {
    model,
    artifactUri: `file:///tmp/artifacts/models/${model}/v`,
    files: [
      { path: 'model.onnx', size: 1200, sha256: sha256Hex(`${model}-onnx`) },
      { path: 'pipeline.json', size: 34, sha256: sha256Hex(`${model}-pipeline`) },
    ],
    signature: { inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 4] }], outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 3] }] },
    source: 'trained',
    framework: 'aimass 0.1.0',
    params: { lr: 0.01, layers: [16, 8], optimizer: { type: 'adam', beta1: 0.9 } },
    metrics: { accuracy: 0.93, loss: 0.21 },
    createdBy: 'tester',
    ...overrides,
  };
}

/** Asserts that `promise` rejects with an AimassError of `code` whose message matches every pattern. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, ...patterns: RegExp[]): Promise<AimassError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected a ${code} error, but the call succeeded`);
  assert.ok(caught instanceof AimassError, `expected an AimassError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}

export function describeMetadataStoreConformance(backend: MetadataBackend): void {
  describe(`MetadataStore conformance: ${backend.name}`, { skip: backend.skip }, () => {
    const opened: MetadataStore[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    });

    /** A store on a new, empty database, and a way to open more connections to that same database. */
    async function fresh(): Promise<{ store: MetadataStore; open(): Promise<MetadataStore> }> {
      const db = await backend.freshDatabase();
      const open = async () => {
        const store = await db.open();
        opened.push(store);
        return store;
      };
      return { store: await open(), open };
    }

    // --- models -------------------------------------------------------------------------------------------

    test('createModel records a model with defaults; getModel and listModels return it', async () => {
      const { store } = await fresh();
      assert.equal(typeof store.uri, 'string');
      const m = await store.createModel({ name: 'iris', description: 'flowers', tags: { team: 'ml' } });
      assert.equal(m.name, 'iris');
      assert.equal(m.description, 'flowers');
      assert.deepEqual(m.tags, { team: 'ml' });
      assert.equal(m.latestVersion, 0);
      assert.equal(m.createdAt, m.updatedAt);
      assert.ok(!Number.isNaN(Date.parse(m.createdAt)));
      assert.deepEqual(await store.getModel('iris'), m);

      const plain = await store.createModel({ name: 'Alpha.v2_x-1' });
      assert.equal(plain.description, '');
      assert.deepEqual(plain.tags, {});
      assert.deepEqual(
        (await store.listModels()).map((x) => x.name),
        ['Alpha.v2_x-1', 'iris'],
      );
      assert.equal(await store.getModel('nope'), null);
    });

    test('listings sort text bytewise (as SQLite does), whatever the database locale', async () => {
      const { store } = await fresh();
      for (const name of ['alpha', 'Zeta', 'ab', 'a-b', 'a_b', 'B2']) await store.createModel({ name });
      assert.deepEqual(
        (await store.listModels()).map((m) => m.name),
        ['B2', 'Zeta', 'a-b', 'a_b', 'ab', 'alpha'],
      );
    });

    test('createModel twice is ALREADY_EXISTS naming the model', async () => {
      const { store } = await fresh();
      await store.createModel({ name: 'iris' });
      await rejectsWith(store.createModel({ name: 'iris' }), 'ALREADY_EXISTS', /"iris"/);
    });

    test('invalid model names are INVALID_ARGUMENT', async () => {
      const { store } = await fresh();
      for (const name of ['', ' iris', 'a b', '-lead', '.hidden', '../up', 'x'.repeat(129), 'ünïcode']) {
        await rejectsWith(store.createModel({ name }), 'INVALID_ARGUMENT');
      }
      await store.createModel({ name: 'x'.repeat(128) });
      assert.deepEqual(await store.listModels().then((l) => l.length), 1);
    });

    test('deleteModel removes the model with its versions, aliases and alias history', async () => {
      const { store } = await fresh();
      await store.createModel({ name: 'gone' });
      await store.createModel({ name: 'kept' });
      await store.createVersion(sampleVersion('gone'));
      await store.createVersion(sampleVersion('kept'));
      await store.moveAlias({ model: 'gone', alias: 'prod', to: 1, actor: 'a', reason: 'r' });
      await store.moveAlias({ model: 'kept', alias: 'prod', to: 1, actor: 'a', reason: 'r' });

      await store.deleteModel('gone');
      assert.equal(await store.getModel('gone'), null);
      assert.equal(await store.getVersion('gone', 1), null);
      assert.equal(await store.getAlias('gone', 'prod'), null);
      await rejectsWith(store.aliasHistory('gone'), 'NOT_FOUND', /"gone"/);
      await rejectsWith(store.deleteModel('gone'), 'NOT_FOUND', /"gone"/);
      // The other model is untouched.
      assert.equal((await store.getAlias('kept', 'prod'))?.version, 1);
      assert.equal((await store.aliasHistory('kept')).length, 1);

      // The name can be used again, for a new model starting at version 1.
      await store.createModel({ name: 'gone' });
      assert.equal((await store.createVersion(sampleVersion('gone'))).version, 1);
    });

    // --- versions -----------------------------------------------------------------------------------------

    test('createVersion numbers versions 1, 2, 3 and records every field', async () => {
      const { store } = await fresh();
      const model = await store.createModel({ name: 'iris' });
      const input = sampleVersion('iris', { datasetHash: 'sha256:abc', runId: 'run-1', description: 'first', tags: { stage: 'dev' } });
      const v1 = await store.createVersion(input);
      assert.equal(v1.version, 1);
      assert.equal(v1.size, 1234);
      assert.equal(v1.model, 'iris');
      assert.deepEqual(v1.files, input.files);
      assert.deepEqual(v1.signature, input.signature);
      assert.deepEqual(v1.params, input.params);
      assert.deepEqual(v1.metrics, input.metrics);
      assert.equal(v1.source, 'trained');
      assert.equal(v1.framework, 'aimass 0.1.0');
      assert.equal(v1.datasetHash, 'sha256:abc');
      assert.equal(v1.runId, 'run-1');
      assert.equal(v1.parentVersion, null);
      assert.equal(v1.createdBy, 'tester');
      assert.equal(v1.description, 'first');
      assert.deepEqual(v1.tags, { stage: 'dev' });
      assert.deepEqual(await store.getVersion('iris', 1), v1);

      const v2 = await store.createVersion(sampleVersion('iris', { source: 'imported', framework: 'pytorch 2.1 (onnx export)', parentVersion: 1 }));
      assert.equal(v2.version, 2);
      assert.equal(v2.parentVersion, 1);
      assert.equal(v2.datasetHash, null);
      assert.equal(v2.runId, null);
      assert.equal(v2.description, '');
      assert.deepEqual(v2.tags, {});
      const v3 = await store.createVersion(sampleVersion('iris'));
      assert.equal(v3.version, 3);

      assert.deepEqual(await store.listVersions('iris'), [v1, v2, v3]);
      const after = await store.getModel('iris');
      assert.equal(after?.latestVersion, 3);
      assert.ok(after!.updatedAt >= model.updatedAt);
      assert.equal(await store.getVersion('iris', 4), null);
    });

    test('versions are immutable: a returned record is a copy, and the store has no way to change one', async () => {
      const { store } = await fresh();
      await store.createModel({ name: 'iris' });
      const v1 = await store.createVersion(sampleVersion('iris'));
      const pristine = structuredClone(v1);
      v1.metrics.accuracy = 1;
      v1.files.pop();
      assert.deepEqual(await store.getVersion('iris', 1), pristine);
      assert.equal('updateVersion' in store, false);
    });

    test('createVersion of a missing model is NOT_FOUND naming it; bad input is INVALID_ARGUMENT', async () => {
      const { store } = await fresh();
      await rejectsWith(store.createVersion(sampleVersion('ghost')), 'NOT_FOUND', /"ghost"/);
      await store.createModel({ name: 'iris' });
      const good = sampleVersion('iris');
      const bad: Partial<NewVersion>[] = [
        { files: [{ path: 'model.onnx', size: -1, sha256: good.files[0].sha256 }] },
        { files: [{ path: 'model.onnx', size: 1, sha256: 'not-a-hash' }] },
        { files: [good.files[0], good.files[0]] },
        { metrics: { loss: Number.NaN } },
        { metrics: { loss: Number.POSITIVE_INFINITY } },
        { params: { when: new Date() } },
        { source: 'downloaded' as never },
        { parentVersion: 0 },
        { createdBy: '' },
      ];
      for (const overrides of bad) {
        await rejectsWith(store.createVersion({ ...good, ...overrides }), 'INVALID_ARGUMENT');
      }
      assert.equal((await store.getModel('iris'))?.latestVersion, 0, 'rejected input must not use up a version number');
    });

    test('a missing parent version is NOT_FOUND and uses up no number', async () => {
      const { store } = await fresh();
      await store.createModel({ name: 'iris' });
      await store.createVersion(sampleVersion('iris'));
      await rejectsWith(store.createVersion(sampleVersion('iris', { parentVersion: 7 })), 'NOT_FOUND', /"iris"/, /version 7/);
      assert.equal((await store.createVersion(sampleVersion('iris', { parentVersion: 1 }))).version, 2);
    });

    test('deleteVersion refuses while aliases point at it (CONFLICT naming them) and never reuses the number', async () => {
      const { store } = await fresh();
      await store.createModel({ name: 'iris' });
      await store.createVersion(sampleVersion('iris'));
      await store.createVersion(sampleVersion('iris'));
      await store.moveAlias({ model: 'iris', alias: 'prod', to: 2, actor: 'a', reason: 'r' });
      await store.moveAlias({ model: 'iris', alias: 'canary', to: 2, actor: 'a', reason: 'r' });

      const e = await rejectsWith(store.deleteVersion('iris', 2), 'CONFLICT', /version 2/i, /canary, prod/);
      assert.deepEqual(e.details?.aliases, ['canary', 'prod']);
      assert.ok(await store.getVersion('iris', 2));

      await store.moveAlias({ model: 'iris', alias: 'prod', to: 1, actor: 'a', reason: 'r' });
      await store.moveAlias({ model: 'iris', alias: 'canary', to: null, actor: 'a', reason: 'r' });
      await store.deleteVersion('iris', 2);
      assert.equal(await store.getVersion('iris', 2), null);
      assert.deepEqual((await store.listVersions('iris')).map((v) => v.version), [1]);
      assert.equal((await store.createVersion(sampleVersion('iris'))).version, 3);

      await rejectsWith(store.deleteVersion('iris', 2), 'NOT_FOUND', /"iris"/, /version 2/);
      await rejectsWith(store.deleteVersion('ghost', 1), 'NOT_FOUND', /"ghost"/);
      await rejectsWith(store.deleteVersion('iris', 1), 'CONFLICT', /prod/);
    });

    test('listVersions of a missing model is NOT_FOUND; of a model without versions, empty', async () => {
      const { store } = await fresh();
      await rejectsWith(store.listVersions('ghost'), 'NOT_FOUND', /"ghost"/);
      await store.createModel({ name: 'iris' });
      assert.deepEqual(await store.listVersions('iris'), []);
      await rejectsWith(store.getVersion('iris', 0), 'INVALID_ARGUMENT');
      await rejectsWith(store.getVersion('iris', 1.5), 'INVALID_ARGUMENT');
    });

    test('20 concurrent createVersion calls over two connections get 20 distinct numbers', async () => {
      const { store, open } = await fresh();
      const other = await open();
      await store.createModel({ name: 'iris' });
      const created = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).createVersion(sampleVersion('iris', { description: `v${i}` }))),
      );
      const numbers = created.map((v) => v.version).sort((a, b) => a - b);
      assert.deepEqual(numbers, Array.from({ length: 20 }, (_, i) => i + 1));
      assert.equal((await other.getModel('iris'))?.latestVersion, 20);
      const listed = await store.listVersions('iris');
      assert.equal(listed.length, 20);
      // Each number belongs to the call that got it.
      for (const v of created) assert.equal(listed[v.version - 1].description, v.description);
    });

    // --- aliases ------------------------------------------------------------------------------------------

    test('moveAlias creates, moves and deletes an alias, recording each move in order', async () => {
      const { store } = await fresh();
      await store.createModel({ name: 'iris' });
      for (let i = 0; i < 3; i++) await store.createVersion(sampleVersion('iris'));

      const created = await store.moveAlias({ model: 'iris', alias: 'prod', to: 1, actor: 'alice', reason: 'first release' });
      assert.equal(created.from, null);
      assert.equal(created.to, 1);
      assert.equal(created.actor, 'alice');
      assert.equal(created.reason, 'first release');
      const prod = await store.getAlias('iris', 'prod');
      assert.deepEqual(prod, { model: 'iris', alias: 'prod', version: 1, updatedAt: created.at, updatedBy: 'alice' });

      const staged = await store.moveAlias({ model: 'iris', alias: 'staging', to: 3, actor: 'bob', reason: 'try v3' });
      const moved = await store.moveAlias({ model: 'iris', alias: 'prod', to: 2, expected: 1, actor: 'bob', reason: 'promote' });
      assert.deepEqual([moved.from, moved.to], [1, 2]);
      assert.equal((await store.getAlias('iris', 'prod'))?.updatedBy, 'bob');
      assert.deepEqual(
        (await store.listAliases('iris')).map((a) => [a.alias, a.version]),
        [
          ['prod', 2],
          ['staging', 3],
        ],
      );

      const deleted = await store.moveAlias({ model: 'iris', alias: 'staging', to: null, actor: 'carol', reason: 'done' });
      assert.deepEqual([deleted.from, deleted.to], [3, null]);
      assert.equal(await store.getAlias('iris', 'staging'), null);

      const rolledBack = await store.moveAlias({ model: 'iris', alias: 'prod', to: 1, expected: 2, actor: 'pager', reason: 'rollback' });

      assert.deepEqual(await store.aliasHistory('iris', 'prod'), [created, moved, rolledBack]);
      assert.deepEqual(await store.aliasHistory('iris', 'staging'), [staged, deleted]);
      const all = await store.aliasHistory('iris');
      assert.deepEqual(all, [created, staged, moved, deleted, rolledBack]);
      const ids = all.map((e) => e.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      assert.equal(new Set(ids).size, ids.length);
      assert.deepEqual(await store.aliasHistory('iris', 'never'), []);
    });

    test('a stale compare-and-set is CONFLICT naming the version the alias actually holds, and records nothing', async () => {
      const { store } = await fresh();
      await store.createModel({ name: 'iris' });
      for (let i = 0; i < 3; i++) await store.createVersion(sampleVersion('iris'));
      await store.moveAlias({ model: 'iris', alias: 'prod', to: 2, actor: 'a', reason: 'r' });

      const stale = await rejectsWith(store.moveAlias({ model: 'iris', alias: 'prod', to: 3, expected: 1, actor: 'b', reason: 'r' }), 'CONFLICT', /prod/, /version 2/);
      assert.equal(stale.details?.actual, 2);
      assert.equal(stale.details?.expected, 1);
      await rejectsWith(store.moveAlias({ model: 'iris', alias: 'prod', to: 3, expected: null, actor: 'b', reason: 'r' }), 'CONFLICT', /version 2/);
      await rejectsWith(store.moveAlias({ model: 'iris', alias: 'canary', to: 3, expected: 2, actor: 'b', reason: 'r' }), 'CONFLICT', /does not exist/);
      await rejectsWith(store.moveAlias({ model: 'iris', alias: 'prod', to: null, expected: 3, actor: 'b', reason: 'r' }), 'CONFLICT', /version 2/);

      assert.equal((await store.getAlias('iris', 'prod'))?.version, 2);
      assert.equal((await store.aliasHistory('iris')).length, 1);

      // Matching expectations succeed: absent → created, then the current version.
      await store.moveAlias({ model: 'iris', alias: 'canary', to: 3, expected: null, actor: 'b', reason: 'r' });
      await store.moveAlias({ model: 'iris', alias: 'prod', to: 3, expected: 2, actor: 'b', reason: 'r' });
      assert.equal((await store.aliasHistory('iris')).length, 3);
    });

    test('moveAlias errors: missing version, model or alias are NOT_FOUND naming them; bad alias names INVALID_ARGUMENT', async () => {
      const { store } = await fresh();
      await rejectsWith(store.moveAlias({ model: 'ghost', alias: 'prod', to: 1, actor: 'a', reason: 'r' }), 'NOT_FOUND', /"ghost"/);
      await store.createModel({ name: 'iris' });
      await store.createVersion(sampleVersion('iris'));
      await rejectsWith(store.moveAlias({ model: 'iris', alias: 'prod', to: 9, actor: 'a', reason: 'r' }), 'NOT_FOUND', /"iris"/, /version 9/);
      await rejectsWith(store.moveAlias({ model: 'iris', alias: 'prod', to: null, actor: 'a', reason: 'r' }), 'NOT_FOUND', /"iris"/, /"prod"/);
      for (const alias of ['', '1st', 'a b', '-x', 'a'.repeat(65)]) {
        await rejectsWith(store.moveAlias({ model: 'iris', alias, to: 1, actor: 'a', reason: 'r' }), 'INVALID_ARGUMENT');
      }
      await rejectsWith(store.moveAlias({ model: 'iris', alias: 'prod', to: 1, actor: '', reason: 'r' }), 'INVALID_ARGUMENT');
      assert.deepEqual(await store.aliasHistory('iris'), []);
      await rejectsWith(store.listAliases('ghost'), 'NOT_FOUND', /"ghost"/);
      await rejectsWith(store.aliasHistory('ghost', 'prod'), 'NOT_FOUND', /"ghost"/);
      assert.deepEqual(await store.listAliases('iris'), []);
    });

    test('two writers with the same expected version: exactly one wins, the other gets CONFLICT', async () => {
      const { store, open } = await fresh();
      const writers = [store, await open(), await open()];
      await store.createModel({ name: 'iris' });
      for (let i = 0; i < 6; i++) await store.createVersion(sampleVersion('iris'));
      await store.moveAlias({ model: 'iris', alias: 'prod', to: 1, actor: 'setup', reason: 'r' });

      for (let round = 0; round < 5; round++) {
        const current = (await store.getAlias('iris', 'prod'))!.version;
        const results = await Promise.allSettled(
          writers.map((w, i) => w.moveAlias({ model: 'iris', alias: 'prod', to: ((current + i) % 6) + 1, expected: current, actor: `w${i}`, reason: `round ${round}` })),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, `round ${round}: ${won.length} writers won`);
        for (const r of lost) {
          assert.ok(r.reason instanceof AimassError && r.reason.code === 'CONFLICT', String(r.reason));
        }
        const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<MetadataStore['moveAlias']>>>).value;
        assert.equal((await store.getAlias('iris', 'prod'))?.version, winner.to);
        for (const r of lost) assert.match((r.reason as Error).message, new RegExp(`version ${winner.to}\\b`));
      }
      assert.equal((await store.aliasHistory('iris', 'prod')).length, 6);
    });

    // --- runs ---------------------------------------------------------------------------------------------

    test('createRun starts a running run; a duplicate id is ALREADY_EXISTS; a bad id INVALID_ARGUMENT', async () => {
      const { store } = await fresh();
      const run = await store.createRun({ id: 'run-1', name: 'iris mlp', params: { lr: 0.1 }, tags: { user: 'ann' } });
      assert.equal(run.status, 'running');
      assert.deepEqual(run.metrics, {});
      assert.deepEqual(run.artifacts, {});
      assert.deepEqual(run.tags, { user: 'ann' });
      assert.equal(run.endedAt, null);
      assert.equal(run.error, null);
      assert.deepEqual(await store.getRun('run-1'), run);
      assert.deepEqual((await store.createRun({ id: 'run-2', name: 'x', params: {} })).tags, {});
      await rejectsWith(store.createRun({ id: 'run-1', name: 'again', params: {} }), 'ALREADY_EXISTS', /"run-1"/);
      await rejectsWith(store.createRun({ id: 'bad id', name: 'x', params: {} }), 'INVALID_ARGUMENT');
      assert.equal(await store.getRun('run-3'), null);
    });

    test('logMetrics appends points and keeps the latest value per key; metricHistory returns them in order', async () => {
      const { store } = await fresh();
      await store.createRun({ id: 'run-1', name: 'r', params: {} });
      await store.logMetrics('run-1', [
        { key: 'loss', step: 0, value: 2.5 },
        { key: 'accuracy', step: 0, value: 0.31 },
      ]);
      await store.logMetrics('run-1', [
        { key: 'loss', step: 1, value: 1.25 },
        { key: 'loss', step: 2, value: 0.625 },
      ]);
      await store.logMetrics('run-1', [{ key: 'test_accuracy', step: 0, value: 0.875 }]);
      await store.logMetrics('run-1', []);
      assert.deepEqual((await store.getRun('run-1'))?.metrics, { loss: 0.625, accuracy: 0.31, test_accuracy: 0.875 });

      const loss = await store.metricHistory('run-1', 'loss');
      assert.deepEqual(
        loss.map((p) => [p.key, p.step, p.value]),
        [
          ['loss', 0, 2.5],
          ['loss', 1, 1.25],
          ['loss', 2, 0.625],
        ],
      );
      assert.ok(loss.every((p) => !Number.isNaN(Date.parse(p.at))));
      assert.deepEqual(
        (await store.metricHistory('run-1')).map((p) => `${p.key}@${p.step}`),
        ['accuracy@0', 'loss@0', 'loss@1', 'loss@2', 'test_accuracy@0'],
      );
      assert.deepEqual(await store.metricHistory('run-1', 'none'), []);

      await rejectsWith(store.logMetrics('run-9', [{ key: 'loss', step: 0, value: 1 }]), 'NOT_FOUND', /"run-9"/);
      await rejectsWith(store.metricHistory('run-9'), 'NOT_FOUND', /"run-9"/);
      for (const bad of [
        { key: 'loss', step: 0, value: Number.NaN },
        { key: 'loss', step: 0, value: Number.NEGATIVE_INFINITY },
        { key: 'loss', step: -1, value: 1 },
        { key: 'loss', step: 0.5, value: 1 },
        { key: '', step: 0, value: 1 },
      ]) {
        await rejectsWith(store.logMetrics('run-1', [bad]), 'INVALID_ARGUMENT');
      }
      assert.equal((await store.metricHistory('run-1')).length, 5);
    });

    test('concurrent logMetrics from two connections lose no point and no latest value', async () => {
      const { store, open } = await fresh();
      const other = await open();
      await store.createRun({ id: 'run-1', name: 'r', params: {} });
      await Promise.all(
        Array.from({ length: 12 }, (_, i) => (i % 2 ? store : other).logMetrics('run-1', [{ key: `m${i}`, step: i, value: i / 2 }])),
      );
      const metrics = (await store.getRun('run-1'))!.metrics;
      assert.deepEqual(Object.keys(metrics).sort(), Array.from({ length: 12 }, (_, i) => `m${i}`).sort());
      assert.equal((await other.metricHistory('run-1')).length, 12);
    });

    test('setRunArtifact and endRun; a run ends once', async () => {
      const { store } = await fresh();
      await store.createRun({ id: 'run-1', name: 'r', params: {} });
      await store.setRunArtifact('run-1', 'model', 'file:///tmp/a/model.onnx');
      await store.setRunArtifact('run-1', 'checkpoint', 'file:///tmp/a/ckpt');
      await store.setRunArtifact('run-1', 'model', 'file:///tmp/b/model.onnx');
      assert.deepEqual((await store.getRun('run-1'))?.artifacts, { model: 'file:///tmp/b/model.onnx', checkpoint: 'file:///tmp/a/ckpt' });
      await rejectsWith(store.setRunArtifact('run-9', 'model', 'file:///x'), 'NOT_FOUND', /"run-9"/);
      await rejectsWith(store.setRunArtifact('run-1', '', 'file:///x'), 'INVALID_ARGUMENT');

      const ended = await store.endRun('run-1', 'failed', 'loss became NaN at epoch 3');
      assert.equal(ended.status, 'failed');
      assert.equal(ended.error, 'loss became NaN at epoch 3');
      assert.ok(ended.endedAt && ended.endedAt >= ended.startedAt);
      assert.deepEqual(await store.getRun('run-1'), ended);
      await rejectsWith(store.endRun('run-1', 'finished'), 'CONFLICT', /"run-1"/, /failed/);
      await rejectsWith(store.endRun('run-9', 'finished'), 'NOT_FOUND', /"run-9"/);
      await store.createRun({ id: 'run-2', name: 'r', params: {} });
      await rejectsWith(store.endRun('run-2', 'running' as never), 'INVALID_ARGUMENT');
      const finished = await store.endRun('run-2', 'finished');
      assert.equal(finished.error, null);
    });

    test('a killed or failed run resumes as running and ends again; a finished one does not resume', async () => {
      const { store } = await fresh();
      await store.createRun({ id: 'run-1', name: 'r', params: {} });
      await store.endRun('run-1', 'killed', 'SIGINT');
      const resumed = await store.resumeRun('run-1');
      assert.deepEqual([resumed.status, resumed.endedAt, resumed.error], ['running', null, null]);
      assert.deepEqual(await store.getRun('run-1'), resumed);
      assert.equal((await store.endRun('run-1', 'finished')).status, 'finished');
      await rejectsWith(store.resumeRun('run-1'), 'CONFLICT', /"run-1"/, /finished/);
      await rejectsWith(store.resumeRun('run-9'), 'NOT_FOUND', /"run-9"/);
    });

    test('searchRuns filters by status and name, orders by start time or by a metric, and limits', async () => {
      const { store } = await fresh();
      const runs = [
        { id: 'run-a', name: 'Iris MLP', acc: 0.9 },
        { id: 'run-b', name: 'iris cnn', acc: 0.95 },
        { id: 'run-c', name: 'spam 100%_done', acc: undefined },
        { id: 'run-d', name: 'IRIS linear', acc: 0.7 },
      ];
      for (const r of runs) {
        await store.createRun({ id: r.id, name: r.name, params: {} });
        if (r.acc !== undefined) await store.logMetrics(r.id, [{ key: 'acc', step: 0, value: r.acc / 2 }, { key: 'acc', step: 1, value: r.acc }]);
      }
      await store.endRun('run-b', 'finished');
      await store.endRun('run-d', 'killed');
      const ids = (list: { id: string }[]) => list.map((r) => r.id);

      assert.deepEqual(ids(await store.searchRuns()), ['run-d', 'run-c', 'run-b', 'run-a']);
      assert.deepEqual(ids(await store.searchRuns({ status: 'running' })), ['run-c', 'run-a']);
      assert.deepEqual(ids(await store.searchRuns({ nameContains: 'iris' })), ['run-d', 'run-b', 'run-a']);
      assert.deepEqual(ids(await store.searchRuns({ nameContains: '0%_' })), ['run-c']);
      assert.deepEqual(ids(await store.searchRuns({ nameContains: '_' })), ['run-c']);
      assert.deepEqual(ids(await store.searchRuns({ nameContains: 'SPAM 100' })), ['run-c']);
      assert.deepEqual(ids(await store.searchRuns({ orderBy: { metric: 'acc' } })), ['run-b', 'run-a', 'run-d', 'run-c']);
      assert.deepEqual(ids(await store.searchRuns({ orderBy: { metric: 'acc', descending: false } })), ['run-d', 'run-a', 'run-b', 'run-c']);
      assert.deepEqual(ids(await store.searchRuns({ orderBy: { metric: 'acc' }, limit: 2 })), ['run-b', 'run-a']);
      assert.deepEqual(ids(await store.searchRuns({ nameContains: 'iris', status: 'running', orderBy: { metric: 'acc' } })), ['run-a']);
      assert.deepEqual(await store.searchRuns({ status: 'failed' }), []);
      await rejectsWith(store.searchRuns({ limit: 0 }), 'INVALID_ARGUMENT');
    });

    // --- snapshots and schema ---------------------------------------------------------------------------

    test('snapshot → restore into a fresh store reproduces it exactly, and the restored store keeps numbering', async () => {
      const { store } = await fresh();
      await populate(store);
      const original = await store.snapshot();
      assert.ok(original.schemaVersion >= 1);
      assert.equal(original.models.length, 2);
      assert.ok(original.aliasEvents.length >= 4);

      // Through JSON, as a backup file would carry it.
      const copy = JSON.parse(JSON.stringify(original)) as MetadataSnapshot;
      const { store: restored } = await fresh();
      await restored.restore(copy);
      const again = await restored.snapshot();
      assert.deepEqual({ ...again, takenAt: '' }, { ...original, takenAt: '' });

      // Reads agree too, and new records continue after the restored ones.
      assert.deepEqual(await restored.aliasHistory('iris'), await store.aliasHistory('iris'));
      assert.deepEqual(await restored.metricHistory('run-1'), await store.metricHistory('run-1'));
      const maxId = Math.max(...original.aliasEvents.map((e) => e.id));
      const next = await restored.moveAlias({ model: 'iris', alias: 'prod', to: 1, actor: 'a', reason: 'after restore' });
      assert.ok(next.id > maxId, `new event id ${next.id} must follow the restored ones (max ${maxId})`);
      assert.equal((await restored.createVersion(sampleVersion('iris'))).version, original.models.find((m) => m.name === 'iris')!.latestVersion + 1);
    });

    test('restore refuses a store that is not empty (CONFLICT) and a malformed snapshot (INVALID_ARGUMENT)', async () => {
      const { store } = await fresh();
      await populate(store);
      const snap = await store.snapshot();
      await rejectsWith(store.restore(snap), 'CONFLICT', /empty/);

      const { store: empty } = await fresh();
      await rejectsWith(empty.restore({ ...snap, schemaVersion: snap.schemaVersion + 1 }), 'INVALID_ARGUMENT', /schema version/);
      await rejectsWith(empty.restore({ ...snap, models: [{ ...snap.models[0], name: 'bad name' }] }), 'INVALID_ARGUMENT');
      await rejectsWith(empty.restore({ ...snap, runs: undefined } as unknown as MetadataSnapshot), 'INVALID_ARGUMENT');
      assert.deepEqual(await empty.listModels(), []);
      await empty.restore(snap);
      assert.equal((await empty.listModels()).length, 2);

      // a backup taken at schema version 1 (before the task tables) restores into today's schema
      const { store: later } = await fresh();
      await later.restore({ ...snap, schemaVersion: 1 });
      assert.equal((await later.listModels()).length, 2);
    });

    test('a snapshot is consistent while another connection keeps writing', async () => {
      const { store, open } = await fresh();
      const writer = await open();
      await store.createModel({ name: 'iris' });
      let writing = true;
      const writes = (async () => {
        let n = 0;
        while (writing && n < 200) {
          const v = await writer.createVersion(sampleVersion('iris'));
          await writer.moveAlias({ model: 'iris', alias: 'latest', to: v.version, actor: 'w', reason: 'r' });
          n++;
        }
      })();
      try {
        for (let i = 0; i < 10; i++) {
          const snap = await store.snapshot();
          const iris = snap.models.find((m) => m.name === 'iris')!;
          assert.equal(snap.versions.length, iris.latestVersion, 'versions and the version counter come from one moment');
          // Each version is followed by one alias move to it: the snapshot may fall between the two, no further.
          const moves = snap.aliasEvents.length;
          assert.ok(moves === iris.latestVersion || moves === iris.latestVersion - 1, `${moves} moves for ${iris.latestVersion} versions`);
          const latest = snap.aliases.find((a) => a.alias === 'latest');
          assert.equal(latest?.version, moves > 0 ? snap.aliasEvents[moves - 1].to : undefined);
        }
      } finally {
        writing = false;
        await writes;
      }
    });

    test('several connections opening a new database at once migrate it once and all work', async () => {
      const db = await backend.freshDatabase();
      const stores = await Promise.all(Array.from({ length: 4 }, () => db.open()));
      opened.push(...stores);
      await stores[0].createModel({ name: 'iris' });
      for (const s of stores) assert.equal((await s.getModel('iris'))?.name, 'iris');
      // Closing and reopening keeps the data.
      await stores[1].close();
      opened.splice(opened.indexOf(stores[1]), 1);
      const reopened = await db.open();
      opened.push(reopened);
      assert.deepEqual((await reopened.listModels()).map((m) => m.name), ['iris']);
    });
  });
}

/** Two models (one with a deleted version), aliases with moves and a deletion, a deleted model, runs with metrics. */
async function populate(store: MetadataStore): Promise<void> {
  await store.createModel({ name: 'iris', description: 'flowers', tags: { team: 'ml' } });
  await store.createModel({ name: 'spam' });
  await store.createModel({ name: 'doomed' });
  await store.createVersion(sampleVersion('doomed'));
  await store.moveAlias({ model: 'doomed', alias: 'prod', to: 1, actor: 'a', reason: 'gap in event ids' });
  for (let i = 0; i < 3; i++) await store.createVersion(sampleVersion('iris', { runId: 'run-1', parentVersion: i > 0 ? i : undefined }));
  await store.createVersion(sampleVersion('spam', { source: 'imported', datasetHash: 'sha256:ds' }));
  await store.moveAlias({ model: 'iris', alias: 'prod', to: 1, actor: 'alice', reason: 'ship' });
  await store.moveAlias({ model: 'iris', alias: 'staging', to: 3, actor: 'bob', reason: 'try' });
  await store.moveAlias({ model: 'iris', alias: 'prod', to: 2, expected: 1, actor: 'bob', reason: 'promote' });
  await store.moveAlias({ model: 'iris', alias: 'staging', to: null, actor: 'bob', reason: 'cleanup' });
  await store.moveAlias({ model: 'spam', alias: 'champion', to: 1, actor: 'carol', reason: 'only one' });
  await store.deleteVersion('iris', 3);
  await store.deleteModel('doomed');
  await store.createRun({ id: 'run-1', name: 'iris mlp', params: { lr: 0.01 }, tags: { user: 'ann' } });
  await store.logMetrics('run-1', [
    { key: 'loss', step: 0, value: 1.5 },
    { key: 'loss', step: 1, value: 0.75 },
    { key: 'accuracy', step: 1, value: 0.8125 },
  ]);
  // A re-logged step (a resumed run): both points are kept, the later one is the latest.
  await store.logMetrics('run-1', [{ key: 'loss', step: 1, value: 0.5 }]);
  await store.setRunArtifact('run-1', 'model', 'file:///tmp/run-1/model.onnx');
  await store.endRun('run-1', 'finished');
  await store.createRun({ id: 'run-2', name: 'spam', params: {} });
  await store.logMetrics('run-2', [{ key: 'loss', step: 0, value: 0.1 }]);
}
