// Losses and penalties. Softmax cross-entropy and binary cross-entropy take logits and have fused gradients
// ((softmax(z) − onehot(y))/N and (sigmoid(z) − y)/N), which are exact and cheaper than differentiating the
// log-sum-exp; MSE and the L1/L2 penalties are compositions of primitives.
import { type Graph, type Value, defineOp, shapeError } from '../graph.js';
import { numel, sameShape } from '../shape.js';
import { fmt } from './common.js';
import { abs, mul, scale, sub } from './elementwise.js';
import { oneHot } from './scatter.js';
import { reduceMean, reduceSum } from './reduce.js';
import { sigmoid } from './activation.js';
import { softmax } from './softmax.js';

/** Mean softmax cross-entropy of logits [B, C] against int64 class ids [B]. */
defineOp({
  type: 'SoftmaxCrossEntropy',
  infer: (x) => {
    const [z, y] = x.inputs;
    if (z.shape.length !== 2) shapeError(`logits must be [batch, classes], got ${fmt(z.shape)}`);
    if (y.dtype !== 'int64' || y.shape.length !== 1 || y.shape[0] !== z.shape[0])
      shapeError(`labels must be int64 [${z.shape[0]}] class ids for logits ${fmt(z.shape)}, got ${y.dtype} ${fmt(y.shape)}`);
    return [{ dtype: 'float32', shape: [] }];
  },
  emit: (e, n) => {
    const [z, y] = n.inputs.map((v) => e.name(v));
    const [lsm, idx, picked, mean] = ['lsm', 'idx', 'picked', 'mean'].map((h) => e.temp(h));
    e.node('LogSoftmax', [z], [lsm], { axis: { i: -1 } });
    e.node('Unsqueeze', [y, e.int64s([1])], [idx]);
    e.node('GatherElements', [lsm, idx], [picked], { axis: { i: 1 } });
    e.node('ReduceMean', [picked], [mean], { keepdims: { i: 0 } });
    e.node('Neg', [mean], [e.name(n.outputs[0])]);
  },
  grad: (g, n, [dl], needs) => {
    if (!dl || !needs[0]) return [null, null];
    const [z, y] = n.inputs;
    const [b, c] = z.shape as number[];
    const diff = sub(g, softmax(g, z, -1), oneHot(g, y, c));
    return [mul(g, scale(g, diff, 1 / b), dl), null];
  },
});

/** Mean binary cross-entropy of logits against 0/1 float targets of the same shape. */
defineOp({
  type: 'SigmoidCrossEntropy',
  infer: (x) => {
    const [z, y] = x.inputs;
    if (y.dtype !== 'float32' || !sameShape(z.shape, y.shape)) shapeError(`targets ${y.dtype} ${fmt(y.shape)} must be float32 of the logits' shape ${fmt(z.shape)}`);
    return [{ dtype: 'float32', shape: [] }];
  },
  // mean(max(z, 0) − z·y + log(1 + exp(−|z|))), stable for large |z|
  emit: (e, n) => {
    const [z, y] = n.inputs.map((v) => e.name(v));
    const t = ['relu', 'zy', 'abs', 'nabs', 'exp', 'one', 'log', 'a', 'b'].map((h) => e.temp(h));
    e.node('Relu', [z], [t[0]]);
    e.node('Mul', [z, y], [t[1]]);
    e.node('Abs', [z], [t[2]]);
    e.node('Neg', [t[2]], [t[3]]);
    e.node('Exp', [t[3]], [t[4]]);
    e.node('Add', [t[4], e.floats([1], [])], [t[5]]);
    e.node('Log', [t[5]], [t[6]]);
    e.node('Sub', [t[0], t[1]], [t[7]]);
    e.node('Add', [t[7], t[6]], [t[8]]);
    e.node('ReduceMean', [t[8]], [e.name(n.outputs[0])], { keepdims: { i: 0 } });
  },
  // d/dz = (sigmoid(z) − y)/N; d/dy = −z/N (soft targets produced by the graph, e.g. distillation)
  grad: (g, n, [dl], needs) => {
    if (!dl) return [null, null];
    const [z, y] = n.inputs;
    const count = numel(z.shape as number[]);
    return [
      needs[0] ? mul(g, scale(g, sub(g, sigmoid(g, z), y), 1 / count), dl) : null,
      needs[1] ? mul(g, scale(g, z, -1 / count), dl) : null,
    ];
  },
});

export const softmaxCrossEntropy = (g: Graph, logits: Value, labels: Value): Value => g.op('SoftmaxCrossEntropy', [logits, labels]);
export const sigmoidCrossEntropy = (g: Graph, logits: Value, targets: Value): Value => g.op('SigmoidCrossEntropy', [logits, targets]);

export function mse(g: Graph, pred: Value, target: Value): Value {
  if (!sameShape(pred.shape, target.shape)) throw g.shapeMismatch(`MSE: prediction ${fmt(pred.shape)} and target ${fmt(target.shape)} differ in shape`);
  const d = sub(g, pred, target);
  return reduceMean(g, mul(g, d, d));
}

/** λ·Σ|w| over the given weights. */
export function l1Penalty(g: Graph, weights: Value[], lambda: number): Value {
  return scale(g, weights.map((w) => reduceSum(g, abs(g, w))).reduce((a, b) => g.op('Add', [a, b])), lambda);
}

/** λ·Σw² over the given weights (the ½ is not included; weight decay in the optimizer is the usual alternative). */
export function l2Penalty(g: Graph, weights: Value[], lambda: number): Value {
  return scale(g, weights.map((w) => reduceSum(g, mul(g, w, w))).reduce((a, b) => g.op('Add', [a, b])), lambda);
}
