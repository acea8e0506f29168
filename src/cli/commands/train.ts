/**
 * `aimass train --spec spec.json`: validates the spec (every problem listed, before any work), trains in a
 * worker thread with a live progress bar, writes a run folder (model.onnx, metrics.json, checkpoints, …) and
 * prints the test metrics. `--resume DIR` continues a killed run from its last epoch checkpoint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { type Command, Option } from 'commander';
import { AimassError, homePath, newId } from '../../core/index.js';
import { type Registry, openRegistry } from '../../registry/index.js';
import type { VersionRecord } from '../../storage/index.js';
import { runFiles } from './models.js';
import { type DataSpec, RunTracker, type JobEvent, type JobResult, type TrainSpec, datasetHash, parseTrainSpec, resolveDataPaths, trainInWorker } from '../../train/index.js';
import type { CliContext, GlobalOptions } from '../context.js';

interface TrainOptions {
  spec?: string;
  out?: string;
  resume?: string;
  threads?: string;
  progress: boolean;
  register?: string;
  alias?: string;
  track: boolean;
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new AimassError('NOT_FOUND', `${what} not found: ${path}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AimassError('INVALID_SPEC', `${what} ${path} is not valid JSON: ${(e as Error).message}`, { problems: [(e as Error).message] });
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The problems of a rejected spec, or rethrows anything that is not a spec rejection. */
function problemsOf(e: unknown): string[] {
  if (e instanceof AimassError && e.code === 'INVALID_SPEC' && Array.isArray(e.details?.problems)) return e.details.problems.map(String);
  throw e;
}

/**
 * Reads a spec file, validates it and checks that its data files exist (paths relative to the spec's folder).
 * Both kinds of problem go into one INVALID_SPEC, so one run of the command lists everything to fix; the data
 * paths are taken from the raw JSON for that, since an invalid spec has no parsed form.
 */
async function loadSpec(specPath: string): Promise<TrainSpec> {
  const raw = readJson(specPath, 'training spec');
  const problems: string[] = [];
  let spec: TrainSpec | undefined;
  try {
    spec = parseTrainSpec(raw);
  } catch (e) {
    problems.push(...problemsOf(e));
  }
  const rawData = isRecord(raw) && isRecord(raw.data) ? raw.data : {};
  const file = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const files: DataSpec = spec?.data ?? { format: 'csv', label: 'label', train: file(rawData.train) ?? '', test: file(rawData.test), validation: file(rawData.validation) };
  let data: DataSpec | undefined;
  try {
    data = await resolveDataPaths(files, dirname(specPath));
  } catch (e) {
    problems.push(...problemsOf(e));
  }
  if (!spec || !data || problems.length) {
    throw new AimassError('INVALID_SPEC', `the training spec has ${problems.length} problem(s); fix each one listed and run again`, { problems, spec: specPath });
  }
  return { ...spec, data };
}

/** Run folders are named `<prefix>-<id>`; a spec name such as "Iris_v2" becomes the id prefix "iris-v2". */
function runPrefix(spec: TrainSpec): string {
  const words = (spec.name ?? spec.model.type).toLowerCase().match(/[a-z0-9]+/g) ?? [];
  const prefix = words.join('-').replace(/^[0-9-]+/, '');
  return prefix || 'run';
}

function fmt(x: number | undefined, digits = 4): string {
  return x === undefined ? '-' : x.toFixed(digits);
}

export function registerTrainCommand(program: Command, context: CliContext): void {
  program
    .command('train')
    .description('train a model from a JSON spec; writes model.onnx, metrics.json and checkpoints to a run folder')
    .option('-s, --spec <file>', 'training spec (model, data, optimizer, epochs, batchSize, seed, …)')
    .option('-o, --out <dir>', 'run folder (default $AIMASS_HOME/runs/<name>-<id>)')
    .addOption(new Option('--resume <dir>', 'continue the run in <dir> from its last checkpoint (uses its spec.json)').conflicts(['spec', 'out']))
    .option('-t, --threads <n>', 'ONNX Runtime threads (default: the spec, else AIMASS_THREADS)')
    .option('--no-progress', 'no progress bar; one line per epoch')
    .option('--register <name>', 'register the trained model as the next version of <name> in the registry')
    .option('--alias <alias>', 'with --register: point this alias (e.g. staging) at the new version')
    .option('--no-track', 'do not record the run in the metadata store (aimass runs …)')
    .addHelpText(
      'after',
      `
Example spec (the reference MNIST CNN):
  { "model": { "type": "cnn", "input": [1, 28, 28], "classes": 10,
               "blocks": [{ "filters": 16, "pool": 2 }, { "filters": 32, "pool": 2 }], "dense": [64] },
    "data": { "format": "image-csv", "train": "mnist_train.csv", "test": "mnist_test.csv" },
    "optimizer": { "type": "adam", "lr": 0.001 }, "epochs": 3, "batchSize": 64, "seed": 0 }
Data paths are relative to the spec file. See examples/ for more.`,
    )
    .action(async (o: TrainOptions, command: Command) => {
      const json = (command.optsWithGlobals() as GlobalOptions).json ?? false;
      // a usage error (exit 2), like a missing argument
      if (!o.spec && !o.resume) command.error('give --spec <file> to start a run, or --resume <dir> to continue one', { code: 'aimass.missingSpec', exitCode: 2 });
      let spec: TrainSpec;
      let runDir: string;
      if (o.resume) {
        runDir = resolve(o.resume);
        if (!existsSync(join(runDir, 'checkpoint.json'))) throw new AimassError('NOT_FOUND', `${runDir} has no checkpoint to resume from (it is written after each epoch)`);
        spec = parseTrainSpec(readJson(join(runDir, 'spec.json'), 'run spec'));
        // its data paths were made absolute when the run started; say so plainly if a file has gone since
        spec = { ...spec, data: await resolveDataPaths(spec.data, runDir) };
      } else {
        spec = await loadSpec(resolve(o.spec!));
        runDir = o.out ? resolve(o.out) : homePath(context.config(), 'runs', newId(runPrefix(spec)));
        if (existsSync(join(runDir, 'checkpoint.json'))) throw new AimassError('ALREADY_EXISTS', `${runDir} already holds a run; use --resume ${runDir} to continue it, or another --out`);
      }
      let threads = spec.threads;
      if (o.threads !== undefined) {
        threads = Number(o.threads);
        if (!Number.isInteger(threads) || threads < 1) throw new AimassError('INVALID_ARGUMENT', `--threads must be a positive integer, got "${o.threads}"`);
      }
      threads ??= context.config().threads;

      const out = (line: string) => context.stderr.write(`${line}\n`);
      const isTty = Boolean((context.stderr as { isTTY?: boolean }).isTTY) && o.progress;
      const bar = isTty
        ? new cliProgress.SingleBar(
            { format: 'epoch {epoch} |{bar}| {percentage}% | loss {loss} | {speed} samples/s | ETA {eta_formatted}', hideCursor: true, clearOnComplete: true, stream: context.stderr as NodeJS.WriteStream },
            cliProgress.Presets.shades_classic,
          )
        : null;
      let total = 0;
      let stepsPerEpoch = 0;
      let firstEpoch = 1;
      let barEpoch = 0; // the epoch the bar is showing (step events arrive at most every 100 ms)
      const onEvent = (e: JobEvent) => {
        switch (e.type) {
          case 'loaded':
            out(`data: ${e.train} train${e.validation ? `, ${e.validation} validation` : ''}${e.test ? `, ${e.test} test` : ''} rows (${e.seconds.toFixed(1)} s)`);
            break;
          case 'start':
            // one bar over the whole run, so its ETA is the run's
            stepsPerEpoch = e.stepsPerEpoch;
            firstEpoch = e.startEpoch + 1;
            total = e.stepsPerEpoch * (e.epochs - e.startEpoch);
            if (e.startEpoch >= e.epochs) {
              out(`run ${e.runDir}: all ${e.epochs} epochs are done already; exporting the model and testing it again`);
              break;
            }
            out(`run ${e.runDir}: ${e.parameters} parameters, ${e.epochs} epochs of ${e.stepsPerEpoch} steps (batch ${e.batchSize}), ${threads} thread(s)${e.startEpoch ? `, resuming after epoch ${e.startEpoch}` : ''}`);
            break;
          case 'step':
            if (!bar) break;
            const done = (e.epoch - firstEpoch) * stepsPerEpoch;
            if (e.epoch !== barEpoch) {
              barEpoch = e.epoch;
              bar.start(total, done, { epoch: `${e.epoch}/${spec.epochs}`, loss: fmt(e.loss), speed: '-' });
            }
            bar.update(done + e.step, { epoch: `${e.epoch}/${spec.epochs}`, loss: fmt(e.loss), speed: e.samplesPerSec.toFixed(0) });
            break;
          case 'epoch': {
            bar?.stop();
            const r = e.record;
            out(
              `epoch ${r.epoch}/${spec.epochs}: loss ${fmt(r.train_loss)}${r.train_accuracy !== undefined ? ` acc ${fmt(r.train_accuracy)}` : ''}` +
                `${r.val_loss !== undefined ? ` | val_loss ${fmt(r.val_loss)}` : ''}${r.val_accuracy !== undefined ? ` val_acc ${fmt(r.val_accuracy)}` : ''}` +
                ` | ${r.samples_per_s.toFixed(0)} samples/s, ${r.seconds.toFixed(1)} s`,
            );
            break;
          }
          case 'early_stop':
            out(`early stop after epoch ${e.epoch}: no improvement since epoch ${e.bestEpoch}; keeping its weights`);
            break;
        }
      };
      const runJob = async (tracker: RunTracker | null): Promise<JobResult> => {
        const run = trainInWorker({ spec, runDir, threads, resume: Boolean(o.resume) }, (e) => {
          onEvent(e);
          tracker?.onEvent(e);
        });
        const stop = () => {
          out('stopping after the current step; resume later with --resume');
          run.abort();
        };
        process.once('SIGINT', stop);
        try {
          const result = await run.result;
          await tracker?.finished(result);
          return result;
        } catch (e) {
          await tracker?.ended(e);
          throw e;
        } finally {
          bar?.stop();
          process.off('SIGINT', stop);
        }
      };
      const report = (result: JobResult, version?: VersionRecord, runId?: string) => {
        if (json) {
          const { runDir: dir, modelPath, epochs, test, bestEpoch, samplesPerSec } = result;
          const registered = version ? { model: version.model, version: version.version } : undefined;
          context.stdout.write(`${JSON.stringify({ runDir: dir, model: modelPath, epochs, test, bestEpoch, samplesPerSec, runId, registered })}\n`);
          return;
        }
        const t = result.test;
        context.stdout.write(
          `model: ${result.modelPath}\n` +
            (t ? `test: ${t.accuracy !== undefined ? `accuracy ${fmt(t.accuracy)}, ` : ''}loss ${fmt(t.loss)}${t.mae !== undefined ? `, mae ${fmt(t.mae)}` : ''} (${t.n} rows)\n` : 'test: no test file in the spec\n') +
            (runId ? `run: ${runId}\n` : '') +
            (version ? `registered: ${version.model} version ${version.version}${o.alias ? ` (@${o.alias})` : ''}\n` : ''),
        );
      };
      if (o.alias && !o.register) throw new AimassError('INVALID_ARGUMENT', '--alias needs --register <name>');
      let registry: Registry | null = null;
      if (o.register) registry = await openRegistry(context.config(), context.env);
      else if (o.track) {
        // tracking never stops training: without the metadata store, metrics.json still has everything
        registry = await openRegistry(context.config(), context.env).catch((e: Error) => {
          out(`warning: run tracking is off: ${e.message}`);
          return null;
        });
      }
      try {
        const tracker = registry && o.track ? await RunTracker.start(registry.meta, runDir, spec, (m) => out(`warning: ${m}`)) : null;
        const result = await runJob(tracker);
        let version: VersionRecord | undefined;
        if (o.register && registry) {
          const metrics = Object.fromEntries(Object.entries(result.test ?? {}).filter(([k, v]) => k !== 'n' && typeof v === 'number').map(([k, v]) => [`test_${k}`, v as number]));
          version = await registry.register(o.register, runDir, {
            files: await runFiles(runDir),
            params: spec as unknown as Record<string, unknown>,
            metrics,
            runId: tracker?.runId,
            datasetHash: await datasetHash(spec.data),
            framework: 'aimass',
          });
          if (o.alias) await registry.setAlias(o.register, o.alias, version.version, { reason: `trained by run ${tracker?.runId ?? runDir}` });
        }
        report(result, version, tracker?.runId);
      } finally {
        await registry?.close();
      }
    });
}

