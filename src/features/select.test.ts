import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectAimassError, problemsOf } from '../../test/support/aimass-errors.js';
import { FeatureSelector, chi2Scores, csrFromDense, csrToDense, denseFromRows, mutualInfoScores, rankByScore, varianceScores } from './index.js';

// columns: perfect (present exactly in class 1), common (everywhere), noise (once per class), rare (once, class 0)
const X = denseFromRows([
  [0, 1, 1, 1],
  [0, 1, 0, 0],
  [0, 1, 0, 0],
  [0, 1, 0, 0],
  [1, 1, 1, 0],
  [1, 1, 0, 0],
  [1, 1, 0, 0],
  [1, 1, 0, 0],
]);
const Y = [0, 0, 0, 0, 1, 1, 1, 1];

const close = (actual: ArrayLike<number>, expected: number[]) =>
  expected.forEach((e, j) => assert.ok(Math.abs(actual[j] - e) < 1e-12, `column ${j}: got ${actual[j]}, expected ${e}`));

test('chi² matches the hand computation and ranks the perfect predictor first', () => {
  // perfect: column sum 4, expected 2 per class, observed 0 and 4 → 2²/2 + 2²/2 = 4
  // common: observed 4 and 4 = expected → 0; noise: 1 and 1 → 0
  // rare: column sum 1, expected 0.5 per class, observed 1 and 0 → 0.25/0.5 + 0.25/0.5 = 1
  const scores = chi2Scores(X, Y);
  close(scores, [4, 0, 0, 1]);
  assert.deepEqual(Array.from(rankByScore(scores)), [0, 3, 1, 2], 'ties keep the lower column first');
  close(chi2Scores(csrFromDense(X), Y), [4, 0, 0, 1]);
});

test('mutual information of present/absent with the class, in nats', () => {
  // perfect determines the (balanced) class: I = H(class) = ln 2; common and noise are independent: 0
  // rare, n = 8: (1/8) ln(8·1/(1·4)) + (3/8) ln(8·3/(7·4)) + (4/8) ln(8·4/(7·4))
  const rare = (1 / 8) * Math.log(2) + (3 / 8) * Math.log(24 / 28) + (4 / 8) * Math.log(8 / 7);
  close(mutualInfoScores(X, Y), [Math.LN2, 0, 0, rare]);
  close(mutualInfoScores(csrFromDense(X), ['ham', 'ham', 'ham', 'ham', 'spam', 'spam', 'spam', 'spam']), [Math.LN2, 0, 0, rare]);
  // three classes work the same way; labels can be bigints as a Dataset stores them
  const three = mutualInfoScores(denseFromRows([[1], [1], [0], [0], [0], [0]]), BigInt64Array.from([0n, 0n, 1n, 1n, 2n, 2n]));
  // present ⇔ class 0: I = H(present) = -(1/3) ln(1/3) - (2/3) ln(2/3)
  close(three, [-(1 / 3) * Math.log(1 / 3) - (2 / 3) * Math.log(2 / 3)]);
});

test('variance threshold drops constant columns; CSR and dense agree', () => {
  // population variances: perfect 0.25, common 0, noise 2/8·6/8 = 0.1875, rare 1/8·7/8 = 0.109375
  close(varianceScores(X), [0.25, 0, 0.1875, 0.109375]);
  close(varianceScores(csrFromDense(X)), [0.25, 0, 0.1875, 0.109375]);
  const dropConstant = FeatureSelector.fit(csrFromDense(X), undefined, { method: 'variance' });
  assert.deepEqual(Array.from(dropConstant.columns), [0, 2, 3]);
  assert.deepEqual(Array.from(FeatureSelector.fit(X, undefined, { method: 'variance', threshold: 0.2 }).columns), [0]);
});

test('top k keeps the best columns in their original order; a threshold keeps scores above it', () => {
  const top2 = FeatureSelector.fit(X, Y, { method: 'chi2', k: 2 });
  assert.deepEqual(Array.from(top2.columns), [0, 3]);
  assert.deepEqual(Array.from(top2.scores), [4, 1]);
  assert.deepEqual(top2.names(['perfect', 'common', 'noise', 'rare']), ['perfect', 'rare']);
  const sparse = top2.transform(csrFromDense(X));
  assert.deepEqual(Array.from(csrToDense(sparse).data), [0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
  assert.deepEqual(top2.transform(X), csrToDense(sparse));
  assert.deepEqual(Array.from(FeatureSelector.fit(X, Y, { method: 'mutual_info', threshold: 0.5 }).columns), [0]);
  assert.equal(FeatureSelector.fit(X, Y, { method: 'chi2', k: 99 }).width, 4, 'k above the width keeps everything');
  assert.equal(FeatureSelector.fit(X, Y, { method: 'chi2', k: 'all' }).width, 4);
});

test('a fitted selector survives JSON and checks widths', () => {
  const s = FeatureSelector.fit(X, Y, { method: 'mutual_info', k: 2 });
  const saved = JSON.parse(JSON.stringify(s.toJSON()));
  assert.deepEqual(saved, { method: 'mutual_info', k: 2, threshold: null, inputWidth: 4, columns: [0, 3], scores: Array.from(s.scores) });
  const loaded = FeatureSelector.fromJSON(saved);
  assert.deepEqual(loaded.transform(csrFromDense(X)), s.transform(csrFromDense(X)));
  expectAimassError(() => loaded.transform(denseFromRows([[1, 2, 3]])), 'SHAPE_MISMATCH', 'fitted on 4 columns but got 3');
  expectAimassError(() => FeatureSelector.fromJSON({ ...saved, columns: [3, 0] }), 'INVALID_SPEC', 'columns must increase');
});

test('bad specs and inputs are reported', () => {
  const e = expectAimassError(() => FeatureSelector.fit(X, Y, { method: 'chi2', k: 2, threshold: 1 }), 'INVALID_SPEC', 'give either k or threshold, not both');
  assert.equal(problemsOf(e).length, 1);
  expectAimassError(() => FeatureSelector.fit(X, Y, { method: 'chi2' }), 'INVALID_SPEC', 'chi2 selection needs k');
  expectAimassError(() => FeatureSelector.fit(X, Y, { method: 'anova', k: 0 } as never), 'INVALID_SPEC', /^selector\.method/);
  expectAimassError(() => FeatureSelector.fit(X, Y, { method: 'chi2', k: 0 }), 'INVALID_SPEC', 'selector.k: expected a whole number');
  expectAimassError(() => FeatureSelector.fit(X, undefined, { method: 'chi2', k: 1 }), 'INVALID_ARGUMENT', 'pass one label per row');
  expectAimassError(() => FeatureSelector.fit(X, [0, 1], { method: 'chi2', k: 1 }), 'INVALID_ARGUMENT', '2 labels for 8 rows');
  expectAimassError(() => chi2Scores(denseFromRows([[1], [-1]]), [0, 1]), 'INVALID_ARGUMENT', 'row 1, column 0 is -1');
  expectAimassError(() => mutualInfoScores(denseFromRows([[NaN], [1]]), [0, 1]), 'INVALID_ARGUMENT', 'is NaN');
  expectAimassError(() => FeatureSelector.fit(X, Y, { method: 'chi2', threshold: 10 }), 'INVALID_ARGUMENT', 'removed all 4 columns (the highest score is 4)');
});
