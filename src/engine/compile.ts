// Compiles a model definition into ONNX graphs: the train step (forward, loss, gradients, optimizer update;
// fixed batch size, weights and optimizer state in and out) and the forward graph (symbolic batch 'N',
// weights baked in as initializers for export, or fed as inputs for validation during training).
import { AimassError } from '../core/index.js';
import { gradients } from './autodiff.js';
import { Graph, type ParamInit, type Value, paramInit } from './graph.js';
import { writeModel } from './onnx-writer.js';
import * as ops from './ops/index.js';
import { type OptimizerSpec, applyOptimizer } from './optimizer.js';
import type { DType } from './shape.js';

/** One model input, per sample (the batch dimension is added by the compiler). */
export interface InputSpec {
  name: string;
  dtype: DType;
  shape: number[];
}

export type Head = { task: 'multiclass'; classes: number } | { task: 'binary' } | { task: 'regression'; outputs: number };

export interface BuildContext {
  /** Seed for ops that draw random numbers (dropout). */
  seed: number;
}

/**
 * What the engine needs of a model: its inputs, its head, and a builder that adds its layers to a graph and
 * returns the logits ([B, classes] multiclass, [B] binary) or predictions ([B, outputs] regression).
 * `build` must create parameters in the same order every time: the train and forward graphs share names.
 */
export interface ModelDefinition {
  readonly inputs: InputSpec[];
  readonly head: Head;
  build(g: Graph, inputs: Value[], ctx: BuildContext): Value;
}

export interface TensorSpec {
  name: string;
  shape: number[];
  init: ParamInit;
}

export interface Regularization {
  l1?: number;
  l2?: number;
}

export interface TrainStepOptions {
  batchSize: number;
  optimizer: OptimizerSpec;
  regularization?: Regularization;
  seed?: number;
  /** Also output the logits (tests compare them with the exported forward graph). */
  outputLogits?: boolean;
}

export interface CompiledTrainStep {
  bytes: Uint8Array;
  batchSize: number;
  inputs: InputSpec[];
  label: InputSpec;
  params: TensorSpec[];
  buffers: TensorSpec[];
  /** Optimizer state tensors (zeros at start), each tied to a parameter. */
  state: { name: string; shape: number[]; param: string }[];
  /** Output name of each param/buffer/state tensor's next value. */
  next: Record<string, string>;
  /** Names of the scalar outputs: loss always, correct for classifiers, penalty when regularized. */
  metrics: string[];
}

export const LR_INPUT = 'lr';
export const STEP_INPUT = 'step';

export function labelSpec(head: Head): InputSpec {
  switch (head.task) {
    case 'multiclass':
      return { name: 'label', dtype: 'int64', shape: [] };
    case 'binary':
      return { name: 'label', dtype: 'float32', shape: [] };
    case 'regression':
      return { name: 'label', dtype: 'float32', shape: [head.outputs] };
  }
}

function checkOutput(head: Head, out: Value, batch: number | string): void {
  const want = head.task === 'multiclass' ? [batch, head.classes] : head.task === 'binary' ? [batch] : [batch, head.outputs];
  if (out.shape.length !== want.length || out.shape.some((d, i) => d !== want[i])) {
    throw new AimassError('SHAPE_MISMATCH', `the model's output has shape [${out.shape}] but a ${head.task} head needs [${want}]`, {
      output: out.shape,
      expected: want,
    });
  }
}

function buildForward(model: ModelDefinition, training: boolean, batch: number | string, seed: number) {
  const g = new Graph({ training });
  const inputs = model.inputs.map((s) => g.input(s.name, s.dtype, [batch, ...s.shape]));
  const out = model.build(g, inputs, { seed });
  checkOutput(model.head, out, batch);
  return { g, inputs, out };
}

const tensorSpecs = (vs: Value[]): TensorSpec[] => vs.map((v) => ({ name: v.name, shape: v.shape as number[], init: paramInit(v) }));

/** The parameters and buffers of a model, with their initializers (for initializing weights). */
export function modelTensors(model: ModelDefinition): { params: TensorSpec[]; buffers: TensorSpec[] } {
  const { g } = buildForward(model, false, 1, 0);
  return { params: tensorSpecs(g.params), buffers: tensorSpecs(g.buffers) };
}

export function compileTrainStep(model: ModelDefinition, o: TrainStepOptions): CompiledTrainStep {
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new AimassError('INVALID_ARGUMENT', `batch size must be a positive integer, got ${o.batchSize}`);
  const { g, out } = buildForward(model, true, o.batchSize, o.seed ?? 0);
  const label = labelSpec(model.head);
  const y = g.input(label.name, label.dtype, [o.batchSize, ...label.shape]);
  const lr = g.input(LR_INPUT, 'float32', []);
  const step = g.input(STEP_INPUT, 'float32', []);

  const outputs: Record<string, Value> = {};
  let loss: Value;
  g.scope('loss', () => {
    if (model.head.task === 'multiclass') {
      loss = ops.softmaxCrossEntropy(g, out, y);
      const hits = ops.equal(g, ops.argMax(g, out, 1), y);
      outputs.correct = ops.reduceSum(g, ops.cast(g, hits, 'float32'));
    } else if (model.head.task === 'binary') {
      loss = ops.sigmoidCrossEntropy(g, out, y);
      const hits = ops.equal(g, ops.greater(g, out, g.scalar(0)), ops.greater(g, y, g.scalar(0.5)));
      outputs.correct = ops.reduceSum(g, ops.cast(g, hits, 'float32'));
    } else {
      loss = ops.mse(g, out, y);
    }
  });
  outputs.loss = loss!;
  let objective = loss!;
  const weights = g.params.filter((p) => p.rank >= 2);
  const reg = o.regularization ?? {};
  if ((reg.l1 ?? 0) > 0 || (reg.l2 ?? 0) > 0) {
    let penalty: Value | null = null;
    g.scope('penalty', () => {
      if ((reg.l1 ?? 0) > 0) penalty = ops.l1Penalty(g, weights, reg.l1!);
      if ((reg.l2 ?? 0) > 0) {
        const l2 = ops.l2Penalty(g, weights, reg.l2!);
        penalty = penalty ? ops.add(g, penalty, l2) : l2;
      }
    });
    outputs.penalty = penalty!;
    objective = ops.add(g, loss!, penalty!);
  }
  if (o.outputLogits) outputs.logits = out;

  const params = [...g.params];
  const grads = gradients(g, objective, params);
  const opt = applyOptimizer(g, params, grads, o.optimizer, lr, step);
  outputs.grad_norm = opt.gradNorm;

  const next: Record<string, string> = {};
  params.forEach((p, i) => {
    next[p.name] = `${p.name}:next`;
    outputs[next[p.name]] = opt.newParams[i];
  });
  for (const b of g.buffers) {
    const nb = g.bufferUpdates.get(b);
    if (!nb) continue;
    next[b.name] = `${b.name}:next`;
    outputs[next[b.name]] = nb;
  }
  for (const s of opt.state) {
    next[s.input.name] = `${s.input.name}:next`;
    outputs[next[s.input.name]] = s.next;
  }

  const bytes = writeModel(g, { outputs, params: 'inputs', name: 'train_step' });
  const paramOf = (name: string) => name.replace(/^opt\/[^/]+\//, '');
  return {
    bytes,
    batchSize: o.batchSize,
    inputs: model.inputs,
    label,
    params: tensorSpecs(params),
    buffers: tensorSpecs(g.buffers),
    state: opt.state.map((s) => ({ name: s.input.name, shape: s.input.shape as number[], param: paramOf(s.input.name) })),
    next,
    metrics: Object.keys(outputs).filter((k) => ['loss', 'correct', 'penalty', 'grad_norm'].includes(k)),
  };
}

export interface ForwardOptions {
  /** Batch dimension: a fixed size or a symbolic name (default 'N'). */
  batch?: number | string;
  /** 'initializers': weights baked in from `values` (export); 'inputs': weights fed at run time (validation). */
  params: 'initializers' | 'inputs';
  values?: Map<string, Float32Array>;
  metadata?: Record<string, string>;
}

/** Output names of the forward graph for a head. */
export function forwardOutputs(head: Head): string[] {
  return head.task === 'multiclass' ? ['logits', 'probabilities'] : head.task === 'binary' ? ['logits', 'probability'] : ['prediction'];
}

export function compileForward(model: ModelDefinition, o: ForwardOptions): Uint8Array {
  const { g, out } = buildForward(model, false, o.batch ?? 'N', 0);
  const outputs: Record<string, Value> = {};
  if (model.head.task === 'multiclass') {
    outputs.logits = out;
    outputs.probabilities = ops.softmax(g, out, -1);
  } else if (model.head.task === 'binary') {
    outputs.logits = out;
    outputs.probability = ops.sigmoid(g, out);
  } else outputs.prediction = out;
  return writeModel(g, { outputs, params: o.params, values: o.values, name: 'forward', metadata: o.metadata });
}
