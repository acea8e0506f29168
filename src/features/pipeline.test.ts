import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectAimassError, problemsOf } from '../../test/support/aimass-errors.js';
import { blobs } from '../../test/support/synthetic.js';
import {
  FEATURES_FORMAT,
  FeaturePipeline,
  TablePipeline,
  TfidfVectorizer,
  loadFeaturePipeline,
  tableFromDataset,
  type CsrMatrix,
  type DenseMatrix,
  type TextPipelineSpecInput,
} from './index.js';

const TRAIN = [
  'Win a FREE prize now!!! Click here to claim your prize.',
  'Cheap meds, free shipping, limited offer, click now',
  'Meeting moved to 3pm; the agenda is attached.',
  'Can you review the quarterly report before the meeting?',
  '恭喜您中奖了，点击领取免费奖品',
  '明天下午三点开会，请准备报告',
  '',
];
const LABELS = ['spam', 'spam', 'ham', 'ham', 'spam', 'ham', 'ham'];
const LATER = ['FREE prize inside', 'report for the meeting', '免费奖品', 'nothing we know', ''];

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function assertSameBits(a: CsrMatrix, b: CsrMatrix): void {
  assert.deepEqual([a.rows, a.cols], [b.rows, b.cols]);
  assert.ok(bytes(a.indptr).equals(bytes(b.indptr)), 'indptr differs');
  assert.ok(bytes(a.indices).equals(bytes(b.indices)), 'indices differ');
  assert.ok(bytes(a.values).equals(bytes(b.values)), 'values differ');
}

/** Saves as pipeline.json would be written and read: JSON text in between. */
const roundTrip = (obj: unknown): unknown => JSON.parse(JSON.stringify(obj));

test('a TF-IDF pipeline with selection and normalization gives the same bits after save and load', () => {
  const spec: TextPipelineSpecInput = {
    tokenizer: { stopWords: 'english', ngramRange: [1, 2] },
    vectorizer: { type: 'tfidf', sublinearTf: true },
    selector: { method: 'chi2', k: 20 },
    normalizer: { kind: 'l2' },
  };
  const { pipeline, features } = FeaturePipeline.fitTransform(spec, TRAIN, LABELS);
  assert.equal(features.cols, 20);
  assert.equal(pipeline.width, 20);
  const saved = roundTrip(pipeline.toJSON()) as Record<string, unknown>;
  assert.equal(saved.format, FEATURES_FORMAT);
  assert.equal(saved.kind, 'text');
  const loaded = FeaturePipeline.fromJSON(saved);
  assertSameBits(loaded.transform(TRAIN), features);
  assertSameBits(loaded.transform(LATER), pipeline.transform(LATER));
  assert.deepEqual(loaded.featureNames(), pipeline.featureNames());
  assert.deepEqual(roundTrip(loaded.toJSON()), saved, 'saving a loaded pipeline writes the same file');
  // fitting again from the same spec and data is deterministic
  assert.deepEqual(roundTrip(FeaturePipeline.fit(spec, TRAIN, LABELS).toJSON()), saved);
});

test('a hashing pipeline and a char n-gram pipeline round-trip too', () => {
  for (const spec of [
    { vectorizer: { type: 'hashing', nFeatures: 256, alternateSign: false }, selector: { method: 'mutual_info', k: 10 }, normalizer: { kind: 'maxabs' } },
    { tokenizer: { analyzer: 'char', ngramRange: [2, 3], withinWords: true }, vectorizer: { type: 'tfidf', minDf: 1 }, normalizer: { kind: 'standard', withMean: false } },
  ] as TextPipelineSpecInput[]) {
    const { pipeline, features } = FeaturePipeline.fitTransform(spec, TRAIN, LABELS);
    const loaded = loadFeaturePipeline(roundTrip(pipeline.toJSON()));
    assert.ok(loaded instanceof FeaturePipeline);
    assertSameBits(loaded.transform(TRAIN), features);
    assertSameBits(loaded.transform(LATER), pipeline.transform(LATER));
  }
});

test('the saved vocabulary and idf are those of the vectorizer', () => {
  const { pipeline } = FeaturePipeline.fitTransform({ vectorizer: { type: 'tfidf' } }, ['b a', 'a c']);
  const saved = roundTrip(pipeline.toJSON()) as { vectorizer: { vocabulary: string[]; idf: number[] } };
  assert.deepEqual(saved.vectorizer.vocabulary, ['a', 'b', 'c']);
  const direct = new TfidfVectorizer().fit(['b a', 'a c']);
  assert.deepEqual(saved.vectorizer.idf, Array.from(direct.idfWeights!));
  assert.equal(pipeline.selector, null);
});

test('an invalid pipeline spec lists every problem before any work', () => {
  const e = expectAimassError(
    () =>
      FeaturePipeline.fit(
        {
          tokenizer: { minTokenLength: 0 },
          vectorizer: { type: 'tfidf', maxFeatures: -5 },
          selector: { method: 'chi2' },
          normalizer: { kind: 'minmax' },
          extra: true,
        } as never,
        TRAIN,
        LABELS,
      ),
    'INVALID_SPEC',
    /^tokenizer\.minTokenLength/,
    /^vectorizer\.maxFeatures/,
    'chi2 selection needs k',
    'extra: unknown field',
  );
  assert.ok(problemsOf(e).length >= 4, problemsOf(e).join('\n'));
  expectAimassError(() => FeaturePipeline.fit({ normalizer: { kind: 'standard' } }, TRAIN), 'INVALID_SPEC', 'text features are sparse');
  expectAimassError(() => FeaturePipeline.fit({ selector: { method: 'chi2', k: 3 } }, TRAIN), 'INVALID_ARGUMENT', 'needs class labels');
  expectAimassError(() => FeaturePipeline.fit({ vectorizer: { type: 'tfidf', minDf: 5 } }, TRAIN), 'INVALID_ARGUMENT', 'vocabulary is empty', 'minDf');
});

test('loading refuses other formats and inconsistent files, naming the problem', () => {
  const saved = roundTrip(FeaturePipeline.fit({ selector: { method: 'chi2', k: 5 } }, TRAIN, LABELS).toJSON()) as Record<string, any>;
  expectAimassError(() => FeaturePipeline.fromJSON({ ...saved, format: 'aimass-features/2' }), 'UNSUPPORTED', 'reads only "aimass-features/1"');
  expectAimassError(() => FeaturePipeline.fromJSON({ ...saved, format: undefined }), 'INVALID_SPEC', 'no "format" field');
  expectAimassError(() => FeaturePipeline.fromJSON('pipeline'), 'INVALID_SPEC', 'must be a JSON object');
  expectAimassError(() => FeaturePipeline.fromJSON({ ...saved, selector: { ...saved.selector, inputWidth: 3, columns: [0, 1] , scores: [1, 1] } }), 'INVALID_SPEC', 'selector.inputWidth: is 3');
  expectAimassError(() => FeaturePipeline.fromJSON({ ...saved, vectorizer: { ...saved.vectorizer, vocabulary: [] } }), 'INVALID_SPEC', /^vectorizer\.vocabulary/);
  expectAimassError(() => loadFeaturePipeline({ ...saved, kind: 'image' }), 'INVALID_SPEC', 'kind: expected "text" or "table"');
});

test('a table pipeline picks columns by name, normalizes, and round-trips', () => {
  const data = blobs(40, 3, 2, 11);
  const table = tableFromDataset({ ...data, featureNames: ['a', 'b', 'c'] });
  const pipeline = TablePipeline.fit({ columns: ['c', 'a'], normalizer: { kind: 'standard' } }, table);
  const x = pipeline.transform(table);
  assert.deepEqual([x.rows, x.cols], [40, 2]);
  for (let c = 0; c < 2; c++) {
    let mean = 0;
    for (let r = 0; r < 40; r++) mean += x.data[r * 2 + c];
    assert.ok(Math.abs(mean / 40) < 1e-5, 'centered');
  }
  const saved = roundTrip(pipeline.toJSON());
  assert.deepEqual((saved as { columns: string[] }).columns, ['c', 'a']);
  const loaded = loadFeaturePipeline(saved);
  assert.ok(loaded instanceof TablePipeline);
  const again: DenseMatrix = loaded.transform(table);
  assert.ok(bytes(again.data).equals(bytes(x.data)));
  // request-style records, with every problem listed
  const records = [{ a: table.data[0], b: 0, c: table.data[2] }];
  assert.ok(bytes(loaded.transformRecords(records).data).equals(bytes(x.data.subarray(0, 2))));
  expectAimassError(() => loaded.transformRecords([{ a: 1 }, { a: 'x', c: 2 }]), 'INVALID_ARGUMENT', 'records[0].c: expected a finite number, got nothing', 'records[1].a: expected a finite number, got "x"');
  expectAimassError(() => loaded.transform({ columns: ['a', 'b'], rows: 1, data: new Float32Array(2) }), 'INVALID_ARGUMENT', 'lacks column(s) "c"');
  expectAimassError(() => TablePipeline.fit({ columns: ['a', 'a'] }, table), 'INVALID_SPEC', '"a" listed more than once');
});
