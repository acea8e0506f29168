/**
 * The pruner contract: given the study's trials and one running trial with its intermediate values, say whether
 * to stop that trial now. Implementations live beside it (median, successive halving, Hyperband).
 *
 * Imports ./trial-record.
 */
import type { Direction, TrialRecord } from './trial-record.js';

export interface PrunerContext {
  readonly directions: readonly Direction[];
  /** Every trial of the study, the judged one included, in number order. */
  readonly trials: readonly TrialRecord[];
}

export interface Pruner {
  readonly name: string;
  prune(ctx: PrunerContext, trial: TrialRecord): boolean;
}

/** Never prunes: the default. */
export const nopPruner: Pruner = { name: 'none', prune: () => false };
