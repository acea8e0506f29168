// Fitted feature pipelines and their saved form, `pipeline.json` (format 'aimass-features/1'):
//   text:  raw strings → tokenizer → vectorizer (TF-IDF or hashing) → optional selector → optional normalizer
//          → CSR rows;
//   table: named numeric columns → optional normalizer → dense rows.
// `toJSON()` gives what is saved; `fromJSON()` validates it (zod, then the consistency of its parts) and gives
// back a pipeline that turns the same input into the same vectors, bit for bit: every fitted number is a
// float64 that JSON keeps exactly, and loaded and freshly fitted pipelines run the same code.
// Imports core and data.
import { z } from 'zod';
import { AimassError, parseWith } from '../core/index.js';
import type { Dataset } from '../data/index.js';
import { HashingOptionsSchema, HashingVectorizer, HashingVectorizerJSONSchema, type HashingVectorizerJSON } from './hashing.js';
import { Normalizer, NormalizerJSONSchema, NormalizerSpecSchema, isSparseFriendly, type NormalizerJSON } from './normalize.js';
import { FeatureSelector, FeatureSelectorJSONSchema, SelectorSpecSchema, type FeatureSelectorJSON, type LabelsLike } from './select.js';
import { assertDense, type CsrMatrix, type DenseMatrix } from './sparse.js';
import { TfidfOptionsSchema, TfidfVectorizer, TfidfVectorizerJSONSchema, assertDocuments, type TfidfVectorizerJSON } from './tfidf.js';
import { Tokenizer, TokenizerOptionsSchema, type TokenizerOptions } from './tokenize.js';

/** The saved-format tag; a reader refuses any other. Bump it when the saved shape changes incompatibly. */
export const FEATURES_FORMAT = 'aimass-features/1';

export const TextPipelineSpecSchema = z
  .object({
    tokenizer: TokenizerOptionsSchema.optional(),
    vectorizer: z
      .discriminatedUnion('type', [TfidfOptionsSchema.extend({ type: z.literal('tfidf') }), HashingOptionsSchema.extend({ type: z.literal('hashing') })])
      .prefault({ type: 'tfidf' }),
    selector: SelectorSpecSchema.optional(),
    normalizer: NormalizerSpecSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.normalizer && !isSparseFriendly(s.normalizer)) {
      ctx.addIssue({
        code: 'custom',
        path: ['normalizer'],
        message: `text features are sparse, so the normalizer must keep zeros at zero: "l2", "maxabs" or "standard" with withMean: false, not ${JSON.stringify(s.normalizer)}`,
      });
    }
  });

export type TextPipelineSpec = z.output<typeof TextPipelineSpecSchema>;
export type TextPipelineSpecInput = z.input<typeof TextPipelineSpecSchema>;

export interface TextPipelineJSON {
  format: typeof FEATURES_FORMAT;
  kind: 'text';
  tokenizer: TokenizerOptions;
  vectorizer: TfidfVectorizerJSON | HashingVectorizerJSON;
  selector: FeatureSelectorJSON | null;
  normalizer: NormalizerJSON | null;
}

const TextPipelineJSONSchema = z
  .object({
    format: z.literal(FEATURES_FORMAT),
    kind: z.literal('text'),
    tokenizer: TokenizerOptionsSchema,
    vectorizer: z.discriminatedUnion('type', [TfidfVectorizerJSONSchema, HashingVectorizerJSONSchema]),
    selector: FeatureSelectorJSONSchema.nullable(),
    normalizer: NormalizerJSONSchema.nullable(),
  })
  .strict();

export const TablePipelineSpecSchema = z
  .object({
    /** The feature columns, in output order (default: every column of the table it is fitted on). */
    columns: z.array(z.string().min(1)).min(1).optional(),
    normalizer: NormalizerSpecSchema.optional(),
  })
  .strict();

export type TablePipelineSpecInput = z.input<typeof TablePipelineSpecSchema>;

export interface TablePipelineJSON {
  format: typeof FEATURES_FORMAT;
  kind: 'table';
  columns: string[];
  normalizer: NormalizerJSON | null;
}

const TablePipelineJSONSchema = z
  .object({
    format: z.literal(FEATURES_FORMAT),
    kind: z.literal('table'),
    columns: z.array(z.string().min(1)).min(1),
    normalizer: NormalizerJSONSchema.nullable(),
  })
  .strict();

export type PipelineJSON = TextPipelineJSON | TablePipelineJSON;

/** Refuses anything that is not an object of our saved format before zod reports field by field. */
function checkFormat(obj: unknown, what: string): Record<string, unknown> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new AimassError('INVALID_SPEC', `the ${what} must be a JSON object`, { problems: ['(top level): expected an object'] });
  }
  const format = (obj as Record<string, unknown>).format;
  if (format === undefined) {
    throw new AimassError('INVALID_SPEC', `the ${what} has no "format" field; is it a pipeline.json written by AI Mass?`, { problems: ['format: missing'] });
  }
  if (format !== FEATURES_FORMAT) {
    throw new AimassError('UNSUPPORTED', `the ${what} has format ${JSON.stringify(format)}, but this version of AI Mass reads only "${FEATURES_FORMAT}"`, { format });
  }
  return obj as Record<string, unknown>;
}

function invalid(what: string, problems: string[]): AimassError {
  return new AimassError('INVALID_SPEC', `the ${what} has ${problems.length} problem(s); fix each one listed`, { problems });
}

/** A fitted text pipeline: raw strings in, CSR rows out. */
export class FeaturePipeline {
  readonly kind = 'text' as const;

  private constructor(
    readonly tokenizer: Tokenizer,
    readonly vectorizer: TfidfVectorizer | HashingVectorizer,
    readonly selector: FeatureSelector | null,
    readonly normalizer: Normalizer | null,
  ) {}

  /** Fits every stage on `docs`; `labels` (one per document) are needed for chi2 and mutual_info selection. */
  static fit(spec: TextPipelineSpecInput, docs: readonly string[], labels?: LabelsLike): FeaturePipeline {
    return FeaturePipeline.fitTransform(spec, docs, labels).pipeline;
  }

  /** Fits on `docs` and returns their vectors too, tokenizing each document once. */
  static fitTransform(spec: TextPipelineSpecInput, docs: readonly string[], labels?: LabelsLike): { pipeline: FeaturePipeline; features: CsrMatrix } {
    const s = parseWith(TextPipelineSpecSchema, spec, 'feature pipeline spec');
    assertDocuments(docs, 'training documents');
    if (s.selector && s.selector.method !== 'variance') {
      if (labels === undefined) throw new AimassError('INVALID_ARGUMENT', `${s.selector.method} selection needs class labels, one per training document`);
      if (labels.length !== docs.length) throw new AimassError('INVALID_ARGUMENT', `there are ${labels.length} labels for ${docs.length} documents; give exactly one label per document`);
    }
    const tokenizer = new Tokenizer(s.tokenizer ?? {});
    let vectorizer: TfidfVectorizer | HashingVectorizer;
    let x: CsrMatrix;
    if (s.vectorizer.type === 'tfidf') {
      const { type: _type, ...options } = s.vectorizer;
      const tfidf = new TfidfVectorizer(tokenizer, options);
      x = tfidf.fitTransform(docs);
      vectorizer = tfidf;
    } else {
      const { type: _type, ...options } = s.vectorizer;
      const hashing = new HashingVectorizer(tokenizer, options);
      x = hashing.transform(docs);
      vectorizer = hashing;
    }
    let selector: FeatureSelector | null = null;
    if (s.selector) {
      selector = FeatureSelector.fit(x, labels, s.selector);
      x = selector.transform(x);
    }
    let normalizer: Normalizer | null = null;
    if (s.normalizer) {
      normalizer = Normalizer.fit(x, s.normalizer);
      x = normalizer.transform(x);
    }
    return { pipeline: new FeaturePipeline(tokenizer, vectorizer, selector, normalizer), features: x };
  }

  /** Number of output columns. */
  get width(): number {
    return this.selector ? this.selector.width : this.vectorizer.width;
  }

  transform(docs: readonly string[]): CsrMatrix {
    let x = this.vectorizer.transform(docs);
    if (this.selector) x = this.selector.transform(x);
    if (this.normalizer) x = this.normalizer.transform(x);
    return x;
  }

  /** A name per output column: the term for TF-IDF, `hash:<column>` for hashed features. */
  featureNames(): string[] {
    const v = this.vectorizer;
    const names = v instanceof TfidfVectorizer ? [...v.vocabulary] : Array.from({ length: v.width }, (_, j) => `hash:${j}`);
    return this.selector ? this.selector.names(names) : names;
  }

  toJSON(): TextPipelineJSON {
    return {
      format: FEATURES_FORMAT,
      kind: 'text',
      tokenizer: this.tokenizer.toJSON(),
      vectorizer: this.vectorizer.toJSON(),
      selector: this.selector ? this.selector.toJSON() : null,
      normalizer: this.normalizer ? this.normalizer.toJSON() : null,
    };
  }

  /** Loads a saved text pipeline; INVALID_SPEC listing every problem, UNSUPPORTED for another format version. */
  static fromJSON(obj: unknown): FeaturePipeline {
    const what = 'saved feature pipeline';
    const s = parseWith(TextPipelineJSONSchema, checkFormat(obj, what), what);
    const tokenizer = new Tokenizer(s.tokenizer);
    const vectorizer = s.vectorizer.type === 'tfidf' ? TfidfVectorizer.fromJSON(s.vectorizer, tokenizer) : HashingVectorizer.fromJSON(s.vectorizer, tokenizer);
    const problems: string[] = [];
    let width = vectorizer.width;
    if (s.selector) {
      if (s.selector.inputWidth !== width) problems.push(`selector.inputWidth: is ${s.selector.inputWidth} but the vectorizer gives ${width} columns`);
      width = s.selector.columns.length;
    }
    if (s.normalizer) {
      if (s.normalizer.width !== width) problems.push(`normalizer.width: is ${s.normalizer.width} but the stage before it gives ${width} columns`);
      if (!isSparseFriendly(s.normalizer.spec)) problems.push(`normalizer.spec: a ${s.normalizer.spec.kind} normalizer with centering cannot apply to sparse text features`);
    }
    if (problems.length) throw invalid(what, problems);
    return new FeaturePipeline(tokenizer, vectorizer, s.selector ? FeatureSelector.fromJSON(s.selector) : null, s.normalizer ? Normalizer.fromJSON(s.normalizer) : null);
  }
}

/** Named numeric columns, row-major: value (r, c) is `data[r * columns.length + c]`. */
export interface NumericTable {
  columns: readonly string[];
  rows: number;
  data: Float32Array;
}

/** A Dataset's single numeric input as a table (its featureNames name the columns). */
export function tableFromDataset(d: Dataset): NumericTable {
  const input = d.inputs[0];
  const width = d.sampleShapes[0]?.reduce((a, b) => a * b, 1) ?? 0;
  if (d.inputs.length !== 1 || !(input instanceof Float32Array)) {
    throw new AimassError('INVALID_ARGUMENT', 'a table pipeline takes a dataset with one float32 input (a CSV table), not images or several inputs');
  }
  const columns = d.featureNames ?? Array.from({ length: width }, (_, j) => `f${j}`);
  if (columns.length !== width) throw new AimassError('INVALID_ARGUMENT', `the dataset names ${columns.length} features but its samples have ${width} values`);
  return { columns, rows: d.n, data: input };
}

/** A fitted tabular pipeline: named numeric columns in, dense normalized rows out. */
export class TablePipeline {
  readonly kind = 'table' as const;

  private constructor(
    readonly columns: readonly string[],
    readonly normalizer: Normalizer | null,
  ) {}

  static fit(spec: TablePipelineSpecInput, table: NumericTable): TablePipeline {
    const s = parseWith(TablePipelineSpecSchema, spec, 'table pipeline spec');
    const columns = s.columns ?? [...table.columns];
    const duplicates = columns.filter((c, i) => columns.indexOf(c) !== i);
    if (duplicates.length) throw invalid('table pipeline spec', [`columns: ${[...new Set(duplicates)].map((c) => JSON.stringify(c)).join(', ')} listed more than once`]);
    const picked = pickColumns(table, columns);
    const normalizer = s.normalizer ? Normalizer.fit(picked, s.normalizer) : null;
    return new TablePipeline(columns, normalizer);
  }

  get width(): number {
    return this.columns.length;
  }

  /** The pipeline's columns of `table` (by name, any order in the table), normalized. */
  transform(table: NumericTable): DenseMatrix {
    const picked = pickColumns(table, this.columns);
    return this.normalizer ? this.normalizer.transform(picked) : picked;
  }

  /** Rows given as objects of named numbers (what a prediction request carries); every problem is listed. */
  transformRecords(records: readonly Record<string, unknown>[]): DenseMatrix {
    if (!Array.isArray(records)) throw new AimassError('INVALID_ARGUMENT', 'records must be an array of objects');
    const width = this.columns.length;
    const data = new Float32Array(records.length * width);
    const problems: string[] = [];
    records.forEach((rec, r) => {
      if (typeof rec !== 'object' || rec === null) {
        problems.push(`records[${r}]: expected an object of named numbers`);
        return;
      }
      this.columns.forEach((name, c) => {
        const v = rec[name];
        if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(`records[${r}].${name}: expected a finite number, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
        else data[r * width + c] = v;
      });
    });
    if (problems.length) {
      throw new AimassError('INVALID_ARGUMENT', `${problems.length} problem(s) in the records; each needs every column of the pipeline as a number`, { problems: problems.slice(0, 50) });
    }
    const dense: DenseMatrix = { rows: records.length, cols: width, data };
    return this.normalizer ? this.normalizer.transform(dense) : dense;
  }

  toJSON(): TablePipelineJSON {
    return { format: FEATURES_FORMAT, kind: 'table', columns: [...this.columns], normalizer: this.normalizer ? this.normalizer.toJSON() : null };
  }

  static fromJSON(obj: unknown): TablePipeline {
    const what = 'saved table pipeline';
    const s = parseWith(TablePipelineJSONSchema, checkFormat(obj, what), what);
    if (s.normalizer && s.normalizer.width !== s.columns.length) {
      throw invalid(what, [`normalizer.width: is ${s.normalizer.width} but the pipeline has ${s.columns.length} columns`]);
    }
    return new TablePipeline(s.columns, s.normalizer ? Normalizer.fromJSON(s.normalizer) : null);
  }
}

function pickColumns(table: NumericTable, columns: readonly string[]): DenseMatrix {
  const width = table.columns.length;
  assertDense({ rows: table.rows, cols: width, data: table.data }, 'the table');
  const index = new Map(table.columns.map((c, j) => [c, j]));
  const missing = columns.filter((c) => !index.has(c));
  if (missing.length) {
    throw new AimassError('INVALID_ARGUMENT', `the table lacks column(s) ${missing.map((c) => JSON.stringify(c)).join(', ')}; it has ${table.columns.map((c) => JSON.stringify(c)).join(', ')}`, {
      missing,
    });
  }
  const from = columns.map((c) => index.get(c)!);
  const out = new Float32Array(table.rows * columns.length);
  for (let r = 0; r < table.rows; r++) for (let j = 0; j < from.length; j++) out[r * from.length + j] = table.data[r * width + from[j]];
  return { rows: table.rows, cols: columns.length, data: out };
}

/** Loads either kind of saved pipeline (dispatching on its `kind`). */
export function loadFeaturePipeline(obj: unknown): FeaturePipeline | TablePipeline {
  const o = checkFormat(obj, 'saved pipeline');
  if (o.kind === 'text') return FeaturePipeline.fromJSON(o);
  if (o.kind === 'table') return TablePipeline.fromJSON(o);
  throw invalid('saved pipeline', [`kind: expected "text" or "table", got ${JSON.stringify(o.kind)}`]);
}
