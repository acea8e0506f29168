// The training loop: compiles the model's train step and forward graphs, initializes or restores weights,
// runs epochs of seeded shuffled batches through ONNX Runtime, validates each epoch, stops early when the
// monitored metric stops improving, checkpoints every epoch, and exports the forward model (model.onnx)
// with the trained weights. `session.run` blocks its thread: run this in a worker (see worker.ts) when an
// event loop must stay responsive.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError, Rng } from '../core/index.js';
import { BatchBuffers, type Dataset } from '../data/index.js';
import {
  type CompiledTrainStep,
  ForwardRunner,
  type ModelDefinition,
  type TensorMap,
  TrainStepRunner,
  compileForward,
  compileTrainStep,
  forwardOutputs,
  initialValues,
} from '../engine/index.js';
import { buildModel } from '../models/index.js';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { PreparedData } from './data.js';
import type { EpochRecord } from './history.js';
import { type EvalMetrics, MetricAccumulator } from './metrics.js';
import { learningRate } from './schedule.js';
import type { TrainSpec } from './spec.js';

export type TrainEvent =
  | { type: 'start'; runDir: string; epochs: number; startEpoch: number; stepsPerEpoch: number; batchSize: number; parameters: number; trainSamples: number }
  | { type: 'step'; epoch: number; step: number; stepsPerEpoch: number; loss: number; lr: number; samplesPerSec: number }
  | { type: 'epoch'; record: EpochRecord }
  | { type: 'early_stop'; epoch: number; bestEpoch: number }
  | { type: 'checkpoint'; epoch: number; dir: string };

export interface TrainOptions {
  runDir: string;
  /** ONNX Runtime intra-op threads; default the spec's, else ONNX Runtime's own choice. */
  threads?: number;
  /** Continue from the checkpoint in runDir. */
  resume?: boolean;
  onEvent?: (e: TrainEvent) => void;
  /** Aborting stops the run after the current step; the last epoch's checkpoint stays for resuming. */
  signal?: AbortSignal;
  /**
   * Awaited after each epoch's checkpoint, before the next epoch starts: a tuning trial reports the epoch's
   * metric here and asks its pruner, aborting `signal` to stop the run before another step is taken.
   */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
}

export interface TrainResult {
  runDir: string;
  modelPath: string;
  epochs: number;
  history: EpochRecord[];
  test?: EvalMetrics;
  bestEpoch?: number;
  stoppedEarly: boolean;
  trainSeconds: number;
  samplesPerSec: number;
  /** Final weights (what model.onnx holds). */
  weights: TensorMap;
}

const EVAL_BATCH = 1024;

/** Loss and metrics of a forward graph over a whole dataset, in batches. */
export async function evaluate(runner: ForwardRunner, model: ModelDefinition, d: Dataset, weights?: TensorMap): Promise<EvalMetrics> {
  const acc = new MetricAccumulator(model.head);
  const out = forwardOutputs(model.head)[0];
  const widths = d.sampleShapes.map((s) => s.reduce((a, b) => a * b, 1));
  for (let i = 0; i < d.n; i += EVAL_BATCH) {
    const n = Math.min(EVAL_BATCH, d.n - i);
    const inputs = d.inputs.map((x, k) => x.subarray(i * widths[k], (i + n) * widths[k]));
    const res = await runner.run(inputs, n, weights);
    acc.add(res[out], d.labels.subarray(i * d.labelWidth, (i + n) * d.labelWidth), n);
  }
  return acc.result();
}

function monitorValue(r: EpochRecord, monitor: 'val_loss' | 'val_accuracy'): number | undefined {
  return monitor === 'val_loss' ? r.val_loss : r.val_accuracy;
}

function checkCompatible(c: CompiledTrainStep, ck: Checkpoint): void {
  for (const s of [...c.params, ...c.buffers, ...c.state]) {
    const shape = ck.shapes.get(s.name);
    if (!shape || shape.join(',') !== s.shape.join(',')) {
      throw new AimassError('CONFLICT', `the checkpoint does not match this spec: tensor "${s.name}" is ${shape ? `[${shape}]` : 'missing'} there, [${s.shape}] here; resume with the spec the run started with`);
    }
  }
}

export async function train(spec: TrainSpec, data: PreparedData, o: TrainOptions): Promise<TrainResult> {
  const model = buildModel(spec.model);
  const threads = o.threads ?? spec.threads;
  const { train: trainSet, validation } = data;
  const batchSize = Math.min(spec.batchSize, trainSet.n);
  const compiled = compileTrainStep(model, { batchSize, optimizer: spec.optimizer, regularization: spec.regularization, seed: spec.seed });
  await mkdir(o.runDir, { recursive: true });
  await writeFile(join(o.runDir, 'train_step.onnx'), compiled.bytes);
  if (!o.resume) await writeFile(join(o.runDir, 'spec.json'), JSON.stringify(spec, null, 1));
  const weightSpecs = [...compiled.params, ...compiled.buffers];
  const evalRunner = await ForwardRunner.create(compileForward(model, { params: 'inputs' }), model.inputs, { threads, weightSpecs });

  // state: fresh from the seed, or restored from the checkpoint
  let startEpoch = 0;
  let steps = 0;
  let history: EpochRecord[] = [];
  let shuffle = new Rng(spec.seed + 1);
  let best: { epoch: number; value: number } | undefined;
  let stale = 0;
  let bestWeights: TensorMap | undefined;
  let values: TensorMap;
  let stoppedEarly = false;
  if (o.resume) {
    const ck = await loadCheckpoint(o.runDir);
    checkCompatible(compiled, ck);
    values = ck.tensors;
    startEpoch = ck.meta.epoch;
    steps = ck.meta.steps;
    history = ck.meta.history;
    shuffle = Rng.fromState(ck.meta.rng);
    best = ck.meta.best;
    stale = ck.meta.stale;
    stoppedEarly = ck.meta.stoppedEarly ?? false;
    if (best) bestWeights = new Map(weightSpecs.map((s) => [s.name, ck.tensors.get(`best:${s.name}`) ?? ck.tensors.get(s.name)!]));
  } else {
    values = initialValues(weightSpecs, new Rng(spec.seed));
  }
  const runner = await TrainStepRunner.create(compiled, values, { threads, step: steps });
  const stepsPerEpoch = Math.floor(trainSet.n / batchSize);
  const totalSteps = stepsPerEpoch * spec.epochs;
  const parameters = compiled.params.reduce((a, s) => a + s.shape.reduce((x, y) => x * y, 1), 0);
  o.onEvent?.({ type: 'start', runDir: o.runDir, epochs: spec.epochs, startEpoch, stepsPerEpoch, batchSize, parameters, trainSamples: trainSet.n });

  const batch = new BatchBuffers(trainSet, batchSize);
  const order = new Int32Array(trainSet.n);
  const es = spec.earlyStopping;
  let trainSeconds = 0;
  let trainedSamples = 0;
  const shapes = new Map([...compiled.params, ...compiled.buffers, ...compiled.state].map((s) => [s.name, s.shape]));

  for (let epoch = startEpoch; epoch < spec.epochs && !stoppedEarly; epoch++) {
    for (let i = 0; i < order.length; i++) order[i] = i;
    shuffle.shuffle(order);
    const t0 = performance.now();
    let lossSum = 0;
    let correct = 0;
    let lastEmit = t0;
    let lr = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      if (o.signal?.aborted) throw new AimassError('CANCELLED', `training was stopped during epoch ${epoch + 1}; resume from the checkpoint of epoch ${epoch}`);
      lr = learningRate(spec.optimizer.lr, spec.schedule, runner.steps, totalSteps, stepsPerEpoch);
      batch.fill(order, s * batchSize);
      const r = await runner.step(batch.inputs, batch.labels, lr);
      if (!Number.isFinite(r.loss) || !Number.isFinite(r.gradNorm)) {
        throw new AimassError(
          'TRAINING_DIVERGED',
          `the loss became ${r.loss} at epoch ${epoch + 1}, step ${s + 1} (learning rate ${lr}); the last good checkpoint (epoch ${epoch}) is kept in ${o.runDir}. Lower the learning rate, add clipNorm to the optimizer, or check the data for extreme values`,
          { epoch: epoch + 1, step: s + 1, lr, checkpointEpoch: epoch },
        );
      }
      lossSum += r.loss;
      correct += r.correct ?? 0;
      const now = performance.now();
      if (o.onEvent && (now - lastEmit > 100 || s === stepsPerEpoch - 1)) {
        lastEmit = now;
        o.onEvent({ type: 'step', epoch: epoch + 1, step: s + 1, stepsPerEpoch, loss: lossSum / (s + 1), lr, samplesPerSec: ((s + 1) * batchSize) / ((now - t0) / 1000) });
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    trainSeconds += seconds;
    trainedSamples += stepsPerEpoch * batchSize;
    const record: EpochRecord = {
      epoch: epoch + 1,
      lr,
      train_loss: lossSum / stepsPerEpoch,
      ...(model.head.task !== 'regression' ? { train_accuracy: correct / (stepsPerEpoch * batchSize) } : {}),
      seconds,
      samples_per_s: (stepsPerEpoch * batchSize) / seconds,
    };
    if (validation) {
      const m = await evaluate(evalRunner, model, validation, runner.weights());
      record.val_loss = m.loss;
      if (m.accuracy !== undefined) record.val_accuracy = m.accuracy;
      if (m.mae !== undefined) record.val_mae = m.mae;
    }
    history.push(record);

    if (es && validation) {
      const v = monitorValue(record, es.monitor);
      const better = (a: number, b: number) => (es.monitor === 'val_loss' ? a < b - es.minDelta : a > b + es.minDelta);
      if (v !== undefined && (!best || better(v, best.value))) {
        best = { epoch: epoch + 1, value: v };
        bestWeights = new Map([...runner.weights()].map(([k, t]) => [k, Float32Array.from(t)]));
        stale = 0;
      } else if (++stale >= es.patience) {
        stoppedEarly = true;
      }
    }
    const all = runner.values();
    if (bestWeights) for (const [k, t] of bestWeights) all.set(`best:${k}`, t);
    await saveCheckpoint(o.runDir, { meta: { epoch: epoch + 1, steps: runner.steps, rng: shuffle.state(), history, best, stale, stoppedEarly }, tensors: all, shapes });
    await writeFile(join(o.runDir, 'metrics.json'), JSON.stringify({ history }, null, 1));
    o.onEvent?.({ type: 'epoch', record });
    o.onEvent?.({ type: 'checkpoint', epoch: epoch + 1, dir: o.runDir });
    if (stoppedEarly) o.onEvent?.({ type: 'early_stop', epoch: epoch + 1, bestEpoch: best!.epoch });
    await o.onEpochEnd?.(record);
    if (o.signal?.aborted && epoch + 1 < spec.epochs && !stoppedEarly) {
      throw new AimassError('CANCELLED', `training was stopped after epoch ${epoch + 1}; resume from its checkpoint`);
    }
  }

  const finalWeights = bestWeights ?? new Map([...runner.weights()].map(([k, t]) => [k, Float32Array.from(t)]));
  await runner.release();
  await evalRunner.release();

  // export: the forward graph with a symbolic batch and the weights baked in; test on that very artifact
  const modelBytes = compileForward(model, {
    params: 'initializers',
    values: finalWeights,
    metadata: { 'aimass.task': model.head.task, 'aimass.spec': JSON.stringify(spec.model) },
  });
  const modelPath = join(o.runDir, 'model.onnx');
  await writeFile(modelPath, modelBytes);
  let test: EvalMetrics | undefined;
  if (data.test) {
    const exported = await ForwardRunner.create(modelBytes, model.inputs, { threads });
    test = await evaluate(exported, model, data.test);
    await exported.release();
  }
  const result: TrainResult = {
    runDir: o.runDir,
    modelPath,
    epochs: history.length,
    history,
    test,
    bestEpoch: best?.epoch,
    stoppedEarly,
    trainSeconds,
    samplesPerSec: trainSeconds > 0 ? trainedSamples / trainSeconds : 0,
    weights: finalWeights,
  };
  await writeRunFiles(spec, model, data, result);
  return result;
}

/**
 * The serving pipeline (format 'aimass-pipeline/1', read by serve/): how raw records reach the model's input —
 * pictures decoded, resized and scaled as the training pixels were, or named table columns — and which output
 * gives the answer, with the class names.
 */
function servingPipeline(spec: TrainSpec, model: ModelDefinition, data: PreparedData): Record<string, unknown> {
  const input = model.inputs[0];
  const sample = input.shape;
  let pre: Record<string, unknown> = { kind: 'tensor' };
  if (spec.data.format === 'image-csv') {
    const side = Math.sqrt(sample.reduce((a, b) => a * b, 1));
    const [channels, height, width] = sample.length === 3 ? sample : sample.length === 2 ? [1, sample[0], sample[1]] : Number.isInteger(side) ? [1, side, side] : [];
    if (channels === 1 || channels === 3) pre = { kind: 'image', tensor: input.name, channels, height, width, scale: spec.data.scale ?? 1 / 255 };
  } else if (data.train.featureNames) {
    pre = { kind: 'table', tensor: input.name, columns: data.train.featureNames };
  }
  const head = model.head;
  const output =
    head.task === 'multiclass'
      ? { tensor: 'probabilities', kind: 'probabilities', ...(data.train.classNames ? { labels: data.train.classNames } : {}) }
      : head.task === 'binary'
        ? { tensor: 'probability', kind: 'probability', ...(data.train.classNames?.length === 2 ? { labels: data.train.classNames } : {}) }
        : { tensor: 'prediction', kind: 'values' };
  return { format: 'aimass-pipeline/1', input: pre, output };
}

async function writeRunFiles(spec: TrainSpec, model: ModelDefinition, data: PreparedData, r: TrainResult): Promise<void> {
  await writeFile(join(r.runDir, 'metrics.json'), JSON.stringify({ history: r.history, test: r.test, best_epoch: r.bestEpoch, stopped_early: r.stoppedEarly }, null, 1));
  await writeFile(join(r.runDir, 'pipeline.json'), JSON.stringify(servingPipeline(spec, model, data), null, 1));
  const meta = {
    format: 'aimass-model/1',
    signature: { inputs: model.inputs.map((i) => ({ ...i, shape: ['N', ...i.shape] })), outputs: forwardOutputs(model.head) },
    metrics: { test: r.test, final_epoch: r.history[r.history.length - 1] },
    seed: spec.seed,
    createdAt: new Date().toISOString(),
  };
  await writeFile(join(r.runDir, 'meta.json'), JSON.stringify(meta, null, 1));
}
