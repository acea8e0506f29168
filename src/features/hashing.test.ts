import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectAimassError } from '../../test/support/aimass-errors.js';
import { HashingVectorizer, Tokenizer, countEmptyRows, csrRow, murmur3Utf8 } from './index.js';

test('murmur3Utf8 gives the published MurmurHash3_x86_32 values (seed 0, signed) over UTF-8 bytes', () => {
  // reference values of MurmurHash3_x86_32, as printed by scikit-learn's murmurhash3_32(s, seed=0)
  const cases: [string, number][] = [
    ['', 0],
    ['ab', -1681926305],
    ['abc', -1277324294],
    ['abcd', 1139631978],
    ['hello', 613153351],
    ['é', 269551495],
    ['你好', 337357348],
    ['The quick brown fox jumps over the lazy dog', 776992547],
  ];
  for (const [text, expected] of cases) assert.equal(murmur3Utf8(text), expected, JSON.stringify(text));
  // a span hashes like the substring it covers
  assert.equal(murmur3Utf8('xxhelloyy', 2, 7), 613153351);
  // an astral character is its 4 UTF-8 bytes, and a lone surrogate is U+FFFD, as TextEncoder would write them
  assert.equal(murmur3Utf8('😀'), murmur3Utf8('\ud83d\ude00'));
  assert.equal(murmur3Utf8('a\ud800'), murmur3Utf8('a\ufffd'));
});

test('each token lands on |h| mod nFeatures with the sign of h', () => {
  const v = new HashingVectorizer({}, { nFeatures: 16, norm: 'none' });
  for (const token of ['hello', 'ab', 'abcd']) {
    const h = murmur3Utf8(token);
    const x = v.transform([token]);
    const { indices, values } = csrRow(x, 0);
    assert.deepEqual(Array.from(indices), [Math.abs(h) % 16]);
    assert.deepEqual(Array.from(values), [h < 0 ? -1 : 1]);
    assert.deepEqual(v.place(token), { column: Math.abs(h) % 16, sign: h < 0 ? -1 : 1 });
  }
});

test('colliding tokens add up; with alternating signs opposite ones cancel to nothing', () => {
  // one column: every token collides; "hello" hashes positive, "ab" negative
  const signed = new HashingVectorizer({}, { nFeatures: 1, norm: 'none' });
  assert.equal(signed.transform(['hello ab']).indices.length, 0, 'cancelled tokens leave no stored zero');
  assert.deepEqual(Array.from(signed.transform(['hello hello ab']).values), [1]);
  const unsigned = new HashingVectorizer({}, { nFeatures: 1, norm: 'none', alternateSign: false });
  assert.deepEqual(Array.from(unsigned.transform(['hello ab']).values), [2]);
  const binary = new HashingVectorizer({}, { nFeatures: 1, norm: 'none', alternateSign: false, binary: true });
  assert.deepEqual(Array.from(binary.transform(['hello ab ab']).values), [1]);
});

test('rows are l2-normalized by default; empty documents give zero rows; the same text gives the same row', () => {
  const v = new HashingVectorizer({ stopWords: 'english' }, { nFeatures: 1 << 10 });
  const x = v.transform(['the spam spam eggs', '', 'the and of', 'the spam spam eggs']);
  assert.equal(x.rows, 4);
  assert.equal(countEmptyRows(x), 2);
  const row = csrRow(x, 0);
  const norm = Math.sqrt(Array.from(row.values).reduce((a, b) => a + b * b, 0));
  assert.ok(Math.abs(norm - 1) < 1e-6);
  assert.deepEqual(csrRow(x, 3), row);
  assert.equal(x.cols, 1024);
});

test('options are validated and the vectorizer survives JSON', () => {
  expectAimassError(() => new HashingVectorizer({}, { nFeatures: 0, alternateSign: 'yes' } as never), 'INVALID_SPEC', /^vectorizer\.nFeatures/, /^vectorizer\.alternateSign/);
  const tokenizer = new Tokenizer({ analyzer: 'char', ngramRange: [2, 3] });
  const v = new HashingVectorizer(tokenizer, { nFeatures: 64 });
  const loaded = HashingVectorizer.fromJSON(JSON.parse(JSON.stringify(v.toJSON())), tokenizer);
  assert.deepEqual(loaded.transform(['hashing trick', '哈希']), v.transform(['hashing trick', '哈希']));
});
