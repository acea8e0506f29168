// Normalization: BatchNorm (training: batch statistics built from primitives, so autodiff derives its
// gradient, and running statistics updated as buffers; inference: ONNX BatchNormalization with the running
// statistics) and LayerNorm over the last axis (ONNX LayerNormalization, with its gradient written from the
// Mean and InvStdDev outputs).
import { type Graph, type Value, defineOp, shapeError } from '../graph.js';
import { fmt } from './common.js';
import { add, div, mul, scale, sqrt, sub } from './elementwise.js';
import { reduceMean, reduceSum } from './reduce.js';
import { reshape } from './shape-ops.js';

defineOp({
  type: 'BatchNormalization',
  infer: (x) => {
    const [xt, gamma] = x.inputs;
    if (xt.shape.length < 2 || xt.shape[1] !== gamma.shape[0]) shapeError(`input ${fmt(xt.shape)} does not have ${gamma.shape[0]} channels on axis 1`);
    return [{ ...xt }];
  },
  emit: (e, n) => e.node('BatchNormalization', n.inputs.map((v) => e.name(v)), [e.name(n.outputs[0])], { epsilon: { f: n.attrs.eps as number } }),
});

export interface BatchNormOptions {
  /** Weight of the new batch in the running statistics (PyTorch's convention). */
  momentum?: number;
  eps?: number;
}

/** BatchNorm over axis 1 of [N, C], [N, C, L] or [N, C, H, W]. */
export function batchNorm(g: Graph, x: Value, gamma: Value, beta: Value, runningMean: Value, runningVar: Value, o: BatchNormOptions = {}): Value {
  const eps = o.eps ?? 1e-5;
  const momentum = o.momentum ?? 0.1;
  const c = gamma.shape[0] as number;
  if (x.rank < 2 || x.shape[1] !== c) {
    return g.op('BatchNormalization', [x, gamma, beta, runningMean, runningVar], { eps }); // the shape rule reports it
  }
  if (!g.training) return g.op('BatchNormalization', [x, gamma, beta, runningMean, runningVar], { eps });
  // statistics over every axis but the channel axis 1, for any rank (ONNX BatchNormalization's contract)
  const axes = Array.from({ length: x.rank }, (_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((_, i) => (i === 1 ? c : 1));
  const mean = reduceMean(g, x, axes, true);
  const centered = sub(g, x, mean);
  const variance = reduceMean(g, mul(g, centered, centered), axes, true);
  const normalized = div(g, centered, sqrt(g, add(g, variance, g.scalar(eps))));
  const y = add(g, mul(g, normalized, reshape(g, gamma, bshape)), reshape(g, beta, bshape));
  const count = (x.shape as number[]).reduce((a, b) => a * b, 1) / c;
  const unbiased = count > 1 ? count / (count - 1) : 1;
  g.updateBuffer(runningMean, add(g, scale(g, runningMean, 1 - momentum), scale(g, reshape(g, mean, [c]), momentum)));
  g.updateBuffer(runningVar, add(g, scale(g, runningVar, 1 - momentum), scale(g, reshape(g, variance, [c]), momentum * unbiased)));
  return y;
}

defineOp({
  type: 'LayerNorm',
  infer: (x) => {
    const [xt, gamma, beta] = x.inputs;
    const last = xt.shape[xt.shape.length - 1];
    if (gamma.shape.length !== 1 || gamma.shape[0] !== last || beta.shape[0] !== last)
      shapeError(`scale ${fmt(gamma.shape)} and bias ${fmt(beta.shape)} must match the last axis of ${fmt(xt.shape)}`);
    const stats = [...xt.shape.slice(0, -1), 1];
    return [{ ...xt }, { dtype: 'float32', shape: stats }, { dtype: 'float32', shape: stats }];
  },
  emit: (e, n) => {
    const outs = [e.name(n.outputs[0])];
    if (e.isUsed(n.outputs[1]) || e.isUsed(n.outputs[2])) outs.push(e.name(n.outputs[1]), e.name(n.outputs[2]));
    e.node('LayerNormalization', n.inputs.map((v) => e.name(v)), outs, { axis: { i: -1 }, epsilon: { f: n.attrs.eps as number } });
  },
  grad: (g, n, [dy], needs) => {
    if (!dy) return [null, null, null];
    const [x, gamma] = n.inputs;
    const [, mean, inv] = n.outputs;
    const last = x.rank - 1;
    const xhat = mul(g, sub(g, x, mean), inv);
    const lead = Array.from({ length: x.rank - 1 }, (_, i) => i);
    let dx: Value | null = null;
    if (needs[0]) {
      const dxhat = mul(g, dy, gamma);
      const m1 = reduceMean(g, dxhat, [last], true);
      const m2 = reduceMean(g, mul(g, dxhat, xhat), [last], true);
      dx = mul(g, inv, sub(g, sub(g, dxhat, m1), mul(g, xhat, m2)));
    }
    return [dx, needs[1] ? reduceSum(g, mul(g, dy, xhat), lead) : null, needs[2] ? reduceSum(g, dy, lead) : null];
  },
});

export const layerNorm = (g: Graph, x: Value, gamma: Value, beta: Value, eps = 1e-5): Value => g.apply('LayerNorm', [x, gamma, beta], { eps })[0];
