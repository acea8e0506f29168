// Gradient checking through ONNX Runtime: builds loss = Σ(out · R) for a random R over an op's output,
// compiles the analytic gradients of every float input with the engine's autodiff, and compares them with
// central finite differences of the same loss, all run in ONNX Runtime.
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Rng } from '../../src/core/index.js';
import { Graph, type Value, gradients, numel, ops, writeModel } from '../../src/engine/index.js';

export interface CheckInput {
  name: string;
  shape: number[];
  /** float32 by default; int64 inputs are not differentiated. */
  dtype?: 'float32' | 'int64';
  /** Values; random N(0,1) floats by default. */
  data?: Float32Array | BigInt64Array;
  /** Leave this float input out of the check (e.g. a mask). */
  constant?: boolean;
}

export interface CheckOptions {
  eps?: number;
  rtol?: number;
  atol?: number;
  seed?: number;
  /** Check at most this many elements per input (chosen at random); all by default. */
  maxElements?: number;
  /** New session for each evaluation, for ops with seeded randomness (dropout). */
  freshSessions?: boolean;
  training?: boolean;
}

export interface CheckReport {
  checked: number;
  worst: { input: string; index: number; analytic: number; numeric: number };
}

export async function gradCheck(
  build: (g: Graph, xs: Value[]) => Value,
  inputs: CheckInput[],
  o: CheckOptions = {},
): Promise<CheckReport> {
  const rng = new Rng(o.seed ?? 7);
  const eps = o.eps ?? 5e-3;
  const rtol = o.rtol ?? 2e-2;
  const atol = o.atol ?? 2e-3;
  const g = new Graph({ training: o.training ?? true });
  const xs = inputs.map((s) => g.input(s.name, s.dtype ?? 'float32', s.shape));
  const out = build(g, xs);
  const r = Float32Array.from({ length: numel(out.shape as number[]) }, () => rng.normal());
  const loss = out.rank === 0 ? ops.mul(g, out, g.constFloat(r, [])) : ops.reduceSum(g, ops.mul(g, out, g.constFloat(r, out.shape as number[])));
  const wrt = xs.filter((x, i) => x.dtype === 'float32' && !inputs[i].constant);
  const grads = gradients(g, loss, wrt);
  const outputs: Record<string, Value> = { loss };
  wrt.forEach((w, i) => (outputs[`grad:${w.name}`] = grads[i]));
  const gradBytes = writeModel(g, { outputs, params: 'inputs' });
  const lossBytes = writeModel(g, { outputs: { loss }, params: 'inputs' });

  const data = inputs.map((s) => s.data ?? (s.dtype === 'int64' ? new BigInt64Array(numel(s.shape)) : Float32Array.from({ length: numel(s.shape) }, () => rng.normal())));
  const feeds = () => Object.fromEntries(inputs.map((s, i) => [s.name, new ort.Tensor(s.dtype ?? 'float32', data[i], s.shape)]));
  const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
  const gradSession = await ort.InferenceSession.create(gradBytes, opts);
  const analytic = await gradSession.run(feeds());
  let lossSession = await ort.InferenceSession.create(lossBytes, opts);
  const evalLoss = async (): Promise<number> => {
    if (o.freshSessions) lossSession = await ort.InferenceSession.create(lossBytes, opts);
    return Number((await lossSession.run(feeds())).loss.data[0]);
  };

  let checked = 0;
  let worst = { input: '', index: -1, analytic: 0, numeric: 0, excess: -Infinity };
  for (const w of wrt) {
    const k = inputs.findIndex((s) => s.name === w.name);
    const x = data[k] as Float32Array;
    const ga = analytic[`grad:${w.name}`].data as Float32Array;
    assert.equal(ga.length, x.length, `gradient of ${w.name} has ${ga.length} values for ${x.length} inputs`);
    let idx = Array.from({ length: x.length }, (_, i) => i);
    if (o.maxElements && idx.length > o.maxElements) idx = rng.shuffle(idx).slice(0, o.maxElements);
    for (const i of idx) {
      const keep = x[i];
      x[i] = keep + eps;
      const up = await evalLoss();
      x[i] = keep - eps;
      const down = await evalLoss();
      x[i] = keep;
      const numeric = (up - down) / (2 * eps);
      const excess = Math.abs(ga[i] - numeric) - (atol + rtol * Math.max(Math.abs(ga[i]), Math.abs(numeric)));
      if (excess > worst.excess) worst = { input: w.name, index: i, analytic: ga[i], numeric, excess };
      checked++;
    }
  }
  await gradSession.release();
  await lossSession.release();
  assert.ok(checked > 0, 'no element was checked');
  assert.ok(
    worst.excess <= 0,
    `gradient of ${worst.input}[${worst.index}]: autodiff gives ${worst.analytic}, finite differences give ${worst.numeric}`,
  );
  return { checked, worst };
}

/** Distinct values spaced at least `gap` apart, shuffled: keeps max/relu/abs away from their kinks. */
export function spaced(n: number, seed = 3, gap = 0.05): Float32Array {
  const rng = new Rng(seed);
  const vals = Array.from({ length: n }, (_, i) => (i - n / 2) * gap + (i % 2 === 0 ? 0.013 : -0.011));
  return Float32Array.from(rng.shuffle(vals));
}

export function ints64(values: number[]): BigInt64Array {
  return BigInt64Array.from(values.map((v) => BigInt(v)));
}

/** `n` values drawn uniformly from [lo, hi): positive inputs for log, sqrt and division. */
export function uniform(n: number, lo: number, hi: number, seed = 5): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
}

/** Splits one `spaced` draw into pieces of the given sizes, so values stay apart across several inputs. */
export function spacedParts(sizes: number[], seed = 3): Float32Array[] {
  const all = spaced(sizes.reduce((a, b) => a + b, 0), seed);
  let at = 0;
  return sizes.map((n) => all.slice(at, (at += n)));
}
