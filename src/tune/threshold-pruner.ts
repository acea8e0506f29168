/**
 * The threshold rule: stop a trial whose latest intermediate value falls outside [lower, upper] (or is not a
 * finite number). Useful to cut runs that diverge or never leave chance level, and as a pruner whose decision
 * depends on no other trial.
 *
 * Imports core, ./pruner and ./trial-record.
 */
import { errors } from '../core/index.js';
import type { Pruner, PrunerContext } from './pruner.js';
import { lastIntermediate, type TrialRecord } from './trial-record.js';

export interface ThresholdPrunerOptions {
  /** Prune when the value is below this. */
  lower?: number;
  /** Prune when the value is above this. */
  upper?: number;
  /** Never prune before this step (default 0). */
  nWarmupSteps?: number;
}

export class ThresholdPruner implements Pruner {
  readonly name = 'threshold';
  private readonly lower: number;
  private readonly upper: number;
  private readonly warmup: number;

  constructor(o: ThresholdPrunerOptions) {
    this.lower = o.lower ?? -Infinity;
    this.upper = o.upper ?? Infinity;
    this.warmup = o.nWarmupSteps ?? 0;
    if (o.lower === undefined && o.upper === undefined) throw errors.invalidArgument('a threshold pruner needs lower, upper or both');
    if (!(this.lower <= this.upper)) throw errors.invalidArgument(`lower (${this.lower}) must not be above upper (${this.upper})`);
  }

  prune(_ctx: PrunerContext, trial: TrialRecord): boolean {
    const last = lastIntermediate(trial);
    if (!last || last.step < this.warmup) return false;
    return !Number.isFinite(last.value) || last.value < this.lower || last.value > this.upper;
  }
}
