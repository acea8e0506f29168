// Pins `aimass predict` through the real executable: texts, pictures and JSON Lines records through a model's
// pipeline, as a table and as JSON, in-process from the registry and against a running server (--url), and the
// failures a user can cause.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { buildApp } from '../api/index.js';
import { loadConfig } from '../core/index.js';
import { FeaturePipeline } from '../features/index.js';
import { type Registry, openRegistry } from '../registry/index.js';
import { ModelCache } from '../serve/index.js';
import { aimass, assertFailed, jsonOf, stdoutOf } from '../../test/support/cli.js';
import { mlpOnnx } from '../../test/support/onnx-model.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-predict');

/** A run that failed with exit code 1 and `error [CODE]: …` matching `pattern` on stderr. */
const fails = (r: Parameters<typeof assertFailed>[0], code: string, pattern: RegExp) => assertFailed(r, 1, new RegExp(`error \\[${code}\\]: .*${pattern.source}`));

interface Answer {
  model: string;
  model_version: string;
  predictions: { label: string; score: number; scores: { label: string; score: number }[] }[];
}

describe('aimass predict', () => {
  let env: Record<string, string>;
  let dir: string;
  let registry: Registry;

  before(async () => {
    const home = await tempDir();
    env = { AIMASS_HOME: home };
    dir = await tempDir();
    registry = await openRegistry(loadConfig(env), { AIMASS_USER: 'tester' });
    const features = FeaturePipeline.fit({}, ['cheap pills now', 'meeting at noon', 'buy cheap now', 'lunch at noon']);
    const add = async (name: string, onnx: Uint8Array, pipeline: unknown) => {
      const src = join(dir, name);
      await mkdir(src, { recursive: true });
      await writeFile(join(src, 'model.onnx'), onnx);
      await writeFile(join(src, 'pipeline.json'), JSON.stringify(pipeline));
      await registry.register(name, src);
    };
    await add('spam', mlpOnnx({ input: features.width, classes: 2, seed: 3 }), {
      format: 'aimass-pipeline/1',
      input: { kind: 'text', tensor: 'features', features: features.toJSON() },
      output: { tensor: 'probabilities', kind: 'probabilities', labels: ['ham', 'spam'] },
    });
    await add('digits', mlpOnnx({ input: 16, classes: 3, seed: 4 }), {
      format: 'aimass-pipeline/1',
      input: { kind: 'image', tensor: 'features', channels: 1, height: 4, width: 4 },
      output: { tensor: 'probabilities', kind: 'probabilities', labels: ['zero', 'one', 'two'] },
    });
    await writeFile(join(dir, 'pic.png'), await sharp(Buffer.alloc(64, 200), { raw: { width: 8, height: 8, channels: 1 } }).png().toBuffer());
  });
  after(async () => registry?.close());

  test('texts print as a table with the top label, its score and the runners-up', async () => {
    const out = stdoutOf(await aimass(['predict', 'spam', '--text', 'cheap pills', '--text', 'lunch meeting'], env));
    const lines = out.trim().split('\n');
    assert.equal(lines[0], 'spam version 1');
    assert.match(lines[1], /^INPUT\s+LABEL\s+SCORE\s+NEXT$/);
    assert.match(lines[2], /^cheap pills\s+(ham|spam)\s+0\.\d{4}\s+(ham|spam) 0\.\d{3}$/);
    assert.equal(lines.length, 4);
  });

  test('--json gives the same answer as the HTTP API; --file reads JSON Lines, --image pictures', async () => {
    const file = join(dir, 'mails.jsonl');
    await writeFile(file, '"cheap pills"\n\n{"text": "lunch at noon"}\n');
    const a = jsonOf<Answer>(await aimass(['predict', 'spam', '--file', file, '--top-k', '1', '--json'], env));
    assert.equal(a.model, 'spam');
    assert.equal(a.predictions.length, 2);
    for (const p of a.predictions) assert.equal(p.scores.length, 1);

    const img = jsonOf<Answer>(await aimass(['predict', 'digits:1', '--image', join(dir, 'pic.png'), '--json'], env));
    assert.ok(['zero', 'one', 'two'].includes(img.predictions[0].label));
    assert.equal(img.model_version, '1');
  });

  test('--url asks a running server and prints what it answers', async () => {
    const cache = new ModelCache(registry);
    const app = buildApp({ registry, modelCache: cache });
    try {
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      const remote = jsonOf<Answer>(await aimass(['predict', 'spam', '--text', 'cheap pills', '--url', url, '--json'], env));
      const local = jsonOf<Answer>(await aimass(['predict', 'spam', '--text', 'cheap pills', '--json'], env));
      assert.deepEqual(remote, local);
      fails(await aimass(['predict', 'spam', '--text', '', '--url', url], env), 'INVALID_ARGUMENT', /record 0: the text is empty/);
    } finally {
      await app.close();
      await cache.close();
    }
    fails(await aimass(['predict', 'spam', '--text', 'x', '--url', 'http://127.0.0.1:9'], env), 'UNAVAILABLE', /cannot reach http:\/\/127\.0\.0\.1:9/);
  });

  test('bad input fails with a message naming it', async () => {
    fails(await aimass(['predict', 'spam'], env), 'INVALID_ARGUMENT', /nothing to predict/);
    fails(await aimass(['predict', 'sp am', '--text', 'x'], env), 'INVALID_ARGUMENT', /not a model reference/);
    fails(await aimass(['predict', 'nope', '--text', 'x'], env), 'NOT_FOUND', /nope/);
    fails(await aimass(['predict', 'digits', '--image', join(dir, 'missing.png')], env), 'NOT_FOUND', /missing\.png/);
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '"ok"\n{oops\n');
    fails(await aimass(['predict', 'spam', '--file', bad], env), 'DATA_FORMAT', /line 2 is not JSON/);
    fails(await aimass(['predict', 'spam', '--text', 'x', '--top-k', 'two'], env), 'INVALID_ARGUMENT', /--top-k/);
    fails(await aimass(['predict', 'digits', '--text', 'not a picture'], env), 'INVALID_ARGUMENT', /record 0: the image could not be decoded/);
  });
});
