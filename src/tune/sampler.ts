/**
 * The sampler contract the study calls for every trial, and what samplers share.
 *
 * A sampler sees a frozen snapshot of the study (taken when the trial was asked) and proposes values two ways,
 * as Optuna does: `sampleRelative` once per trial for the parameters it can model jointly (the relative space:
 * the declared space's unconditional parameters, or else those every complete trial has), and
 * `sampleIndependent` for any other parameter the objective asks for (conditional ones, new ones).
 *
 * Reproducibility: a sampler never keeps a random stream across trials. Every draw comes from an `Rng` seeded
 * by (sampler seed, trial number, purpose), so the same seed and the same sequence of results give the same
 * suggestions, also when trials run in parallel and finish in any order.
 *
 * Imports core, ./distributions, ./search-space and ./trial-record.
 */
import { Rng, fmix32 } from '../core/index.js';
import { fromUnit, singleValue, type Distribution, type ParamValue } from './distributions.js';
import { unconditionalParams, type SearchSpace } from './search-space.js';
import { intersectionSpace, type Direction, type TrialRecord } from './trial-record.js';

export interface SamplerContext {
  readonly directions: readonly Direction[];
  /** Every earlier trial as of the ask, in number order, running ones included (for constant liars). */
  readonly trials: readonly TrialRecord[];
  /** The declared space, when the trial was asked with one. */
  readonly space?: SearchSpace;
}

export interface Sampler {
  readonly name: string;
  /** Joint proposal for this trial (values by parameter name); may be empty. Called once, at ask. */
  sampleRelative?(ctx: SamplerContext, trialNumber: number): Record<string, ParamValue>;
  /**
   * One parameter outside the relative proposal. `index` is how many parameters this trial drew before this
   * one, for samplers (quasi-random) that give each call its own coordinate.
   */
  sampleIndependent(ctx: SamplerContext, trialNumber: number, name: string, distribution: Distribution, index: number): ParamValue;
  /** Attributes to store on the trial when it is created (e.g. the generation of a genetic sampler). */
  trialAttrs?(ctx: SamplerContext, trialNumber: number): Record<string, unknown>;
}

/** A well-mixed 32-bit hash of a few integers (murmur3's finalizer after each word). */
export function mixSeed(...words: number[]): number {
  let h = 0x811c9dc5;
  for (const w of words) {
    const lo = w >>> 0;
    const hi = Math.floor(w / 0x100000000) >>> 0;
    for (const part of [lo, hi]) h = fmix32(Math.imul(h ^ part, 0x9e3779b1));
  }
  return h;
}

export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Purposes of random draws, so no two uses within one trial share a stream. */
export const RNG_PURPOSE = { relative: 1, independent: 2, acquisition: 3, startup: 4, selection: 5 } as const;

/** The generator for one purpose of one trial: depends on nothing but these numbers. */
export function trialRng(seed: number, trialNumber: number, purpose: number, salt = 0): Rng {
  return new Rng(mixSeed(seed, trialNumber, purpose, salt));
}

/** A random seed, for samplers created without one (their runs are then not reproducible). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x100000000);
}

/**
 * The parameters to model jointly: the declared space's unconditional ones, else the intersection space of the
 * complete trials; parameters with a single possible value are left out (nothing to choose).
 */
export function relativeSpace(ctx: SamplerContext): Record<string, Distribution> {
  const base = ctx.space ? sortedByName(unconditionalParams(ctx.space)) : intersectionSpace(ctx.trials.filter((t) => t.state === 'complete'));
  const out: Record<string, Distribution> = {};
  for (const [name, d] of Object.entries(base)) if (singleValue(d) === undefined) out[name] = d;
  return out;
}

function sortedByName(o: Record<string, Distribution>): Record<string, Distribution> {
  const out: Record<string, Distribution> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/** A uniform draw: unit coordinate for numeric ranges (log and steps honoured), a uniform pick for choices. */
export function uniformValue(rng: Rng, d: Distribution): ParamValue {
  if (d.type === 'categorical') return d.choices[rng.int(d.choices.length)];
  return fromUnit(d, rng.next());
}

/** The complete trials whose first objective is a number, with their loss (lower is better). */
export function completeWithLoss(ctx: SamplerContext): { trial: TrialRecord; loss: number }[] {
  const sign = ctx.directions[0] === 'maximize' ? -1 : 1;
  const out: { trial: TrialRecord; loss: number }[] = [];
  for (const t of ctx.trials) {
    if (t.state !== 'complete' || !t.values || Number.isNaN(t.values[0])) continue;
    out.push({ trial: t, loss: sign * t.values[0] });
  }
  return out;
}
