import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/index.js';
import { expectAimassError, problemsOf } from '../../test/support/aimass-errors.js';
import { ENGLISH_STOP_WORDS, Tokenizer } from './index.js';

const tokens = (text: string, options = {}) => new Tokenizer(options).tokenize(text);

test('English: punctuation splits, case folds, apostrophes split words', () => {
  assert.deepEqual(tokens("Hello, WORLD! It's a well-known test... (really)"), ['hello', 'world', 'it', 's', 'a', 'well', 'known', 'test', 'really']);
});

test('English stop words and a minimum length drop words; custom lists match in any case and width', () => {
  assert.deepEqual(tokens("The cat and I don't sit on a mat", { stopWords: 'english' }), ['cat', 'sit', 'mat']);
  assert.deepEqual(tokens('to be or not to be, x y zz', { minTokenLength: 2 }), ['to', 'be', 'or', 'not', 'to', 'be', 'zz']);
  assert.deepEqual(tokens('The spam and THE eggs', { stopWords: ['THE', 'ＡＮＤ'] }), ['spam', 'eggs']);
  assert.ok(ENGLISH_STOP_WORDS.includes('the') && !ENGLISH_STOP_WORDS.includes('free'));
  assert.equal(new Set(ENGLISH_STOP_WORDS).size, ENGLISH_STOP_WORDS.length, 'no duplicates in the list');
});

test('accents survive, NFKC folds compatibility forms, combining marks stay inside words', () => {
  // decomposed é (e + U+0301) composes; ﬁ ligature, full-width letters, circled digit and superscript fold
  assert.deepEqual(tokens('Cafe\u0301 naïve ﬁancé Ｔｏｋｙｏ ① x²'), ['café', 'naïve', 'fiancé', 'tokyo', '1', 'x2']);
  // without normalization the combining mark still belongs to its word
  assert.deepEqual(tokens('Cafe\u0301 ﬁ', { normalize: 'none' }), ['cafe\u0301', 'ﬁ']);
  assert.deepEqual(tokens('ÉCOLE Straße', { lowercase: false }), ['ÉCOLE', 'Straße']);
  // Devanagari vowel signs are spacing/non-spacing marks: one word, not fragments
  assert.deepEqual(tokens('नमस्ते दुनिया'), ['नमस्ते', 'दुनिया']);
});

test('numbers are tokens; separators inside numbers split them', () => {
  assert.deepEqual(tokens('Call 555-1234 or pay $3.14 by 2024; v2 rocks'), ['call', '555', '1234', 'or', 'pay', '3', '14', 'by', '2024', 'v2', 'rocks']);
});

test('emoji, symbols and variation selectors are ignored', () => {
  assert.deepEqual(tokens('I ❤️ pizza 🍕🍕 👍🏽 1️⃣ #tag @me'), ['i', 'pizza', '1', 'tag', 'me']);
});

test('a Chinese sentence gives each character and each adjacent pair', () => {
  assert.deepEqual(tokens('我喜欢机器学习'), [
    '我',
    '喜',
    '我喜',
    '欢',
    '喜欢',
    '机',
    '欢机',
    '器',
    '机器',
    '学',
    '器学',
    '习',
    '学习',
  ]);
  // punctuation ends a run: no pair across it
  assert.deepEqual(tokens('你好，世界。'), ['你', '好', '你好', '世', '界', '世界']);
});

test('Japanese and Korean runs: kana with the long-vowel mark, Hangul syllables; spaces separate runs', () => {
  assert.deepEqual(tokens('東京タワー'), ['東', '京', '東京', 'タ', '京タ', 'ワ', 'タワ', 'ー', 'ワー']);
  // half-width katakana becomes full-width under NFKC
  assert.deepEqual(tokens('ｶﾀ'), ['カ', 'タ', 'カタ']);
  assert.deepEqual(tokens('한국어 공부'), ['한', '국', '한국', '어', '국어', '공', '부', '공부']);
});

test('mixed Chinese and Latin text: Latin words follow the word rule', () => {
  assert.deepEqual(tokens('我爱 NLP 和 AI'), ['我', '爱', '我爱', 'nlp', '和', 'ai']);
  // no space needed between scripts
  assert.deepEqual(tokens('用Python写代码2024年'), ['用', 'python', '写', '代', '写代', '码', '代码', '2024', '年']);
});

test('CJK modes: chars only, bigrams only (a lone character stands for itself), runs as words', () => {
  assert.deepEqual(tokens('机器学习 和', { cjk: 'chars' }), ['机', '器', '学', '习', '和']);
  assert.deepEqual(tokens('机器学习 和', { cjk: 'bigrams' }), ['机器', '器学', '学习', '和']);
  assert.deepEqual(tokens('我爱 NLP和AI', { cjk: 'as-words' }), ['我爱', 'nlp和ai']);
});

test('CJK characters can be stop words; pairs are kept', () => {
  assert.deepEqual(tokens('我的书', { stopWords: ['的'] }), ['我', '我的', '书', '的书']);
});

test('word n-grams are built after stop words are removed, over words and CJK characters', () => {
  assert.deepEqual(tokens('the quick brown fox', { ngramRange: [1, 2], stopWords: 'english' }), ['quick', 'brown', 'quick brown', 'fox', 'brown fox']);
  assert.deepEqual(tokens('a b c d', { ngramRange: [2, 3] }), ['a b', 'b c', 'a b c', 'c d', 'b c d']);
  assert.deepEqual(tokens('hi 机器', { ngramRange: [1, 2], cjk: 'chars' }), ['hi', '机', 'hi 机', '器', '机 器']);
});

test('character n-grams over the text (whitespace collapsed) and within words (padded)', () => {
  assert.deepEqual(tokens('Ab  cd', { analyzer: 'char', ngramRange: [2, 3] }), ['ab', 'b ', 'ab ', ' c', 'b c', 'cd', ' cd']);
  assert.deepEqual(tokens('ab cdef', { analyzer: 'char', ngramRange: [3, 4], withinWords: true }), [
    ' ab',
    'ab ',
    ' ab ',
    ' cd',
    'cde',
    ' cde',
    'def',
    'cdef',
    'ef ',
    'def ',
  ]);
  // a padded word shorter than the smallest n gives itself
  assert.deepEqual(tokens('a', { analyzer: 'char', ngramRange: [4, 5], withinWords: true }), [' a ']);
  // n counts code points: an astral emoji is one character
  assert.deepEqual(tokens('a😀b', { analyzer: 'char', ngramRange: [2, 2] }), ['a😀', '😀b']);
  assert.deepEqual(tokens('', { analyzer: 'char' }), []);
});

test('empty and token-free text gives no tokens', () => {
  for (const text of ['', '   ', '!!! ... ???', '🙂🙂']) assert.deepEqual(tokens(text), []);
});

test('forEachToken reports spans with the hash the vectorizers key on', () => {
  const seen: string[] = [];
  new Tokenizer().forEachToken('Ab 机器', (text, start, end, hash) => {
    seen.push(text.slice(start, end));
    assert.equal(typeof hash, 'number');
  });
  assert.deepEqual(seen, ['ab', '机', '器', '机器']);
});

/**
 * The table-driven scanner against the definition it implements, written as Unicode-property regexes, on
 * random strings mixing Latin, accents, combining marks, digits, CJK, emoji, variation selectors, astral
 * letters and lone surrogates.
 */
test('the scanner agrees with the \\p{…} regex definition on random text', () => {
  const WORD = new RegExp('[\\p{L}\\p{N}][[\\p{L}\\p{N}\\p{Mn}\\p{Mc}]--\\p{Variation_Selector}]*', 'gv');
  const CJK_SET = '[\\p{scx=Han}\\p{scx=Hiragana}\\p{scx=Katakana}\\p{scx=Hangul}]';
  const SPLIT = new RegExp(`(${CJK_SET}+)|[[\\p{L}\\p{N}]--${CJK_SET}][[\\p{L}\\p{N}\\p{Mn}\\p{Mc}]--[${CJK_SET}\\p{Variation_Selector}]]*`, 'gv');
  const pool = ['a', 'Z', 'é', 'e\u0301', '\u0301', '1', '٣', ' ', '-', "'", '_', '我', '学', 'カ', 'ー', '한', '😀', '\ufe0f', '𝐀', '𠀀', '\ud800', 'ß', 'ı', 'Ω', 'ñ'];
  const rng = new Rng(7);
  const asWords = new Tokenizer({ normalize: 'none', lowercase: false, cjk: 'as-words' });
  const chars = new Tokenizer({ normalize: 'none', lowercase: false, cjk: 'chars' });
  for (let trial = 0; trial < 500; trial++) {
    let text = '';
    const length = rng.int(20);
    for (let i = 0; i < length; i++) text += pool[rng.int(pool.length)];
    assert.deepEqual(asWords.tokenize(text), text.match(WORD) ?? [], JSON.stringify(text));
    const expected: string[] = [];
    for (const m of text.matchAll(SPLIT)) expected.push(...(m[1] !== undefined ? Array.from(m[1]) : [m[0]]));
    assert.deepEqual(chars.tokenize(text), expected, JSON.stringify(text));
  }
});

test('the same options always give the same tokens, and options round-trip through JSON', () => {
  const t = new Tokenizer({ stopWords: 'english', ngramRange: [1, 2] });
  const text = 'Machine learning 和 机器学习 are the same thing';
  const again = new Tokenizer(JSON.parse(JSON.stringify(t.toJSON())));
  assert.deepEqual(again.tokenize(text), t.tokenize(text));
  assert.deepEqual(t.toJSON(), {
    analyzer: 'word',
    normalize: 'NFKC',
    lowercase: true,
    stopWords: 'english',
    minTokenLength: 1,
    cjk: 'chars+bigrams',
    ngramRange: [1, 2],
  });
});

test('invalid options fail with INVALID_SPEC listing every problem', () => {
  const e = expectAimassError(
    () => new Tokenizer({ ngramRange: [3, 1], minTokenLength: 0, cjk: 'auto', colour: 'red' } as never),
    'INVALID_SPEC',
    /^tokenizer\.ngramRange: the smallest n/,
    /^tokenizer\.minTokenLength:/,
    /^tokenizer\.cjk:/,
    'tokenizer.colour: unknown field',
  );
  assert.equal(problemsOf(e).length, 4, problemsOf(e).join('\n'));
  expectAimassError(() => new Tokenizer({ analyzer: 'char', stopWords: 'english' } as never), 'INVALID_SPEC', 'tokenizer.stopWords: unknown field');
  expectAimassError(() => new Tokenizer({ analyzer: 'sentence' } as never), 'INVALID_SPEC', /^tokenizer\.analyzer:/);
});

test('a non-string text is an INVALID_ARGUMENT', () => {
  expectAimassError(() => new Tokenizer().tokenize(null as never), 'INVALID_ARGUMENT', 'takes a string, got null');
});
