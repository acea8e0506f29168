// Every sampler against random search on a small problem, conditional spaces for each sampler, the constant
// liar, grid coverage and NSGA-II on two objectives. Budgets are small so the file runs in seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CmaEsSampler,
  GeneticSampler,
  GpSampler,
  GridSampler,
  Nsga2Sampler,
  QmcSampler,
  RandomSampler,
  TpeSampler,
  createStudy,
  dominates,
  type Sampler,
  type Trial,
} from './index.js';

/** A shifted bowl in three dimensions, with one integer and one log-scaled parameter. */
const bowl = (t: Trial) => {
  const x = t.suggestFloat('x', -5, 5);
  const n = t.suggestInt('n', 0, 20);
  const lr = t.suggestFloat('lr', 1e-4, 1, { log: true });
  return (x - 1.3) ** 2 + ((n - 7) / 4) ** 2 + Math.log10(lr / 0.01) ** 2;
};

const SAMPLERS: Record<string, { make: (seed: number) => Sampler; trials: number }> = {
  tpe: { make: (seed) => new TpeSampler({ seed }), trials: 60 },
  'tpe multivariate': { make: (seed) => new TpeSampler({ seed, multivariate: true }), trials: 60 },
  gp: { make: (seed) => new GpSampler({ seed, nRawCandidates: 256, nRestarts: 3 }), trials: 25 },
  genetic: { make: (seed) => new GeneticSampler({ seed, populationSize: 10 }), trials: 60 },
  cmaes: { make: (seed) => new CmaEsSampler({ seed }), trials: 60 },
  qmc: { make: (seed) => new QmcSampler({ seed }), trials: 60 },
};

async function bestOf(make: (seed: number) => Sampler, seed: number, trials: number): Promise<number> {
  const study = await createStudy({ sampler: make(seed) });
  await study.optimize(bowl, { nTrials: trials });
  return study.bestValue();
}

for (const [name, { make, trials }] of Object.entries(SAMPLERS)) {
  test(`${name} beats random search over a few seeds`, async () => {
    let ours = 0;
    let random = 0;
    for (const seed of [11, 12, 13, 14]) {
      ours += await bestOf(make, seed, trials);
      random += await bestOf((s) => new RandomSampler({ seed: s }), seed, trials);
    }
    assert.ok(ours < random, `${name}: summed best ${ours.toFixed(4)} vs random ${random.toFixed(4)}`);
  });

  test(`${name} copes with a conditional space`, async () => {
    const study = await createStudy({ sampler: make(5) });
    const space = {
      model: { type: 'categorical', choices: ['linear', 'tree'] },
      c: { type: 'float', low: 1e-3, high: 1e3, log: true, when: { model: 'linear' } },
      depth: { type: 'int', low: 1, high: 12, when: { model: 'tree' } },
      shared: { type: 'float', low: 0, high: 1 },
    };
    await study.optimize(
      (t) => {
        const p = t.params;
        const base = (p.shared as number) ** 2;
        return p.model === 'linear' ? base + Math.log10(p.c as number) ** 2 : base + 1 + ((p.depth as number) - 6) ** 2 / 10;
      },
      { nTrials: 24, space },
    );
    const trials = await study.trials();
    assert.ok(trials.every((t) => t.state === 'complete'));
    assert.ok(trials.every((t) => ('c' in t.params) === (t.params.model === 'linear') && ('depth' in t.params) === (t.params.model === 'tree')));
  });
}

test('TPE with the constant liar does not propose a point that is already running', async () => {
  const study = await createStudy({ sampler: new TpeSampler({ seed: 1, nStartupTrials: 5, constantLiar: true }) });
  const f = (t: Trial) => (t.suggestInt('k', 0, 9) - 4) ** 2 + t.suggestCategorical('c', ['a', 'b', 'c']).length;
  for (let i = 0; i < 15; i++) {
    const t = await study.ask();
    await study.tell(t, f(t));
  }
  // ten points over a 30-point grid asked at once: the liar spreads them out
  const batch: Trial[] = [];
  for (let i = 0; i < 8; i++) {
    const t = await study.ask();
    f(t);
    await t.flush();
    batch.push(t);
  }
  const keys = batch.map((t) => JSON.stringify(t.params));
  assert.equal(new Set(keys).size, keys.length, keys.join(' '));
  // without the liar the same situation repeats points
  const plain = await createStudy({ sampler: new TpeSampler({ seed: 1, nStartupTrials: 5 }) });
  for (let i = 0; i < 15; i++) {
    const t = await plain.ask();
    await plain.tell(t, f(t));
  }
  const plainKeys: string[] = [];
  for (let i = 0; i < 8; i++) {
    const t = await plain.ask();
    f(t);
    await t.flush();
    plainKeys.push(JSON.stringify(t.params));
  }
  assert.ok(new Set(plainKeys).size < plainKeys.length, 'without the liar, some running points repeat');
});

test('GP with pending trials never proposes a running point again', async () => {
  const study = await createStudy({ sampler: new GpSampler({ seed: 2, nStartupTrials: 6, nRawCandidates: 256, nRestarts: 2 }) });
  const f = (t: Trial) => (t.suggestFloat('x', 0, 1) - 0.3) ** 2 + (t.suggestFloat('y', 0, 1) - 0.6) ** 2;
  for (let i = 0; i < 8; i++) {
    const t = await study.ask();
    await study.tell(t, f(t));
  }
  const batch: Trial[] = [];
  for (let i = 0; i < 4; i++) {
    const t = await study.ask();
    f(t);
    await t.flush();
    batch.push(t);
  }
  for (let i = 0; i < batch.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = batch[i].params;
      const b = batch[j].params;
      const dist = Math.hypot((a.x as number) - (b.x as number), (a.y as number) - (b.y as number));
      assert.ok(dist > 1e-9, `trials ${i} and ${j} coincide`);
    }
  }
});

test('the grid sampler visits every combination once, also with trials in parallel', async () => {
  const grid = { a: [1, 2, 3], b: ['x', 'y'], c: [0.5] };
  const study = await createStudy({ sampler: new GridSampler(grid, { seed: 4 }) });
  await study.optimize(
    async (t) => {
      const a = t.suggestInt('a', 1, 3);
      t.suggestCategorical('b', ['x', 'y']);
      t.suggestFloat('c', 0, 1);
      await new Promise((r) => setTimeout(r, 1));
      return a;
    },
    { nTrials: 6, concurrency: 3 },
  );
  const seen = (await study.trials()).map((t) => `${t.params.a}${t.params.b}${t.params.c}`).sort();
  assert.deepEqual(seen, ['1x0.5', '1y0.5', '2x0.5', '2y0.5', '3x0.5', '3y0.5']);
  const bad = await createStudy({ sampler: new GridSampler(grid, { seed: 4 }) });
  const t = await bad.ask();
  assert.throws(() => t.suggestFloat('other', 0, 1), /not in the grid/);
});

test('NSGA-II pushes the front of a two-objective problem beyond random search', async () => {
  // Schaffer-like: f1 = x², f2 = (x − 2)², plus a nuisance y that should go to 0
  const objective = (t: Trial) => {
    const x = t.suggestFloat('x', -4, 6);
    const y = t.suggestFloat('y', -1, 1);
    return [x * x + y * y, (x - 2) ** 2 + y * y];
  };
  const quality = async (sampler: Sampler) => {
    const study = await createStudy({ directions: ['minimize', 'minimize'], sampler });
    await study.optimize(objective, { nTrials: 120 });
    const front = await study.bestTrials();
    // mean |y| on the front: 0 on the true front
    return front.reduce((s, t) => s + Math.abs(t.params.y as number), 0) / front.length;
  };
  let ours = 0;
  let random = 0;
  for (const seed of [1, 2, 3]) {
    ours += await quality(new Nsga2Sampler({ seed, populationSize: 20 }));
    random += await quality(new RandomSampler({ seed }));
  }
  assert.ok(ours < random, `NSGA-II ${ours} vs random ${random}`);
  assert.equal(dominates([1, 1], [1, 2]), true);
});
