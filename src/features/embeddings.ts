/**
 * Word embeddings: word2vec trained here (skip-gram or CBOW with negative sampling, frequent-word subsampling
 * and a linearly decaying learning rate, in a plain TypeScript loop over Float32Arrays: one thread, seeded, so
 * the same corpus and seed give the same vectors), loading of pre-trained vectors from word2vec or GloVe text
 * files, and document vectors as the mean of their words' vectors.
 *
 * Imports only core.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { AimassError, Rng, parseWith } from '../core/index.js';
import { z } from 'zod';
import type { DenseMatrix } from './sparse.js';

export const Word2VecOptionsSchema = z
  .object({
    mode: z.enum(['skipgram', 'cbow']).default('skipgram'),
    dim: z.number().int().min(1).max(4096).default(100),
    /** Largest distance between a word and its context words (the window shrinks at random, as word2vec's). */
    window: z.number().int().min(1).max(50).default(5),
    /** Negative samples per positive pair. */
    negative: z.number().int().min(1).max(64).default(5),
    /** Words seen fewer times are left out. */
    minCount: z.number().int().min(1).default(5),
    epochs: z.number().int().min(1).max(1000).default(5),
    lr: z.number().positive().max(1).default(0.025),
    /** Frequent words are dropped with probability 1 − √(t/f) (0 disables). */
    subsample: z.number().min(0).max(1).default(1e-3),
    seed: z.number().int().min(0).default(1),
  })
  .strict();
export type Word2VecOptions = z.infer<typeof Word2VecOptionsSchema>;

export class WordVectors {
  readonly index: Map<string, number>;

  constructor(
    readonly words: string[],
    readonly dim: number,
    /** words.length × dim, row-major. */
    readonly vectors: Float32Array,
  ) {
    if (vectors.length !== words.length * dim) throw new AimassError('INVALID_ARGUMENT', `${words.length} words of ${dim} dimensions need ${words.length * dim} values, got ${vectors.length}`);
    this.index = new Map(words.map((w, i) => [w, i]));
  }

  vector(word: string): Float32Array | undefined {
    const i = this.index.get(word);
    return i === undefined ? undefined : this.vectors.subarray(i * this.dim, (i + 1) * this.dim);
  }

  /** Cosine similarity of two known words (undefined when either is unknown). */
  similarity(a: string, b: string): number | undefined {
    const u = this.vector(a);
    const v = this.vector(b);
    return u && v ? cosine(u, v) : undefined;
  }

  /** The k words most similar to `word` by cosine, best first. */
  mostSimilar(word: string, k = 10): { word: string; similarity: number }[] {
    const u = this.vector(word);
    if (!u) throw new AimassError('NOT_FOUND', `"${word}" has no vector`);
    const scored: { word: string; similarity: number }[] = [];
    for (let i = 0; i < this.words.length; i++) {
      if (this.words[i] === word) continue;
      scored.push({ word: this.words[i], similarity: cosine(u, this.vectors.subarray(i * this.dim, (i + 1) * this.dim)) });
    }
    return scored.sort((a, b) => b.similarity - a.similarity).slice(0, k);
  }

  /** Each document's mean word vector (zeros when none of its tokens is known); `tokens` per document. */
  embedDocuments(tokens: string[][]): DenseMatrix {
    const data = new Float32Array(tokens.length * this.dim);
    tokens.forEach((doc, r) => {
      let n = 0;
      const row = data.subarray(r * this.dim, (r + 1) * this.dim);
      for (const t of doc) {
        const v = this.vector(t);
        if (!v) continue;
        for (let j = 0; j < this.dim; j++) row[j] += v[j];
        n++;
      }
      if (n) for (let j = 0; j < this.dim; j++) row[j] /= n;
    });
    return { rows: tokens.length, cols: this.dim, data };
  }

  /** word2vec's text format: a "count dim" header, then one "word v1 v2 …" line per word. */
  toText(): string {
    const lines = [`${this.words.length} ${this.dim}`];
    this.words.forEach((w, i) => lines.push(`${w} ${Array.from(this.vectors.subarray(i * this.dim, (i + 1) * this.dim), (x) => x.toPrecision(7)).join(' ')}`));
    return `${lines.join('\n')}\n`;
  }
}

function cosine(u: Float32Array, v: Float32Array): number {
  let uv = 0;
  let uu = 0;
  let vv = 0;
  for (let j = 0; j < u.length; j++) {
    uv += u[j] * v[j];
    uu += u[j] * u[j];
    vv += v[j] * v[j];
  }
  return uu && vv ? uv / Math.sqrt(uu * vv) : 0;
}

/**
 * Reads pre-trained vectors from a word2vec text file (first line "count dim") or a GloVe file (no header).
 * Malformed lines fail the load, each listed with its line number.
 */
export async function loadWordVectors(path: string): Promise<WordVectors> {
  const words: string[] = [];
  const values: number[] = [];
  const problems: string[] = [];
  let dim = 0;
  let line = 0;
  let declared: { count: number; dim: number } | null = null;
  const input = createReadStream(path, { encoding: 'utf8' });
  input.on('error', () => {});
  try {
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      const parts = text.trim().split(/\s+/);
      if (parts.length === 1 && parts[0] === '') continue;
      if (line === 1 && parts.length === 2 && /^\d+$/.test(parts[0]) && /^\d+$/.test(parts[1])) {
        declared = { count: Number(parts[0]), dim: Number(parts[1]) };
        dim = declared.dim;
        continue;
      }
      const vec = parts.slice(1).map(Number);
      if (!dim) dim = vec.length;
      if (vec.length !== dim || vec.some((v) => !Number.isFinite(v))) {
        if (problems.length < 20) problems.push(`line ${line}: expected a word and ${dim} numbers, got ${vec.length} value(s)${vec.some((v) => !Number.isFinite(v)) ? ' (some not numbers)' : ''}`);
        continue;
      }
      words.push(parts[0]);
      for (const v of vec) values.push(v);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AimassError(code === 'ENOENT' ? 'NOT_FOUND' : 'DATA_FORMAT', `cannot read word vectors ${path}: ${(e as Error).message}`, { path });
  }
  if (problems.length) throw new AimassError('DATA_FORMAT', `${path}: malformed word vector lines; fix them and load again`, { path, problems });
  if (!words.length) throw new AimassError('DATA_FORMAT', `${path} holds no word vectors`, { path });
  if (declared && declared.count !== words.length) {
    throw new AimassError('DATA_FORMAT', `${path}: the header announces ${declared.count} words but the file has ${words.length}`, { path });
  }
  return new WordVectors(words, dim, Float32Array.from(values));
}

/** Trains word2vec on tokenized sentences (or documents). */
export function trainWord2Vec(sentences: string[][], options: Partial<Word2VecOptions> = {}): WordVectors {
  const o = parseWith(Word2VecOptionsSchema, options, 'word2vec options');
  // vocabulary: words with at least minCount occurrences, most frequent first (ties by word, for determinism)
  const counts = new Map<string, number>();
  for (const s of sentences) for (const w of s) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = [...counts].filter(([, c]) => c >= o.minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  if (!vocab.length) throw new AimassError('INVALID_ARGUMENT', `no word occurs ${o.minCount} times or more; lower minCount (the corpus has ${counts.size} distinct words)`);
  const words = vocab.map(([w]) => w);
  const freq = Float64Array.from(vocab, ([, c]) => c);
  const index = new Map(words.map((w, i) => [w, i]));
  const V = words.length;
  const D = o.dim;
  const rng = new Rng(o.seed);
  // input vectors start small and random, output vectors at zero (as word2vec)
  const input = Float32Array.from({ length: V * D }, () => (rng.next() - 0.5) / D);
  const output = new Float32Array(V * D);
  // negative sampling table: unigram counts to the power 3/4
  const TABLE = Math.min(1e7, Math.max(1e5, V * 100));
  const table = new Int32Array(TABLE);
  let total = 0;
  for (let i = 0; i < V; i++) total += freq[i] ** 0.75;
  for (let i = 0, t = 0, cum = freq[0] ** 0.75 / total; t < TABLE; t++) {
    table[t] = i;
    if (t / TABLE > cum && i < V - 1) cum += freq[++i] ** 0.75 / total;
  }
  const corpusWords = freq.reduce((a, b) => a + b, 0);
  const keep = Float64Array.from(freq, (c) => (o.subsample > 0 ? Math.min(1, (Math.sqrt(c / (o.subsample * corpusWords)) + 1) * ((o.subsample * corpusWords) / c)) : 1));
  const ids = sentences.map((s) => Int32Array.from(s.filter((w) => index.has(w)).map((w) => index.get(w)!)));
  const totalSteps = o.epochs * ids.reduce((a, s) => a + s.length, 0);
  let step = 0;
  const hidden = new Float32Array(D);
  const grad = new Float32Array(D);

  // one positive (label 1) or negative (label 0) pair: h against output row `target`
  const pair = (h: Float32Array, target: number, label: number, lr: number) => {
    const off = target * D;
    let dot = 0;
    for (let j = 0; j < D; j++) dot += h[j] * output[off + j];
    const p = dot > 20 ? 1 : dot < -20 ? 0 : 1 / (1 + Math.exp(-dot));
    const gscale = (label - p) * lr;
    for (let j = 0; j < D; j++) {
      grad[j] += gscale * output[off + j];
      output[off + j] += gscale * h[j];
    }
  };
  const negatives = (h: Float32Array, positive: number, lr: number) => {
    pair(h, positive, 1, lr);
    for (let k = 0; k < o.negative; k++) {
      const t = table[rng.int(TABLE)];
      if (t !== positive) pair(h, t, 0, lr);
    }
  };

  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const sent0 of ids) {
      const sent = o.subsample > 0 ? sent0.filter((w) => keep[w] >= 1 || rng.next() < keep[w]) : sent0;
      for (let pos = 0; pos < sent.length; pos++) {
        const lr = Math.max(o.lr * 1e-4, o.lr * (1 - step++ / totalSteps));
        const b = rng.int(o.window); // shrink the window at random
        const lo = Math.max(0, pos - o.window + b);
        const hi = Math.min(sent.length - 1, pos + o.window - b);
        const center = sent[pos];
        if (o.mode === 'skipgram') {
          for (let c = lo; c <= hi; c++) {
            if (c === pos) continue;
            const ctx = sent[c] * D;
            grad.fill(0);
            negatives(input.subarray(ctx, ctx + D), center, lr);
            for (let j = 0; j < D; j++) input[ctx + j] += grad[j];
          }
        } else {
          hidden.fill(0);
          let n = 0;
          for (let c = lo; c <= hi; c++) {
            if (c === pos) continue;
            const ctx = sent[c] * D;
            for (let j = 0; j < D; j++) hidden[j] += input[ctx + j];
            n++;
          }
          if (!n) continue;
          for (let j = 0; j < D; j++) hidden[j] /= n;
          grad.fill(0);
          negatives(hidden, center, lr);
          for (let c = lo; c <= hi; c++) {
            if (c === pos) continue;
            const ctx = sent[c] * D;
            for (let j = 0; j < D; j++) input[ctx + j] += grad[j];
          }
        }
      }
    }
  }
  return new WordVectors(words, D, input);
}
