import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AimassError, loadConfig } from '../core/index.js';
import { modelFolder, mlpOnnx } from '../../test/support/onnx-model.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type Registry, openRegistry, prefixOf } from './index.js';

const tempDir = useTempDirs('registry');

async function fresh(): Promise<{ registry: Registry; home: string }> {
  const home = await tempDir();
  const registry = await openRegistry(loadConfig({ AIMASS_HOME: home }), { AIMASS_USER: 'tester' });
  return { registry, home };
}

const code = (c: string, pattern?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AimassError, `not an AimassError: ${String(e)}`);
  assert.equal(e.code, c, e.message);
  if (pattern) assert.match(e.message, pattern);
  return true;
};

/** The file behind a version's artifact in the embedded file:// store. */
function storedPath(registry: Registry, v: { artifactUri: string; version: number; model: string }, file: string): string {
  return join(fileURLToPath(registry.artifacts.uri), prefixOf(v as never), file);
}

test('registering versions numbers them 1, 2, … and records files, checksums, signature and lineage', async () => {
  const { registry } = await fresh();
  const dir = await modelFolder(join(await tempDir(), 'm'));
  const v1 = await registry.register('digits', dir, { metrics: { test_accuracy: 0.9 }, params: { lr: 0.1 }, runId: 'run-1', datasetHash: 'abc' });
  const v2 = await registry.register('digits', dir, { parentVersion: 1 });
  assert.equal(v1.version, 1);
  assert.equal(v2.version, 2);
  assert.deepEqual(v1.files.map((f) => f.path), ['model.onnx', 'pipeline.json']);
  const onnx = await readFile(join(dir, 'model.onnx'));
  assert.equal(v1.files[0].size, onnx.length);
  assert.match(v1.files[0].sha256, /^[0-9a-f]{64}$/);
  assert.equal(v1.size, v1.files.reduce((a, f) => a + f.size, 0));
  assert.deepEqual(v1.signature.inputs, [{ name: 'features', dtype: 'float32', shape: ['N', 4] }]);
  assert.deepEqual(v1.signature.outputs.map((o) => o.name), ['logits', 'probabilities']);
  assert.equal(v1.createdBy, 'tester');
  assert.equal(v1.runId, 'run-1');
  assert.equal(v1.datasetHash, 'abc');
  assert.equal(v2.parentVersion, 1);
  assert.deepEqual((await registry.resolve('digits', 'latest')).version, 2);
  assert.ok((await registry.readFile(v1)).equals(onnx));
  await registry.close();
});

test('concurrent registrations of one model never share a version number', async () => {
  const { registry } = await fresh();
  const dir = await modelFolder(join(await tempDir(), 'm'));
  const versions = await Promise.all(Array.from({ length: 12 }, () => registry.register('busy', dir)));
  assert.deepEqual(versions.map((v) => v.version).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i + 1));
  await registry.close();
});

test('unknown models, versions and aliases are NOT_FOUND errors naming them', async () => {
  const { registry } = await fresh();
  await registry.register('known', await modelFolder(join(await tempDir(), 'm')));
  await assert.rejects(registry.resolve('nope'), code('NOT_FOUND', /"nope"/));
  await assert.rejects(registry.resolve('known', 7), code('NOT_FOUND', /version 7/));
  await assert.rejects(registry.resolve('known', 'production'), code('NOT_FOUND', /alias "production"/));
  await assert.rejects(registry.setAlias('known', 'production', 9), code('NOT_FOUND', /version 9/));
  await registry.close();
});

test('aliases move with compare-and-set and every move is kept with who, when, from, to and why', async () => {
  const { registry } = await fresh();
  const dir = await modelFolder(join(await tempDir(), 'm'));
  for (let i = 0; i < 3; i++) await registry.register('m', dir);
  await registry.setAlias('m', 'production', 1, { expected: null, reason: 'first release' });
  await registry.setAlias('m', 'production', 2, { expected: 1, reason: 'better' });
  await assert.rejects(registry.setAlias('m', 'production', 3, { expected: 1 }), code('CONFLICT', /holds version 2|is at version 2|version 2/));
  assert.equal((await registry.resolve('m', 'production')).version, 2);
  await registry.setAlias('m', 'staging', 3);
  await registry.deleteAlias('m', 'staging', { reason: 'done' });
  const h = await registry.aliasHistory('m');
  assert.deepEqual(
    h.map((e) => [e.alias, e.from, e.to, e.reason, e.actor]),
    [
      ['production', null, 1, 'first release', 'tester'],
      ['production', 1, 2, 'better', 'tester'],
      ['staging', null, 3, '', 'tester'],
      ['staging', 3, null, 'done', 'tester'],
    ],
  );
  for (const e of h) assert.ok(!Number.isNaN(Date.parse(e.at)));
  await registry.close();
});

test('rollback moves the alias back to the version it held before, and again walks further back', async () => {
  const { registry } = await fresh();
  const dir = await modelFolder(join(await tempDir(), 'm'));
  for (let i = 0; i < 3; i++) await registry.register('m', dir);
  for (const v of [1, 2, 3]) await registry.setAlias('m', 'production', v);
  const first = await registry.rollback('m', 'production', 'errors went up');
  assert.deepEqual([first.from, first.to], [3, 2]);
  assert.match(first.reason, /^rollback: errors went up/);
  const second = await registry.rollback('m');
  assert.deepEqual([second.from, second.to], [2, 1]);
  await assert.rejects(registry.rollback('m'), code('CONFLICT', /nothing to roll back/));
  await assert.rejects(registry.rollback('m', 'canary'), code('NOT_FOUND', /alias "canary"/));
  await registry.close();
});

test('a version an alias points at cannot be deleted; an unaliased one can, files and all', async () => {
  const { registry } = await fresh();
  const dir = await modelFolder(join(await tempDir(), 'm'));
  const v1 = await registry.register('m', dir);
  await registry.register('m', dir);
  await registry.setAlias('m', 'production', 1);
  await assert.rejects(registry.deleteVersion('m', 1), code('CONFLICT', /production/));
  const v2 = await registry.resolve('m', 2);
  await registry.deleteVersion('m', 2);
  await assert.rejects(registry.resolve('m', 2), code('NOT_FOUND'));
  assert.equal(await registry.artifacts.head(`${prefixOf(v2)}/model.onnx`), null);
  assert.ok(await registry.artifacts.head(`${prefixOf(v1)}/model.onnx`));
  await registry.close();
});

test('a corrupted artifact is refused on every read with DATA_CORRUPT naming the file', async () => {
  const { registry } = await fresh();
  const v = await registry.register('m', await modelFolder(join(await tempDir(), 'm')));
  const path = storedPath(registry, v, 'model.onnx');
  const bytes = await readFile(path);
  bytes[bytes.length >> 1] ^= 0xff;
  await writeFile(path, bytes);
  await assert.rejects(registry.readFile(v), code('DATA_CORRUPT', /model\.onnx/));
  await assert.rejects(registry.export(v, join(await tempDir(), 'out')), code('DATA_CORRUPT', /model\.onnx/));
  await registry.close();
});

test('export writes every file of a version, verified', async () => {
  const { registry } = await fresh();
  const src = await modelFolder(join(await tempDir(), 'm'));
  const v = await registry.register('m', src);
  const out = join(await tempDir(), 'out');
  await registry.export(v, out);
  assert.deepEqual((await readdir(out)).sort(), ['model.onnx', 'pipeline.json']);
  assert.ok((await readFile(join(out, 'model.onnx'))).equals(await readFile(join(src, 'model.onnx'))));
  await registry.close();
});

test('import validates the ONNX file with ONNX Runtime, reads its signature and keeps labels', async () => {
  const { registry } = await fresh();
  const dir = await tempDir();
  await writeFile(join(dir, 'good.onnx'), mlpOnnx({ input: 6, classes: 2 }));
  const v = await registry.importOnnx('imported', join(dir, 'good.onnx'), { labels: ['cat', 'dog'], framework: 'pytorch 2.1' });
  assert.equal(v.source, 'imported');
  assert.equal(v.framework, 'pytorch 2.1');
  assert.deepEqual(v.signature.inputs[0].shape, ['N', 6]);
  assert.deepEqual(JSON.parse((await registry.readFile(v, 'pipeline.json')).toString()), { labels: ['cat', 'dog'] });
  await writeFile(join(dir, 'bad.onnx'), 'not a model');
  await assert.rejects(registry.importOnnx('imported', join(dir, 'bad.onnx')), code('INVALID_ARGUMENT', /bad\.onnx/));
  await assert.rejects(registry.importOnnx('imported', join(dir, 'missing.onnx')), code('NOT_FOUND', /missing\.onnx/));
  assert.equal((await registry.describe('imported')).versions.length, 1, 'failed imports leave no version');
  await registry.close();
});

test('gc finds artifacts no version references (a registration killed after upload) and spares the rest', async () => {
  const { registry } = await fresh();
  const v = await registry.register('m', await modelFolder(join(await tempDir(), 'm')));
  // what a registration killed between upload and commit leaves
  await registry.artifacts.put('models/m/v-killed/model.onnx', Buffer.from('half a registration'));
  const seen = await registry.gc({ graceMs: 0, dryRun: true });
  assert.deepEqual(seen.map((x) => x.key), ['models/m/v-killed/model.onnx']);
  assert.deepEqual(await registry.gc({ graceMs: 60_000 }), [], 'young objects are spared');
  await registry.gc({ graceMs: 0 });
  assert.equal(await registry.artifacts.head('models/m/v-killed/model.onnx'), null);
  assert.ok(await registry.readFile(v));
  await registry.close();
});
