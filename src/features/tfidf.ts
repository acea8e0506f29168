// Bag-of-words and TF-IDF vectors (as scikit-learn's CountVectorizer/TfidfVectorizer compute them): the
// vocabulary fitted on training documents (document-frequency bounds, a cap on its size), idf weights, and the
// transform of any documents into CSR rows. Terms unseen at fit time are ignored at transform time; a
// document with no known term becomes an all-zero row.
//
// Weight of term t in document d: tf = count (1 if `binary`), 1 + ln(tf) if `sublinearTf`; times idf(t) if
// `useIdf`, where idf = ln((1 + n) / (1 + df)) + 1 with `smoothIdf` (as if one extra document held every term)
// and ln(n / df) + 1 without; then each row is scaled to unit l2 (or l1) norm. With `useIdf: false` and
// `norm: 'none'` the rows are plain term counts. Weights are computed in float64 and stored as float32.
// Imports core only.
import { z } from 'zod';
import { AimassError, parseWith } from '../core/index.js';
import type { CsrMatrix } from './sparse.js';
import { Tokenizer, type TokenizerOptionsInput } from './tokenize.js';
import { TermTable, growInt32 } from './term-table.js';

/**
 * A document-frequency bound: `{ count: n }` documents or `{ fraction: f }` of the training documents. A bare
 * number follows scikit-learn's int/float rule as far as JSON allows: a whole number is a count, anything else a
 * fraction. JSON cannot tell 1 from 1.0, so 1 is the count 1; write `{ fraction: 1 }` for "all documents".
 */
export type DocumentFrequency = { count: number } | { fraction: number };

function isDocumentFrequency(v: unknown): v is number | DocumentFrequency {
  const count = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
  const fraction = (n: unknown) => typeof n === 'number' && n >= 0 && n <= 1;
  if (typeof v === 'number') return count(v) || (fraction(v) && v < 1);
  if (typeof v !== 'object' || v === null) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1) return false;
  return keys[0] === 'count' ? count((v as { count: unknown }).count) : keys[0] === 'fraction' && fraction((v as { fraction: unknown }).fraction);
}

// z.custom rather than a union of the three forms, so a bad value gets one message at its own path
export const DocumentFrequencySchema = z
  .custom<number | DocumentFrequency>(isDocumentFrequency, {
    message: 'expected a whole number of documents (>= 0), a fraction below 1 such as 0.5, { "count": n } or { "fraction": f } with 0 <= f <= 1',
  })
  .transform((v): DocumentFrequency => (typeof v !== 'number' ? v : Number.isInteger(v) ? { count: v } : { fraction: v }));

export const TfidfOptionsSchema = z
  .object({
    /** Terms in fewer documents are dropped (default: keep all). */
    minDf: DocumentFrequencySchema.default({ count: 1 }),
    /** Terms in more documents are dropped (default: keep all). */
    maxDf: DocumentFrequencySchema.default({ fraction: 1 }),
    /** Keep only this many terms, those with the highest total count (ties: the smaller term first). */
    maxFeatures: z.number().int().positive().nullable().default(null),
    binary: z.boolean().default(false),
    useIdf: z.boolean().default(true),
    smoothIdf: z.boolean().default(true),
    sublinearTf: z.boolean().default(false),
    norm: z.enum(['l2', 'l1', 'none']).default('l2'),
  })
  .strict();

export type TfidfOptions = z.output<typeof TfidfOptionsSchema>;
export type TfidfOptionsInput = z.input<typeof TfidfOptionsSchema>;

/** What fitting found, for logs and reports. */
export interface VectorizerFitReport {
  documents: number;
  /** Training documents that gave no token at all (they still count in n for idf). */
  emptyDocuments: number;
  tokens: number;
  distinctTerms: number;
  removedByMaxDf: number;
  removedByMinDf: number;
  removedByMaxFeatures: number;
  vocabularySize: number;
}

/** The saved state of a fitted TfidfVectorizer (the tokenizer is saved beside it by the pipeline). */
export interface TfidfVectorizerJSON {
  type: 'tfidf';
  options: TfidfOptions;
  /** Terms in column order. */
  vocabulary: string[];
  /** Per column, when `options.useIdf`; float64 values, which JSON keeps exactly. */
  idf: number[] | null;
}

export const TfidfVectorizerJSONSchema = z
  .object({
    type: z.literal('tfidf'),
    options: TfidfOptionsSchema,
    vocabulary: z.array(z.string()).min(1),
    idf: z.array(z.number().positive()).nullable(),
  })
  .strict();

/** Term counts of a corpus, keyed by raw term id (order of first appearance). */
interface CorpusCounts {
  table: TermTable;
  documents: number;
  emptyDocuments: number;
  tokens: number;
  df: Int32Array;
  totals: Float64Array;
  /** Per document, its (raw id, count) pairs at rowPtr[d] .. rowPtr[d+1]; only when rows were kept. */
  rowPtr: Int32Array | null;
  ids: Int32Array;
  counts: Int32Array;
}

export function assertDocuments(docs: readonly string[], what = 'documents'): void {
  if (!Array.isArray(docs)) throw new AimassError('INVALID_ARGUMENT', `${what} must be an array of strings, got ${docs === null ? 'null' : typeof docs}`);
  const bad: string[] = [];
  for (let i = 0; i < docs.length && bad.length < 10; i++) {
    if (typeof docs[i] !== 'string') bad.push(`${what}[${i}] is ${docs[i] === null ? 'null' : typeof docs[i]}, not a string`);
  }
  if (bad.length) throw new AimassError('INVALID_ARGUMENT', `${what} must all be strings (use "" for an empty document)`, { problems: bad });
}

function countCorpus(tokenizer: Tokenizer, docs: readonly string[], keepRows: boolean): CorpusCounts {
  const table = new TermTable(1 << 15);
  let inDoc = new Int32Array(1 << 15);
  let df = new Int32Array(1 << 15);
  let totals = new Float64Array(1 << 15);
  let touched = new Int32Array(1024);
  let touchedCount = 0;
  let tokens = 0;
  const sink = (text: string, start: number, end: number, hash: number): void => {
    const id = table.intern(text, start, end, hash);
    if (id >= inDoc.length) {
      inDoc = growInt32(inDoc, id + 1);
      df = growInt32(df, id + 1);
      const t = new Float64Array(inDoc.length);
      t.set(totals);
      totals = t;
    }
    if (inDoc[id]++ === 0) {
      if (touchedCount === touched.length) touched = growInt32(touched, touchedCount + 1);
      touched[touchedCount++] = id;
    }
    tokens++;
  };
  const rowPtr = keepRows ? new Int32Array(docs.length + 1) : null;
  let ids = new Int32Array(keepRows ? 1 << 16 : 0);
  let counts = new Int32Array(ids.length);
  let nnz = 0;
  let emptyDocuments = 0;
  for (let d = 0; d < docs.length; d++) {
    touchedCount = 0;
    tokenizer.forEachToken(docs[d], sink);
    if (touchedCount === 0) emptyDocuments++;
    if (rowPtr && nnz + touchedCount > ids.length) {
      ids = growInt32(ids, nnz + touchedCount);
      counts = growInt32(counts, ids.length);
    }
    for (let k = 0; k < touchedCount; k++) {
      const id = touched[k];
      const c = inDoc[id];
      inDoc[id] = 0;
      df[id]++;
      totals[id] += c;
      if (rowPtr) {
        ids[nnz] = id;
        counts[nnz] = c;
        nnz++;
      }
    }
    if (rowPtr) rowPtr[d + 1] = nnz;
  }
  return { table, documents: docs.length, emptyDocuments, tokens, df, totals, rowPtr, ids, counts };
}

function describeBound(b: DocumentFrequency): string {
  return 'count' in b ? `${b.count} document(s)` : `a fraction ${b.fraction} of the documents`;
}

/** Grows the CSR arrays of a vectorizer's output as rows arrive. */
export class RowWriter {
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
  nnz = 0;
  row = 0;
  constructor(rows: number, expectedNonzeros: number) {
    this.indptr = new Int32Array(rows + 1);
    this.indices = new Int32Array(Math.max(16, expectedNonzeros));
    this.values = new Float32Array(this.indices.length);
  }
  reserve(extra: number): void {
    if (this.nnz + extra <= this.indices.length) return;
    const size = Math.max(this.nnz + extra, this.indices.length * 2);
    const indices = new Int32Array(size);
    indices.set(this.indices.subarray(0, this.nnz));
    const values = new Float32Array(size);
    values.set(this.values.subarray(0, this.nnz));
    this.indices = indices;
    this.values = values;
  }
  endRow(): void {
    this.indptr[++this.row] = this.nnz;
  }
  build(cols: number): CsrMatrix {
    return { rows: this.row, cols, indptr: this.indptr, indices: this.indices.slice(0, this.nnz), values: this.values.slice(0, this.nnz) };
  }
}

export class TfidfVectorizer {
  readonly tokenizer: Tokenizer;
  readonly options: TfidfOptions;
  private vocab: TermTable | null = null;
  private terms: string[] = [];
  private idf: Float64Array | null = null;
  private fitReport: VectorizerFitReport | null = null;
  /** Per-row scratch: weights in float64 before the norm. */
  private weights = new Float64Array(256);

  /** Validates `options` (INVALID_SPEC listing every problem); `tokenizer` may be given as its options. */
  constructor(tokenizer: Tokenizer | TokenizerOptionsInput = {}, options: TfidfOptionsInput = {}) {
    this.tokenizer = tokenizer instanceof Tokenizer ? tokenizer : new Tokenizer(tokenizer);
    this.options = parseWith(TfidfOptionsSchema, options, 'TF-IDF options', 'vectorizer');
  }

  get fitted(): boolean {
    return this.vocab !== null;
  }

  /** Number of output columns (the vocabulary size); 0 before fitting. */
  get width(): number {
    return this.terms.length;
  }

  /** Terms in column order. */
  get vocabulary(): readonly string[] {
    return this.terms;
  }

  /** idf per column, or null when `useIdf` is off or before fitting. */
  get idfWeights(): Float64Array | null {
    return this.idf;
  }

  /** What the last fit found; null before fitting and after loading. */
  get report(): VectorizerFitReport | null {
    return this.fitReport;
  }

  /** The column of `term` (as the tokenizer emits it), or -1. */
  columnOf(term: string): number {
    return this.vocab ? this.vocab.find(term, 0, term.length) : -1;
  }

  fit(docs: readonly string[]): this {
    assertDocuments(docs, 'training documents');
    this.learn(countCorpus(this.tokenizer, docs, false));
    return this;
  }

  /** Fits on `docs` and returns their vectors, tokenizing each document once. */
  fitTransform(docs: readonly string[]): CsrMatrix {
    assertDocuments(docs, 'training documents');
    const corpus = countCorpus(this.tokenizer, docs, true);
    const rawToColumn = this.learn(corpus);
    const rowPtr = corpus.rowPtr!;
    const out = new RowWriter(docs.length, rowPtr[docs.length]);
    let columns = new Int32Array(256);
    const countOf = new Int32Array(this.terms.length);
    for (let d = 0; d < docs.length; d++) {
      let n = 0;
      for (let k = rowPtr[d]; k < rowPtr[d + 1]; k++) {
        const col = rawToColumn[corpus.ids[k]];
        if (col < 0) continue;
        if (n === columns.length) columns = growInt32(columns, n + 1);
        columns[n++] = col;
        countOf[col] = corpus.counts[k];
      }
      this.writeRow(out, columns, n, countOf);
    }
    return out.build(this.terms.length);
  }

  /** Vectors of `docs` over the fitted vocabulary; unknown terms are ignored. */
  transform(docs: readonly string[]): CsrMatrix {
    const vocab = this.vocab;
    if (!vocab) throw new AimassError('INVALID_ARGUMENT', 'this TF-IDF vectorizer is not fitted; call fit or fitTransform first, or load a fitted one');
    assertDocuments(docs);
    const countOf = new Int32Array(this.terms.length);
    let columns = new Int32Array(256);
    let n = 0;
    const sink = (text: string, start: number, end: number, hash: number): void => {
      const col = vocab.find(text, start, end, hash);
      if (col < 0) return;
      if (countOf[col]++ === 0) {
        if (n === columns.length) columns = growInt32(columns, n + 1);
        columns[n++] = col;
      }
    };
    const out = new RowWriter(docs.length, docs.length * 32);
    for (let d = 0; d < docs.length; d++) {
      n = 0;
      this.tokenizer.forEachToken(docs[d], sink);
      this.writeRow(out, columns, n, countOf);
    }
    return out.build(this.terms.length);
  }

  toJSON(): TfidfVectorizerJSON {
    if (!this.vocab) throw new AimassError('INVALID_ARGUMENT', 'only a fitted TF-IDF vectorizer can be saved; call fit first');
    return { type: 'tfidf', options: structuredClone(this.options), vocabulary: [...this.terms], idf: this.idf ? Array.from(this.idf) : null };
  }

  /** A fitted vectorizer from its saved state; INVALID_SPEC listing the problems if the state is inconsistent. */
  static fromJSON(obj: unknown, tokenizer: Tokenizer): TfidfVectorizer {
    const state = parseWith(TfidfVectorizerJSONSchema, obj, 'saved TF-IDF vectorizer', 'vectorizer');
    const problems: string[] = [];
    if (state.options.useIdf && (state.idf === null || state.idf.length !== state.vocabulary.length)) {
      problems.push(`vectorizer.idf: expected ${state.vocabulary.length} values (one per vocabulary term), got ${state.idf === null ? 'null' : state.idf.length}`);
    }
    if (!state.options.useIdf && state.idf !== null) problems.push('vectorizer.idf: must be null when options.useIdf is false');
    if (problems.length) throw new AimassError('INVALID_SPEC', `the saved TF-IDF vectorizer has ${problems.length} problem(s)`, { problems });
    const v = new TfidfVectorizer(tokenizer, state.options);
    try {
      v.vocab = TermTable.from(state.vocabulary);
    } catch (e) {
      throw new AimassError('INVALID_SPEC', 'the saved TF-IDF vectorizer has 1 problem(s)', { problems: [`vectorizer.vocabulary: ${(e as Error).message}`] });
    }
    v.terms = [...state.vocabulary];
    v.idf = state.idf ? Float64Array.from(state.idf) : null;
    return v;
  }

  /** Chooses the vocabulary and idf from corpus counts; returns raw term id → column (-1: dropped). */
  private learn(corpus: CorpusCounts): Int32Array {
    const o = this.options;
    const n = corpus.documents;
    if (n === 0) throw new AimassError('INVALID_ARGUMENT', 'there are no training documents; a vocabulary needs at least one');
    const distinct = corpus.table.size;
    if (distinct === 0) {
      throw new AimassError(
        'INVALID_ARGUMENT',
        `the ${n} training document(s) gave no token at all (${corpus.emptyDocuments} empty or without letters or digits, the rest only stop words or words shorter than minTokenLength); check the text and the tokenizer options`,
        { setting: 'tokenizer', documents: n },
      );
    }
    const minDocs = 'count' in o.minDf ? o.minDf.count : o.minDf.fraction * n;
    const maxDocs = 'count' in o.maxDf ? o.maxDf.count : o.maxDf.fraction * n;
    if (maxDocs < minDocs) {
      throw new AimassError(
        'INVALID_ARGUMENT',
        `maxDf (${describeBound(o.maxDf)}, i.e. ${maxDocs} of ${n}) allows fewer documents than minDf requires (${describeBound(o.minDf)}, i.e. ${minDocs}); raise maxDf or lower minDf`,
        { setting: 'maxDf', minDocs, maxDocs, documents: n },
      );
    }
    const candidates: number[] = [];
    let removedByMaxDf = 0;
    let removedByMinDf = 0;
    let mostDocuments = 0;
    let fewestDocuments = n;
    for (let id = 0; id < distinct; id++) {
      const df = corpus.df[id];
      if (df > mostDocuments) mostDocuments = df;
      if (df < fewestDocuments) fewestDocuments = df;
      if (df > maxDocs) removedByMaxDf++;
      else if (df < minDocs) removedByMinDf++;
      else candidates.push(id);
    }
    if (candidates.length === 0) {
      const why: string[] = [];
      if (removedByMinDf) why.push(`minDf (${describeBound(o.minDf)}) removed ${removedByMinDf} (the most common term is in ${mostDocuments} of ${n} documents)`);
      if (removedByMaxDf) why.push(`maxDf (${describeBound(o.maxDf)}) removed ${removedByMaxDf} (the rarest term is in ${fewestDocuments} of ${n} documents)`);
      const setting = removedByMinDf && removedByMaxDf ? 'minDf and maxDf' : removedByMinDf ? 'minDf' : 'maxDf';
      const hint = 'count' in o.maxDf && o.maxDf.count === 1 ? '; note that maxDf 1 is a count, write { "fraction": 1 } for all documents' : '';
      throw new AimassError(
        'INVALID_ARGUMENT',
        `the vocabulary is empty: of the ${distinct} distinct terms in ${n} training document(s), ${why.join(' and ')}; relax ${setting}${hint}`,
        { setting, distinctTerms: distinct, removedByMinDf, removedByMaxDf, documents: n },
      );
    }
    const table = corpus.table;
    let kept = candidates;
    let removedByMaxFeatures = 0;
    if (o.maxFeatures !== null && candidates.length > o.maxFeatures) {
      const totals = corpus.totals;
      candidates.sort((a, b) => totals[b] - totals[a] || table.compare(a, b));
      kept = candidates.slice(0, o.maxFeatures);
      removedByMaxFeatures = candidates.length - kept.length;
    }
    // columns in term order, as scikit-learn does, so a vocabulary reads like a dictionary
    kept.sort((a, b) => table.compare(a, b));
    const rawToColumn = new Int32Array(distinct).fill(-1);
    const terms = new Array<string>(kept.length);
    const idf = o.useIdf ? new Float64Array(kept.length) : null;
    for (let col = 0; col < kept.length; col++) {
      const id = kept[col];
      rawToColumn[id] = col;
      terms[col] = table.term(id);
      if (idf) {
        const df = corpus.df[id];
        idf[col] = o.smoothIdf ? Math.log((1 + n) / (1 + df)) + 1 : Math.log(n / df) + 1;
      }
    }
    this.terms = terms;
    this.vocab = TermTable.from(terms);
    this.idf = idf;
    this.fitReport = {
      documents: n,
      emptyDocuments: corpus.emptyDocuments,
      tokens: corpus.tokens,
      distinctTerms: distinct,
      removedByMaxDf,
      removedByMinDf,
      removedByMaxFeatures,
      vocabularySize: kept.length,
    };
    return rawToColumn;
  }

  /**
   * Appends the row of columns[0..n) (any order) whose counts are in countOf, and zeroes countOf for them.
   * Both fitTransform and transform go through here, so a document gets the same bits either way.
   */
  private writeRow(out: RowWriter, columns: Int32Array, n: number, countOf: Int32Array): void {
    const o = this.options;
    const row = columns.subarray(0, n).sort();
    if (this.weights.length < n) this.weights = new Float64Array(Math.max(n, this.weights.length * 2));
    const w = this.weights;
    const idf = this.idf;
    let squares = 0;
    let absolute = 0;
    for (let k = 0; k < n; k++) {
      const col = row[k];
      let tf = o.binary ? 1 : countOf[col];
      countOf[col] = 0;
      if (o.sublinearTf) tf = 1 + Math.log(tf);
      const v = idf ? tf * idf[col] : tf;
      w[k] = v;
      squares += v * v;
      absolute += Math.abs(v);
    }
    let total = o.norm === 'l2' ? Math.sqrt(squares) : o.norm === 'l1' ? absolute : 1;
    if (!(total > 0)) total = 1;
    out.reserve(n);
    const at = out.nnz;
    for (let k = 0; k < n; k++) {
      out.indices[at + k] = row[k];
      out.values[at + k] = w[k] / total;
    }
    out.nnz = at + n;
    out.endRow();
  }
}
