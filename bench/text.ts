// npm run bench:text — TF-IDF (sublinear tf, min_df 2, 50,000 max features) + logistic regression (C = 10) on
// the reference SpamAssassin file, every 5th line held out, against scikit-learn (../shared/bench/
// peer_sklearn_text.py) in the same run. Fit time covers vectorizing and fitting, as the peer's does.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TfidfVectorizer } from '../src/features/index.js';
import { LogisticRegression } from '../src/train/index.js';
import { printResult, referenceData, round, runPeer } from './common.js';

const file = join(referenceData(), 'spam.jsonl');
const rows = readFileSync(file, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { label: string; text: string });
const train = rows.filter((_, i) => i % 5 !== 0);
const test = rows.filter((_, i) => i % 5 === 0);
const yTrain = Int32Array.from(train, (r) => (r.label === 'spam' ? 1 : 0));
const yTest = Int32Array.from(test, (r) => (r.label === 'spam' ? 1 : 0));

let t = performance.now();
// scikit-learn's defaults: lowercase words of 2+ characters, no stop words
const vectorizer = new TfidfVectorizer({ stopWords: 'none', minTokenLength: 2 }, { sublinearTf: true, minDf: 2, maxFeatures: 50_000 });
const xTrain = vectorizer.fitTransform(train.map((r) => r.text));
const model = LogisticRegression.fit(xTrain, yTrain, 2, { C: 10, maxIterations: 1000 });
const fitS = (performance.now() - t) / 1000;

t = performance.now();
const pred = model.predict(vectorizer.transform(test.map((r) => r.text)));
const predictS = (performance.now() - t) / 1000;

let tp = 0;
let fp = 0;
let fn = 0;
let correct = 0;
pred.forEach((p, i) => {
  if (p === yTest[i]) correct++;
  if (p === 1 && yTest[i] === 1) tp++;
  if (p === 1 && yTest[i] === 0) fp++;
  if (p === 0 && yTest[i] === 1) fn++;
});
const f1 = (2 * tp) / (2 * tp + fp + fn);
const sk = runPeer('peer_sklearn_text.py', [file]);

printResult({
  bench: 'text',
  fit_s: round(fitS, 2),
  sklearn_fit_s: sk.fit_s,
  fit_time_ratio: round(fitS / sk.fit_s, 2),
  acc: round(correct / test.length, 4),
  sklearn_acc: sk.acc,
  f1: round(f1, 4),
  sklearn_f1: sk.f1_spam,
  predict_docs_per_s: round(test.length / predictS),
  sklearn_predict_docs_per_s: sk.predict_docs_per_s,
  features: vectorizer.width,
  lbfgs_iterations: model.fit.iterations,
  n_train: train.length,
  n_test: test.length,
});
