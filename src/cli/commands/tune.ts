/**
 * `aimass tune …`: hyperparameter tuning of training runs.
 *
 *   aimass tune run SPEC [--study NAME] [--trials N] [--parallel N] [--nats URL] [--local | --no-local]
 *   aimass tune show STUDY [--top N]       best trials: number, state, value, params, duration
 *   aimass tune list                       the studies in the metadata store
 *   aimass tune plot STUDY --out DIR       history.svg, parallel-coordinates.svg, importance.svg
 *
 * `run` keeps a study in the metadata store and its trials as `trial` tasks of the dispatcher, N in flight. By
 * default (no NATS) the command runs those tasks itself, in an embedded worker of --parallel slots (child
 * processes, as `aimass worker` runs them): one command on a laptop does everything. `--no-local` leaves them to
 * `aimass worker` / `aimass serve` processes (on PostgreSQL or NATS, on other machines); with --nats that is the
 * default. A re-run of the same command continues the study. Ctrl-C stops; the trials in flight go back to the
 * queue and the next run picks them up.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AimassError, type Config, createLogger } from '../../core/index.js';
import { HandlerRegistry, TaskWorker } from '../../dispatch/index.js';
import {
  importanceSvg,
  loadTuningSpec,
  openStudyStorage,
  optimizationHistorySvg,
  parallelCoordinatesSvg,
  pedAnovaImportance,
  runTuning,
  type OpenedStudyStorage,
  type RunTuningOptions,
  type StudyRecord,
  type StudyStorage,
  type TrialRecord,
  type TuningProgress,
  type TuningResult,
  type TuningSpec,
} from '../../tune/index.js';
import type { CliContext } from '../context.js';
import { emit, table, wholeNumber } from '../output.js';
import { natsUrlFrom } from './cluster.js';
import { builtinHandlers, openTaskBroker } from './tasks.js';

const whole = (text: string | undefined, flag: string): number | undefined => (text === undefined ? undefined : wholeNumber(text, flag, 1));

async function withStorage<T>(context: CliContext, fn: (s: StudyStorage) => Promise<T>): Promise<T> {
  const opened = await openStudyStorage(context.config().metadataUri);
  try {
    return await fn(opened.storage);
  } finally {
    await opened.close();
  }
}

const fmt = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : Number.isInteger(v) ? String(v) : v.toPrecision(5));

function paramsText(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toPrecision(4) : String(v)}`)
    .join(' ');
}

function tuningOf(study: StudyRecord): TuningSpec | undefined {
  return study.userAttrs.tuning as TuningSpec | undefined;
}

/** Complete trials best first, then pruned (by value), failed and running. */
function ranked(trials: readonly TrialRecord[], direction: string): TrialRecord[] {
  const sign = direction === 'maximize' ? -1 : 1;
  const rank = { complete: 0, pruned: 1, running: 2, failed: 3 } as const;
  return [...trials].sort((a, b) => {
    if (a.state !== b.state) return rank[a.state] - rank[b.state];
    const va = a.values?.[0];
    const vb = b.values?.[0];
    if (typeof va === 'number' && typeof vb === 'number' && va !== vb) return sign * (va - vb);
    return a.number - b.number;
  });
}

function duration(t: TrialRecord): string {
  const ms = (t.finishedAt ?? Date.now()) - t.startedAt;
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

function describeProgress(e: TuningProgress, metric: string): string {
  switch (e.type) {
    case 'study':
      return `study ${e.study}: ${e.resumed ? `resumed with ${e.trials} trial(s)` : 'created'}; ${e.budget} trials, ${e.parallelism} at a time`;
    case 'trial-started':
      return `trial ${e.trial} started: ${paramsText(e.params) || '(no parameters)'}`;
    case 'trial-finished':
      return (
        `trial ${e.trial} ${e.state}${e.value !== null ? `: ${metric} ${fmt(e.value)}` : ''}${e.error ? ` (${e.error.slice(0, 160)})` : ''}` +
        ` | ${e.finished}/${e.budget} done${e.best ? ` | best ${fmt(e.best.value)} (trial ${e.best.trial})` : ''}`
      );
    case 'waiting-for-workers':
      return `no worker has taken the trial tasks for ${e.seconds} s; start \`aimass worker\` or \`aimass serve\` on the same metadata store${e.queued ? ` (${e.queued} trial task(s) queued)` : ''}, or run with --local`;
  }
}

export interface TuneWithDispatcherOptions extends Omit<RunTuningOptions, 'queue' | 'storage'> {
  /** Trials go through NATS JetStream at this URL (default: the embedded dispatcher on the metadata store). */
  natsUrl?: string;
  /** Run the trials in a worker inside this process (default: true without natsUrl, false with it). */
  local?: boolean;
}

/**
 * `aimass tune run` as a function, for callers outside the CLI (a pipeline runner): opens the configured task
 * broker (embedded, or JetStream with `natsUrl`) and study storage, starts a worker for `trial` tasks in this
 * process when `local`, runs the study to its budget and closes everything. Aborting `signal` stops the running
 * trials; their tasks go back to the queue and a later call continues the study.
 */
export async function tuneWithDispatcher(config: Config, spec: TuningSpec, o: TuneWithDispatcherOptions = {}): Promise<TuningResult> {
  const parallelism = o.parallelism ?? spec.parallelism;
  const local = o.local ?? !o.natsUrl;
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'tune' });
  const broker = await openTaskBroker(config, o.natsUrl);
  let opened: OpenedStudyStorage | undefined;
  let worker: TaskWorker | undefined;
  try {
    opened = await openStudyStorage(config.metadataUri);
    if (local) {
      // only trial tasks: this worker lives as long as the call; other tasks are for the real workers
      const handlers = new HandlerRegistry().register('trial', builtinHandlers().get('trial'));
      const node = {
        id: `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-tune`,
        cpu: parallelism * spec.resources.cpu,
        memoryMb: parallelism * spec.resources.memoryMb,
        kinds: ['any' as const],
        labels: {},
      };
      // the trial children read their configuration from the environment: give them this config, not the caller's env
      const env: Record<string, string> = { AIMASS_HOME: config.home, AIMASS_METADATA_URI: config.metadataUri, AIMASS_ARTIFACT_URI: config.artifactUri, AIMASS_LOG_LEVEL: config.logLevel };
      worker = new TaskWorker({ broker, node, handlers, logger, maxConcurrent: parallelism, prefetch: 0, pool: { env } });
      worker.start();
    }
    const { natsUrl: _n, local: _l, ...rest } = o;
    return await runTuning(spec, { ...rest, parallelism, queue: broker, storage: opened.storage });
  } finally {
    // interrupted: stop the running trials now (the next run retries their tasks); done: nothing is running
    await worker?.stop({ drain: !o.signal?.aborted });
    await opened?.close();
    await broker.close();
  }
}

export function registerTuneCommand(program: Command, context: CliContext): void {
  const tune = program.command('tune').description('hyperparameter tuning: studies of training runs, trials as dispatcher tasks, pruning, plots');

  tune
    .command('run')
    .description('create or continue a study from a tuning spec and run its trials as tasks until the budget is done')
    .argument('<spec>', 'tuning spec (JSON): train (base spec or its file), space, objective, sampler, pruner, trials, parallelism')
    .option('--study <name>', 'study name (default: the spec\'s "name")')
    .option('--trials <n>', 'trials in the study when done (default: the spec\'s)')
    .option('--parallel <n>', 'trials in flight at once (default: the spec\'s parallelism)')
    .option('--nats <url>', 'queue the trials through NATS JetStream (default: AIMASS_NATS_URL; none: embedded)')
    .option('--local', 'run the trials in a worker inside this command (default without NATS)')
    .option('--no-local', 'leave the trials to `aimass worker` / `aimass serve` processes (default with NATS)')
    .option('--worker-wait <seconds>', 'say so when no worker has taken a trial task for this long', '15')
    .option('--no-progress', 'no progress lines on stderr')
    .addHelpText(
      'after',
      `
Example spec (examples/mnist-mlp.tune.json; its data: aimass datasets export mnist --out data):
  { "name": "mnist-mlp-tune", "train": "mnist-mlp.json",
    "space": { "optimizer.lr": { "type": "float", "low": 0.0001, "high": 0.01, "log": true },
               "model.hidden.0": { "type": "categorical", "choices": [32, 64, 128] } },
    "objective": { "metric": "val_accuracy" },
    "sampler": { "type": "tpe", "seed": 7 }, "pruner": { "type": "median" },
    "trials": 8, "parallelism": 2 }
Parameter names are field paths into the training spec: "optimizer.lr", "model.hidden.0", "epochs", "batchSize".
Run the same command again to continue the study (same spec; --trials can raise the budget).`,
    )
    .action(async (specPath: string, o: { study?: string; trials?: string; parallel?: string; nats?: string; local?: boolean; workerWait: string; progress: boolean }, cmd: Command) => {
      const config = context.config();
      const spec = await loadTuningSpec(resolve(specPath));
      const trials = whole(o.trials, '--trials');
      const workerWait = whole(o.workerWait, '--worker-wait') as number;
      const parallelism = whole(o.parallel, '--parallel') ?? spec.parallelism;
      const stop = new AbortController();
      const onSignal = (sig: NodeJS.Signals) => {
        context.stderr.write(`${sig}: stopping; the trials in flight go back to the queue. Run the same command again to continue\n`);
        stop.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const metric = spec.objective.metric;
      let result: TuningResult;
      try {
        result = await tuneWithDispatcher(config, spec, {
          natsUrl: natsUrlFrom(o.nats),
          local: o.local,
          study: o.study,
          trials,
          parallelism,
          signal: stop.signal,
          idleWarningMs: workerWait * 1000,
          onProgress: (e) => {
            if (o.progress) context.stderr.write(`${describeProgress(e, metric)}\n`);
          },
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      const { trials: all, ...summary } = result;
      emit(context, cmd, { ...summary, trials: all.length }, () => {
        const c = result.counts;
        const lines = [`study ${result.study}: ${all.length} trials (${c.complete} complete, ${c.pruned} pruned, ${c.failed} failed)`];
        if (result.best) {
          lines.push(`best trial ${result.best.trial}: ${result.metric} ${fmt(result.best.value)}`);
          lines.push(`params: ${paramsText(result.best.params)}`);
          if (result.best.modelPath) lines.push(`model: ${result.best.modelPath}`);
        } else lines.push('no trial completed');
        return lines.join('\n');
      });
    });

  tune
    .command('show')
    .description('the best trials of a study: number, state, value, params, duration')
    .argument('<study>')
    .option('-n, --top <n>', 'at most this many trials', '10')
    .action(async (name: string, o: { top: string }, cmd: Command) => {
      const top = whole(o.top, '--top') as number;
      await withStorage(context, async (storage) => {
        const study = await storage.getStudy(name);
        const trials = await storage.getTrials(study.id);
        const direction = study.directions[0];
        const metric = tuningOf(study)?.objective.metric ?? 'value';
        const list = ranked(trials, direction).slice(0, top);
        const counts = { running: 0, complete: 0, pruned: 0, failed: 0 };
        for (const t of trials) counts[t.state]++;
        const best = ranked(trials, direction).find((t) => t.state === 'complete') ?? null;
        emit(context, cmd, { study: study.name, id: study.id, direction, metric, counts, best, trials: list }, () =>
          [
            `study ${study.name} (${direction} ${metric}): ${trials.length} trials — ${counts.complete} complete, ${counts.pruned} pruned, ${counts.failed} failed, ${counts.running} running`,
            table(
              ['TRIAL', 'STATE', metric.toUpperCase(), 'PARAMS', 'DURATION'],
              list.map((t) => [t.number, t.state, fmt(t.values?.[0]), paramsText(t.params), duration(t)]),
              'no trials yet',
            ),
            ...(best && typeof best.userAttrs.modelPath === 'string' ? [`best model: ${best.userAttrs.modelPath}`] : []),
          ].join('\n'),
        );
      });
    });

  tune
    .command('list')
    .description('the studies in the metadata store')
    .action(async (_o, cmd: Command) => {
      await withStorage(context, async (storage) => {
        const rows: { name: string; id: string; directions: string[]; metric: string | null; trials: number; complete: number; best: { trial: number; value: number | null } | null; createdAt: string }[] = [];
        for (const s of await storage.listStudies()) {
          const trials = await storage.getTrials(s.id);
          const best = ranked(trials, s.directions[0]).find((t) => t.state === 'complete');
          rows.push({
            name: s.name,
            id: s.id,
            directions: s.directions,
            metric: tuningOf(s)?.objective.metric ?? null,
            trials: trials.length,
            complete: trials.filter((t) => t.state === 'complete').length,
            best: best ? { trial: best.number, value: best.values?.[0] ?? null } : null,
            createdAt: new Date(s.createdAt).toISOString(),
          });
        }
        emit(context, cmd, { studies: rows }, () =>
          table(
            ['STUDY', 'OBJECTIVE', 'TRIALS', 'COMPLETE', 'BEST', 'CREATED'],
            rows.map((r) => [r.name, `${r.directions.join(',')} ${r.metric ?? ''}`.trim(), r.trials, r.complete, r.best ? `${fmt(r.best.value)} (trial ${r.best.trial})` : '-', r.createdAt]),
            'no studies; create one with `aimass tune run SPEC`',
          ),
        );
      });
    });

  tune
    .command('plot')
    .description('write SVG plots of a study: optimization history, parallel coordinates, parameter importance (PED-ANOVA)')
    .argument('<study>')
    .requiredOption('-o, --out <dir>', 'folder to write the SVG files to')
    .action(async (name: string, o: { out: string }, cmd: Command) => {
      await withStorage(context, async (storage) => {
        const study = await storage.getStudy(name);
        if (study.directions.length > 1) throw new AimassError('UNSUPPORTED', `study "${name}" has ${study.directions.length} objectives; the plots show one`);
        const trials = await storage.getTrials(study.id);
        const input = { study: study.name, directions: study.directions, trials, metric: tuningOf(study)?.objective.metric };
        const importance = pedAnovaImportance(trials, study.directions);
        const dir = resolve(o.out);
        await mkdir(dir, { recursive: true });
        const files = {
          history: join(dir, 'history.svg'),
          parallelCoordinates: join(dir, 'parallel-coordinates.svg'),
          importance: join(dir, 'importance.svg'),
        };
        await writeFile(files.history, optimizationHistorySvg(input));
        await writeFile(files.parallelCoordinates, parallelCoordinatesSvg(input));
        await writeFile(files.importance, importanceSvg(input, importance));
        emit(context, cmd, { files, importance }, () =>
          [`wrote ${files.history}`, `wrote ${files.parallelCoordinates}`, `wrote ${files.importance}`, ...(importance.length ? [`importance: ${importance.map((i) => `${i.name} ${i.importance.toFixed(2)}`).join(', ')}`] : [])].join('\n'),
        );
      });
    });
}
