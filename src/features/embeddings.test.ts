import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { AimassError, Rng } from '../core/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { Tokenizer, WordVectors, loadWordVectors, trainWord2Vec } from './index.js';

const tempDir = useTempDirs('embeddings');

/** Sentences drawn from two topics whose words only ever appear with each other. */
function topicCorpus(n: number, seed = 1): string[][] {
  const rng = new Rng(seed);
  const topics = [
    ['cat', 'dog', 'pet', 'fur', 'paw', 'bark', 'meow'],
    ['stock', 'market', 'price', 'trade', 'share', 'bond', 'yield'],
  ];
  return Array.from({ length: n }, (_, i) => {
    const words = topics[i % 2];
    return Array.from({ length: 8 }, () => words[rng.int(words.length)]);
  });
}

for (const mode of ['skipgram', 'cbow'] as const) {
  test(`${mode} puts words of the same topic closer than words of the other`, () => {
    const wv = trainWord2Vec(topicCorpus(600), { mode, dim: 16, window: 3, minCount: 2, epochs: 3, subsample: 0, seed: 3 });
    assert.equal(wv.words.length, 14);
    for (const [same, other] of [
      ['dog', 'market'],
      ['price', 'paw'],
    ]) {
      const anchor = same === 'dog' ? 'cat' : 'stock';
      assert.ok(wv.similarity(anchor, same)! > wv.similarity(anchor, other)!, `${anchor}~${same} ${wv.similarity(anchor, same)} vs ${anchor}~${other} ${wv.similarity(anchor, other)}`);
    }
    const near = wv.mostSimilar('cat', 5).map((x) => x.word);
    assert.ok(near.every((w) => ['dog', 'pet', 'fur', 'paw', 'bark', 'meow'].includes(w)), `neighbours of cat: ${near}`);
  });
}

test('the same corpus and seed give the same vectors', () => {
  const a = trainWord2Vec(topicCorpus(100), { dim: 8, minCount: 1, epochs: 1, seed: 9 });
  const b = trainWord2Vec(topicCorpus(100), { dim: 8, minCount: 1, epochs: 1, seed: 9 });
  assert.deepEqual(a.vectors, b.vectors);
});

test('vectors round-trip through the word2vec text format, and GloVe files (no header) load', async () => {
  const dir = await tempDir();
  const wv = new WordVectors(['a', '猫'], 3, Float32Array.from([0.5, -1, 2, 0.25, 0, 1e-3]));
  await writeFile(join(dir, 'w2v.txt'), wv.toText());
  const back = await loadWordVectors(join(dir, 'w2v.txt'));
  assert.deepEqual(back.words, ['a', '猫']);
  assert.deepEqual(Array.from(back.vectors), Array.from(wv.vectors));
  await writeFile(join(dir, 'glove.txt'), 'the 0.1 0.2\nof -0.3 0.4\n');
  const glove = await loadWordVectors(join(dir, 'glove.txt'));
  assert.equal(glove.dim, 2);
  assert.deepEqual(Array.from(glove.vector('of')!), [Math.fround(-0.3), Math.fround(0.4)]);
});

test('malformed vector files are refused listing each bad line', async () => {
  const dir = await tempDir();
  await writeFile(join(dir, 'bad.txt'), 'a 1 2 3\nb 1 2\nc 1 x 3\n');
  await assert.rejects(loadWordVectors(join(dir, 'bad.txt')), (e: unknown) => {
    assert.ok(e instanceof AimassError && e.code === 'DATA_FORMAT');
    assert.deepEqual((e.details!.problems as string[]).map((p) => p.split(':')[0]), ['line 2', 'line 3']);
    return true;
  });
  await assert.rejects(loadWordVectors(join(dir, 'missing.txt')), (e: unknown) => e instanceof AimassError && e.code === 'NOT_FOUND');
});

test('document vectors are the mean of known word vectors (zeros for none known)', () => {
  const wv = new WordVectors(['x', 'y'], 2, Float32Array.from([1, 0, 0, 1]));
  const tok = new Tokenizer();
  const m = wv.embedDocuments(['x y', 'x zzz', 'nothing here'].map((d) => tok.tokenize(d)));
  assert.deepEqual(Array.from(m.data), [0.5, 0.5, 1, 0, 0, 0]);
});

test('bad options and a corpus too small for minCount are clear errors', () => {
  assert.throws(() => trainWord2Vec([['a']], { dim: 0 }), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_SPEC');
  assert.throws(() => trainWord2Vec([['a', 'b']], { minCount: 5 }), /minCount/);
});
