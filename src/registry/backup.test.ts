import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { AimassError, loadConfig } from '../core/index.js';
import { openArtifactStore } from '../storage/index.js';
import { modelFolder } from '../../test/support/onnx-model.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { BackupScheduler, createBackup, listBackups, openRegistry, parseInterval, pruneBackups, restoreBackup } from './index.js';

const tempDir = useTempDirs('backup');

async function registryAt(home: string) {
  return openRegistry(loadConfig({ AIMASS_HOME: home }), { AIMASS_USER: 'tester' });
}

async function populated() {
  const home = await tempDir();
  const registry = await registryAt(home);
  const a = await modelFolder(join(await tempDir(), 'a'), { seed: 1 });
  const b = await modelFolder(join(await tempDir(), 'b'), { seed: 2 });
  await registry.register('alpha', a);
  await registry.register('alpha', b);
  await registry.register('beta', a);
  await registry.setAlias('alpha', 'production', 1);
  await registry.setAlias('alpha', 'production', 2, { reason: 'newer' });
  await registry.meta.createRun({ id: 'run-a', name: 'a', params: { lr: 0.1 } });
  await registry.meta.logMetrics('run-a', [{ key: 'loss', step: 1, value: 0.5 }]);
  await registry.meta.endRun('run-a', 'finished');
  return registry;
}

test('a backup restores into an empty registry with every model, version, alias move, run and file', async () => {
  const source = await populated();
  const target = await openArtifactStore(pathToFileURL(await tempDir()).href);
  const s = await createBackup(source, target);
  assert.deepEqual([s.models, s.versions, s.runs], [2, 3, 1]);
  // model.onnx of alpha v1 and beta v1 are the same bytes: stored once
  assert.ok(s.copied! < 6, `copied ${s.copied} blobs`);
  assert.deepEqual((await listBackups(target)).map((b) => b.id), [s.id]);

  const restored = await registryAt(await tempDir());
  const rep = await restoreBackup(restored, target, s.id);
  assert.equal(rep.versions, 3);
  const before = await source.meta.snapshot();
  const after = await restored.meta.snapshot();
  assert.deepEqual(after.models, before.models);
  assert.deepEqual(after.aliasEvents, before.aliasEvents);
  assert.deepEqual(after.runs, before.runs);
  for (const v of before.versions) {
    const w = await restored.resolve(v.model, v.version);
    for (const f of v.files) assert.ok((await restored.readFile(w, f.path)).equals(await source.readFile(v, f.path)));
  }
  assert.equal((await restored.resolve('alpha', 'production')).version, 2);
  await Promise.all([source.close(), restored.close(), target.close()]);
});

test('a second backup copies only what is new, and restore refuses a non-empty registry', async () => {
  const source = await populated();
  const target = await openArtifactStore(pathToFileURL(await tempDir()).href);
  await createBackup(source, target);
  const again = await createBackup(source, target);
  assert.equal(again.copied, 0);
  await assert.rejects(restoreBackup(source, target, again.id), (e: unknown) => e instanceof AimassError && e.code === 'CONFLICT');
  await assert.rejects(restoreBackup(source, target, 'backup-nope'), (e: unknown) => e instanceof AimassError && e.code === 'NOT_FOUND' && /backup-nope/.test(e.message));
  await Promise.all([source.close(), target.close()]);
});

test('restore verifies every blob first: a corrupted backup restores nothing', async () => {
  const source = await populated();
  const dir = await tempDir();
  const target = await openArtifactStore(pathToFileURL(dir).href);
  const s = await createBackup(source, target);
  const snap = await source.meta.snapshot();
  const blob = join(dir, 'blobs', snap.versions[0].files[0].sha256);
  const bytes = await readFile(blob);
  bytes[0] ^= 1;
  await writeFile(blob, bytes);
  const restored = await registryAt(await tempDir());
  await assert.rejects(restoreBackup(restored, target, s.id), (e: unknown) => e instanceof AimassError && e.code === 'DATA_CORRUPT');
  assert.deepEqual(await restored.listModels(), []);
  const stored: string[] = [];
  for await (const o of restored.artifacts.list('')) stored.push(o.key);
  assert.deepEqual(stored, []);
  await Promise.all([source.close(), restored.close(), target.close()]);
});

test('pruning keeps the newest backups and the blobs they need', async () => {
  const source = await populated();
  const target = await openArtifactStore(pathToFileURL(await tempDir()).href);
  const first = await createBackup(source, target);
  await source.register('gamma', await modelFolder(join(await tempDir(), 'g'), { seed: 9 }));
  const second = await createBackup(source, target);
  const third = await createBackup(source, target);
  assert.deepEqual(await pruneBackups(target, 2), [first.id]);
  assert.deepEqual((await listBackups(target)).map((b) => b.id), [third.id, second.id]);
  const restored = await registryAt(await tempDir());
  await restoreBackup(restored, target, second.id);
  assert.equal((await restored.listModels()).length, 3);
  await Promise.all([source.close(), restored.close(), target.close()]);
});

test('the scheduler backs up and prunes; intervals parse', async () => {
  assert.equal(parseInterval('6h'), 6 * 3600e3);
  assert.equal(parseInterval('30m'), 1800e3);
  assert.throws(() => parseInterval('often'), /interval/);
  const source = await populated();
  const dir = await tempDir();
  const target = await openArtifactStore(pathToFileURL(dir).href);
  const done: string[] = [];
  const scheduler = new BackupScheduler(source, target, 1000, 1, (s) => done.push(s.id));
  await scheduler.runOnce();
  await scheduler.runOnce();
  await scheduler.stop();
  assert.equal(done.length, 2);
  assert.deepEqual((await listBackups(target)).map((b) => b.id), [done[1]]);
  assert.equal(fileURLToPath(target.uri).length > 0, true);
  await Promise.all([source.close(), target.close()]);
});
