import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectAimassError, problemsOf } from '../../test/support/aimass-errors.js';
import { countEmptyRows, csrToDense, TfidfVectorizer, Tokenizer, type CsrMatrix } from './index.js';

const CORPUS = ['apple banana apple', 'banana cherry', 'cherry cherry cherry date'];

function rows(m: CsrMatrix): number[][] {
  const d = csrToDense(m);
  return Array.from({ length: d.rows }, (_, r) => Array.from(d.data.subarray(r * d.cols, (r + 1) * d.cols)));
}

function assertClose(actual: number[][], expected: number[][], tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((row, r) =>
    row.forEach((v, c) => assert.ok(Math.abs(v - expected[r][c]) <= tolerance, `(${r}, ${c}): got ${v}, expected ${expected[r][c]}`)),
  );
}

// n = 3 documents; df: apple 1, banana 2, cherry 2, date 1.
// smooth idf = ln((1 + n) / (1 + df)) + 1: apple, date = ln 2 + 1 = 1.6931472; banana, cherry = ln(4/3) + 1 = 1.2876821
const IDF_SMOOTH = [1.6931472, 1.2876821, 1.2876821, 1.6931472];

test('TF-IDF with smooth idf and l2 rows matches the hand computation', () => {
  const v = new TfidfVectorizer();
  const x = v.fitTransform(CORPUS);
  assert.deepEqual(v.vocabulary, ['apple', 'banana', 'cherry', 'date']);
  Array.from(v.idfWeights!).forEach((w, j) => assert.ok(Math.abs(w - IDF_SMOOTH[j]) < 1e-7));
  // d0: apple 2 × 1.6931472 = 3.3862944, banana 1.2876821; norm √(11.4669902 + 1.6581252) = 3.6228602
  // d1: banana and cherry equal weights → 1/√2 each
  // d2: cherry 3 × 1.2876821 = 3.8630462, date 1.6931472; norm 4.2178249
  assertClose(rows(x), [
    [0.934702, 0.3554325, 0, 0],
    [0, 0.7071068, 0.7071068, 0],
    [0, 0, 0.9158903, 0.4014286],
  ]);
});

test('sublinear tf uses 1 + ln(tf)', () => {
  const x = new TfidfVectorizer({}, { sublinearTf: true }).fitTransform(CORPUS);
  // d0: apple (1 + ln 2) × 1.6931472 = 2.8667474, banana 1.2876821; norm 3.1426681
  // d2: cherry (1 + ln 3) × 1.2876821 = 2.7023418, date 1.6931472; norm 3.1889541
  assertClose(rows(x), [
    [0.9122016, 0.4097416, 0, 0],
    [0, 0.7071068, 0.7071068, 0],
    [0, 0, 0.8474085, 0.5309415],
  ]);
});

test('without smoothing idf = ln(n / df) + 1; counts and binary counts without idf or norm', () => {
  const plain = new TfidfVectorizer({}, { smoothIdf: false });
  plain.fit(CORPUS);
  // apple: ln 3 + 1 = 2.0986123; banana: ln 1.5 + 1 = 1.4054651
  assertClose([Array.from(plain.idfWeights!)], [[2.0986123, 1.4054651, 1.4054651, 2.0986123]]);
  const counts = new TfidfVectorizer({}, { useIdf: false, norm: 'none' }).fitTransform(CORPUS);
  assert.deepEqual(rows(counts), [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 3, 1]]);
  const binary = new TfidfVectorizer({}, { useIdf: false, norm: 'none', binary: true }).fitTransform(CORPUS);
  assert.deepEqual(rows(binary), [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]);
  const l1 = new TfidfVectorizer({}, { useIdf: false, norm: 'l1' }).fitTransform(CORPUS);
  assertClose(rows(l1), [[2 / 3, 1 / 3, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0.75, 0.25]]);
});

test('fitTransform gives exactly the bits of fit then transform; unknown terms are ignored', () => {
  const a = new TfidfVectorizer({}, { sublinearTf: true });
  const fitted = a.fitTransform(CORPUS);
  const b = new TfidfVectorizer({}, { sublinearTf: true }).fit(CORPUS);
  assert.deepEqual(b.transform(CORPUS), fitted);
  const x = b.transform(['durian apple elderberry', 'durian', '']);
  assert.deepEqual(Array.from(x.indices), [0]);
  assert.deepEqual(Array.from(x.values), [1]);
  assert.equal(countEmptyRows(x), 2);
  assert.equal(a.columnOf('cherry'), 2);
  assert.equal(a.columnOf('durian'), -1);
});

test('empty documents give all-zero rows, still count as documents, and are reported', () => {
  const v = new TfidfVectorizer();
  const x = v.fitTransform(['', 'apple', '  ...  ', 'apple banana']);
  assert.equal(x.rows, 4);
  assert.equal(countEmptyRows(x), 2);
  assert.equal(v.report?.emptyDocuments, 2);
  assert.equal(v.report?.documents, 4);
  // n = 4 documents, apple in 2: ln(5 / 3) + 1
  assert.ok(Math.abs(v.idfWeights![0] - (Math.log(5 / 3) + 1)) < 1e-12);
});

test('minDf and maxDf as counts and fractions, with a report of what each removed', () => {
  const docs = ['a b c', 'a b', 'a d', 'a e'];
  const min2 = new TfidfVectorizer({}, { minDf: 2 }).fit(docs);
  assert.deepEqual(min2.vocabulary, ['a', 'b']);
  assert.equal(min2.report?.removedByMinDf, 3);
  assert.deepEqual(new TfidfVectorizer({}, { minDf: 0.5 }).fit(docs).vocabulary, ['a', 'b']);
  assert.deepEqual(new TfidfVectorizer({}, { minDf: { fraction: 0.3 } }).fit(docs).vocabulary, ['a', 'b']);
  const max = new TfidfVectorizer({}, { maxDf: 0.75 }).fit(docs);
  assert.deepEqual(max.vocabulary, ['b', 'c', 'd', 'e']);
  assert.equal(max.report?.removedByMaxDf, 1);
  assert.deepEqual(new TfidfVectorizer({}, { maxDf: { count: 1 } }).fit(docs).vocabulary, ['c', 'd', 'e']);
  assert.deepEqual(new TfidfVectorizer({}, { maxDf: { fraction: 1 } }).fit(docs).vocabulary, ['a', 'b', 'c', 'd', 'e']);
});

test('maxFeatures keeps the most frequent terms, ties broken by the term, columns in term order', () => {
  // totals: z 4, y 2, b 2, a 2, c 1
  const docs = ['z z y b', 'z a', 'z a y b c'];
  const v = new TfidfVectorizer({}, { maxFeatures: 3 }).fit(docs);
  assert.deepEqual(v.vocabulary, ['a', 'b', 'z']);
  assert.equal(v.report?.removedByMaxFeatures, 2);
  // the same corpus in another order keeps the same vocabulary
  assert.deepEqual(new TfidfVectorizer({}, { maxFeatures: 3 }).fit([...docs].reverse()).vocabulary, ['a', 'b', 'z']);
});

test('an empty vocabulary names the setting that removed everything', () => {
  expectAimassError(() => new TfidfVectorizer({}, { minDf: 3 }).fit(CORPUS), 'INVALID_ARGUMENT', /vocabulary is empty.*minDf \(3 document\(s\)\) removed 4 \(the most common term is in 2 of 3 documents\); relax minDf/);
  expectAimassError(() => new TfidfVectorizer({}, { maxDf: 1 }).fit(['a b', 'a b']), 'INVALID_ARGUMENT', 'relax maxDf', 'maxDf 1 is a count');
  expectAimassError(() => new TfidfVectorizer({ stopWords: 'english' }).fit(['', 'the and of', '!!!']), 'INVALID_ARGUMENT', 'gave no token at all', 'tokenizer options');
  expectAimassError(() => new TfidfVectorizer({}, { minDf: 3, maxDf: 2 }).fit(CORPUS), 'INVALID_ARGUMENT', 'allows fewer documents than minDf');
  expectAimassError(() => new TfidfVectorizer().fit([]), 'INVALID_ARGUMENT', 'no training documents');
});

test('invalid options are INVALID_SPEC listing every problem', () => {
  const e = expectAimassError(
    () => new TfidfVectorizer({}, { minDf: -1, maxDf: 1.5, maxFeatures: 0, norm: 'l3', idf: true } as never),
    'INVALID_SPEC',
    /^vectorizer\.minDf/,
    /^vectorizer\.maxDf/,
    /^vectorizer\.maxFeatures/,
    /^vectorizer\.norm/,
    'vectorizer.idf: unknown field',
  );
  assert.equal(problemsOf(e).length, 5, problemsOf(e).join('\n'));
  expectAimassError(() => new TfidfVectorizer({ analyzer: 'letters' } as never), 'INVALID_SPEC', /^tokenizer\.analyzer/);
});

test('bad documents and use before fitting are INVALID_ARGUMENT', () => {
  expectAimassError(() => new TfidfVectorizer().fit(['ok', null, 3] as never), 'INVALID_ARGUMENT', 'training documents[1] is null', 'training documents[2] is number');
  expectAimassError(() => new TfidfVectorizer().transform(['x']), 'INVALID_ARGUMENT', 'not fitted');
});

test('a fitted vectorizer survives JSON exactly', () => {
  const tokenizer = new Tokenizer({ ngramRange: [1, 2] });
  const v = new TfidfVectorizer(tokenizer, { sublinearTf: true });
  v.fit(CORPUS);
  const saved = JSON.parse(JSON.stringify(v.toJSON()));
  const loaded = TfidfVectorizer.fromJSON(saved, tokenizer);
  const docs = [...CORPUS, 'apple cherry banana apple', 'nothing known'];
  assert.deepEqual(loaded.transform(docs), v.transform(docs));
  assert.deepEqual(loaded.vocabulary, v.vocabulary);
  expectAimassError(() => TfidfVectorizer.fromJSON({ ...saved, idf: saved.idf.slice(1) }, tokenizer), 'INVALID_SPEC', 'vectorizer.idf: expected 9 values');
  expectAimassError(() => TfidfVectorizer.fromJSON({ ...saved, vocabulary: ['a', 'a'], idf: [1, 1] }, tokenizer), 'INVALID_SPEC', 'appears twice');
});

test('CJK text is vectorized through the same path', () => {
  const v = new TfidfVectorizer({}, { useIdf: false, norm: 'none' });
  const x = v.fitTransform(['机器学习', '学习 NLP']);
  assert.deepEqual(v.vocabulary, ['nlp', '习', '器', '器学', '学', '学习', '机', '机器']);
  assert.deepEqual(rows(x), [
    [0, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 0, 0, 1, 1, 0, 0],
  ]);
});
