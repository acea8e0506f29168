// Reductions over axes: ReduceSum, ReduceMean (differentiable), ReduceMax and ArgMax (metrics only).
import { type EmitterLike, type Graph, type InferInput, type Node, type Value, defineOp } from '../graph.js';
import type { TensorType } from '../shape.js';
import { normAxis } from '../shape.js';
import { fmt, int, ints } from './common.js';
import { div, maximum, mul } from './elementwise.js';
import { expand, reshape, unsqueeze } from './shape-ops.js';

function reduceRule(x: InferInput): TensorType[] {
  const s = x.inputs[0].shape;
  const axes = ((x.attrs.axes as number[] | undefined) ?? s.map((_, i) => i)).map((a) => normAxis(a, s.length, 'reduce'));
  const keep = (x.attrs.keepdims ?? 1) === 1;
  const shape = keep ? s.map((d, i) => (axes.includes(i) ? 1 : d)) : s.filter((_, i) => !axes.includes(i));
  return [{ dtype: x.inputs[0].dtype, shape }];
}

/** Shape of the reduced tensor with the reduced axes kept as 1s (to broadcast a gradient back). */
function keptShape(g: Graph, input: Value, axes: number[] | undefined): number[] {
  const s = input.shape as number[];
  const ax = (axes ?? s.map((_, i) => i)).map((a) => normAxis(a, s.length, 'reduce'));
  return s.map((d, i) => (ax.includes(i) ? 1 : d));
}

/**
 * An empty axes list reduces nothing (the shape rule keeps every axis), but ONNX reads empty axes as "all
 * axes": emit an Identity instead. LayerNorm over a rank-1 input reduces its parameter gradients over [].
 */
function emitNoAxes(e: EmitterLike, n: Node): boolean {
  const axes = n.attrs.axes as number[] | undefined;
  if (!axes || axes.length) return false;
  e.node('Identity', [e.name(n.inputs[0])], [e.name(n.outputs[0])]);
  return true;
}

defineOp({
  type: 'ReduceSum',
  infer: reduceRule,
  // opset 13+: axes is an input
  emit: (e, n) => {
    if (emitNoAxes(e, n)) return;
    const axes = n.attrs.axes as number[] | undefined;
    e.node('ReduceSum', axes ? [e.name(n.inputs[0]), e.int64s(axes)] : [e.name(n.inputs[0])], [e.name(n.outputs[0])], {
      keepdims: { i: (n.attrs.keepdims as number | undefined) ?? 1 },
    });
  },
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    const x = n.inputs[0];
    return [expand(g, reshape(g, dy, keptShape(g, x, n.attrs.axes as number[] | undefined)), x.shape as number[])];
  },
});

defineOp({
  type: 'ReduceMean',
  infer: reduceRule,
  // opset 17: axes is an attribute
  emit: (e, n) => {
    if (emitNoAxes(e, n)) return;
    e.node('ReduceMean', [e.name(n.inputs[0])], [e.name(n.outputs[0])], {
      axes: n.attrs.axes ? { ints: ints(n, 'axes') } : undefined,
      keepdims: { i: (n.attrs.keepdims as number | undefined) ?? 1 },
    });
  },
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    const x = n.inputs[0];
    const kept = keptShape(g, x, n.attrs.axes as number[] | undefined);
    const count = (x.shape as number[]).reduce((a, b) => a * b, 1) / kept.reduce((a, b) => a * b, 1);
    return [expand(g, reshape(g, mul(g, dy, g.scalar(1 / count)), kept), x.shape as number[])];
  },
});

defineOp({
  type: 'ReduceMax',
  infer: reduceRule,
  emit: (e, n) => {
    if (emitNoAxes(e, n)) return;
    e.node('ReduceMax', [e.name(n.inputs[0])], [e.name(n.outputs[0])], {
      axes: n.attrs.axes ? { ints: ints(n, 'axes') } : undefined,
      keepdims: { i: (n.attrs.keepdims as number | undefined) ?? 1 },
    });
  },
  nondiff: true,
});

defineOp({
  type: 'ArgMax',
  infer: (x) => {
    const [t] = reduceRule({ inputs: x.inputs, attrs: { axes: [x.attrs.axis as number], keepdims: x.attrs.keepdims ?? 1 } });
    return [{ dtype: 'int64', shape: t.shape }];
  },
  emit: (e, n) =>
    e.node('ArgMax', [e.name(n.inputs[0])], [e.name(n.outputs[0])], { axis: { i: int(n, 'axis') }, keepdims: { i: (n.attrs.keepdims as number | undefined) ?? 1 } }),
  nondiff: true,
});

export const reduceSum = (g: Graph, x: Value, axes?: number[], keepdims = false): Value => g.op('ReduceSum', [x], { axes, keepdims: keepdims ? 1 : 0 });
export const reduceMean = (g: Graph, x: Value, axes?: number[], keepdims = false): Value => g.op('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 });
export const reduceMax = (g: Graph, x: Value, axes?: number[], keepdims = false): Value => g.op('ReduceMax', [x], { axes, keepdims: keepdims ? 1 : 0 });
export const argMax = (g: Graph, x: Value, axis: number, keepdims = false): Value => g.op('ArgMax', [x], { axis, keepdims: keepdims ? 1 : 0 });

/**
 * Mean over a sequence of vectors, ignoring padding: x [B, T, E], mask [B, T] (1 = token, 0 = padding)
 * -> [B, E]. An all-padding row gives zeros rather than NaN.
 */
export function maskedMean(g: Graph, x: Value, mask: Value): Value {
  if (x.rank !== 3 || mask.rank !== 2 || mask.shape[0] !== x.shape[0] || mask.shape[1] !== x.shape[1])
    throw g.shapeMismatch(`masked mean takes x [B, T, E] and mask [B, T], got ${fmt(x.shape)} and ${fmt(mask.shape)}`);
  const summed = reduceSum(g, mul(g, x, unsqueeze(g, mask, [2])), [1]);
  const count = maximum(g, reduceSum(g, mask, [1], true), g.scalar(1));
  return div(g, summed, count);
}
