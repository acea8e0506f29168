// Chinese and English text through the whole chain (tokenize → TF-IDF → select), on small labelled corpora
// whose discriminative terms are known: the selected features must include them, and transforming new text
// must light up the same columns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeaturePipeline, FeatureSelector, TfidfVectorizer, Tokenizer, csrRow } from './index.js';

const CHINESE = [
  ['这场足球比赛非常精彩，球队表现很好', 'sports'],
  ['球队在昨天的比赛中赢得了冠军', 'sports'],
  ['足球运动员每天训练，准备下一场比赛', 'sports'],
  ['篮球比赛今晚开始，球迷很期待', 'sports'],
  ['教练说球队需要更多训练', 'sports'],
  ['这场比赛的观众超过五万人', 'sports'],
  ['股票市场今天大幅上涨，投资者很高兴', 'finance'],
  ['银行宣布调整贷款利率，股票价格下跌', 'finance'],
  ['投资者关注股票市场的风险', 'finance'],
  ['经济增长推动股票市场上涨', 'finance'],
  ['央行的利率政策影响投资', 'finance'],
  ['分析师认为市场明年会继续增长', 'finance'],
] as const;

const ENGLISH = [
  ['WIN a FREE iPhone now! Click the link to claim your prize.', 'spam'],
  ['Congratulations, you have won a cash prize. Claim it free today!', 'spam'],
  ['Limited offer: free pills, click here now', 'spam'],
  ['You are a winner! Free entry to win cash - click to claim', 'spam'],
  ['URGENT: your account won a prize, click to verify and claim it', 'spam'],
  ['Are we still meeting for lunch tomorrow?', 'ham'],
  ["Please review the attached project report before Monday's meeting.", 'ham'],
  ['The team meeting is moved to 3pm, see the agenda', 'ham'],
  ['Thanks for the report, I added my comments to the project plan', 'ham'],
  ['Can you send me the slides from the project meeting?', 'ham'],
] as const;

function selectTerms(corpus: readonly (readonly [string, string])[], method: 'chi2' | 'mutual_info', k: number): string[] {
  const docs = corpus.map(([text]) => text);
  const labels = corpus.map(([, label]) => label);
  const vectorizer = new TfidfVectorizer(new Tokenizer({ stopWords: 'english' }), { minDf: 2, sublinearTf: true });
  const x = vectorizer.fitTransform(docs);
  const selector = FeatureSelector.fit(x, labels, { method, k });
  return selector.names(vectorizer.vocabulary);
}

// a topic word and its two characters carry the same signal, so k leaves room for all three
test('Chinese: tokenize → TF-IDF → select keeps the topic words 比赛 (match), 球队 (team), 股票 (stock), 市场 (market)', () => {
  for (const method of ['chi2', 'mutual_info'] as const) {
    const kept = selectTerms(CHINESE, method, 12);
    for (const term of ['比赛', '球队', '股票', '市场']) assert.ok(kept.includes(term), `${method} kept ${kept.join(' ')}; missing ${term}`);
    // function characters shared by both topics are not among them
    for (const term of ['的', '很']) assert.ok(!kept.includes(term), `${method} kept ${term}`);
  }
});

test('English: tokenize → TF-IDF → select keeps free, click, claim and meeting; never a stop word', () => {
  for (const method of ['chi2', 'mutual_info'] as const) {
    const kept = selectTerms(ENGLISH, method, 6);
    for (const term of ['free', 'click', 'claim', 'meeting']) assert.ok(kept.includes(term), `${method} kept ${kept.join(' ')}; missing ${term}`);
    for (const term of ['the', 'to', 'a']) assert.ok(!kept.includes(term));
  }
});

test('both languages in one saved pipeline: new text lights up the selected columns', () => {
  const corpus = [...CHINESE, ...ENGLISH];
  const docs = corpus.map(([text]) => text);
  const labels = corpus.map(([, label]) => label);
  const pipeline = FeaturePipeline.fromJSON(
    JSON.parse(
      JSON.stringify(
        FeaturePipeline.fit(
          { tokenizer: { stopWords: 'english' }, vectorizer: { type: 'tfidf', minDf: 2, sublinearTf: true }, selector: { method: 'chi2', k: 30 }, normalizer: { kind: 'l2' } },
          docs,
          labels,
        ).toJSON(),
      ),
    ),
  );
  const names = pipeline.featureNames();
  const x = pipeline.transform(['今天的股票市场', 'free prize, click now', '']);
  const termsOf = (r: number) => Array.from(csrRow(x, r).indices, (j) => names[j]);
  assert.ok(termsOf(0).includes('股票') && termsOf(0).includes('市场'), termsOf(0).join(' '));
  assert.ok(termsOf(1).includes('free') && termsOf(1).includes('click'), termsOf(1).join(' '));
  assert.deepEqual(termsOf(2), []);
});
