/**
 * The stored form of a trial and its lifecycle: `running` until told, then `complete`, `pruned` or `failed`.
 *
 * Owns: `TrialState`, `Direction`, `TrialRecord` (JSON-safe: what a storage keeps and what samplers read) and the
 * small helpers samplers share over records — the loss (value signed so that lower is better), the last
 * intermediate value, and the intersection space of the parameters every finished trial has.
 *
 * Imports ./distributions.
 */
import { sameDistribution, type Distribution, type ParamValue } from './distributions.js';

export const TRIAL_STATES = ['running', 'complete', 'pruned', 'failed'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];
export type FinishedTrialState = Exclude<TrialState, 'running'>;

export type Direction = 'minimize' | 'maximize';

export function isFinished(state: TrialState): state is FinishedTrialState {
  return state !== 'running';
}

export interface TrialRecord {
  /** 0, 1, 2, … in order of creation within the study. */
  number: number;
  state: TrialState;
  params: Record<string, ParamValue>;
  distributions: Record<string, Distribution>;
  /** One value per objective; set when complete (and optionally when pruned). */
  values: number[] | null;
  /** Reported intermediate values by step (string keys, so the record stays JSON). */
  intermediate: Record<string, number>;
  userAttrs: Record<string, unknown>;
  /** Written by samplers and pruners (e.g. the generation of a genetic sampler). */
  systemAttrs: Record<string, unknown>;
  startedAt: number;
  finishedAt: number | null;
}

/** +1 for minimize, −1 for maximize: multiply a value by it to get a loss. */
export function directionSign(d: Direction): 1 | -1 {
  return d === 'minimize' ? 1 : -1;
}

/** The first objective as a loss (lower is better), or null when the trial has no value. */
export function lossOf(t: TrialRecord, directions: readonly Direction[]): number | null {
  if (!t.values || t.values.length === 0) return null;
  const v = t.values[0];
  return Number.isNaN(v) ? null : directionSign(directions[0]) * v;
}

/** Every objective as a loss. */
export function lossesOf(t: TrialRecord, directions: readonly Direction[]): number[] | null {
  if (!t.values) return null;
  return t.values.map((v, i) => directionSign(directions[i]) * v);
}

/** The intermediate value at the largest step, with that step; null when none was reported. */
export function lastIntermediate(t: TrialRecord): { step: number; value: number } | null {
  let best: { step: number; value: number } | null = null;
  for (const [k, value] of Object.entries(t.intermediate)) {
    const step = Number(k);
    if (best === null || step > best.step) best = { step, value };
  }
  return best;
}

/**
 * The parameters (with one distribution) present in every one of `trials`; Optuna calls this the intersection
 * search space. Samplers model these jointly and draw the rest one at a time.
 */
export function intersectionSpace(trials: readonly TrialRecord[]): Record<string, Distribution> {
  let space: Record<string, Distribution> | null = null;
  for (const t of trials) {
    if (space === null) {
      space = { ...t.distributions };
      continue;
    }
    for (const [name, d] of Object.entries(space)) {
      const other = t.distributions[name];
      if (!other || !sameDistribution(d, other)) delete space[name];
    }
  }
  const out: Record<string, Distribution> = {};
  // sorted names: the relative space, and so the meaning of each model dimension, never depends on trial order
  for (const name of Object.keys(space ?? {}).sort()) out[name] = (space as Record<string, Distribution>)[name];
  return out;
}

/** Whether trial `t` drew parameter `name` from distribution `d`. */
export function sameDistributionOf(t: TrialRecord, name: string, d: Distribution): boolean {
  const own = t.distributions[name];
  return own !== undefined && sameDistribution(own, d);
}
