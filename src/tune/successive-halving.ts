/**
 * Successive halving in its asynchronous form (ASHA) and Hyperband on top of it.
 *
 * ASHA: rungs sit at resources r_k = minResource·η^(k + s) (steps, epochs); when a trial first reports at or
 * past a rung, it goes on only if its value there is among the best 1/η of every trial that reached that rung
 * so far, and is pruned otherwise. Each trial is judged once per rung, at the report that crosses it, so no
 * state beyond the stored intermediate values is needed.
 *
 * Hyperband: several ASHA brackets with different early-stopping rates s (aggressive to none); each trial is
 * placed in one bracket by its number, in proportion to the bracket's budget, and competes only within it.
 *
 * Imports core and the tune files it names.
 */
import { errors } from '../core/index.js';
import type { Pruner, PrunerContext } from './pruner.js';
import { mixSeed } from './sampler.js';
import type { TrialRecord } from './trial-record.js';

export interface SuccessiveHalvingOptions {
  /** Resource (step) of the first rung (default 1). */
  minResource?: number;
  /** η: keep the best 1/η at each rung (default 3). */
  reductionFactor?: number;
  /** s: the first rung is at minResource·η^s (default 0). */
  minEarlyStoppingRate?: number;
  /** Trials that must reach a rung before any is pruned there (default 0). */
  bootstrapCount?: number;
}

export class SuccessiveHalvingPruner implements Pruner {
  readonly name: string = 'successive-halving';
  protected readonly o: Required<SuccessiveHalvingOptions>;

  constructor(o: SuccessiveHalvingOptions = {}) {
    this.o = { minResource: o.minResource ?? 1, reductionFactor: o.reductionFactor ?? 3, minEarlyStoppingRate: o.minEarlyStoppingRate ?? 0, bootstrapCount: o.bootstrapCount ?? 0 };
    const problems: string[] = [];
    if (!(this.o.minResource > 0)) problems.push(`minResource: must be positive, got ${this.o.minResource}`);
    if (!(this.o.reductionFactor >= 2)) problems.push(`reductionFactor: must be at least 2, got ${this.o.reductionFactor}`);
    if (!(Number.isInteger(this.o.minEarlyStoppingRate) && this.o.minEarlyStoppingRate >= 0)) problems.push(`minEarlyStoppingRate: must be a non-negative integer, got ${this.o.minEarlyStoppingRate}`);
    if (problems.length) throw errors.invalidSpec(`the successive-halving options have ${problems.length} problem(s)`, problems);
  }

  prune(ctx: PrunerContext, trial: TrialRecord): boolean {
    return judgeAtRung(ctx, trial, ctx.trials, this.o);
  }
}

/** Resource of rung k. */
function rungResource(o: Required<SuccessiveHalvingOptions>, k: number): number {
  return o.minResource * o.reductionFactor ** (k + o.minEarlyStoppingRate);
}

function judgeAtRung(ctx: PrunerContext, trial: TrialRecord, field: readonly TrialRecord[], o: Required<SuccessiveHalvingOptions>): boolean {
  const steps = Object.keys(trial.intermediate).map(Number).sort((a, b) => a - b);
  if (steps.length === 0) return false;
  const step = steps[steps.length - 1];
  const previous = steps.length > 1 ? steps[steps.length - 2] : -Infinity;
  // the highest rung this report crossed; none crossed means nothing to judge
  let k = -1;
  while (rungResource(o, k + 1) <= step) k++;
  if (k < 0 || rungResource(o, k) <= previous) return false;
  const resource = rungResource(o, k);
  const sign = ctx.directions[0] === 'maximize' ? -1 : 1;
  const mine = valueAtRung(trial, resource);
  if (mine === null) return false;
  const competitors: number[] = [];
  for (const t of field) {
    if (t.state === 'failed') continue;
    const v = valueAtRung(t, resource);
    if (v !== null) competitors.push(sign * v);
  }
  if (competitors.length <= o.bootstrapCount) return false;
  const keep = Math.max(1, Math.floor(competitors.length / o.reductionFactor));
  competitors.sort((a, b) => a - b);
  return sign * mine > competitors[keep - 1];
}

/** The value a trial had at a rung: its report at the last step not past the rung, once it has reached it. */
function valueAtRung(t: TrialRecord, resource: number): number | null {
  let reached = false;
  let bestStep = -Infinity;
  let value: number | null = null;
  for (const [k, v] of Object.entries(t.intermediate)) {
    const s = Number(k);
    if (s >= resource) reached = true;
    if (s <= resource && s > bestStep) {
      bestStep = s;
      value = v;
    }
  }
  return reached ? value : null;
}

export interface HyperbandOptions {
  minResource?: number;
  /** Resource a full trial uses (its last step); sets the number of brackets. */
  maxResource: number;
  reductionFactor?: number;
}

export class HyperbandPruner implements Pruner {
  readonly name = 'hyperband';
  private readonly brackets: Required<SuccessiveHalvingOptions>[] = [];
  private readonly budgets: number[] = [];

  constructor(o: HyperbandOptions) {
    const minResource = o.minResource ?? 1;
    const eta = o.reductionFactor ?? 3;
    if (!(o.maxResource >= minResource)) throw errors.invalidArgument(`maxResource (${o.maxResource}) must be at least minResource (${minResource})`);
    if (!(eta >= 2)) throw errors.invalidArgument(`reductionFactor must be at least 2, got ${eta}`);
    const sMax = Math.floor(Math.log(o.maxResource / minResource) / Math.log(eta) + 1e-9);
    for (let s = 0; s <= sMax; s++) {
      this.brackets.push({ minResource, reductionFactor: eta, minEarlyStoppingRate: s, bootstrapCount: 0 });
      // trials a bracket would start in one Hyperband iteration: more for the aggressive brackets
      this.budgets.push(Math.ceil(((sMax + 1) / (sMax + 1 - s)) * eta ** (sMax - s)));
    }
  }

  get bracketCount(): number {
    return this.brackets.length;
  }

  /** The bracket a trial belongs to, by its number. */
  bracketOf(trialNumber: number): number {
    const total = this.budgets.reduce((a, b) => a + b, 0);
    let r = mixSeed(0x4b, trialNumber) % total;
    for (let b = 0; b < this.budgets.length; b++) {
      if (r < this.budgets[b]) return b;
      r -= this.budgets[b];
    }
    return this.budgets.length - 1;
  }

  prune(ctx: PrunerContext, trial: TrialRecord): boolean {
    const b = this.bracketOf(trial.number);
    const field = ctx.trials.filter((t) => this.bracketOf(t.number) === b);
    return judgeAtRung(ctx, trial, field, this.brackets[b]);
  }
}
