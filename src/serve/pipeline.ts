// Serving pipelines: what turns raw records (text, an image, a table row, plain numbers) into a model's input
// tensor, and the model's output back into labels with scores. Saved beside model.onnx as `pipeline.json`,
// format 'aimass-pipeline/1':
//
//   { "format": "aimass-pipeline/1",
//     "input":  { "kind": "image", "tensor": "x", "channels": 1, "height": 28, "width": 28, "scale": 0.00392 }
//             | { "kind": "text",  "tensor": "x", "features": <an 'aimass-features/1' text pipeline> }
//             | { "kind": "tokens","tensor": "tokens", "tokenizer": {...}, "vocabulary": [...], "seqLen": 64 }
//             | { "kind": "table", "tensor": "x", "columns": [...], "features"?: <an 'aimass-features/1' table pipeline> }
//             | { "kind": "tensor" },
//     "output": { "tensor": "probabilities", "kind": "probabilities" | "logits" | "probability" | "values",
//                 "labels": ["cat", "dog"] } }
//
// Older files (the trainer's first layout, an import's bare `{ "labels": [...] }`) are read too. A model with no
// pipeline.json gets one inferred from its signature: tensors in, and out through its `probabilities`,
// `probability` or `logits` output when it has one. Everything here is checked against the model's signature
// when the model loads, so a pipeline that cannot feed its model fails then, not on a user's request.
import { z } from 'zod';
import { AimassError, parseWith } from '../core/index.js';
import { decodeImage } from '../data/index.js';
import { FeaturePipeline, TablePipeline, Tokenizer, TokenizerOptionsSchema, csrToDense } from '../features/index.js';
import type { HostTensor, HostTensors } from './tensors.js';

export const SERVING_FORMAT = 'aimass-pipeline/1';

/** The largest top-k a request may ask for. */
export const MAX_TOP_K = 1000;

const tensorName = z.string().min(1);

const ImageInputSchema = z
  .object({
    kind: z.literal('image'),
    tensor: tensorName,
    channels: z.union([z.literal(1), z.literal(3)]),
    height: z.number().int().positive().max(16384),
    width: z.number().int().positive().max(16384),
    /** How a picture of another aspect ratio meets height × width (as data's image loaders). */
    fit: z.enum(['fill', 'cover', 'contain']).default('fill'),
    /** Multiplies 0–255 pixel values (the trainer's `data.scale`; 1/255 gives 0..1). */
    scale: z.number().positive().default(1 / 255),
    /** Per-channel mean and std subtracted and divided after scaling. */
    mean: z.array(z.number()).optional(),
    std: z.array(z.number().positive()).optional(),
  })
  .strict();

const TextInputSchema = z.object({ kind: z.literal('text'), tensor: tensorName, features: z.unknown() }).strict();

const TokensInputSchema = z
  .object({
    kind: z.literal('tokens'),
    tensor: tensorName,
    tokenizer: TokenizerOptionsSchema.optional(),
    /** Token strings; token i gets id `firstId + i`. */
    vocabulary: z.array(z.string()).min(1),
    seqLen: z.number().int().positive().max(100_000),
    padId: z.number().int().min(0).default(0),
    unknownId: z.number().int().min(0).default(1),
    firstId: z.number().int().min(0).default(2),
  })
  .strict();

const TableInputSchema = z.object({ kind: z.literal('table'), tensor: tensorName, columns: z.array(z.string().min(1)).min(1), features: z.unknown().optional() }).strict();

const TensorInputSchema = z.object({ kind: z.literal('tensor') }).strict();

const OutputSchema = z
  .object({
    tensor: tensorName,
    kind: z.enum(['probabilities', 'logits', 'probability', 'values']),
    labels: z.array(z.string()).min(1).optional(),
  })
  .strict();

const ServingPipelineSchema = z
  .object({
    format: z.literal(SERVING_FORMAT),
    input: z.discriminatedUnion('kind', [ImageInputSchema, TextInputSchema, TokensInputSchema, TableInputSchema, TensorInputSchema]),
    output: OutputSchema.optional(),
  })
  .strict();

export type ServingPipelineJSON = z.input<typeof ServingPipelineSchema>;
type ParsedPipeline = z.output<typeof ServingPipelineSchema>;
export type PipelineInputKind = ParsedPipeline['input']['kind'];
export type OutputKind = z.output<typeof OutputSchema>['kind'];

/** What a pipeline needs of a model signature (the registry's ModelSignature fits). */
export interface PipelineSignature {
  inputs: { name: string; dtype: string; shape: readonly (number | string)[] }[];
  outputs: { name: string; dtype: string; shape: readonly (number | string)[] }[];
}

/** One prediction: the best label with its score and the top-k; or, for a regression output, its values. */
export type Prediction = { label: string; score: number; scores: { label: string; score: number }[] } | { value: number | number[] };

interface Output {
  tensor: string;
  kind: OutputKind;
  labels?: string[];
}

type Preprocess = (records: readonly unknown[]) => Promise<HostTensors>;

/** A pipeline checked against its model: `prepare` turns records into feeds, `predictions` outputs into answers. */
export class ServingPipeline {
  private constructor(
    readonly inputKind: PipelineInputKind,
    private readonly preprocess: Preprocess,
    readonly output: Output,
  ) {}

  /** The class names, when the output is a classification with named classes. */
  get labels(): readonly string[] | undefined {
    return this.output.labels;
  }

  /**
   * Reads a pipeline.json (any layout AI Mass has written; `undefined` when the version has none) and checks it
   * against the model's signature; fails with INVALID_SPEC naming every problem.
   */
  static load(json: unknown, signature: PipelineSignature): ServingPipeline {
    const p = json === undefined ? { format: SERVING_FORMAT, input: { kind: 'tensor' as const } } : upgrade(json, signature);
    let parsed: ParsedPipeline;
    try {
      parsed = parseWith(ServingPipelineSchema, p, 'pipeline.json');
    } catch (e) {
      const problems = e instanceof AimassError && Array.isArray(e.details?.problems) ? (e.details.problems as string[]) : [String(e)];
      throw new AimassError('INVALID_SPEC', `pipeline.json is not valid: ${problems.join('; ')}`, { problems });
    }
    const output = parsed.output ?? inferOutput(signature);
    // an output the pipeline names must fit at load; an inferred one is checked when a prediction needs it,
    // so that a model with, say, string outputs still serves tensors through /v2
    if (parsed.output) checkOutput(output, signature);
    return new ServingPipeline(parsed.input.kind, preprocessor(parsed.input, signature), output);
  }

  /** The model's input tensors for `records` (one sample each); bad records fail naming their index. */
  async prepare(records: readonly unknown[]): Promise<HostTensors> {
    if (!Array.isArray(records) || records.length === 0) throw new AimassError('INVALID_ARGUMENT', '"inputs" must be a non-empty array of records');
    return this.preprocess(records);
  }

  /** One prediction per sample of the model's outputs; `topK` classes each (default 5, all when fewer). */
  predictions(outputs: HostTensors, rows: number, topK = 5): Prediction[] {
    if (!Number.isInteger(topK) || topK < 1 || topK > MAX_TOP_K) throw new AimassError('INVALID_ARGUMENT', `top_k must be a whole number from 1 to ${MAX_TOP_K}, got ${topK}`);
    const t = outputs[this.output.tensor];
    if (!t) throw new AimassError('INTERNAL', `the model gave no output "${this.output.tensor}" (it gave ${Object.keys(outputs).join(', ')})`);
    const data: unknown = t.data;
    if (!ArrayBuffer.isView(data)) throw new AimassError('UNSUPPORTED', `output "${this.output.tensor}" is not numeric; predictions need a numeric output (read it through /v2/models/…/infer)`);
    const values = data instanceof Float32Array || data instanceof Float64Array ? data : Float64Array.from(data as unknown as ArrayLike<number | bigint>, Number);
    const width = rows === 0 ? 0 : values.length / rows;
    const out: Prediction[] = [];
    for (let r = 0; r < rows; r++) {
      const row = Array.from(values.subarray(r * width, (r + 1) * width));
      if (this.output.kind === 'values') {
        out.push({ value: row.length === 1 ? row[0] : row });
        continue;
      }
      const probs = this.output.kind === 'logits' ? softmax(row) : this.output.kind === 'probability' ? [1 - row[0], row[0]] : row;
      const names = this.output.labels ?? probs.map((_, i) => String(i));
      const order = probs.map((_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
      const scores = order.slice(0, topK).map((i) => ({ label: names[i] ?? String(i), score: probs[i] }));
      out.push({ label: scores[0].label, score: scores[0].score, scores });
    }
    return out;
  }
}

// --- older layouts ------------------------------------------------------------------------------------------

/** Brings a pipeline.json of an older layout to 'aimass-pipeline/1'; the current one passes through. */
function upgrade(json: unknown, signature: PipelineSignature): unknown {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return json;
  const o = json as Record<string, unknown>;
  if (o.format !== undefined) {
    if (o.format === 'aimass-features/1') {
      throw new AimassError('INVALID_SPEC', 'pipeline.json holds a feature pipeline ("aimass-features/1") on its own; wrap it as {"format":"aimass-pipeline/1","input":{"kind":"text","tensor":…,"features":…}}', {
        problems: ['format: "aimass-features/1" is a feature pipeline, not a serving pipeline'],
      });
    }
    return json;
  }
  const labels = Array.isArray(o.labels) && o.labels.length > 0 ? (o.labels as unknown[]).map(String) : undefined;
  const inferred = inferOutput(signature);
  const output = labels ? { ...inferred, labels } : inferred;
  const pre = o.preprocessing as Record<string, unknown> | undefined;
  const first = signature.inputs[0];
  if (pre?.kind === 'image' && first) {
    const sample = first.shape.slice(1).map(Number);
    const [channels, height, width] = sample.length === 3 ? sample : sample.length === 1 && Number.isInteger(Math.sqrt(sample[0])) ? [1, Math.sqrt(sample[0]), Math.sqrt(sample[0])] : [NaN, NaN, NaN];
    if (Number.isFinite(channels)) return { format: SERVING_FORMAT, input: { kind: 'image', tensor: first.name, channels, height, width, scale: pre.scale ?? 1 / 255 }, output };
  }
  if (pre?.kind === 'table' && first && Array.isArray(pre.features)) return { format: SERVING_FORMAT, input: { kind: 'table', tensor: first.name, columns: pre.features }, output };
  return { format: SERVING_FORMAT, input: { kind: 'tensor' }, output };
}

// --- outputs ------------------------------------------------------------------------------------------------

/** The output a model without a pipeline answers through: its probabilities if it names them, else the first. */
function inferOutput(signature: PipelineSignature): Output {
  const byName = (n: string) => signature.outputs.find((o) => o.name === n);
  for (const [name, kind] of [
    ['probabilities', 'probabilities'],
    ['probability', 'probability'],
    ['logits', 'logits'],
  ] as const) {
    if (byName(name)) return { tensor: name, kind };
  }
  const first = signature.outputs[0];
  if (!first) throw new AimassError('INVALID_SPEC', 'the model has no outputs');
  return { tensor: first.name, kind: 'values' };
}

function checkOutput(output: Output, signature: PipelineSignature): void {
  const sig = signature.outputs.find((o) => o.name === output.tensor);
  const problems: string[] = [];
  if (!sig) problems.push(`output.tensor: the model has no output "${output.tensor}" (it has ${signature.outputs.map((o) => o.name).join(', ')})`);
  else if (!['float32', 'float64', 'int64', 'int32'].includes(sig.dtype)) problems.push(`output.tensor: "${output.tensor}" is ${sig.dtype}; predictions need a numeric output`);
  else if (output.labels && output.kind !== 'values') {
    const width = sig.shape.length >= 2 ? sig.shape[sig.shape.length - 1] : 1;
    const classes = output.kind === 'probability' ? 2 : width;
    if (typeof classes === 'number' && classes > 0 && classes !== output.labels.length) {
      problems.push(`output.labels: ${output.labels.length} labels for ${classes} classes of output "${output.tensor}"`);
    }
  }
  if (problems.length) throw new AimassError('INVALID_SPEC', `pipeline.json does not fit the model: ${problems.join('; ')}`, { problems });
}

function softmax(row: number[]): number[] {
  const max = Math.max(...row);
  const e = row.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

// --- inputs -------------------------------------------------------------------------------------------------

type InputSpec = ParsedPipeline['input'];

function preprocessor(input: InputSpec, signature: PipelineSignature): Preprocess {
  if (input.kind === 'tensor') return tensorRecords(signature);
  const sig = signature.inputs.find((i) => i.name === input.tensor);
  if (!sig) throw spec(`input.tensor: the model has no input "${input.tensor}" (it has ${signature.inputs.map((i) => i.name).join(', ')})`);
  if (signature.inputs.length > 1) throw spec(`input.kind: "${input.kind}" feeds one input, but the model takes ${signature.inputs.length} (${signature.inputs.map((i) => i.name).join(', ')}); use "tensor"`);
  const sample = sig.shape.slice(1);
  const fixed = sample.every((d) => typeof d === 'number' && d > 0) ? (sample as number[]) : undefined;
  const size = fixed?.reduce((a, b) => a * b, 1);
  const needFloat = () => {
    if (sig.dtype !== 'float32') throw spec(`input.kind: "${input.kind}" gives float32 values, but input "${sig.name}" is ${sig.dtype}`);
  };

  if (input.kind === 'image') {
    needFloat();
    const pixels = input.channels * input.height * input.width;
    if (size !== undefined && size !== pixels) throw spec(`input: ${input.channels}×${input.height}×${input.width} pixels do not fill input "${sig.name}" of sample shape [${sample}]`);
    for (const [k, v] of [['mean', input.mean], ['std', input.std]] as const) {
      if (v && v.length !== input.channels) throw spec(`input.${k}: has ${v.length} values for ${input.channels} channel(s)`);
    }
    const dims = fixed ?? [input.channels, input.height, input.width];
    return async (records) => {
      const data = new Float32Array(records.length * pixels);
      await Promise.all(
        records.map(async (r, i) => {
          const bytes = imageBytes(r, i);
          let decoded;
          try {
            decoded = await decodeImage(bytes, { size: { width: input.width, height: input.height }, channels: input.channels, fit: input.fit });
          } catch (e) {
            throw new AimassError('INVALID_ARGUMENT', `record ${i}: the image could not be decoded (${e instanceof AimassError ? e.message.replace(/^the image: ?/, '') : String(e)}); send PNG, JPEG or WebP bytes as base64`, { record: i });
          }
          const plane = input.height * input.width;
          const k = 255 * input.scale;
          for (let j = 0; j < pixels; j++) {
            const c = Math.floor(j / plane);
            let v = decoded.data[j] * k;
            if (input.mean) v -= input.mean[c];
            if (input.std) v /= input.std[c];
            data[i * pixels + j] = v;
          }
        }),
      );
      return { [sig.name]: { type: 'float32', data, dims: [records.length, ...dims] } };
    };
  }

  if (input.kind === 'text') {
    needFloat();
    let features: FeaturePipeline;
    try {
      features = FeaturePipeline.fromJSON(input.features);
    } catch (e) {
      throw spec(`input.features: ${(e as Error).message}`);
    }
    if (size !== undefined && size !== features.width) throw spec(`input.features: gives ${features.width} values per text, but input "${sig.name}" takes ${size}`);
    return async (records) => {
      const docs = records.map((r, i) => textOf(r, i));
      const dense = csrToDense(features.transform(docs));
      return { [sig.name]: { type: 'float32', data: Float32Array.from(dense.data), dims: [records.length, ...(fixed ?? [features.width])] } };
    };
  }

  if (input.kind === 'tokens') {
    if (sig.dtype !== 'int64') throw spec(`input.kind: "tokens" gives int64 ids, but input "${sig.name}" is ${sig.dtype}`);
    if (size !== undefined && size !== input.seqLen) throw spec(`input.seqLen: is ${input.seqLen}, but input "${sig.name}" takes ${size} ids`);
    const tokenizer = new Tokenizer(input.tokenizer ?? {});
    const ids = new Map(input.vocabulary.map((t, i) => [t, input.firstId + i]));
    return async (records) => {
      const data = new BigInt64Array(records.length * input.seqLen).fill(BigInt(input.padId));
      records.forEach((r, i) => {
        const tokens = tokenizer.tokenize(textOf(r, i));
        for (let j = 0; j < Math.min(tokens.length, input.seqLen); j++) data[i * input.seqLen + j] = BigInt(ids.get(tokens[j]) ?? input.unknownId);
      });
      return { [sig.name]: { type: 'int64', data, dims: [records.length, input.seqLen] } };
    };
  }

  // table
  needFloat();
  let table: TablePipeline | undefined;
  if (input.features !== undefined) {
    try {
      table = TablePipeline.fromJSON(input.features);
    } catch (e) {
      throw spec(`input.features: ${(e as Error).message}`);
    }
  }
  const columns = table?.columns ?? input.columns;
  if (size !== undefined && size !== columns.length) throw spec(`input.columns: ${columns.length} columns, but input "${sig.name}" takes ${size} values`);
  return async (records) => {
    const rows = records.map((r, i) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new AimassError('INVALID_ARGUMENT', `record ${i}: expected an object of column values ({${columns.slice(0, 3).map((c) => `"${c}": …`).join(', ')}})`, { record: i });
      const o = r as Record<string, unknown>;
      const missing = columns.filter((c) => o[c] === undefined);
      if (missing.length) throw new AimassError('INVALID_ARGUMENT', `record ${i}: missing column(s) ${missing.map((c) => `"${c}"`).join(', ')}`, { record: i, missing });
      for (const c of columns) {
        if (typeof o[c] !== 'number' || !Number.isFinite(o[c])) throw new AimassError('INVALID_ARGUMENT', `record ${i}: column "${c}" is ${JSON.stringify(o[c])}, not a finite number`, { record: i, column: c });
      }
      return o;
    });
    const data = table ? Float32Array.from(table.transformRecords(rows).data) : Float32Array.from(rows.flatMap((o) => columns.map((c) => o[c] as number)));
    return { [sig.name]: { type: 'float32', data, dims: [records.length, ...(fixed ?? [columns.length])] } };
  };
}

/** Records for a model with no preprocessing: per record, an array of the input's sample shape, or {input: array}. */
function tensorRecords(signature: PipelineSignature): Preprocess {
  const inputs = signature.inputs.map((sig) => {
    const sample = sig.shape.slice(1);
    if (!sample.every((d) => typeof d === 'number' && d > 0)) return { sig, size: undefined, dims: undefined };
    const dims = sample as number[];
    return { sig, size: dims.reduce((a, b) => a * b, 1), dims };
  });
  return async (records) => {
    // checked per request, not at load: such a model still serves tensors through the Open Inference Protocol
    for (const { sig } of inputs) {
      if (sig.dtype !== 'float32' && sig.dtype !== 'int64') throw new AimassError('UNSUPPORTED', `input "${sig.name}" is ${sig.dtype}; raw records feed float32 and int64 inputs (send tensors to /v2/models/…/infer instead)`, { input: sig.name });
    }
    const feeds: HostTensors = {};
    for (const { sig, size, dims } of inputs) {
      const values: number[] = [];
      let width: number | undefined = size;
      records.forEach((r, i) => {
        const v = inputs.length === 1 && Array.isArray(r) ? r : typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as Record<string, unknown>)[sig.name] : undefined;
        if (!Array.isArray(v)) {
          throw new AimassError('INVALID_ARGUMENT', `record ${i}: expected ${inputs.length === 1 ? `an array of numbers or {"${sig.name}": [...]}` : `an object with an array for each input (${inputs.map((x) => x.sig.name).join(', ')})`}`, { record: i, input: sig.name });
        }
        const flat = (v as unknown[]).flat(Infinity);
        width ??= flat.length;
        if (flat.length !== width) throw new AimassError('INVALID_ARGUMENT', `record ${i}: input "${sig.name}" has ${flat.length} values, but ${size === undefined ? 'record 0 has' : 'the model takes'} ${width}`, { record: i, input: sig.name });
        for (const x of flat) {
          if (typeof x !== 'number' || !Number.isFinite(x)) throw new AimassError('INVALID_ARGUMENT', `record ${i}: input "${sig.name}" holds ${JSON.stringify(x)}, not a finite number`, { record: i, input: sig.name });
          if (sig.dtype === 'int64' && !Number.isSafeInteger(x)) throw new AimassError('INVALID_ARGUMENT', `record ${i}: input "${sig.name}" takes whole numbers, got ${x}`, { record: i, input: sig.name });
          values.push(x);
        }
      });
      const shape = [records.length, ...(dims ?? [width!])];
      const t: HostTensor = sig.dtype === 'int64' ? { type: 'int64', data: BigInt64Array.from(values, (x) => BigInt(x)), dims: shape } : { type: 'float32', data: Float32Array.from(values), dims: shape };
      feeds[sig.name] = t;
    }
    return feeds;
  };
}

function textOf(r: unknown, i: number): string {
  const text = typeof r === 'string' ? r : typeof r === 'object' && r !== null && typeof (r as { text?: unknown }).text === 'string' ? (r as { text: string }).text : undefined;
  if (text === undefined) throw new AimassError('INVALID_ARGUMENT', `record ${i}: expected a string or {"text": "..."}`, { record: i });
  if (text.trim() === '') throw new AimassError('INVALID_ARGUMENT', `record ${i}: the text is empty`, { record: i });
  return text;
}

const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** The bytes of an image record: base64 (standard or URL-safe, or a data: URL), bare or as {"image": "..."}. */
function imageBytes(r: unknown, i: number): Uint8Array {
  const given: unknown = typeof r === 'string' ? r : typeof r === 'object' && r !== null ? ((r as { image?: unknown }).image ?? (r as { b64?: unknown }).b64) : undefined;
  if (typeof given !== 'string') throw new AimassError('INVALID_ARGUMENT', `record ${i}: expected an image as a base64 string or {"image": "<base64>"}`, { record: i });
  let text = given;
  const comma = text.startsWith('data:') ? text.indexOf(',') : -1;
  if (comma >= 0) text = text.slice(comma + 1);
  text = text.replace(/\s+/g, '');
  if (text === '') throw new AimassError('INVALID_ARGUMENT', `record ${i}: the image is empty`, { record: i });
  if (!BASE64.test(text)) throw new AimassError('INVALID_ARGUMENT', `record ${i}: the image is not base64 (standard or URL-safe)`, { record: i });
  return Buffer.from(text, 'base64');
}

function spec(problem: string): AimassError {
  return new AimassError('INVALID_SPEC', `pipeline.json does not fit the model: ${problem}`, { problems: [problem] });
}
