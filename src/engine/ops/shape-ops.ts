// Ops that move data without arithmetic: Reshape, Flatten, Transpose, Concat, Slice, Pad, Unsqueeze,
// Squeeze, Expand. Their gradients move the gradient back the same way.
import { AimassError } from '../../core/index.js';
import { type Graph, type Value, defineOp, shapeError } from '../graph.js';
import { type Dim, type Shape, broadcastShapes, normAxis, sameShape } from '../shape.js';
import { emitSimple, fmt, int, ints, unbroadcast } from './common.js';

/** Product of dims, symbolic dims kept as a product expression ('N', 'N*3'). */
function dimProduct(dims: Dim[]): Dim {
  let k = 1;
  const syms: string[] = [];
  for (const d of dims) typeof d === 'number' ? (k *= d) : syms.push(d);
  if (!syms.length) return k;
  return k === 1 ? syms.join('*') : `${syms.join('*')}*${k}`;
}

export function reshapeRule(input: Shape, target: number[]): Shape {
  const out: Dim[] = target.map((d, i) => (d === 0 ? input[i] : d));
  if (out.some((d) => d === undefined)) shapeError(`reshape target [${target}] copies (0) a dimension that ${fmt(input)} lacks`);
  const inFixed = input.filter((d): d is number => typeof d === 'number').reduce((a, b) => a * b, 1);
  const inSyms = input.filter((d): d is string => typeof d === 'string');
  const outSyms = out.filter((d): d is string => typeof d === 'string');
  const outFixed = out.filter((d): d is number => typeof d === 'number' && d !== -1).reduce((a, b) => a * b, 1);
  const rest = [...inSyms];
  for (const s of outSyms) {
    const i = rest.indexOf(s);
    if (i < 0) shapeError(`reshape of ${fmt(input)} to [${target}] introduces symbolic dimension ${s}`);
    rest.splice(i, 1);
  }
  const minus = out.filter((d) => d === -1).length;
  if (minus > 1) shapeError(`reshape target [${target}] has more than one -1`);
  if (minus === 1) {
    if (rest.length === 0) {
      if (inFixed % outFixed !== 0) shapeError(`cannot reshape ${fmt(input)} to [${target}]: ${inFixed} elements do not divide by ${outFixed}`);
      out[out.indexOf(-1)] = inFixed / outFixed;
    } else out[out.indexOf(-1)] = dimProduct([...rest, inFixed / outFixed]);
  } else if (rest.length || inFixed !== outFixed) {
    shapeError(`cannot reshape ${fmt(input)} to [${target}]: element counts differ`);
  }
  return out;
}

defineOp({
  type: 'Reshape',
  infer: (x) => [{ dtype: x.inputs[0].dtype, shape: reshapeRule(x.inputs[0].shape, x.attrs.shape as number[]) }],
  emit: (e, n) => e.node('Reshape', [e.name(n.inputs[0]), e.int64s(ints(n, 'shape'))], [e.name(n.outputs[0])]),
  grad: (g, n, [dy]) => [dy ? reshape(g, dy, n.inputs[0].shape as number[]) : null],
});

defineOp({
  type: 'Flatten',
  infer: (x) => {
    const s = x.inputs[0].shape;
    const axis = normAxis(x.attrs.axis as number, s.length + 1, 'Flatten');
    return [{ dtype: x.inputs[0].dtype, shape: [dimProduct(s.slice(0, axis)), dimProduct(s.slice(axis))] }];
  },
  emit: emitSimple('Flatten', (n) => ({ axis: { i: int(n, 'axis') } })),
  grad: (g, n, [dy]) => [dy ? reshape(g, dy, n.inputs[0].shape as number[]) : null],
});

defineOp({
  type: 'Transpose',
  infer: (x) => {
    const s = x.inputs[0].shape;
    const perm = x.attrs.perm as number[];
    if (perm.length !== s.length || [...perm].sort().some((p, i) => p !== i)) shapeError(`perm [${perm}] is not a permutation of the axes of ${fmt(s)}`);
    return [{ dtype: x.inputs[0].dtype, shape: perm.map((p) => s[p]) }];
  },
  emit: emitSimple('Transpose', (n) => ({ perm: { ints: ints(n, 'perm') } })),
  grad: (g, n, [dy]) => {
    const perm = ints(n, 'perm');
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [dy ? transpose(g, dy, inverse) : null];
  },
});

defineOp({
  type: 'Concat',
  infer: (x) => {
    const first = x.inputs[0];
    const axis = normAxis(x.attrs.axis as number, first.shape.length, 'Concat');
    let total: Dim = 0;
    for (const t of x.inputs) {
      if (t.dtype !== first.dtype || t.shape.length !== first.shape.length || t.shape.some((d, i) => i !== axis && d !== first.shape[i]))
        shapeError(`cannot concatenate ${fmt(first.shape)} and ${fmt(t.shape)} along axis ${axis}`);
      const d = t.shape[axis];
      total = typeof total === 'number' && typeof d === 'number' ? total + d : `${total}+${d}`;
    }
    const shape = [...first.shape];
    shape[axis] = total;
    return [{ dtype: first.dtype, shape }];
  },
  emit: emitSimple('Concat', (n) => ({ axis: { i: int(n, 'axis') } })),
  grad: (g, n, [dy], needs) => {
    if (!dy) return n.inputs.map(() => null);
    const axis = normAxis(int(n, 'axis'), dy.rank, 'Concat');
    let start = 0;
    return n.inputs.map((v, i) => {
      const len = v.shape[axis] as number;
      const piece = needs[i] ? slice(g, dy, [start], [start + len], [axis]) : null;
      start += len;
      return piece;
    });
  },
});

/** Slice along the given axes (ends are clamped like ONNX's), with optional positive steps. */
defineOp({
  type: 'Slice',
  infer: (x) => {
    const s = [...x.inputs[0].shape];
    const { starts, ends, axes, steps } = x.attrs as { starts: number[]; ends: number[]; axes: number[]; steps?: number[] };
    axes.forEach((a0, k) => {
      const a = normAxis(a0, s.length, 'Slice');
      const d = s[a];
      if (typeof d !== 'number') shapeError(`cannot slice symbolic axis ${a} of ${fmt(s)}`);
      const step = steps?.[k] ?? 1;
      if (!(step >= 1)) shapeError(`slice steps must be positive, got ${step}`);
      const lo = clampIndex(starts[k], d);
      const hi = clampIndex(ends[k], d);
      s[a] = Math.max(0, Math.ceil((hi - lo) / step));
    });
    return [{ dtype: x.inputs[0].dtype, shape: s }];
  },
  emit: (e, n) => {
    const inputs = [e.name(n.inputs[0]), e.int64s(ints(n, 'starts')), e.int64s(ints(n, 'ends')), e.int64s(ints(n, 'axes'))];
    if (n.attrs.steps) inputs.push(e.int64s(ints(n, 'steps')));
    e.node('Slice', inputs, [e.name(n.outputs[0])]);
  },
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    if ((n.attrs.steps as number[] | undefined)?.some((st) => st !== 1)) {
      throw new AimassError('UNSUPPORTED', `a strided Slice${n.scope ? ` in layer "${n.scope}"` : ''} has no gradient rule`);
    }
    const s = n.inputs[0].shape as number[];
    const before = s.map(() => 0);
    const after = s.map(() => 0);
    const { starts, ends, axes } = n.attrs as { starts: number[]; ends: number[]; axes: number[] };
    axes.forEach((a0, k) => {
      const a = normAxis(a0, s.length, 'Slice');
      before[a] = clampIndex(starts[k], s[a]);
      after[a] = s[a] - Math.max(before[a], clampIndex(ends[k], s[a]));
    });
    return [g.op('Pad', [dy], { pads: [...before, ...after] })];
  },
});

function clampIndex(i: number, d: number): number {
  const j = i < 0 ? i + d : i;
  return Math.min(Math.max(j, 0), d);
}

/** Constant zero padding; `pads` is [begin of each axis..., end of each axis...]. */
defineOp({
  type: 'Pad',
  infer: (x) => {
    const s = x.inputs[0].shape;
    const pads = x.attrs.pads as number[];
    if (pads.length !== 2 * s.length) shapeError(`pads [${pads}] need 2 entries per axis of ${fmt(s)}`);
    return [{ dtype: x.inputs[0].dtype, shape: s.map((d, i) => (typeof d === 'number' ? d + pads[i] + pads[i + s.length] : d)) }];
  },
  emit: (e, n) => e.node('Pad', [e.name(n.inputs[0]), e.int64s(ints(n, 'pads'))], [e.name(n.outputs[0])]),
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    const s = n.inputs[0].shape as number[];
    const pads = ints(n, 'pads');
    const axes = s.map((_, i) => i);
    return [slice(g, dy, pads.slice(0, s.length), s.map((d, i) => pads[i] + d), axes)];
  },
});

defineOp({
  type: 'Unsqueeze',
  infer: (x) => {
    const s = [...x.inputs[0].shape];
    const axes = [...(x.attrs.axes as number[])].map((a) => normAxis(a, s.length + (x.attrs.axes as number[]).length, 'Unsqueeze')).sort((a, b) => a - b);
    for (const a of axes) s.splice(a, 0, 1);
    return [{ dtype: x.inputs[0].dtype, shape: s }];
  },
  emit: (e, n) => e.node('Unsqueeze', [e.name(n.inputs[0]), e.int64s(ints(n, 'axes'))], [e.name(n.outputs[0])]),
  grad: (g, n, [dy]) => [dy ? reshape(g, dy, n.inputs[0].shape as number[]) : null],
});

defineOp({
  type: 'Squeeze',
  infer: (x) => {
    const s = x.inputs[0].shape;
    const axes = (x.attrs.axes as number[]).map((a) => normAxis(a, s.length, 'Squeeze'));
    for (const a of axes) if (s[a] !== 1) shapeError(`cannot squeeze axis ${a} of ${fmt(s)}: its size is not 1`);
    return [{ dtype: x.inputs[0].dtype, shape: s.filter((_, i) => !axes.includes(i)) }];
  },
  emit: (e, n) => e.node('Squeeze', [e.name(n.inputs[0]), e.int64s(ints(n, 'axes'))], [e.name(n.outputs[0])]),
  grad: (g, n, [dy]) => [dy ? reshape(g, dy, n.inputs[0].shape as number[]) : null],
});

defineOp({
  type: 'Expand',
  infer: (x) => {
    const shape = broadcastShapes(x.inputs[0].shape, x.attrs.shape as number[]);
    if (!shape) shapeError(`cannot expand ${fmt(x.inputs[0].shape)} to [${x.attrs.shape}]`);
    return [{ dtype: x.inputs[0].dtype, shape }];
  },
  emit: (e, n) => e.node('Expand', [e.name(n.inputs[0]), e.int64s(ints(n, 'shape'))], [e.name(n.outputs[0])]),
  grad: (g, n, [dy]) => [dy ? unbroadcast(g, dy, n.inputs[0].shape) : null],
});

export function reshape(g: Graph, x: Value, shape: number[]): Value {
  if (sameShape(x.shape, shape)) return x;
  return g.op('Reshape', [x], { shape });
}
export const flatten = (g: Graph, x: Value, axis = 1): Value => g.op('Flatten', [x], { axis });
export const transpose = (g: Graph, x: Value, perm: number[]): Value => g.op('Transpose', [x], { perm });
export const concat = (g: Graph, xs: Value[], axis: number): Value => (xs.length === 1 ? xs[0] : g.op('Concat', xs, { axis }));
export const slice = (g: Graph, x: Value, starts: number[], ends: number[], axes: number[], steps?: number[]): Value =>
  g.op('Slice', [x], steps && steps.some((st) => st !== 1) ? { starts, ends, axes, steps } : { starts, ends, axes });
export const unsqueeze = (g: Graph, x: Value, axes: number[]): Value => g.op('Unsqueeze', [x], { axes });
export const squeeze = (g: Graph, x: Value, axes: number[]): Value => g.op('Squeeze', [x], { axes });
export const expand = (g: Graph, x: Value, shape: number[]): Value => g.op('Expand', [x], { shape });
