// Pruners on hand-built trial histories: the median rule, successive halving judged once per rung, and
// Hyperband's brackets; plus a study where pruning saves steps without losing the best trial.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HyperbandPruner,
  MedianPruner,
  RandomSampler,
  SuccessiveHalvingPruner,
  TrialPruned,
  createStudy,
  type PrunerContext,
  type TrialRecord,
} from './index.js';

function trial(number: number, curve: number[], state: TrialRecord['state'] = 'complete'): TrialRecord {
  const intermediate: Record<string, number> = {};
  curve.forEach((v, step) => (intermediate[String(step)] = v));
  return {
    number,
    state,
    params: {},
    distributions: {},
    values: state === 'complete' ? [curve[curve.length - 1]] : null,
    intermediate,
    userAttrs: {},
    systemAttrs: {},
    startedAt: 0,
    finishedAt: null,
  };
}

test('median pruner: stops a trial worse than the median at its step, after startup and warm-up', () => {
  const done = [trial(0, [5, 4, 3]), trial(1, [6, 5, 4]), trial(2, [7, 6, 5])];
  const ctx = (t: TrialRecord): PrunerContext => ({ directions: ['minimize'], trials: [...done, t] });
  const pruner = new MedianPruner({ nStartupTrials: 3 });
  const bad = trial(3, [8, 7], 'running');
  const good = trial(4, [5.5, 4.5], 'running');
  assert.equal(pruner.prune(ctx(bad), bad), true);
  assert.equal(pruner.prune(ctx(good), good), false);
  assert.equal(new MedianPruner({ nStartupTrials: 4 }).prune(ctx(bad), bad), false, 'too few complete trials');
  assert.equal(new MedianPruner({ nStartupTrials: 3, nWarmupSteps: 2 }).prune(ctx(bad), bad), false, 'still warming up');
  // maximizing flips the comparison
  const up = (t: TrialRecord): PrunerContext => ({ directions: ['maximize'], trials: [...done, t] });
  assert.equal(pruner.prune(up(bad), bad), false);
  const low = trial(5, [3, 3], 'running');
  assert.equal(pruner.prune(up(low), low), true);
});

test('successive halving keeps the best 1/η at each rung and judges a trial once per rung', () => {
  const pruner = new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 2 });
  // rungs at steps 1, 2, 4, …; three trials already passed rung 1 with values 1, 2, 3
  const field = [trial(0, [9, 1, 1, 1, 1]), trial(1, [9, 2, 2, 2, 2]), trial(2, [9, 3, 3])];
  const judge = (curve: number[]) => {
    const t = trial(3, curve, 'running');
    return pruner.prune({ directions: ['minimize'], trials: [...field, t] }, t);
  };
  assert.equal(judge([9]), false, 'step 0 is below the first rung');
  assert.equal(judge([9, 1.5]), false, 'rung 1: 4 trials, keep 2; 1.5 is second best');
  assert.equal(judge([9, 2.5]), true, 'rung 1: third of four');
  assert.equal(judge([9, 1.5, 1.4, 1.3]), false, 'step 3 crosses no new rung: not judged again');
});

test('Hyperband places trials in brackets by budget and prunes only within a bracket', () => {
  const hb = new HyperbandPruner({ minResource: 1, maxResource: 27, reductionFactor: 3 });
  assert.equal(hb.bracketCount, 4);
  const counts = new Array(hb.bracketCount).fill(0);
  for (let n = 0; n < 4000; n++) counts[hb.bracketOf(n)]++;
  assert.ok(counts.every((c) => c > 0), `${counts}`);
  assert.ok(counts[0] > counts[3], `the most aggressive bracket gets the most trials: ${counts}`);
  // a trial is never pruned by trials of other brackets
  const t = trial(0, [9, 9, 9, 9], 'running');
  const others = Array.from({ length: 30 }, (_, i) => trial(i + 1, [0, 0, 0, 0])).filter((o) => hb.bracketOf(o.number) !== hb.bracketOf(0));
  assert.equal(hb.prune({ directions: ['minimize'], trials: [t, ...others] }, t), false);
});

test('pruning in a study stops weak learning curves and keeps the best trial', async () => {
  for (const pruner of [new MedianPruner({ nStartupTrials: 3 }), new SuccessiveHalvingPruner({ reductionFactor: 3 }), new HyperbandPruner({ maxResource: 9 })]) {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 4 }), pruner });
    let steps = 0;
    await study.optimize(
      async (t) => {
        const rate = t.suggestFloat('rate', 0, 1);
        let loss = 1;
        for (let step = 0; step < 10; step++) {
          loss = 1 / (1 + rate * (step + 1));
          steps++;
          await t.report(loss, step);
          if (await t.shouldPrune()) throw new TrialPruned();
        }
        return loss;
      },
      { nTrials: 30 },
    );
    const trials = await study.trials();
    const pruned = trials.filter((t) => t.state === 'pruned').length;
    assert.ok(pruned > 0 && steps < 300, `${pruner.name}: ${pruned} pruned, ${steps} steps`);
    const bestRate = Math.max(...trials.map((t) => t.params.rate as number));
    assert.equal((await study.bestTrial()).params.rate, bestRate, `${pruner.name} kept the best trial`);
  }
});
