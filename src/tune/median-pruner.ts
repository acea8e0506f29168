/**
 * The median stopping rule: stop a trial whose best intermediate value so far is worse than the median of the
 * values other complete trials reported at the same step. Cheap, and the usual first pruner to try.
 *
 * Imports core, ./pruner and ./trial-record.
 */
import { errors } from '../core/index.js';
import type { Pruner, PrunerContext } from './pruner.js';
import { lastIntermediate, type TrialRecord } from './trial-record.js';

export interface MedianPrunerOptions {
  /** Never prune until this many trials have completed (default 5). */
  nStartupTrials?: number;
  /** Never prune before this step (default 0). */
  nWarmupSteps?: number;
  /** Judge only every this many steps after the warm-up (default 1). */
  intervalSteps?: number;
  /** Trials that reported at the step needed for a median (default 1). */
  nMinTrials?: number;
  /** Percentile instead of the median (default 50): 25 prunes more, 75 less. */
  percentile?: number;
}

export class MedianPruner implements Pruner {
  readonly name = 'median';
  private readonly o: Required<MedianPrunerOptions>;

  constructor(o: MedianPrunerOptions = {}) {
    this.o = { nStartupTrials: o.nStartupTrials ?? 5, nWarmupSteps: o.nWarmupSteps ?? 0, intervalSteps: o.intervalSteps ?? 1, nMinTrials: o.nMinTrials ?? 1, percentile: o.percentile ?? 50 };
    if (!(this.o.percentile >= 0 && this.o.percentile <= 100)) throw errors.invalidArgument(`percentile must be in [0, 100], got ${this.o.percentile}`);
    if (!(Number.isInteger(this.o.intervalSteps) && this.o.intervalSteps >= 1)) throw errors.invalidArgument(`intervalSteps must be a positive integer, got ${this.o.intervalSteps}`);
  }

  prune(ctx: PrunerContext, trial: TrialRecord): boolean {
    const last = lastIntermediate(trial);
    if (!last) return false;
    const { step } = last;
    if (step < this.o.nWarmupSteps || (step - this.o.nWarmupSteps) % this.o.intervalSteps !== 0) return false;
    const complete = ctx.trials.filter((t) => t.state === 'complete' && t.number !== trial.number);
    if (complete.length < this.o.nStartupTrials) return false;
    const sign = ctx.directions[0] === 'maximize' ? -1 : 1;
    const others: number[] = [];
    for (const t of complete) {
      const v = t.intermediate[String(step)];
      if (typeof v === 'number' && !Number.isNaN(v)) others.push(sign * v);
    }
    if (others.length < this.o.nMinTrials || others.length === 0) return false;
    let best = Infinity;
    for (const [k, v] of Object.entries(trial.intermediate)) if (Number(k) <= step && !Number.isNaN(v)) best = Math.min(best, sign * v);
    return best > percentile(others, this.o.percentile);
  }
}

/** Linear-interpolated percentile of unsorted values. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}
