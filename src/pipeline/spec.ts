// The pipeline spec: the whole job described once — data, features, model, training (or tuning), evaluation, gate, what to do when the gate fails, registration and serving — read from YAML
// or JSON and validated before any work starts, every problem listed with its path. Data paths are relative to
// the spec file.
//
//   name: digits
//   data:     { format: image-csv, train: ../data/mnist_train.csv, test: ../data/mnist_test.csv, validation: 0.1 }
//   model:    { type: cnn, input: [1, 28, 28], blocks: [{ filters: 16, pool: 2 }], dense: [64] }
//   train:    { epochs: 2, batchSize: 64, optimizer: { type: adam, lr: 0.001 } }
//   tune:     { trials: 6, sampler: tpe, seed: 0, space: { optimizer.lr: { type: float, low: 0.0003, high: 0.01, log: true } } }
//   gate:     accuracy >= 0.95 and min_class_recall >= 0.9 and accuracy >= baseline.accuracy - 0.01
//   on_fail:  { action: retrain, max_rounds: 2, epochs_factor: 2 }
//   register: { model: digits, alias: production }
//   serve:    { port: 8080 }
//
// Owns the decisions: text data is featurized (TF-IDF or hashing, the `features` section) and feeds an mlp or
// linear model whose input width and class count the pipeline fills in; image data (`image-csv`) feeds its
// pixels, scaled, to any model; `train.grid` trains every combination of the listed values (dotted paths into
// the training settings or the model) and keeps the best on validation; `tune:` searches a src/tune space over
// the same dotted paths with a sampler (a seeded study, so a re-run asks the same trials and finds them cached),
// and `on_fail: retune` continues that study with a larger budget when the gate fails.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { AimassError, describeIssues } from '../core/index.js';
import { gateSyntaxErrors } from '../eval/index.js';
import { TextPipelineSpecSchema, type TextPipelineSpecInput } from '../features/index.js';
import { MODEL_TYPES, ModelSpecSchema } from '../models/index.js';
import { TrainSpecSchema } from '../train/index.js';
import { type SearchSpace, parseSearchSpace } from '../tune/index.js';
import { gateMetricProblems } from './gate-step.js';

const NAME = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash and underscore, starting with a letter or digit');
const fraction = z.number().gt(0).lt(1);
const file = z.string().min(1);

const ImageDataSchema = z.strictObject({
  /** Label then pixels 0..255 on each line (MNIST style). */
  format: z.literal('image-csv'),
  train: file,
  test: file,
  /** A fraction of the training rows held out for validation each epoch (needed by train.grid). */
  validation: fraction.optional(),
  /** Multiplies each pixel (default 1/255). */
  scale: z.number().positive().optional(),
});

const SplitSchema = z.strictObject({
  test: fraction.default(0.2),
  validation: z.number().min(0).lt(1).default(0.1),
  by: z.enum(['stratified', 'random']).default('stratified'),
  seed: z.number().int().min(0).default(0),
});

const TextDataSchema = z
  .strictObject({
    /** A table of texts and labels; JSON Lines, CSV or TSV. */
    format: z.enum(['jsonl', 'csv', 'tsv']),
    /** One file, split here (see `split`) … */
    path: file.optional(),
    split: SplitSchema.optional(),
    /** … or files already split. */
    train: file.optional(),
    test: file.optional(),
    validation: z.union([fraction, file]).optional(),
    text: z.string().min(1).default('text'),
    label: z.string().min(1).default('label'),
  })
  .superRefine((d, ctx) => {
    if (d.path !== undefined && (d.train !== undefined || d.test !== undefined || d.validation !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'give either path (one file, split by the pipeline) or train and test (files already split), not both' });
    } else if (d.path === undefined) {
      if (d.train === undefined) ctx.addIssue({ code: 'custom', path: ['train'], message: 'missing: give path (one file to split) or train and test' });
      if (d.test === undefined) ctx.addIssue({ code: 'custom', path: ['test'], message: 'missing: the held-out file the evaluation scores (or give path and let the pipeline split it)' });
      if (d.split !== undefined) ctx.addIssue({ code: 'custom', path: ['split'], message: 'split applies to path (one file); train and test are already split' });
    }
  });

export type ImageDataSpec = z.output<typeof ImageDataSchema>;
export type TextDataSpec = z.output<typeof TextDataSchema>;
export type DataSpec = ImageDataSpec | TextDataSpec;

const ON_FAIL_ACTIONS = ['stop', 'retrain', 'retune'] as const;

const TopSchema = z.strictObject({
  name: NAME.optional(),
  description: z.string().optional(),
  data: z.record(z.string(), z.unknown(), { error: 'expected an object with format, and train/test or path' }),
  features: z.record(z.string(), z.unknown()).optional(),
  model: z.record(z.string(), z.unknown(), { error: `expected an object with a type (${MODEL_TYPES.join(', ')})` }),
  train: z
    .looseObject({
      /** Values to try, by dotted path into the training settings or the model: { "optimizer.lr": [0.001, 0.01] }. */
      grid: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'a dotted path such as optimizer.lr or model.dense'), z.array(z.unknown()).min(1)).optional(),
      /** How the grid's best configuration is chosen. */
      select: z.enum(['val_accuracy', 'val_loss']).default('val_accuracy'),
    })
    .default({ select: 'val_accuracy' }),
  tune: z
    .strictObject({
      /** A src/tune declarative space whose names are dotted paths, as train.grid's. */
      space: z.record(z.string(), z.unknown()),
      /** Trials of the first tuning round. */
      trials: z.number().int().min(1).max(500).default(6),
      sampler: z.enum(['random', 'qmc', 'tpe', 'gp', 'ga', 'cmaes']).default('tpe'),
      seed: z.number().int().min(0).default(0),
    })
    .optional(),
  evaluate: z
    .strictObject({
      /** Single-sample predictions timed for the report's latency (0: none, and latency metrics are undefined). */
      latency_samples: z.number().int().min(0).max(100_000).default(200),
    })
    .default({ latency_samples: 200 }),
  gate: z
    .union([z.string().min(1), z.strictObject({ rules: z.string().min(1), baseline: NAME.default('production') })], {
      error: 'expected the rules as a string, or { rules, baseline }',
    })
    .optional(),
  on_fail: z
    .union(
      [
        z.enum(ON_FAIL_ACTIONS),
        z.strictObject({
          action: z.enum(ON_FAIL_ACTIONS),
          max_rounds: z.number().int().min(1).max(10).default(2),
          epochs_factor: z.number().gt(1).max(100).default(2),
          /** retune: each further round runs this many times the trials of the round before. */
          trials_factor: z.number().gt(0).max(100).default(1),
        }),
      ],
      { error: `expected ${ON_FAIL_ACTIONS.join(', ')}, or { action, max_rounds, epochs_factor, trials_factor }` },
    )
    .default('stop'),
  register: z.union([z.literal(false), z.strictObject({ model: NAME.optional(), alias: z.union([NAME, z.literal(false)]).default('production'), description: z.string().optional() })]).default({ alias: 'production' }),
  serve: z.union([z.literal(false), z.strictObject({ port: z.number().int().min(0).max(65535).optional(), host: z.string().min(1).optional() })]).default({}),
});

/** The training settings of a TrainSpec that the `train` section may hold (name, model and data come from elsewhere). */
const TRAIN_FIELDS = Object.keys(TrainSpecSchema.shape).filter((k) => !['name', 'model', 'data'].includes(k));

export interface OnFail {
  action: 'stop' | 'retrain' | 'retune';
  /** Further training (or tuning) rounds after the first, at most. */
  maxRounds: number;
  /** retrain: each further round trains for this many times the epochs of the round before. */
  epochsFactor: number;
  /** retune: each further round runs this many times the trials of the round before. */
  trialsFactor: number;
}

export type TuneSampler = 'random' | 'qmc' | 'tpe' | 'gp' | 'ga' | 'cmaes';

export interface TuneSpec {
  space: SearchSpace;
  /** The space as written (part of the train steps' cache keys). */
  rawSpace: Record<string, unknown>;
  trials: number;
  sampler: TuneSampler;
  seed: number;
}

export interface PipelineSpec {
  name: string;
  description?: string;
  /** Where the spec file is; relative paths were resolved against it. */
  baseDir: string;
  data: DataSpec;
  /** Text data: the feature pipeline fitted on the training texts. */
  features?: TextPipelineSpecInput;
  /** The model spec; for text data `input` and `classes` may be left out (the pipeline fills them in). */
  model: Record<string, unknown>;
  train: {
    /** TrainSpec fields: optimizer, schedule, regularization, epochs, batchSize, seed, threads, earlyStopping. */
    settings: Record<string, unknown>;
    grid?: Record<string, unknown[]>;
    select: 'val_accuracy' | 'val_loss';
  };
  /** A tuning round instead of one configuration (or a grid). */
  tune?: TuneSpec;
  evaluate: { latencySamples: number };
  gate?: { rules: string; baseline: string };
  onFail: OnFail;
  /** Absent: the pipeline stops after the gate. */
  register?: { model: string; alias?: string; description?: string };
  serve?: { port?: number; host?: string };
}

/** The default text features: TF-IDF of words with sublinear tf, terms in at least 2 texts, the 5,000 most frequent. */
export const DEFAULT_TEXT_FEATURES: TextPipelineSpecInput = { vectorizer: { type: 'tfidf', sublinearTf: true, minDf: 2, maxFeatures: 5000 } };

export const isTextData = (d: DataSpec): d is TextDataSpec => d.format !== 'image-csv';

function problemsOf(schema: z.ZodType, value: unknown, root: string): { ok: true; value: unknown } | { ok: false; problems: string[] } {
  const r = schema.safeParse(value);
  return r.success ? { ok: true, value: r.data } : { ok: false, problems: describeIssues(r.error.issues, root) };
}

/** Sets `value` at a dotted path of a plain object, copying the objects on the way (the input is not changed). */
export function withPath(target: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) return { ...target, [head]: value };
  const inner = target[head];
  const base = typeof inner === 'object' && inner !== null && !Array.isArray(inner) ? (inner as Record<string, unknown>) : {};
  return { ...target, [head]: withPath(base, rest.join('.'), value) };
}

/** Every combination of the grid's values, in order (the first path varies slowest); [{}] without a grid. */
export function gridCombinations(grid: Record<string, unknown[]> | undefined): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [path, values] of Object.entries(grid ?? {})) out = out.flatMap((c) => values.map((v) => ({ ...c, [path]: v })));
  return out;
}

/** Applies one grid combination to the model and the training settings: `model.…` paths go to the model. */
export function applyCombination(model: Record<string, unknown>, settings: Record<string, unknown>, combination: Record<string, unknown>): { model: Record<string, unknown>; settings: Record<string, unknown> } {
  let m = model;
  let s = settings;
  for (const [path, value] of Object.entries(combination)) {
    if (path.startsWith('model.')) m = withPath(m, path.slice('model.'.length), value);
    else s = withPath(s, path, value);
  }
  return { model: m, settings: s };
}

const MAX_GRID = 64;

/**
 * Validates a parsed YAML/JSON document as a pipeline spec; relative paths resolve against `baseDir`. Throws one
 * INVALID_SPEC whose details.problems lists every problem found: fields, files that do not exist, a model that
 * does not fit the data, gate syntax, and the sections that are not available yet.
 */
export function parsePipelineSpec(value: unknown, o: { baseDir: string; defaultName?: string; source?: string }): PipelineSpec {
  const problems: string[] = [];
  const top = TopSchema.safeParse(value);
  if (!top.success) problems.push(...describeIssues(top.error.issues));
  const raw = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(o.baseDir, p));

  // data
  let data: DataSpec | undefined;
  const rawData = raw.data as Record<string, unknown> | undefined;
  if (rawData && typeof rawData === 'object') {
    const text = rawData.format !== 'image-csv';
    const r = problemsOf(text ? TextDataSchema : ImageDataSchema, rawData, 'data');
    if (!r.ok) {
      // an unknown format is the one problem worth reporting about the data section
      if (typeof rawData.format !== 'string' || !['image-csv', 'jsonl', 'csv', 'tsv'].includes(rawData.format)) {
        problems.push(`data.format: ${rawData.format === undefined ? 'missing' : `unknown format ${JSON.stringify(rawData.format)}`}; use image-csv (label then pixels per line) or jsonl, csv, tsv (a table of texts and labels)`);
      } else problems.push(...r.problems);
    } else {
      data = r.value as DataSpec;
      const fields = isTextData(data) ? (['path', 'train', 'test', 'validation'] as const) : (['train', 'test'] as const);
      const resolved = { ...data } as Record<string, unknown>;
      for (const f of fields) {
        const p = (data as Record<string, unknown>)[f];
        if (typeof p !== 'string') continue;
        resolved[f] = abs(p);
        if (!existsSync(abs(p))) problems.push(`data.${f}: file not found: ${abs(p)}`);
        else if (!statSync(abs(p)).isFile()) problems.push(`data.${f}: not a file: ${abs(p)}`);
      }
      data = resolved as DataSpec;
    }
  }

  // features
  let features: TextPipelineSpecInput | undefined;
  if (raw.features !== undefined && data) {
    if (!isTextData(data)) problems.push('features: image data feeds its pixels to the model (scaled by data.scale); features apply to text data');
    else {
      const r = problemsOf(TextPipelineSpecSchema, raw.features, 'features');
      if (r.ok) features = raw.features as TextPipelineSpecInput;
      else problems.push(...r.problems);
    }
  }
  if (data && isTextData(data) && features === undefined && raw.features === undefined) features = DEFAULT_TEXT_FEATURES;

  // model: fill what the pipeline fills in with placeholders, to check the rest now
  const model = (raw.model && typeof raw.model === 'object' && !Array.isArray(raw.model) ? raw.model : {}) as Record<string, unknown>;
  const type = model.type;
  if (raw.model !== undefined && typeof raw.model === 'object') {
    if (typeof type !== 'string' || !(MODEL_TYPES as readonly string[]).includes(type)) {
      problems.push(`model.type: ${type === undefined ? 'missing' : `unknown model ${JSON.stringify(type)}`}; the models are ${MODEL_TYPES.join(', ')}`);
    } else {
      if (data && isTextData(data) && type !== 'mlp' && type !== 'linear') {
        problems.push(`model.type: text data becomes TF-IDF or hashed feature vectors, which feed an mlp or a linear model, not ${type}`);
      }
      if (type === 'cnn' && model.input === undefined) problems.push('model.input: a cnn needs its input shape, [channels, height, width] (e.g. [1, 28, 28] for MNIST)');
      if (model.task === 'regression') problems.push('model.task: pipelines evaluate classifiers (multiclass or binary); train regression models with `aimass train`');
      const placeholder = { ...model, ...(model.input === undefined && type !== 'cnn' ? { input: 1 } : {}), ...(model.classes === undefined && model.task !== 'binary' ? { classes: 2 } : {}) };
      if (type !== 'cnn' || model.input !== undefined) {
        const r = problemsOf(ModelSpecSchema, placeholder, 'model');
        if (!r.ok) problems.push(...r.problems);
      }
    }
  }

  // training settings, and each grid combination, as the trainer will see them
  const trainRaw = (raw.train && typeof raw.train === 'object' && !Array.isArray(raw.train) ? raw.train : {}) as Record<string, unknown>;
  const { grid: rawGrid, select: _select, ...settings } = trainRaw;
  for (const k of Object.keys(settings)) {
    if (!TRAIN_FIELDS.includes(k)) problems.push(`train.${k}: unknown field; the training settings are ${TRAIN_FIELDS.join(', ')}, grid and select`);
  }
  const isGrid = (g: unknown): g is Record<string, unknown[]> => typeof g === 'object' && g !== null && !Array.isArray(g) && Object.values(g).every(Array.isArray);
  const grid = isGrid(rawGrid) ? rawGrid : undefined;
  const combos = gridCombinations(grid);
  if (combos.length > MAX_GRID) problems.push(`train.grid: ${combos.length} combinations; at most ${MAX_GRID} (this grid stands in for the tune step, which searches larger spaces)`);
  const known = Object.fromEntries(Object.entries(settings).filter(([k]) => TRAIN_FIELDS.includes(k)));
  if (typeof type === 'string' && (MODEL_TYPES as readonly string[]).includes(type) && (type !== 'cnn' || model.input !== undefined)) {
    const seen = new Set<string>();
    for (const combo of combos.slice(0, MAX_GRID)) {
      for (const path of Object.keys(combo)) {
        const head = path.split('.')[0];
        if (head !== 'model' && !TRAIN_FIELDS.includes(head) && !seen.has(path)) {
          seen.add(path);
          problems.push(`train.grid.${path}: not a training setting; vary the training settings (${TRAIN_FIELDS.join(', ')}) or the model (model.…)`);
        }
      }
      const applied = applyCombination(model, known, combo);
      const candidate = {
        ...applied.settings,
        model: { ...applied.model, ...(applied.model.input === undefined ? { input: 1 } : {}), ...(applied.model.classes === undefined && applied.model.task !== 'binary' ? { classes: 2 } : {}) },
        data: { format: 'csv', train: 'placeholder' },
      };
      const r = TrainSpecSchema.safeParse(candidate);
      if (!r.success) {
        const where = Object.keys(combo).length ? ` (grid: ${Object.entries(combo).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')})` : '';
        for (const p of describeIssues(r.error.issues)) {
          const line = p.startsWith('model') ? `${p}${where}` : `train.${p}${where}`;
          if (!seen.has(line)) problems.push(line);
          seen.add(line);
        }
      }
    }
  }
  if (grid && data) {
    const validation = isTextData(data) ? (data.path !== undefined ? (data.split?.validation ?? 0.1) > 0 : data.validation !== undefined) : data.validation !== undefined;
    if (!validation) problems.push('train.grid: picks the best configuration on validation data; give data.validation (a fraction of the training rows)');
  }

  // tuning: a src/tune space over the same dotted paths as the grid
  let tuneSpace: SearchSpace | undefined;
  const tuneRaw = raw.tune as { space?: unknown } | undefined;
  if (tuneRaw !== undefined && typeof tuneRaw === 'object' && tuneRaw !== null) {
    if (grid) problems.push('tune: give train.grid or tune, not both (tune searches the space; the grid tries every combination)');
    if (tuneRaw.space !== undefined) {
      try {
        tuneSpace = parseSearchSpace(tuneRaw.space);
      } catch (e) {
        const listed = e instanceof AimassError && Array.isArray(e.details?.problems) ? (e.details.problems as string[]) : [(e as Error).message];
        problems.push(...listed.map((p) => `tune.space: ${p}`));
      }
      for (const name of Object.keys(tuneRaw.space as object)) {
        const head = name.split('.')[0];
        if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(name)) problems.push(`tune.space.${name}: not a dotted path such as optimizer.lr or model.hidden`);
        else if (head !== 'model' && !TRAIN_FIELDS.includes(head)) problems.push(`tune.space.${name}: not a training setting; tune the training settings (${TRAIN_FIELDS.join(', ')}) or the model (model.…)`);
      }
    }
    if (data) {
      const validation = isTextData(data) ? (data.path !== undefined ? (data.split?.validation ?? 0.1) > 0 : data.validation !== undefined) : data.validation !== undefined;
      if (!validation) problems.push('tune: compares trials on validation data; give data.validation (a fraction of the training rows)');
    }
  }
  const onFailRaw = raw.on_fail;
  const action = typeof onFailRaw === 'string' ? onFailRaw : (onFailRaw as { action?: unknown } | undefined)?.action;
  if (action === 'retune' && tuneRaw === undefined) problems.push('on_fail: retune continues the tuning study with more trials; add a tune section (or use retrain)');

  // the gate's syntax; its metric names are checked against the data's classes once they are known
  const gateRaw = raw.gate as string | { rules?: unknown; baseline?: unknown } | undefined;
  const rules = typeof gateRaw === 'string' ? gateRaw : typeof gateRaw?.rules === 'string' ? gateRaw.rules : undefined;
  const gate = rules ? { rules, baseline: typeof gateRaw === 'object' && typeof gateRaw.baseline === 'string' ? gateRaw.baseline : 'production' } : undefined;
  if (gate) {
    const multiline = gate.rules.includes('\n');
    const syntax = gateSyntaxErrors(gate.rules);
    for (const e of syntax) problems.push(`gate: ${multiline ? `line ${e.line}, ` : ''}column ${e.column}: ${e.message}`);
    if (syntax.length === 0) problems.push(...gateMetricProblems(gate.rules));
  }
  if ((action === 'retrain' || action === 'retune') && !gate) problems.push(`on_fail: ${action} ${action}s when the gate fails; add a gate`);

  if (problems.length || !top.success || !data) {
    throw new AimassError('INVALID_SPEC', `the pipeline spec${o.source ? ` ${o.source}` : ''} has ${problems.length} problem(s); fix each one listed and run again`, {
      problems,
      ...(o.source ? { spec: o.source } : {}),
    });
  }
  const t = top.data;
  const onFail = typeof t.on_fail === 'string' ? { action: t.on_fail, max_rounds: 2, epochs_factor: 2, trials_factor: 1 } : t.on_fail;
  const name = t.name ?? o.defaultName ?? 'pipeline';
  return {
    name,
    description: t.description,
    baseDir: o.baseDir,
    data,
    features,
    model,
    train: { settings: known, grid: t.train.grid, select: t.train.select },
    ...(t.tune && tuneSpace ? { tune: { space: tuneSpace, rawSpace: t.tune.space, trials: t.tune.trials, sampler: t.tune.sampler, seed: t.tune.seed } } : {}),
    evaluate: { latencySamples: t.evaluate.latency_samples },
    gate,
    onFail: { action: onFail.action, maxRounds: onFail.max_rounds, epochsFactor: onFail.epochs_factor, trialsFactor: onFail.trials_factor },
    register: t.register === false ? undefined : { model: t.register.model ?? name, alias: t.register.alias === false ? undefined : t.register.alias, description: t.register.description },
    serve: t.serve === false || t.register === false ? undefined : t.serve,
  };
}
