// Helpers shared by the op families: common shape rules, the default one-node ONNX emission, and the
// gradient reduction that undoes broadcasting.
import type { EmitterLike, Graph, InferInput, Node, OnnxAttrs, Value } from '../graph.js';
import { shapeError } from '../graph.js';
import { type DType, type Shape, type TensorType, broadcastAxes, broadcastShapes, formatShape, sameShape } from '../shape.js';

export const fmt = (s: Shape): string => `[${formatShape(s)}]`;

export function expectInputs(x: InferInput, n: number, what: string): void {
  if (x.inputs.length !== n) shapeError(`${what} takes ${n} inputs, got ${x.inputs.length}`);
}

export function expectDType(t: TensorType, dtype: DType, what: string): void {
  if (t.dtype !== dtype) shapeError(`${what} must be ${dtype}, got ${t.dtype}`);
}

export function expectRank(t: TensorType, rank: number, what: string): void {
  if (t.shape.length !== rank) shapeError(`${what} must have rank ${rank}, got shape ${fmt(t.shape)}`);
}

/** Shape rule of an elementwise op over one input: same type out. */
export const sameAsInput = (x: InferInput): TensorType[] => [{ ...x.inputs[0] }];

/** Shape rule of a broadcasting binary op; `outDType` overrides the result type (comparisons give bool). */
export function broadcastRule(outDType?: DType) {
  return (x: InferInput): TensorType[] => {
    const [a, b] = x.inputs;
    if (a.dtype !== b.dtype) shapeError(`input types differ: ${a.dtype} and ${b.dtype}`);
    const shape = broadcastShapes(a.shape, b.shape);
    if (!shape) shapeError(`shapes ${fmt(a.shape)} and ${fmt(b.shape)} do not broadcast`);
    return [{ dtype: outDType ?? a.dtype, shape }];
  };
}

/** Emits one ONNX node of `opType` (the IR op's own type by default) with typed attributes. */
export function emitSimple(opType?: string, attrs?: (n: Node) => OnnxAttrs) {
  return (e: EmitterLike, n: Node): void => {
    e.node(opType ?? n.op, n.inputs.map((v) => e.name(v)), n.outputs.map((v) => e.name(v)), attrs ? attrs(n) : {});
  };
}

export const int = (n: Node, key: string): number => n.attrs[key] as number;
export const ints = (n: Node, key: string): number[] => n.attrs[key] as number[];

/**
 * The gradient of an input of shape `shape` that was broadcast to `grad`'s shape: summed over the broadcast
 * axes and reshaped back. Shapes in a train graph are fixed, so the axes are known when the graph is built.
 */
export function unbroadcast(g: Graph, grad: Value, shape: Shape): Value {
  if (sameShape(grad.shape, shape)) return grad;
  const axes = broadcastAxes(shape, grad.shape);
  let r = axes.length ? g.op('ReduceSum', [grad], { axes, keepdims: 0 }) : grad;
  if (!sameShape(r.shape, shape)) r = g.op('Reshape', [r], { shape: shape as number[] });
  return r;
}
