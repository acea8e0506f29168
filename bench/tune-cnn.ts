// npm run bench:tune-cnn — issue 7's real task: tune the reference CNN (examples/mnist-cnn.json) on the MNIST
// reference split with ASHA, N trials 2 at a time, and the same budget (same sampler seed, trials, epochs)
// without pruning; one JSON line with each run's best validation accuracy, the best trial's test accuracy, wall
// time, epochs trained and trials pruned, and the ratios pruned/unpruned.
//
// The space: optimizer.lr (log-uniform), model.blocks.1.filters (the CNN's width), model.dropout (the CNN spec's
// dropout before the dense layers) and batchSize. The trials run as `trial` tasks of the embedded dispatcher, in
// a worker inside this process (child processes, one thread per trial), as `aimass tune run` does by default.
//   AIMASS_BENCH_TRIALS (30)  AIMASS_BENCH_EPOCHS (6)  AIMASS_BENCH_PARALLEL (2)  AIMASS_BENCH_SEED (7)
//   AIMASS_BENCH_TRAIN_ROWS (all 8000): the first rows of the training split only, for a quicker run
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { tuneWithDispatcher } from '../src/cli/commands/tune.js';
import { loadConfig } from '../src/core/index.js';
import { parseTuningSpec, type PrunerSpec, type TrialRecord, type TuningResult } from '../src/tune/index.js';
import { printResult, referenceData, repoRoot, round } from './common.js';

const knob = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number ≥ 1, got "${raw}"`);
  return n;
};

const trials = knob('AIMASS_BENCH_TRIALS', 30);
const epochs = knob('AIMASS_BENCH_EPOCHS', 6);
const parallel = knob('AIMASS_BENCH_PARALLEL', 2);
const seed = knob('AIMASS_BENCH_SEED', 7);
const trainRows = process.env.AIMASS_BENCH_TRAIN_ROWS ? knob('AIMASS_BENCH_TRAIN_ROWS', 1) : undefined;

const data = referenceData();
const out = await mkdtemp(join(repoRoot, 'bench', 'out', 'tune-cnn-'));
let train = join(data, 'mnist_train.csv');
if (trainRows !== undefined) {
  const lines = readFileSync(train, 'utf8').split('\n');
  train = join(out, 'mnist_train_head.csv');
  writeFileSync(train, `${lines.slice(0, trainRows + 1).join('\n')}\n`);
}

const cnn = JSON.parse(readFileSync(join(repoRoot, 'examples', 'mnist-cnn.json'), 'utf8')) as Record<string, unknown>;
const base = {
  ...cnn,
  data: { ...(cnn.data as object), train, test: join(data, 'mnist_test.csv'), validation: 0.1 },
  epochs,
  threads: 1,
};

async function study(name: string, pruner: PrunerSpec) {
  const spec = await parseTuningSpec(
    {
      name,
      train: base,
      space: {
        'optimizer.lr': { type: 'float', low: 1e-4, high: 1e-2, log: true },
        'model.blocks.1.filters': { type: 'categorical', choices: [16, 32, 64] },
        'model.dropout': { type: 'float', low: 0, high: 0.5 },
        batchSize: { type: 'categorical', choices: [32, 64, 128] },
      },
      objective: { metric: 'val_accuracy' },
      sampler: { type: 'tpe', seed },
      pruner,
      trials,
      parallelism: parallel,
    },
    { baseDir: repoRoot },
  );
  const config = loadConfig({ AIMASS_HOME: join(out, name), AIMASS_LOG_LEVEL: 'warn', AIMASS_THREADS: '1' });
  const started = performance.now();
  const result: TuningResult = await tuneWithDispatcher(config, spec, {});
  const seconds = (performance.now() - started) / 1000;
  const epochsOf = (t: TrialRecord) => {
    const e = (t.userAttrs as { epochs?: number }).epochs;
    return typeof e === 'number' ? e : Object.keys(t.intermediate).length;
  };
  const best = result.best ? result.trials[result.best.trial] : undefined;
  const test = best ? (best.userAttrs as { test?: { accuracy?: number } }).test?.accuracy : undefined;
  const summary = {
    best_val_accuracy: typeof result.best?.value === 'number' ? round(result.best.value, 4) : null,
    best_test_accuracy: typeof test === 'number' ? round(test, 4) : null,
    best_trial: result.best?.trial ?? null,
    best_params: result.best?.params ?? null,
    wall_s: round(seconds, 1),
    epochs_trained: result.trials.reduce((a, t) => a + epochsOf(t), 0),
    trials_complete: result.counts.complete,
    trials_pruned: result.counts.pruned,
    trials_failed: result.counts.failed,
  };
  process.stderr.write(`${name}: ${JSON.stringify(summary)}\n`);
  return summary;
}

const asha = await study('cnn-asha', { type: 'successive-halving', minResource: 1, reductionFactor: 3 });
const none = await study('cnn-none', { type: 'none' });
printResult({
  bench: 'tune-cnn',
  trials,
  epochs,
  parallel,
  seed,
  train_rows: trainRows ?? 'all',
  asha,
  none,
  wall_ratio: round(asha.wall_s / none.wall_s, 3),
  epochs_ratio: round(asha.epochs_trained / Math.max(1, none.epochs_trained), 3),
  best_val_accuracy_delta: asha.best_val_accuracy !== null && none.best_val_accuracy !== null ? round(asha.best_val_accuracy - none.best_val_accuracy, 4) : null,
});
