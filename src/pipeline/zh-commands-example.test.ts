// Pins examples/zh-commands.pipeline.yaml in-process (a temporary AIMASS_HOME, one tuning trial instead of three
// to stay quick): Chinese commands tokenized as characters and bigrams pass the gate, and the registered model
// reads commands it never saw — other places, names, songs and phrasings — as the right intent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../core/index.js';
import { openRegistry } from '../registry/index.js';
import { ModelCache } from '../serve/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { readPipelineSpec, runPipeline } from './index.js';

const tempDir = useTempDirs('zh-commands');
const EXAMPLE = fileURLToPath(new URL('../../examples/zh-commands.pipeline.yaml', import.meta.url));

test('the Chinese commands example passes its gate and classifies unseen commands', async () => {
  const spec = await readPipelineSpec(EXAMPLE);
  assert.deepEqual(spec.features?.tokenizer, { analyzer: 'word', cjk: 'chars+bigrams' });
  assert.ok(spec.tune);
  spec.tune.trials = 1;
  const config = loadConfig({ AIMASS_HOME: join(await tempDir(), 'home'), AIMASS_THREADS: '1' });
  const registry = await openRegistry(config, {});
  const cache = new ModelCache(registry, { workers: 1 });
  try {
    const r = await runPipeline(spec, { config, registry });
    assert.equal(r.passed, true, JSON.stringify(r.gate));
    const unseen: [string, string][] = [
      ['导航到最近的充电站', 'navigation'],
      ['我想听一首邓丽君的月亮代表我的心', 'music'],
      ['帮我给李阿姨打电话', 'phone'],
      ['把温度降到二十度', 'climate'],
      ['后天上海下雨吗', 'weather'],
      ['把后备箱关上', 'vehicle'],
    ];
    const p = await cache.predict('zh-commands', unseen.map(([text]) => text));
    assert.deepEqual(
      p.predictions.map((x) => ('label' in x ? x.label : undefined)),
      unseen.map(([, label]) => label),
    );
  } finally {
    await cache.close();
    await registry.close();
  }
});
