// The train step: one training run of one configuration, in a worker thread (src/train), into the step's run
// folder. A run that was interrupted resumes from its last epoch checkpoint. Text splits are turned into
// vectors here with the fitted features and handed to the trainer in memory; the served pipeline.json then gets
// those features, so the registered model takes raw text. The tune step, once src/tune is wired in, proposes
// configurations and calls this for each trial.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError } from '../core/index.js';
import type { Registry } from '../registry/index.js';
import { type JobEvent, type JobResult, type PreparedData, RunTracker, type TrainSpec, parseTrainSpec, trainInWorker } from '../train/index.js';
import type { DataResult } from './data-step.js';
import { type FeaturesResult, loadFeatures } from './features-step.js';
import { type PipelineSpec, applyCombination } from './spec.js';
import { readTextSplit, textDataset } from './text-data.js';

export interface TrainOutcome {
  runDir: string;
  modelPath: string;
  /** The configuration trained (a TrainSpec): what a registered version records as its params. */
  trainSpec: TrainSpec;
  /** The grid values of this configuration ({} without a grid). */
  combination: Record<string, unknown>;
  epochs: number;
  /** The validation metric configurations are compared on (null without validation data). */
  selectValue: number | null;
  test?: { loss: number; accuracy?: number; n: number };
  runId?: string;
}

/** The TrainSpec of one configuration: the model filled in from the data and features, `epochs` overridden by retraining. */
export function configurationSpec(spec: PipelineSpec, data: DataResult, features: FeaturesResult | undefined, combination: Record<string, unknown>, epochs?: number): TrainSpec {
  const applied = applyCombination(spec.model, spec.train.settings, combination);
  const model = { ...applied.model };
  if (data.kind === 'text') model.input ??= features!.width;
  else if (model.input === undefined) model.input = data.image!.shape.length === 1 ? data.image!.shape[0] : data.image!.shape;
  if (model.task !== 'binary') model.classes ??= data.classNames.length;
  const files =
    data.kind === 'image'
      ? { format: 'image-csv', train: data.image!.train, test: data.image!.test, validation: data.image!.validation, scale: data.image!.scale }
      : // the trainer gets the vectors in memory; these name where the texts came from
        { format: 'csv', train: data.text!.train, test: data.text!.test, label: 'label' };
  return parseTrainSpec({ ...applied.settings, ...(epochs !== undefined ? { epochs } : {}), name: spec.name, model, data: JSON.parse(JSON.stringify(files)) as unknown });
}

export interface TrainStepContext {
  spec: PipelineSpec;
  data: DataResult;
  features?: FeaturesResult;
  threads: number;
  /** Records the run in the metadata store (aimass runs …) when given. */
  registry?: Registry;
  signal?: AbortSignal;
  progress(done: number, total: number, note: string): void;
  note(message: string): void;
}

async function textData(ctx: TrainStepContext, trainSpec: TrainSpec): Promise<PreparedData> {
  const { pipeline } = await loadFeatures(ctx.features!);
  const task = trainSpec.model.task === 'binary' ? 'binary' : 'multiclass';
  const files = ctx.data.text!;
  const as = async (path: string) => textDataset(await readTextSplit(path), pipeline, ctx.data.classNames, task);
  return { train: await as(files.train), validation: files.validation ? await as(files.validation) : undefined, test: await as(files.test) };
}

/** Gives a text model's pipeline.json the fitted features, so that it takes raw text. */
async function servingTextPipeline(runDir: string, features: FeaturesResult): Promise<void> {
  const trained = JSON.parse(await readFile(join(runDir, 'pipeline.json'), 'utf8')) as { output?: unknown };
  const meta = JSON.parse(await readFile(join(runDir, 'meta.json'), 'utf8')) as { signature: { inputs: { name: string }[] } };
  const { json } = await loadFeatures(features);
  const pipeline = { format: 'aimass-pipeline/1', input: { kind: 'text', tensor: meta.signature.inputs[0].name, features: json }, output: trained.output };
  await writeFile(join(runDir, 'pipeline.json'), JSON.stringify(pipeline));
}

function selectValueOf(result: JobResult, metric: 'val_accuracy' | 'val_loss'): number | null {
  const record = result.bestEpoch !== undefined ? result.history[result.bestEpoch - 1] : result.history[result.history.length - 1];
  const v = record?.[metric];
  return typeof v === 'number' ? v : null;
}

const fmt = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(4));

export async function runTrainStep(ctx: TrainStepContext, trainSpec: TrainSpec, combination: Record<string, unknown>, dir: string): Promise<TrainOutcome> {
  const runDir = join(dir, 'run');
  const resume = existsSync(join(runDir, 'checkpoint.json'));
  if (resume) ctx.note(`resuming the interrupted training in ${runDir} from its last epoch checkpoint`);
  const data = ctx.data.kind === 'text' ? await textData(ctx, trainSpec) : undefined;
  const tracker = ctx.registry ? await RunTracker.start(ctx.registry.meta, runDir, trainSpec, (m) => ctx.note(`warning: ${m}`)) : null;
  let total = 0;
  let perEpoch = 0;
  let first = 0;
  const onEvent = (e: JobEvent) => {
    tracker?.onEvent(e);
    switch (e.type) {
      case 'start':
        perEpoch = e.stepsPerEpoch;
        first = e.startEpoch;
        total = e.stepsPerEpoch * Math.max(0, e.epochs - e.startEpoch);
        ctx.note(`${e.parameters} parameters, ${e.epochs} epoch(s) of ${e.stepsPerEpoch} steps (batch ${e.batchSize})${e.startEpoch ? `, resuming after epoch ${e.startEpoch}` : ''}`);
        break;
      case 'step':
        ctx.progress((e.epoch - 1 - first) * perEpoch + e.step, total, `epoch ${e.epoch}/${trainSpec.epochs} loss ${fmt(e.loss)}`);
        break;
      case 'epoch': {
        const r = e.record;
        ctx.note(
          `epoch ${r.epoch}/${trainSpec.epochs}: loss ${fmt(r.train_loss)}${r.train_accuracy !== undefined ? ` acc ${fmt(r.train_accuracy)}` : ''}` +
            `${r.val_loss !== undefined ? ` | val_loss ${fmt(r.val_loss)}` : ''}${r.val_accuracy !== undefined ? ` val_acc ${fmt(r.val_accuracy)}` : ''} | ${r.samples_per_s.toFixed(0)} samples/s`,
        );
        break;
      }
      case 'early_stop':
        ctx.note(`early stop after epoch ${e.epoch}: no improvement since epoch ${e.bestEpoch}`);
        break;
    }
  };
  const run = trainInWorker({ spec: trainSpec, runDir, threads: ctx.threads, resume, data }, onEvent);
  const abort = () => run.abort();
  ctx.signal?.addEventListener('abort', abort, { once: true });
  let result: JobResult;
  try {
    if (ctx.signal?.aborted) run.abort();
    result = await run.result;
    await tracker?.finished(result);
  } catch (e) {
    await tracker?.ended(e);
    throw e;
  } finally {
    ctx.signal?.removeEventListener('abort', abort);
  }
  if (ctx.data.kind === 'text') await servingTextPipeline(runDir, ctx.features!);
  if (!result.test) throw new AimassError('INTERNAL', `the training run in ${runDir} has no test metrics`);
  return {
    runDir,
    modelPath: result.modelPath,
    trainSpec,
    combination,
    epochs: result.epochs,
    selectValue: selectValueOf(result, ctx.spec.train.select),
    test: { loss: result.test.loss, accuracy: result.test.accuracy, n: result.test.n },
    runId: tracker?.runId,
  };
}
