// npm run bench:tune — median best value over seeds after N trials of each sampler on Branin, Hartmann-6 and
// Rosenbrock-4 (the definitions of ../shared/bench/peer_optuna.py), with Optuna 3.1's samplers run in the same
// run, and a closing line comparing our best sampler with Optuna's best per function.
//   --trials N (100)  --seeds S (10)  --samplers gp,tpe,...  --fns branin,...  --no-peer (or AIMASS_BENCH_SKIP_PEER=1)
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import {
  CmaEsSampler,
  GeneticSampler,
  GpSampler,
  QmcSampler,
  RandomSampler,
  TpeSampler,
  createStudy,
  type Sampler,
  type Trial,
} from '../src/tune/index.js';
import { printResult, repoRoot, round } from './common.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const A6 = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const P6 = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];
const C6 = [1.0, 1.2, 3.0, 3.2];

const FUNCTIONS: Record<string, { optimum: number; goal: number; f: (t: Trial) => number }> = {
  branin: {
    optimum: 0.397887,
    goal: 0.3985,
    f: (t) => {
      const x = t.suggestFloat('x', -5, 10);
      const y = t.suggestFloat('y', 0, 15);
      return (y - (5.1 / (4 * Math.PI ** 2)) * x * x + (5 / Math.PI) * x - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x) + 10;
    },
  },
  hartmann6: {
    optimum: -3.32237,
    goal: -3.25,
    f: (t) => {
      const x = Array.from({ length: 6 }, (_, i) => t.suggestFloat(`x${i}`, 0, 1));
      let s = 0;
      for (let i = 0; i < 4; i++) {
        let e = 0;
        for (let j = 0; j < 6; j++) e += A6[i][j] * (x[j] - P6[i][j] * 1e-4) ** 2;
        s += C6[i] * Math.exp(-e);
      }
      return -s;
    },
  },
  rosenbrock4: {
    optimum: 0,
    goal: 1.0,
    f: (t) => {
      const x = Array.from({ length: 4 }, (_, i) => t.suggestFloat(`x${i}`, -2, 2));
      let s = 0;
      for (let i = 0; i < 3; i++) s += 100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2;
      return s;
    },
  },
};

const SAMPLERS: Record<string, (seed: number) => Sampler> = {
  random: (seed) => new RandomSampler({ seed }),
  qmc: (seed) => new QmcSampler({ seed }),
  tpe: (seed) => new TpeSampler({ seed }),
  tpe_mv: (seed) => new TpeSampler({ seed, multivariate: true }),
  ga: (seed) => new GeneticSampler({ seed }),
  cmaes: (seed) => new CmaEsSampler({ seed }),
  gp: (seed) => new GpSampler({ seed }),
};

const trials = Number(arg('trials') ?? 100);
const seeds = Number(arg('seeds') ?? 10);
const samplerNames = (arg('samplers') ?? Object.keys(SAMPLERS).join(',')).split(',');
const fnNames = (arg('fns') ?? Object.keys(FUNCTIONS).join(',')).split(',');
const skipPeer = process.argv.includes('--no-peer') || process.env.AIMASS_BENCH_SKIP_PEER === '1';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const ours: Record<string, Record<string, number>> = {};
const oursMs: Record<string, Record<string, number>> = {};
for (const fn of fnNames) {
  const spec = FUNCTIONS[fn];
  if (!spec) throw new Error(`unknown function ${fn}; known: ${Object.keys(FUNCTIONS).join(', ')}`);
  ours[fn] = {};
  oursMs[fn] = {};
  for (const sn of samplerNames) {
    const make = SAMPLERS[sn];
    if (!make) throw new Error(`unknown sampler ${sn}; known: ${Object.keys(SAMPLERS).join(', ')}`);
    const bests: number[] = [];
    const t0 = performance.now();
    for (let seed = 0; seed < seeds; seed++) {
      const study = await createStudy({ sampler: make(seed) });
      await study.optimize(spec.f, { nTrials: trials });
      bests.push(await study.bestValue());
    }
    const ms = (performance.now() - t0) / (trials * seeds);
    const med = median(bests);
    ours[fn][sn] = med;
    oursMs[fn][sn] = ms;
    printResult({ fn, sampler: sn, trials, seeds, median_best: round(med, 5), ms_per_trial: round(ms, 2) });
  }
}

if (!skipPeer) {
  const python = process.env.AIMASS_PEER_PYTHON ?? '/usr/bin/python3';
  const script = join(process.env.AIMASS_SHARED_BENCH ?? resolve(repoRoot, '..', 'shared', 'bench'), 'peer_optuna.py');
  let text: string;
  try {
    text = execFileSync(python, [script, String(trials), String(seeds)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (e) {
    throw new Error(`the Optuna peer failed (${(e as Error).message}); install it with: apt-get install -y python3-optuna, or pass --no-peer`);
  }
  const peer: Record<string, Record<string, { median: number; ms: number }>> = {};
  for (const line of text.split('\n')) {
    const m = /fn=(\w+) sampler=(\w+) .*median_best=([-\d.eE+]+) ms_per_trial=([-\d.eE+]+)/.exec(line);
    if (!m) continue;
    (peer[m[1]] ??= {})[m[2]] = { median: Number(m[3]), ms: Number(m[4]) };
    printResult({ peer: 'optuna', fn: m[1], sampler: m[2], trials, seeds, median_best: Number(m[3]), ms_per_trial: Number(m[4]) });
  }
  const summary: Record<string, unknown> = { bench: 'tune', trials, seeds };
  let allGoals = true;
  for (const fn of fnNames) {
    const mine = Object.entries(ours[fn]).sort((a, b) => a[1] - b[1])[0];
    const theirs = Object.entries(peer[fn] ?? {}).sort((a, b) => a[1].median - b[1].median)[0];
    const goal = FUNCTIONS[fn].goal;
    const met = mine[1] <= goal && (!theirs || mine[1] < theirs[1].median);
    // our TPE must be no slower per trial than Optuna's
    const tpeMs = oursMs[fn].tpe;
    const optunaTpeMs = peer[fn]?.tpe?.ms;
    const tpeFast = tpeMs === undefined || optunaTpeMs === undefined || tpeMs <= optunaTpeMs;
    allGoals &&= met && tpeFast;
    summary[fn] = {
      ours: mine[0],
      ours_median: round(mine[1], 5),
      optuna: theirs?.[0],
      optuna_median: theirs?.[1].median,
      goal,
      met,
      tpe_ms_per_trial: tpeMs === undefined ? undefined : round(tpeMs, 2),
      optuna_tpe_ms_per_trial: optunaTpeMs,
    };
  }
  summary.goals_met = allGoals;
  printResult(summary);
}
