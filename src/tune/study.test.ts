// Studies: ask/tell, trial states, best trial, several objectives, optimize with parallel trials, and
// reproducibility — the same seed and results give the same suggestions, also with trials in parallel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimassError } from '../core/index.js';
import {
  CmaEsSampler,
  GeneticSampler,
  GpSampler,
  MedianPruner,
  QmcSampler,
  RandomSampler,
  TpeSampler,
  TrialPruned,
  createStudy,
  type Sampler,
  type Trial,
} from './index.js';

const quadratic = (t: Trial) => {
  const x = t.suggestFloat('x', -5, 5);
  const y = t.suggestFloat('y', -5, 5);
  return (x - 1) ** 2 + (y + 2) ** 2;
};

test('ask/tell records params, values and states; best trial follows the direction', async () => {
  const study = await createStudy({ direction: 'maximize', sampler: new RandomSampler({ seed: 1 }) });
  const a = await study.ask();
  a.suggestFloat('x', 0, 1);
  assert.equal(a.suggestFloat('x', 0, 1), a.params.x, 'same name, same value');
  assert.throws(() => a.suggestFloat('x', 0, 2), /already suggested/);
  await study.tell(a, 3);
  const b = await study.ask();
  await study.tell(b, 7);
  const c = await study.ask();
  await c.report(10, 1);
  await study.tell(c, { state: 'pruned' });
  const d = await study.ask();
  await study.tell(d, Number.NaN);
  const e = await study.ask();
  await assert.rejects(study.tell(e, [1, 2]), (err: AimassError) => err.code === 'INVALID_ARGUMENT');
  const trials = await study.trials();
  assert.deepEqual(trials.map((t) => t.state), ['complete', 'complete', 'pruned', 'failed', 'running']);
  assert.deepEqual(trials[2].values, [10], 'a pruned trial keeps its last reported value');
  assert.equal((await study.bestTrial()).number, 1);
  assert.equal(await study.bestValue(), 7);
  await assert.rejects(study.tell(a, 4), (err: AimassError) => err.code === 'CONFLICT');
});

test('several objectives: bestTrials is the Pareto front under the directions', async () => {
  const study = await createStudy({ directions: ['minimize', 'maximize'] });
  const results = [
    [1, 1],
    [2, 3],
    [2, 2], // dominated by [2, 3]
    [0.5, 0], // front: least first objective
    [3, 3], // dominated by [2, 3]
  ];
  for (const r of results) await study.tell(await study.ask(), r);
  assert.deepEqual((await study.bestTrials()).map((t) => t.number), [0, 1, 3]);
  await assert.rejects(study.bestTrial(), /Pareto/);
});

test('optimize runs trials in parallel, records pruned and (when asked) failed trials', async () => {
  const study = await createStudy({ sampler: new RandomSampler({ seed: 2 }), pruner: new MedianPruner({ nStartupTrials: 2 }) });
  let inFlight = 0;
  let maxInFlight = 0;
  await study.optimize(
    async (t) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const x = t.suggestFloat('x', 0, 1);
      try {
        if (t.number === 5) throw new Error('boom');
        for (let step = 0; step < 3; step++) {
          await new Promise((r) => setTimeout(r, 1));
          await t.report(x * (step + 1), step);
          if (await t.shouldPrune()) throw new TrialPruned();
        }
        return x;
      } finally {
        inFlight--;
      }
    },
    { nTrials: 20, concurrency: 4, catchErrors: true },
  );
  const trials = await study.trials();
  assert.equal(trials.length, 20);
  assert.equal(maxInFlight, 4);
  assert.equal(trials[5].state, 'failed');
  assert.ok(trials.some((t) => t.state === 'pruned'), 'the median pruner stopped some trials');
  assert.ok(trials.every((t) => t.state !== 'running'));
  await assert.rejects(study.optimize(() => { throw new Error('stop'); }, { nTrials: 3 }), /stop/);
});

const SAMPLERS: Record<string, (seed: number) => Sampler> = {
  random: (seed) => new RandomSampler({ seed }),
  qmc: (seed) => new QmcSampler({ seed }),
  tpe: (seed) => new TpeSampler({ seed, nStartupTrials: 5 }),
  tpeLiar: (seed) => new TpeSampler({ seed, nStartupTrials: 5, multivariate: true, constantLiar: true }),
  genetic: (seed) => new GeneticSampler({ seed, populationSize: 6 }),
  cmaes: (seed) => new CmaEsSampler({ seed }),
  gp: (seed) => new GpSampler({ seed, nStartupTrials: 5, nRawCandidates: 128, nRestarts: 2 }),
};

async function suggestions(make: (seed: number) => Sampler, seed: number, concurrency: number): Promise<string> {
  const study = await createStudy({ sampler: make(seed) });
  await study.optimize(quadratic, { nTrials: 16, concurrency });
  return JSON.stringify((await study.trials()).map((t) => t.params));
}

for (const [name, make] of Object.entries(SAMPLERS)) {
  test(`${name}: the same seed and results give the same suggestions, serial and parallel`, async () => {
    assert.equal(await suggestions(make, 7, 1), await suggestions(make, 7, 1));
    assert.equal(await suggestions(make, 7, 3), await suggestions(make, 7, 3));
    assert.notEqual(await suggestions(make, 7, 1), await suggestions(make, 8, 1));
  });
}

test('parallel asks are reproducible when results arrive out of order', async () => {
  const run = async () => {
    const study = await createStudy({ sampler: new TpeSampler({ seed: 3, nStartupTrials: 2, constantLiar: true }) });
    const order: number[] = [];
    for (let round = 0; round < 4; round++) {
      const batch = await Promise.all([study.ask(), study.ask(), study.ask()]);
      for (const t of batch) quadratic(t);
      // tell in reverse order: the next asks see the same study either way
      for (const t of [...batch].reverse()) {
        order.push(t.number);
        await study.tell(t, quadratic(t));
      }
    }
    return JSON.stringify((await study.trials()).map((t) => t.params));
  };
  assert.equal(await run(), await run());
});

test('a study is found again by name in its storage', async () => {
  const first = await createStudy({ name: 'shared' });
  await first.tell(await first.ask(), 1);
  await assert.rejects(createStudy({ name: 'shared', storage: first.storage }), /already exists/);
  const again = await createStudy({ name: 'shared', storage: first.storage, loadIfExists: true });
  assert.equal((await again.trials()).length, 1);
});
