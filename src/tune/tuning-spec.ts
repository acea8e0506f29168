/**
 * The tuning spec `aimass tune run` reads: a base training spec (inline or a file), a search space whose
 * parameter names are field paths into it (see spec-path.ts), the objective (an epoch metric and a direction),
 * the sampler and pruner with their options, the trial budget, parallelism and retries.
 *
 *   { "train": "mnist-mlp.json",
 *     "space": { "optimizer.lr": { "type": "float", "low": 1e-4, "high": 1e-2, "log": true },
 *                "model.hidden.0": { "type": "categorical", "choices": [32, 64, 128] } },
 *     "objective": { "metric": "val_accuracy" },
 *     "sampler": { "type": "tpe", "seed": 1 }, "pruner": { "type": "median" },
 *     "trials": 8, "parallelism": 2 }
 *
 * Owns: the schema and every semantic check (the space, each path against the base spec, each extreme value of
 * each parameter put into the base and validated as a training spec, the metric against the data, sampler and
 * pruner options), all problems listed in one INVALID_SPEC; the normalized form (JSON, data paths absolute,
 * a seed always chosen) that a study stores so every worker and every resumed run uses the same; building the
 * training spec of one trial, and the sampler and pruner a spec names.
 *
 * Imports core, train and the tune files it names.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { AimassError, describeIssues } from '../core/index.js';
import { type TrainSpec, TrainSpecSchema, resolveDataPaths } from '../train/index.js';
import { CmaEsSampler } from './cmaes-sampler.js';
import type { ParamValue } from './distributions.js';
import { GeneticSampler } from './genetic-sampler.js';
import { GpSampler } from './gp-sampler.js';
import { GridSampler } from './grid-sampler.js';
import { MedianPruner } from './median-pruner.js';
import { nopPruner, type Pruner } from './pruner.js';
import { QmcSampler } from './qmc.js';
import { RandomSampler } from './random-sampler.js';
import type { Sampler } from './sampler.js';
import { SearchSpaceSchema, parseSearchSpace, type SearchSpace } from './search-space.js';
import { getPath, pathProblem, setPath } from './spec-path.js';
import { HyperbandPruner, SuccessiveHalvingPruner } from './successive-halving.js';
import { ThresholdPruner } from './threshold-pruner.js';
import { TpeSampler } from './tpe-sampler.js';
import type { Direction } from './trial-record.js';
import { windowedPruner, windowedSampler } from './trial-window.js';

/** Epoch metrics a trial can optimize (see train/history.ts). */
export const OBJECTIVE_METRICS = ['val_accuracy', 'val_loss', 'val_mae', 'train_accuracy', 'train_loss'] as const;
export type ObjectiveMetric = (typeof OBJECTIVE_METRICS)[number];

const seed = z.number().int().min(0).max(0xffffffff).optional();
const count = z.number().int().positive();

const SamplerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('random'), seed }),
  z.strictObject({ type: z.literal('qmc'), seed }),
  z.strictObject({
    type: z.literal('tpe'),
    seed,
    nStartupTrials: z.number().int().min(0).optional(),
    nEiCandidates: count.optional(),
    priorWeight: z.number().positive().optional(),
    multivariate: z.boolean().optional(),
    /** Running trials count as the worst results, so parallel asks spread out (default: on when parallelism > 1). */
    constantLiar: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('gp'),
    seed,
    nStartupTrials: z.number().int().min(0).optional(),
    maxTrainingPoints: count.optional(),
    maxFitPoints: count.optional(),
    nRawCandidates: count.optional(),
    nRestarts: z.number().int().min(0).optional(),
    outputWarp: z.enum(['none', 'log']).optional(),
  }),
  z.strictObject({
    type: z.literal('genetic'),
    seed,
    populationSize: z.number().int().min(2).optional(),
    crossoverRate: z.number().min(0).max(1).optional(),
    mutationRate: z.number().min(0).max(1).optional(),
    mutationScale: z.number().positive().optional(),
    tournamentSize: z.number().int().min(1).optional(),
    eliteCount: z.number().int().min(0).optional(),
  }),
  z.strictObject({ type: z.literal('cmaes'), seed, sigma0: z.number().positive().optional(), populationSize: z.number().int().min(2).optional() }),
  z.strictObject({
    type: z.literal('grid'),
    seed,
    /** Values per parameter; default: every choice of categorical parameters and every value of int ones. */
    grid: z.record(z.string(), z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).min(1)).optional(),
  }),
]);

const PrunerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({
    type: z.literal('median'),
    nStartupTrials: z.number().int().min(0).optional(),
    nWarmupSteps: z.number().int().min(0).optional(),
    intervalSteps: count.optional(),
    nMinTrials: count.optional(),
    percentile: z.number().min(0).max(100).optional(),
  }),
  z.strictObject({
    type: z.literal('successive-halving'),
    minResource: z.number().positive().optional(),
    reductionFactor: z.number().min(2).optional(),
    minEarlyStoppingRate: z.number().int().min(0).optional(),
    bootstrapCount: z.number().int().min(0).optional(),
  }),
  z.strictObject({
    type: z.literal('hyperband'),
    minResource: z.number().positive().optional(),
    /** Default: the most epochs a trial can run. */
    maxResource: z.number().positive().optional(),
    reductionFactor: z.number().min(2).optional(),
  }),
  z.strictObject({ type: z.literal('threshold'), lower: z.number().optional(), upper: z.number().optional(), nWarmupSteps: z.number().int().min(0).optional() }),
]);

export const TuningSpecSchema = z.strictObject({
  /** Default study name (`--study` overrides it). */
  name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only').optional(),
  /** The base training spec, or the path of its file (relative to the tuning spec's folder). */
  train: z.union([z.string().min(1), z.record(z.string(), z.unknown())]),
  space: SearchSpaceSchema,
  objective: z.strictObject({
    metric: z.enum(OBJECTIVE_METRICS),
    /** Default: maximize accuracies, minimize losses and errors. */
    direction: z.enum(['minimize', 'maximize']).optional(),
  }),
  sampler: SamplerSchema.default({ type: 'tpe' }),
  pruner: PrunerSchema.default({ type: 'none' }),
  /** Trials in the study when the run ends (every state counts; a resumed study goes on up to it). */
  trials: z.number().int().positive().max(100_000),
  /** Trials in flight at once (default 1). */
  parallelism: z.number().int().positive().max(1024).default(1),
  /**
   * Attempts of a trial's task (default 2): a trial whose worker crashed, was killed or lost its lease runs
   * again from its last epoch checkpoint. A trial whose training fails by itself (diverged, bad data) is failed
   * at once: running it again would fail the same way.
   */
  retry: z.strictObject({ maxAttempts: z.number().int().min(1).max(100) }).default({ maxAttempts: 2 }),
  /** What one trial's task asks of a worker. */
  resources: z.strictObject({ cpu: z.number().int().min(1).max(1024).default(1), memoryMb: z.number().int().min(64).default(1024) }).default({ cpu: 1, memoryMb: 1024 }),
  /** Hard limit on one attempt of a trial (default 1 hour). */
  timeoutMs: z.number().int().positive().default(3_600_000),
  /** Suggestions and pruning independent of timing (see trial-window.ts); default true. */
  reproducible: z.boolean().default(true),
});

export type TuningSpecInput = z.input<typeof TuningSpecSchema>;
export type SamplerSpec = z.infer<typeof SamplerSchema>;
export type PrunerSpec = z.infer<typeof PrunerSchema>;

/** A checked spec: JSON, stored with the study, the same for every worker and every resumed run. */
export interface TuningSpec {
  name?: string;
  /** The training spec as written (defaults not filled in), data paths made absolute. */
  base: Record<string, unknown>;
  space: z.infer<typeof SearchSpaceSchema>;
  objective: { metric: ObjectiveMetric; direction: Direction };
  /** Without a seed, the coordinator chooses one when it creates the study and stores it with the study. */
  sampler: SamplerSpec;
  pruner: PrunerSpec;
  trials: number;
  parallelism: number;
  retry: { maxAttempts: number };
  resources: { cpu: number; memoryMb: number };
  timeoutMs: number;
  reproducible: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function defaultDirection(metric: ObjectiveMetric): Direction {
  return metric.endsWith('accuracy') ? 'maximize' : 'minimize';
}

function readJsonFile(path: string, what: string, problems: string[]): unknown {
  if (!existsSync(path)) {
    problems.push(`${what}: file not found: ${path}`);
    return undefined;
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    problems.push(`${what}: ${path} is not valid JSON: ${(e as Error).message}`);
    return undefined;
  }
}

/** Reads and checks a tuning spec file (paths in it are relative to its folder). */
export async function loadTuningSpec(path: string): Promise<TuningSpec> {
  const file = resolve(path);
  const problems: string[] = [];
  const raw = readJsonFile(file, 'tuning spec', problems);
  if (problems.length) throw new AimassError(existsSync(file) ? 'INVALID_SPEC' : 'NOT_FOUND', problems[0], { problems, spec: file });
  return parseTuningSpec(raw, { baseDir: dirname(file) });
}

function problemsOf(e: unknown, prefix: string): string[] {
  if (e instanceof AimassError && Array.isArray(e.details?.problems)) return e.details.problems.map((p) => `${prefix}${String(p)}`);
  if (e instanceof AimassError) return [`${prefix}${e.message}`];
  throw e;
}

/**
 * Checks a tuning spec and normalizes it; throws INVALID_SPEC listing every problem. `baseDir` resolves the
 * training spec's path and, through it, the data paths; data files must exist (`checkData: false` skips that).
 */
export async function parseTuningSpec(raw: unknown, o: { baseDir: string; checkData?: boolean }): Promise<TuningSpec> {
  const problems: string[] = [];
  const parsed = TuningSpecSchema.safeParse(raw);
  if (!parsed.success) problems.push(...describeIssues(parsed.error.issues));
  const input = isRecord(raw) ? raw : {};

  // the base training spec: inline or a file, its data paths relative to the folder it came from
  let base: Record<string, unknown> | undefined;
  let baseDir = o.baseDir;
  if (typeof input.train === 'string' && input.train !== '') {
    const file = resolve(o.baseDir, input.train);
    const doc = readJsonFile(file, 'train', problems);
    if (doc !== undefined && !isRecord(doc)) problems.push(`train: ${file} does not hold a JSON object`);
    else if (doc !== undefined) base = doc;
    baseDir = dirname(file);
  } else if (isRecord(input.train)) base = input.train;
  let baseSpec: TrainSpec | undefined;
  if (base) {
    const r = TrainSpecSchema.safeParse(base);
    if (!r.success) problems.push(...describeIssues(r.error.issues, 'train'));
    else baseSpec = r.data;
  }
  if (base && baseSpec && o.checkData !== false) {
    try {
      base = { ...base, data: { ...(base.data as object), ...pickPaths(await resolveDataPaths(baseSpec.data, baseDir)) } };
    } catch (e) {
      problems.push(...problemsOf(e, 'train.'));
    }
  }

  // the space, then each parameter against the base spec
  let space: SearchSpace | undefined;
  if (isRecord(input.space)) {
    try {
      space = parseSearchSpace(input.space);
    } catch (e) {
      problems.push(...problemsOf(e, 'space: '));
    }
  }
  if (space && base) {
    for (const p of space.params) {
      const problem = pathProblem(base, p.name);
      if (problem) {
        problems.push(`space: ${problem}`);
        continue;
      }
      for (const v of extremes(p.distribution)) {
        const r = TrainSpecSchema.safeParse(setPath(base, p.name, v));
        if (!r.success) {
          for (const issue of describeIssues(r.error.issues, 'train')) problems.push(`space: "${p.name}" = ${JSON.stringify(v)} gives an invalid training spec: ${issue}`);
          break;
        }
      }
    }
  }

  const spec = parsed.success ? parsed.data : undefined;
  if (spec && baseSpec) {
    const metric = spec.objective.metric;
    if (metric.startsWith('val_') && baseSpec.data.validation === undefined) {
      problems.push(`objective.metric: ${metric} needs validation data; set train.data.validation (a fraction such as 0.2, or a file)`);
    }
  }
  if (spec && space) problems.push(...samplerProblems(spec.sampler, space), ...prunerProblems(spec.pruner));
  if (problems.length || !spec || !base) {
    throw new AimassError('INVALID_SPEC', `the tuning spec has ${problems.length} problem(s); fix each one listed and run again`, { problems });
  }
  return {
    ...(spec.name ? { name: spec.name } : {}),
    base,
    space: spec.space,
    objective: { metric: spec.objective.metric, direction: spec.objective.direction ?? defaultDirection(spec.objective.metric) },
    sampler: spec.sampler,
    pruner: spec.pruner,
    trials: spec.trials,
    parallelism: spec.parallelism,
    retry: spec.retry,
    resources: spec.resources,
    timeoutMs: spec.timeoutMs,
    reproducible: spec.reproducible,
  };
}

function pickPaths(d: TrainSpec['data']): Record<string, unknown> {
  const out: Record<string, unknown> = { train: d.train };
  if (d.test !== undefined) out.test = d.test;
  if (typeof d.validation === 'string') out.validation = d.validation;
  return out;
}

/** Values that test a parameter's whole range against the training spec's bounds. */
function extremes(d: SearchSpace['params'][number]['distribution']): ParamValue[] {
  if (d.type === 'categorical') return [...d.choices];
  return d.low === d.high ? [d.low] : [d.low, d.high];
}

function samplerProblems(s: SamplerSpec, space: SearchSpace): string[] {
  if (s.type !== 'grid') return [];
  const names = space.params.map((p) => p.name);
  if (s.grid) {
    const out: string[] = [];
    for (const n of Object.keys(s.grid)) if (!names.includes(n)) out.push(`sampler.grid: "${n}" is not a parameter of the space`);
    for (const n of names) if (!(n in s.grid)) out.push(`sampler.grid: list the values of "${n}" (every parameter of the space)`);
    return out;
  }
  const out: string[] = [];
  for (const p of space.params) {
    if (p.distribution.type === 'float') out.push(`sampler.grid: "${p.name}" is a float range; give sampler.grid with its values`);
  }
  return out;
}

function prunerProblems(p: PrunerSpec): string[] {
  if (p.type === 'threshold' && p.lower === undefined && p.upper === undefined) return ['pruner: a threshold pruner needs lower, upper or both'];
  if (p.type === 'threshold' && p.lower !== undefined && p.upper !== undefined && p.lower > p.upper) return [`pruner: lower (${p.lower}) is above upper (${p.upper})`];
  return [];
}

/** The training spec (JSON, before defaults) of a trial with these parameter values. */
export function trialTrainingSpec(spec: TuningSpec, params: Readonly<Record<string, ParamValue>>): Record<string, unknown> {
  let doc = spec.base;
  // in the space's declaration order, so two parameters on one path resolve the same way everywhere
  for (const name of Object.keys(spec.space)) if (name in params) doc = setPath(doc, name, params[name]);
  return doc;
}

/** The most epochs any trial can train (the base's, or the top of an `epochs` parameter's range). */
export function maxEpochs(spec: TuningSpec): number {
  const p = spec.space.epochs;
  if (p && p.type === 'int') return p.high;
  if (p && p.type === 'categorical') return Math.max(...p.choices.filter((c): c is number => typeof c === 'number'));
  const e = getPath(spec.base, 'epochs');
  return typeof e === 'number' ? e : 10;
}

/** The sampler a spec names; with `window` > 1 seen through the reproducibility window (trial-window.ts). */
export function createSampler(spec: TuningSpec, window = spec.reproducible ? spec.parallelism : 1): Sampler {
  const s = spec.sampler;
  let sampler: Sampler;
  switch (s.type) {
    case 'random':
      sampler = new RandomSampler({ seed: s.seed });
      break;
    case 'qmc':
      sampler = new QmcSampler({ seed: s.seed });
      break;
    case 'tpe': {
      const { type: _t, ...o } = s;
      sampler = new TpeSampler({ ...o, constantLiar: s.constantLiar ?? spec.parallelism > 1 });
      break;
    }
    case 'gp': {
      const { type: _t, ...o } = s;
      sampler = new GpSampler(o);
      break;
    }
    case 'genetic': {
      const { type: _t, ...o } = s;
      sampler = new GeneticSampler(o);
      break;
    }
    case 'cmaes': {
      const { type: _t, ...o } = s;
      sampler = new CmaEsSampler(o);
      break;
    }
    case 'grid':
      sampler = new GridSampler(s.grid ?? defaultGrid(parseSearchSpace(spec.space)), { seed: s.seed });
      break;
  }
  return window > 1 ? windowedSampler(sampler, window) : sampler;
}

function defaultGrid(space: SearchSpace): Record<string, ParamValue[]> {
  const grid: Record<string, ParamValue[]> = {};
  for (const p of space.params) {
    const d = p.distribution;
    if (d.type === 'categorical') grid[p.name] = [...d.choices];
    else if (d.type === 'int') grid[p.name] = Array.from({ length: Math.floor((d.high - d.low) / d.step) + 1 }, (_, i) => d.low + i * d.step);
  }
  return grid;
}

/** The pruner a spec names, seen through the reproducibility window. */
export function createPruner(spec: TuningSpec, window = spec.reproducible ? spec.parallelism : 1): Pruner {
  const p = spec.pruner;
  let pruner: Pruner;
  switch (p.type) {
    case 'none':
      return nopPruner;
    case 'median': {
      const { type: _t, ...o } = p;
      pruner = new MedianPruner(o);
      break;
    }
    case 'successive-halving': {
      const { type: _t, ...o } = p;
      pruner = new SuccessiveHalvingPruner(o);
      break;
    }
    case 'hyperband':
      pruner = new HyperbandPruner({ minResource: p.minResource, maxResource: p.maxResource ?? maxEpochs(spec), reductionFactor: p.reductionFactor });
      break;
    case 'threshold':
      pruner = new ThresholdPruner(p);
      break;
  }
  return window > 1 ? windowedPruner(pruner, window) : pruner;
}
