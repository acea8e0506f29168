import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AimassError, loadConfig } from '../core/index.js';
import { type Registry, openRegistry, prefixOf } from '../registry/index.js';
import { flipByte } from '../../test/support/corrupt.js';
import { modelFolder } from '../../test/support/onnx-model.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { ModelCache, parseModelRef } from './model-cache.js';
import type { HostTensors } from './tensors.js';

const tempDir = useTempDirs('serve');

/** A registry with `versions` versions of model "m", each with different weights (seed = version). */
async function registryWith(versions: number): Promise<Registry> {
  const registry = await openRegistry(loadConfig({ AIMASS_HOME: await tempDir() }), { AIMASS_USER: 'tester' });
  for (let v = 1; v <= versions; v++) await registry.register('m', await modelFolder(join(await tempDir(), `v${v}`), { seed: v }));
  return registry;
}

const sample = (): HostTensors => ({ features: { type: 'float32', data: Float32Array.of(0.5, -1, 2, 0.25), dims: [1, 4] } });

const code = (c: string) => (e: unknown) => {
  assert.ok(e instanceof AimassError, String(e));
  assert.equal(e.code, c, e.message);
  return true;
};

test('model references parse as name, name:version, name:latest and name@alias', () => {
  assert.deepEqual(parseModelRef('m'), { name: 'm', route: 'm' });
  assert.deepEqual(parseModelRef('m:3'), { name: 'm', version: 3, route: 'm:3' });
  assert.deepEqual(parseModelRef('m:latest'), { name: 'm', ref: 'latest', route: 'm:latest' });
  assert.deepEqual(parseModelRef('m@staging'), { name: 'm', ref: 'staging', route: 'm@staging' });
  assert.throws(() => parseModelRef('m:x@y'), code('INVALID_ARGUMENT'));
});

test('models load by latest, alias and version, are ready only once loaded, and not after unload', async () => {
  const registry = await registryWith(3);
  const cache = new ModelCache(registry);
  try {
    assert.equal(cache.isReady('m'), false);
    assert.equal((await cache.get('m')).version, 3, 'no production alias: the latest version');
    assert.equal(cache.isReady('m'), true);
    assert.equal(cache.isReady('m', 3), true);
    assert.equal(cache.isReady('m', 1), false);
    await registry.setAlias('m', 'staging', 2);
    assert.equal((await cache.get('m@staging')).version, 2);
    assert.equal((await cache.get('m:1')).version, 1);
    assert.equal(cache.isReady('m', 1), true);
    const out = await cache.infer('m:1', sample());
    assert.deepEqual(out.probabilities.dims, [1, 3]);
    const total = [...out.probabilities.data].reduce((a: number, b) => a + Number(b), 0);
    assert.ok(Math.abs(total - 1) < 1e-5);
    await cache.unload('m', 1);
    assert.equal(cache.isReady('m', 1), false);
    await cache.unload('m');
    assert.equal(cache.isReady('m'), false);
    assert.deepEqual(cache.list(), []);
    await assert.rejects(cache.get('nope'), code('NOT_FOUND'));
  } finally {
    await cache.close();
    await registry.close();
  }
});

test('a bare name follows the production alias when it is set', async () => {
  const registry = await registryWith(2);
  await registry.setAlias('m', 'production', 1);
  const cache = new ModelCache(registry);
  try {
    assert.equal((await cache.get('m')).version, 1);
  } finally {
    await cache.close();
    await registry.close();
  }
});

test('when an alias moves, refresh switches the name to the new version and unloads the old one', async () => {
  const registry = await registryWith(3);
  await registry.setAlias('m', 'production', 1);
  await registry.setAlias('m', 'canary', 2);
  const errors: string[] = [];
  const cache = new ModelCache(registry, { onRefreshError: (e, route) => errors.push(`${route}: ${String(e)}`) });
  try {
    assert.equal((await cache.get('m')).version, 1);
    assert.equal((await cache.get('m@canary')).version, 2);
    await cache.refresh(); // nothing moved: nothing changes
    assert.deepEqual(cache.list().map((m) => m.version).sort(), [1, 2]);

    await registry.setAlias('m', 'production', 3);
    await cache.refresh();
    assert.equal((await cache.get('m')).version, 3);
    assert.ok(cache.isReady('m'));
    assert.ok(!cache.isReady('m', 1), 'version 1 is unloaded once no route uses it');
    assert.equal((await cache.get('m@canary')).version, 2, 'the canary route is untouched');

    await registry.setAlias('m', 'canary', 3);
    await cache.refresh();
    assert.deepEqual(cache.list().map((m) => m.version), [3], 'both routes share version 3; version 2 is gone');
    assert.deepEqual(errors, []);
  } finally {
    await cache.close();
    await registry.close();
  }
});

test('with refreshIntervalMs, the cache notices an alias move on its own; a version that fails to load keeps the old one serving', async () => {
  const registry = await registryWith(2);
  await registry.setAlias('m', 'production', 1);
  const errors: unknown[] = [];
  const cache = new ModelCache(registry, { refreshIntervalMs: 20, onRefreshError: (e) => errors.push(e) });
  try {
    assert.equal((await cache.get('m')).version, 1);
    const bad = await registry.register('m', await modelFolder(join(await tempDir(), 'v3'), { seed: 3 }));
    await flipByte(join(fileURLToPath(registry.artifacts.uri), prefixOf(bad), 'model.onnx'), 100);
    await registry.setAlias('m', 'production', 3);
    while (errors.length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.ok(errors[0] instanceof AimassError && errors[0].code === 'DATA_CORRUPT', String(errors[0]));
    assert.equal((await cache.get('m')).version, 1, 'the corrupt version never replaced the good one');
    await registry.setAlias('m', 'production', 2);
    while ((await cache.get('m')).version !== 2) await new Promise((r) => setTimeout(r, 10));
    assert.ok(!cache.isReady('m', 1));
  } finally {
    await cache.close();
    await registry.close();
  }
});

test('beyond the budget, the least recently used version is unloaded', async () => {
  const registry = await registryWith(3);
  const cache = new ModelCache(registry, { maxModels: 2 });
  try {
    await cache.get('m:1');
    await cache.get('m:2');
    await cache.infer('m:1', sample()); // 1 is now more recent than 2
    await cache.get('m:3');
    assert.deepEqual(cache.list().map((m) => m.version), [1, 3]);
    assert.equal(cache.isReady('m', 2), false);
    assert.equal(cache.isReady('m', 1), true);
    assert.equal(cache.isReady('m', 3), true);
  } finally {
    await cache.close();
    await registry.close();
  }
});

test('a corrupted artifact never becomes ready: the load fails with DATA_CORRUPT', async () => {
  const registry = await registryWith(1);
  const v = await registry.resolve('m', 1);
  await flipByte(join(fileURLToPath(registry.artifacts.uri), prefixOf(v), 'model.onnx'), 40);
  const cache = new ModelCache(registry);
  try {
    await assert.rejects(cache.get('m'), code('DATA_CORRUPT'));
    await assert.rejects(cache.infer('m:1', sample()), code('DATA_CORRUPT'));
    assert.equal(cache.isReady('m'), false);
    assert.equal(cache.isReady('m', 1), false);
    assert.deepEqual(cache.list(), []);
  } finally {
    await cache.close();
    await registry.close();
  }
});

test('swapping to a new version while requests flow fails none of them, and new requests reach the new version', async () => {
  const registry = await registryWith(2);
  await registry.setAlias('m', 'production', 1);
  const cache = new ModelCache(registry, { batching: { maxQueueDelayUs: 200 } });
  try {
    await cache.get('m');
    const logits = async (ref: string) => [...(await cache.infer(ref, sample())).logits.data];
    const before = await logits('m');
    let stop = false;
    let served = 0;
    const client = async () => {
      while (!stop) {
        await cache.infer('m', sample());
        served++;
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await new Promise((r) => setTimeout(r, 50));
    await registry.setAlias('m', 'production', 2);
    assert.equal((await cache.swap('m')).version, 2);
    const after = await logits('m');
    await new Promise((r) => setTimeout(r, 50));
    stop = true;
    await Promise.all(clients); // any failed request would reject here
    assert.ok(served > 20, `only ${served} requests served`);
    assert.notDeepEqual(after, before, 'versions 1 and 2 have different weights');
    assert.deepEqual(after, await logits('m:2'));
    assert.equal(cache.isReady('m'), true);
    assert.equal(cache.isReady('m', 2), true);
    assert.equal(cache.isReady('m', 1), false);
    assert.deepEqual(cache.list().map((m) => m.version), [2]);
  } finally {
    await cache.close();
    await registry.close();
  }
});

test('memory stays bounded across repeated swaps between two versions', async () => {
  const registry = await registryWith(2);
  const cache = new ModelCache(registry);
  try {
    await cache.get('m');
    const swaps = 100;
    let rssAfterWarmUp = 0;
    for (let i = 0; i < swaps; i++) {
      const version = await cache.swap('m', (i % 2) + 1);
      await cache.infer('m', sample());
      assert.equal(version.version, (i % 2) + 1);
      if (i === 3) rssAfterWarmUp = process.memoryUsage().rss;
    }
    const growthMb = (process.memoryUsage().rss - rssAfterWarmUp) / 2 ** 20;
    assert.ok(growthMb < 60, `RSS grew ${growthMb.toFixed(1)} MB over ${swaps - 4} swaps`);
    assert.equal(cache.list().length, 1);
  } finally {
    await cache.close();
    await registry.close();
  }
});
