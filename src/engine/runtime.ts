// ONNX Runtime at the edge of the engine: sessions from in-memory graphs, a train-step runner that feeds
// weights and optimizer state in and takes their next values out every step, and a forward runner.
// `session.run` is synchronous native work: callers that must keep an event loop free run these in a
// worker thread (see train/).
import * as ort from 'onnxruntime-node';
import { AimassError } from '../core/index.js';
import type { CompiledTrainStep, InputSpec, TensorSpec } from './compile.js';
import { LR_INPUT, STEP_INPUT } from './compile.js';
import { numel } from './shape.js';

export type HostArray = Float32Array | BigInt64Array;

export interface SessionOptions {
  threads?: number;
  /**
   * Let idle intra-op threads spin instead of sleeping. Off by default: on a quiet machine spinning is ~15%
   * faster for the reference CNN's train step, but on a loaded one (CI, shared hosts) it was 1.8x slower.
   */
  spin?: boolean;
}

export async function createSession(bytes: Uint8Array, o: SessionOptions = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: o.threads ?? 0,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      logSeverityLevel: 3,
      extra: { session: { intra_op: { allow_spinning: o.spin ? '1' : '0' } } },
    });
  } catch (e) {
    throw new AimassError('INTERNAL', `ONNX Runtime could not load the graph: ${(e as Error).message}`);
  }
}

/** Element types ONNX Runtime takes from the host (all but float16), each with its array type below. */
export type RuntimeTensorType = 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool' | 'string';
/** bool is one byte per element (0 or 1) in a Uint8Array; string is a plain array. */
export type RuntimeTensorData = HostArray | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array | string[];

export function tensor(dtype: RuntimeTensorType, data: RuntimeTensorData, shape: number[]): ort.Tensor {
  if (data.length !== numel(shape)) throw new AimassError('INVALID_ARGUMENT', `tensor data has ${data.length} values, shape [${shape}] needs ${numel(shape)}`);
  return new ort.Tensor(dtype, data, shape);
}

/** Weights, buffers and optimizer state of a training run, by tensor name. */
export type TensorMap = Map<string, Float32Array>;

export interface StepResult {
  loss: number;
  correct?: number;
  penalty?: number;
  gradNorm: number;
}

/** Runs a compiled train step repeatedly, carrying weights and optimizer state from step to step. */
export class TrainStepRunner {
  private feeds: Record<string, ort.Tensor> = {};
  private stepCount: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly compiled: CompiledTrainStep,
    values: TensorMap,
    stepCount: number,
  ) {
    this.stepCount = stepCount;
    for (const s of [...compiled.params, ...compiled.buffers, ...compiled.state]) {
      const v = values.get(s.name);
      if (!v) throw new AimassError('INVALID_ARGUMENT', `no value for tensor "${s.name}"`);
      if (v.length !== numel(s.shape)) throw new AimassError('INVALID_ARGUMENT', `tensor "${s.name}" has ${v.length} values, expected shape [${s.shape}]`);
      this.feeds[s.name] = new ort.Tensor('float32', v, s.shape);
    }
  }

  /** `values` holds params and buffers; missing optimizer state starts at zero. */
  static async create(compiled: CompiledTrainStep, values: TensorMap, o: SessionOptions & { step?: number } = {}): Promise<TrainStepRunner> {
    const all = new Map(values);
    for (const s of compiled.state) if (!all.has(s.name)) all.set(s.name, new Float32Array(numel(s.shape)));
    const session = await createSession(compiled.bytes, o);
    return new TrainStepRunner(session, compiled, all, o.step ?? 0);
  }

  get steps(): number {
    return this.stepCount;
  }

  /**
   * One optimizer step on a batch: `inputs` in the order of compiled.inputs, each holding exactly
   * batchSize samples; `label` as compiled.label.
   */
  async step(inputs: HostArray[], label: HostArray, lr: number): Promise<StepResult> {
    const c = this.compiled;
    const B = c.batchSize;
    const feeds = { ...this.feeds };
    c.inputs.forEach((s: InputSpec, i) => (feeds[s.name] = tensor(s.dtype as 'float32' | 'int64', inputs[i], [B, ...s.shape])));
    feeds[c.label.name] = tensor(c.label.dtype as 'float32' | 'int64', label, [B, ...c.label.shape]);
    this.stepCount++;
    feeds[LR_INPUT] = new ort.Tensor('float32', Float32Array.of(lr), []);
    feeds[STEP_INPUT] = new ort.Tensor('float32', Float32Array.of(this.stepCount), []);
    const out = await this.session.run(feeds);
    for (const [name, outName] of Object.entries(c.next)) this.feeds[name] = out[outName];
    const scalar = (k: string) => (out[k] ? Number((out[k].data as Float32Array)[0]) : undefined);
    return { loss: scalar('loss')!, correct: scalar('correct'), penalty: scalar('penalty'), gradNorm: scalar('grad_norm')! };
  }

  /** Copies of the current params, buffers and optimizer state. */
  values(): TensorMap {
    const m: TensorMap = new Map();
    for (const s of [...this.compiled.params, ...this.compiled.buffers, ...this.compiled.state]) m.set(s.name, Float32Array.from(this.feeds[s.name].data as Float32Array));
    return m;
  }

  /** Current params and buffers only (what a forward graph needs). */
  weights(): TensorMap {
    const m: TensorMap = new Map();
    for (const s of [...this.compiled.params, ...this.compiled.buffers]) m.set(s.name, this.feeds[s.name].data as Float32Array);
    return m;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Runs a forward graph (from compileForward) on batches of any size. */
export class ForwardRunner {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: InputSpec[],
    private readonly weightSpecs: TensorSpec[],
  ) {}

  /** `weightSpecs` lists the weights a graph compiled with params: 'inputs' takes at run time. */
  static async create(bytes: Uint8Array, inputs: InputSpec[], o: SessionOptions & { weightSpecs?: TensorSpec[] } = {}): Promise<ForwardRunner> {
    return new ForwardRunner(await createSession(bytes, o), inputs, o.weightSpecs ?? []);
  }

  async run(inputs: HostArray[], n: number, weights?: TensorMap): Promise<Record<string, Float32Array>> {
    const feeds: Record<string, ort.Tensor> = {};
    this.inputs.forEach((s, i) => (feeds[s.name] = tensor(s.dtype as 'float32' | 'int64', inputs[i], [n, ...s.shape])));
    for (const w of this.weightSpecs) {
      const data = weights?.get(w.name);
      if (!data) throw new AimassError('INVALID_ARGUMENT', `the forward graph needs weight "${w.name}"`);
      feeds[w.name] = tensor('float32', data, w.shape);
    }
    const out = await this.session.run(feeds);
    const res: Record<string, Float32Array> = {};
    for (const k of Object.keys(out)) res[k] = out[k].data as Float32Array;
    return res;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
