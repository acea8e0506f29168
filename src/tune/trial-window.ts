/**
 * Reproducible parallel trials. With W trials in flight, what trial n would see of trials n−W+1 … n−1 when it is
 * asked (and whenever its pruner is asked) depends on which of them happened to finish first. A coordinator
 * that asks trial n only once trial n−W has finished, and a sampler and pruner that look at the study through
 * this window, make every suggestion and every pruning decision a function of the seed and of earlier results
 * alone: the same with 1 worker or 10, in one run or resumed on another machine after a crash.
 *
 *   sampler for trial n sees  0 … n−W  as stored (finished), n−W+1 … n−1 as running (params only)
 *   pruner  for trial n sees  0 … n−W  (finished ones) and trial n itself
 *
 * The price: a trial is not asked while an older one W places back still runs, and pruning compares against a
 * slightly older field. `reproducible: false` in the tuning spec drops the window.
 *
 * Imports the tune records and contracts.
 */
import type { Distribution, ParamValue } from './distributions.js';
import type { Pruner, PrunerContext } from './pruner.js';
import type { Sampler, SamplerContext } from './sampler.js';
import { isFinished, type TrialRecord } from './trial-record.js';

/** A trial shown as still running: its parameters, none of its (timing-dependent) results. */
function asRunning(t: TrialRecord): TrialRecord {
  if (t.state === 'running' && Object.keys(t.intermediate).length === 0) return t;
  return Object.freeze({ ...t, state: 'running', values: null, intermediate: Object.freeze({}), userAttrs: Object.freeze({}), finishedAt: null });
}

/** The study as trial `n` may see it with `window` trials in flight. */
export function windowView(trials: readonly TrialRecord[], n: number, window: number): TrialRecord[] {
  const out: TrialRecord[] = [];
  for (const t of trials) {
    if (t.number >= n) continue;
    out.push(t.number > n - window || !isFinished(t.state) ? asRunning(t) : t);
  }
  return out;
}

/** `inner`, seeing each trial's snapshot through the window. */
export function windowedSampler(inner: Sampler, window: number): Sampler {
  const view = (ctx: SamplerContext, n: number): SamplerContext => ({ ...ctx, trials: windowView(ctx.trials, n, window) });
  const sampler: Sampler = {
    name: inner.name,
    sampleIndependent: (ctx: SamplerContext, n: number, name: string, d: Distribution, index: number): ParamValue => inner.sampleIndependent(view(ctx, n), n, name, d, index),
  };
  if (inner.sampleRelative) sampler.sampleRelative = (ctx, n) => inner.sampleRelative!(view(ctx, n), n);
  if (inner.trialAttrs) sampler.trialAttrs = (ctx, n) => inner.trialAttrs!(view(ctx, n), n);
  return sampler;
}

/** `inner`, judging trial n against the finished trials up to n−window only. */
export function windowedPruner(inner: Pruner, window: number): Pruner {
  return {
    name: inner.name,
    prune: (ctx: PrunerContext, trial: TrialRecord) =>
      inner.prune({ ...ctx, trials: ctx.trials.filter((t) => t.number === trial.number || (t.number <= trial.number - window && isFinished(t.state))) }, trial),
  };
}
