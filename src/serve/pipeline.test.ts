// Serving pipelines on their own (no model run): records of each kind become the tensors the model takes,
// outputs become labels with scores, older pipeline.json layouts still load, and a pipeline that cannot feed its
// model, or a bad record, fails with a message naming what is wrong.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import { AimassError } from '../core/index.js';
import { FeaturePipeline, TablePipeline } from '../features/index.js';
import { type PipelineSignature, ServingPipeline } from './pipeline.js';
import type { HostTensors } from './tensors.js';

const sig = (input: { name?: string; dtype?: string; shape: (number | string)[] }, outputs: PipelineSignature['outputs'] = [{ name: 'probabilities', dtype: 'float32', shape: ['N', 3] }]): PipelineSignature => ({
  inputs: [{ name: input.name ?? 'x', dtype: input.dtype ?? 'float32', shape: input.shape }],
  outputs,
});

const code = (c: string, pattern?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof AimassError, String(e));
  assert.equal(e.code, c, e.message);
  if (pattern) assert.match(e.message, pattern);
  return true;
};

const floats = (feeds: HostTensors, name = 'x') => Array.from(feeds[name].data as Float32Array);

async function png(width: number, height: number, pixel: (x: number, y: number) => number): Promise<string> {
  const raw = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw[y * width + x] = pixel(x, y);
  return (await sharp(raw, { raw: { width, height, channels: 1 } }).png().toBuffer()).toString('base64');
}

test('image records (base64, data: URL, URL-safe, {"image"}) decode to scaled CHW pixels of the model input', async () => {
  const p = ServingPipeline.load({ format: 'aimass-pipeline/1', input: { kind: 'image', tensor: 'x', channels: 1, height: 4, width: 4, scale: 1 / 255 } }, sig({ shape: ['N', 1, 4, 4] }));
  const b64 = await png(4, 4, (x, y) => (x + 4 * y) * 10);
  const urlSafe = b64.replace(/\+/g, '-').replace(/\//g, '_');
  const feeds = await p.prepare([b64, `data:image/png;base64,${b64}`, { image: urlSafe }]);
  assert.deepEqual(feeds.x.dims, [3, 1, 4, 4]);
  const values = floats(feeds);
  const expected = Array.from({ length: 16 }, (_, i) => (i * 10) / 255);
  for (let r = 0; r < 3; r++) values.slice(r * 16, r * 16 + 16).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6, `record ${r} pixel ${i}: ${v}`));
});

test('an image of another size is resized; mean and std apply per channel after scaling', async () => {
  const p = ServingPipeline.load(
    { format: 'aimass-pipeline/1', input: { kind: 'image', tensor: 'x', channels: 1, height: 2, width: 2, scale: 1, mean: [100], std: [2] } },
    sig({ shape: ['N', 4] }),
  );
  const feeds = await p.prepare([await png(8, 8, () => 120)]);
  assert.deepEqual(feeds.x.dims, [1, 4]);
  for (const v of floats(feeds)) assert.ok(Math.abs(v - 10) < 1e-4, String(v));
});

test('undecodable, empty and non-base64 images fail naming the record', async () => {
  const p = ServingPipeline.load({ format: 'aimass-pipeline/1', input: { kind: 'image', tensor: 'x', channels: 1, height: 2, width: 2 } }, sig({ shape: ['N', 1, 2, 2] }));
  const ok = await png(2, 2, () => 0);
  await assert.rejects(p.prepare([ok, Buffer.from('not an image at all').toString('base64')]), code('INVALID_ARGUMENT', /^record 1: the image could not be decoded/));
  await assert.rejects(p.prepare(['']), code('INVALID_ARGUMENT', /record 0: the image is empty/));
  await assert.rejects(p.prepare(['%%%']), code('INVALID_ARGUMENT', /record 0: the image is not base64/));
  await assert.rejects(p.prepare([42]), code('INVALID_ARGUMENT', /record 0: expected an image/));
  await assert.rejects(p.prepare([]), code('INVALID_ARGUMENT', /non-empty array/));
});

test('text records go through the fitted feature pipeline to dense rows, exactly as the features module gives them', async () => {
  const docs = ['cheap pills now', 'meeting at noon', 'cheap meeting pills', 'noon lunch'];
  const features = FeaturePipeline.fit({ vectorizer: { type: 'tfidf' } }, docs);
  const p = ServingPipeline.load({ format: 'aimass-pipeline/1', input: { kind: 'text', tensor: 'x', features: features.toJSON() } }, sig({ shape: ['N', features.width] }));
  const feeds = await p.prepare(['cheap lunch', { text: 'pills at noon' }]);
  assert.deepEqual(feeds.x.dims, [2, features.width]);
  const m = features.transform(['cheap lunch', 'pills at noon']);
  const dense = new Float32Array(2 * features.width);
  for (let r = 0; r < 2; r++) for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) dense[r * features.width + m.indices[k]] = m.values[k];
  assert.deepEqual(floats(feeds), Array.from(dense));
  await assert.rejects(p.prepare(['ok', '   ']), code('INVALID_ARGUMENT', /record 1: the text is empty/));
  await assert.rejects(p.prepare([{ body: 'x' }]), code('INVALID_ARGUMENT', /record 0: expected a string or \{"text"/));
  assert.throws(() => ServingPipeline.load({ format: 'aimass-pipeline/1', input: { kind: 'text', tensor: 'x', features: features.toJSON() } }, sig({ shape: ['N', features.width + 1] })), code('INVALID_SPEC', /gives \d+ values per text/));
});

test('token records become padded int64 ids; unknown words get the unknown id', async () => {
  const p = ServingPipeline.load(
    { format: 'aimass-pipeline/1', input: { kind: 'tokens', tensor: 'tokens', vocabulary: ['go', 'to', 'station'], seqLen: 5 } },
    sig({ name: 'tokens', dtype: 'int64', shape: ['N', 5] }),
  );
  const feeds = await p.prepare(['Go to the station', 'go go go go go go go']);
  assert.deepEqual(feeds.tokens.dims, [2, 5]);
  assert.deepEqual(Array.from(feeds.tokens.data as BigInt64Array, Number), [2, 3, 1, 4, 0, 2, 2, 2, 2, 2]);
});

test('table records pick the named columns (through a fitted normalizer when given) and name what is missing', async () => {
  const table = TablePipeline.fit({ normalizer: { kind: 'standard' } }, { rows: 2, columns: ['a', 'b'], data: Float32Array.of(1, 10, 3, 30) });
  const p = ServingPipeline.load({ format: 'aimass-pipeline/1', input: { kind: 'table', tensor: 'x', columns: ['a', 'b'], features: table.toJSON() } }, sig({ shape: ['N', 2] }));
  const feeds = await p.prepare([{ b: 30, a: 3, extra: 'ignored' }]);
  assert.deepEqual(floats(feeds), [1, 1]);
  await assert.rejects(p.prepare([{ a: 1 }]), code('INVALID_ARGUMENT', /record 0: missing column\(s\) "b"/));
  await assert.rejects(p.prepare([{ a: 1, b: 'x' }]), code('INVALID_ARGUMENT', /record 0: column "b" is "x"/));
  await assert.rejects(p.prepare(['a,b']), code('INVALID_ARGUMENT', /record 0: expected an object of column values/));
});

test('without a pipeline, records are arrays of the input sample (nested or flat), checked for size and type', async () => {
  const p = ServingPipeline.load(undefined, sig({ shape: ['N', 2, 2] }));
  assert.equal(p.inputKind, 'tensor');
  const feeds = await p.prepare([[[1, 2], [3, 4]], [5, 6, 7, 8], { x: [0, 0, 0, 1] }]);
  assert.deepEqual(feeds.x.dims, [3, 2, 2]);
  assert.deepEqual(floats(feeds), [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1]);
  await assert.rejects(p.prepare([[1, 2, 3]]), code('INVALID_ARGUMENT', /record 0: input "x" has 3 values, but the model takes 4/));
  await assert.rejects(p.prepare([[1, 2, 3, 'x']]), code('INVALID_ARGUMENT', /record 0: input "x" holds "x"/));
  await assert.rejects(p.prepare(['text']), code('INVALID_ARGUMENT', /record 0: expected an array of numbers/));
});

test('outputs become the top label with its score and the top-k, from probabilities, logits or one probability', () => {
  const out = (data: number[], dims: number[]): HostTensors => ({ probabilities: { type: 'float32', data: Float32Array.from(data), dims } });
  const probs = ServingPipeline.load({ format: 'aimass-pipeline/1', input: { kind: 'tensor' }, output: { tensor: 'probabilities', kind: 'probabilities', labels: ['cat', 'dog', 'eel'] } }, sig({ shape: ['N', 1] }));
  const [first, second] = probs.predictions(out([0.2, 0.7, 0.1, 0.5, 0.25, 0.25], [2, 3]), 2, 2);
  assert.deepEqual(first, { label: 'dog', score: Math.fround(0.7), scores: [{ label: 'dog', score: Math.fround(0.7) }, { label: 'cat', score: Math.fround(0.2) }] });
  assert.equal((second as { label: string }).label, 'cat');
  assert.throws(() => probs.predictions(out([1, 0, 0], [1, 3]), 1, 0), code('INVALID_ARGUMENT', /top_k/));

  const logits = ServingPipeline.load(undefined, sig({ shape: ['N', 1] }, [{ name: 'logits', dtype: 'float32', shape: ['N', 2] }]));
  const [l] = logits.predictions({ logits: { type: 'float32', data: Float32Array.of(0, Math.log(3)), dims: [1, 2] } }, 1);
  assert.equal((l as { label: string }).label, '1');
  assert.ok(Math.abs((l as { score: number }).score - 0.75) < 1e-6);

  const binary = ServingPipeline.load({ labels: ['ham', 'spam'] }, sig({ shape: ['N', 1] }, [{ name: 'logits', dtype: 'float32', shape: ['N'] }, { name: 'probability', dtype: 'float32', shape: ['N'] }]));
  const [b] = binary.predictions({ probability: { type: 'float32', data: Float32Array.of(0.9), dims: [1] } }, 1);
  assert.equal((b as { label: string }).label, 'spam');

  const regression = ServingPipeline.load(undefined, sig({ shape: ['N', 1] }, [{ name: 'prediction', dtype: 'float32', shape: ['N', 1] }]));
  assert.deepEqual(regression.predictions({ prediction: { type: 'float32', data: Float32Array.of(1.5, -2), dims: [2, 1] } }, 2), [{ value: 1.5 }, { value: -2 }]);
});

test("the trainer's first pipeline.json layout and an import's bare labels still load", async () => {
  const legacy = ServingPipeline.load(
    { inputs: [{ name: 'x', shape: [1, 2, 2] }], preprocessing: { kind: 'image', scale: 1 / 255 }, task: 'multiclass', labels: ['a', 'b', 'c'] },
    sig({ shape: ['N', 1, 2, 2] }),
  );
  assert.equal(legacy.inputKind, 'image');
  assert.deepEqual(legacy.labels, ['a', 'b', 'c']);
  const table = ServingPipeline.load({ preprocessing: { kind: 'table', features: ['p', 'q'] }, labels: ['0', '1', '2'] }, sig({ shape: ['N', 2] }));
  assert.equal(table.inputKind, 'table');
  const imported = ServingPipeline.load({ labels: ['a', 'b', 'c'] }, sig({ shape: ['N', 4] }));
  assert.equal(imported.inputKind, 'tensor');
  assert.deepEqual(imported.labels, ['a', 'b', 'c']);
});

test('a pipeline that cannot feed its model fails at load, naming every problem', () => {
  const load = (json: unknown, s = sig({ shape: ['N', 4] })) => () => ServingPipeline.load(json, s);
  assert.throws(load({ format: 'aimass-pipeline/9', input: { kind: 'tensor' } }), code('INVALID_SPEC', /format/));
  assert.throws(load({ format: 'aimass-pipeline/1', input: { kind: 'image', tensor: 'y', channels: 1, height: 2, width: 2 } }), code('INVALID_SPEC', /no input "y"/));
  assert.throws(load({ format: 'aimass-pipeline/1', input: { kind: 'image', tensor: 'x', channels: 1, height: 3, width: 3 } }), code('INVALID_SPEC', /do not fill input "x"/));
  assert.throws(load({ format: 'aimass-pipeline/1', input: { kind: 'tensor' }, output: { tensor: 'probabilities', kind: 'probabilities', labels: ['a', 'b'] } }), code('INVALID_SPEC', /2 labels for 3 classes/));
  assert.throws(load({ format: 'aimass-pipeline/1', input: { kind: 'tensor' }, output: { tensor: 'nope', kind: 'values' } }), code('INVALID_SPEC', /no output "nope"/));
  assert.throws(load({ format: 'aimass-features/1', kind: 'text' }), code('INVALID_SPEC', /feature pipeline/));
  assert.throws(load({ format: 'aimass-pipeline/1', input: { kind: 'table', tensor: 'x', columns: ['a'] } }), code('INVALID_SPEC', /1 columns, but input "x" takes 4/));
  assert.throws(load({ format: 'aimass-pipeline/1', input: { kind: 'tokens', tensor: 'x', vocabulary: ['a'], seqLen: 4 } }), code('INVALID_SPEC', /gives int64 ids/));
});
