// Pooling over NCHW: MaxPool (its gradient scatter-adds dY at the Indices, which ONNX flattens over
// N·C·H·W), AveragePool (gradient: a transposed convolution with a constant 1/k² kernel; padding counts,
// as PyTorch's default) and GlobalAveragePool.
import { type Graph, type Value, defineOp, shapeError } from '../graph.js';
import { numel } from '../shape.js';
import { fmt, ints } from './common.js';
import { type Padding, resolvePads } from './conv.js';
import { cast, div, equal, mul } from './elementwise.js';
import { expand, reshape, slice } from './shape-ops.js';
import { zeros } from './scatter.js';

function poolOut(x: { inputs: { shape: (number | string)[] }[]; attrs: Record<string, unknown> }, what: string): (number | string)[] {
  const s = x.inputs[0].shape;
  if (s.length !== 4) shapeError(`${what} input must be [N, C, H, W], got ${fmt(s)}`);
  const [kh, kw] = x.attrs.kernel as number[];
  const [sh, sw] = x.attrs.strides as number[];
  const [pt, pl, pb, pr] = x.attrs.pads as number[];
  const oh = Math.floor(((s[2] as number) + pt + pb - kh) / sh) + 1;
  const ow = Math.floor(((s[3] as number) + pl + pr - kw) / sw) + 1;
  if (oh < 1 || ow < 1) shapeError(`pool window ${kh}x${kw} does not fit input ${fmt(s)}`);
  return [s[0], s[1], oh, ow];
}

const poolAttrs = (n: { attrs: Record<string, unknown> }) => ({
  kernel_shape: { ints: n.attrs.kernel as number[] },
  strides: { ints: n.attrs.strides as number[] },
  pads: { ints: n.attrs.pads as number[] },
});

defineOp({
  type: 'MaxPool',
  infer: (x) => {
    const shape = poolOut(x, 'MaxPool');
    return [
      { dtype: 'float32', shape },
      { dtype: 'int64', shape },
    ];
  },
  emit: (e, n) => {
    const outs = [e.name(n.outputs[0])];
    if (e.isUsed(n.outputs[1])) outs.push(e.name(n.outputs[1]));
    e.node('MaxPool', [e.name(n.inputs[0])], outs, poolAttrs(n));
  },
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    const xs = n.inputs[0].shape as number[];
    const [kh, kw] = ints(n, 'kernel');
    const [sh, sw] = ints(n, 'strides');
    if (sh === kh && sw === kw && ints(n, 'pads').every((p) => p === 0)) return [tiledMaxGrad(g, n.inputs[0], n.outputs[0], dy, kh, kw)];
    if (sh >= kh && sw >= kw) {
      // windows do not overlap, so each input gets at most one gradient: MaxUnpool places dY at the Indices
      return [g.op('MaxUnpool', [dy, n.outputs[1]], { ...n.attrs, outputShape: xs })];
    }
    // overlapping windows: one input can be the max of several, so the gradients are summed
    const size = numel(xs);
    const flat = (v: Value) => reshape(g, v, [numel(v.shape as number[])]);
    const scattered = g.op('ScatterElements', [zeros(g, [size]), flat(n.outputs[1]), flat(dy)], { axis: 0, reduction: 'add' });
    return [reshape(g, scattered, xs)];
  },
});

/**
 * MaxPool's gradient for tiled windows (stride = kernel, no padding) without Indices: ONNX Runtime's MaxPool
 * with the Indices output runs ~40x slower than without it (4.4 ms against 0.1 ms for the reference CNN's first
 * pool). The maxima are found again by comparing X with Y upsampled; ties in a window share dY evenly (a valid
 * subgradient, where the Indices form gives it all to the first maximum).
 */
function tiledMaxGrad(g: Graph, x: Value, y: Value, dy: Value, kh: number, kw: number): Value {
  const [, , h, w] = x.shape as number[];
  const [, , oh, ow] = y.shape as number[];
  const hc = oh * kh;
  const wc = ow * kw;
  const cropped = hc < h || wc < w;
  const xc = cropped ? slice(g, x, [0, 0], [hc, wc], [2, 3]) : x;
  const mask = cast(g, equal(g, xc, upsample(g, y, kh, kw)), 'float32');
  const maxima = mul(g, avgPool2d(g, mask, [kh, kw]), g.scalar(kh * kw));
  const dx = mul(g, mask, upsample(g, div(g, dy, maxima), kh, kw));
  return cropped ? g.op('Pad', [dx], { pads: [0, 0, 0, 0, 0, 0, h - hc, w - wc] }) : dx;
}

/**
 * Nearest-neighbour upsampling of [N, C, h, w] by integer factors, emitted as two Concats of copies (in ONNX
 * Runtime ~4x faster than Resize and ~10x faster than Expand for this).
 */
defineOp({
  type: 'Upsample',
  infer: (x) => {
    const s = x.inputs[0].shape;
    const [fh, fw] = x.attrs.factors as number[];
    if (s.length !== 4 || !s.every((d) => typeof d === 'number')) shapeError(`Upsample takes a fixed [N, C, H, W], got ${fmt(s)}`);
    return [{ dtype: x.inputs[0].dtype, shape: [s[0], s[1], (s[2] as number) * fh, (s[3] as number) * fw] }];
  },
  emit: (e, n) => {
    const [N, C, h, w] = n.inputs[0].shape as number[];
    const [fh, fw] = ints(n, 'factors');
    const rows = N * C * h;
    const [a, b, c, d] = ['up', 'up', 'up', 'up'].map((t) => e.temp(t));
    e.node('Reshape', [e.name(n.inputs[0]), e.int64s([rows, w, 1])], [a]);
    e.node('Concat', Array(fw).fill(a), [b], { axis: { i: 2 } });
    e.node('Reshape', [b, e.int64s([rows, 1, w * fw])], [c]);
    e.node('Concat', Array(fh).fill(c), [d], { axis: { i: 1 } });
    e.node('Reshape', [d, e.int64s([N, C, h * fh, w * fw])], [e.name(n.outputs[0])]);
  },
});

export const upsample = (g: Graph, x: Value, fh: number, fw: number): Value => g.op('Upsample', [x], { factors: [fh, fw] });

/** Places each value at its Indices position in zeros of outputShape (the inverse of a non-overlapping MaxPool). */
defineOp({
  type: 'MaxUnpool',
  infer: (x) => [{ dtype: 'float32', shape: x.attrs.outputShape as number[] }],
  emit: (e, n) => e.node('MaxUnpool', [e.name(n.inputs[0]), e.name(n.inputs[1]), e.int64s(ints(n, 'outputShape'))], [e.name(n.outputs[0])], poolAttrs(n)),
});

defineOp({
  type: 'AveragePool',
  infer: (x) => [{ dtype: 'float32', shape: poolOut(x, 'AveragePool') }],
  emit: (e, n) => e.node('AveragePool', [e.name(n.inputs[0])], [e.name(n.outputs[0])], { ...poolAttrs(n), count_include_pad: { i: 1 } }),
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    const [N, C, H, W] = n.inputs[0].shape as number[];
    const [, , oh, ow] = dy.shape as number[];
    const [kh, kw] = ints(n, 'kernel');
    const strides = ints(n, 'strides');
    const pads = ints(n, 'pads');
    const kernel = g.constFloat(new Float32Array(kh * kw).fill(1 / (kh * kw)), [1, 1, kh, kw]);
    const outputPadding = [H - ((oh - 1) * strides[0] + kh - pads[0] - pads[2]), W - ((ow - 1) * strides[1] + kw - pads[1] - pads[3])];
    const planes = reshape(g, dy, [N * C, 1, oh, ow]);
    const dx = g.op('ConvTranspose', [planes, kernel], { strides, pads, output_padding: outputPadding });
    return [reshape(g, dx, [N, C, H, W])];
  },
});

defineOp({
  type: 'GlobalAveragePool',
  infer: (x) => {
    const s = x.inputs[0].shape;
    if (s.length !== 4) shapeError(`GlobalAveragePool input must be [N, C, H, W], got ${fmt(s)}`);
    return [{ dtype: 'float32', shape: [s[0], s[1], 1, 1] }];
  },
  emit: (e, n) => e.node('GlobalAveragePool', [e.name(n.inputs[0])], [e.name(n.outputs[0])]),
  grad: (g, n, [dy]) => {
    if (!dy) return [null];
    const xs = n.inputs[0].shape as number[];
    return [expand(g, mul(g, dy, g.scalar(1 / (xs[2] * xs[3]))), xs)];
  },
});

export interface PoolOptions {
  /** One stride for both axes, or [along H, along W]; the kernel size by default. */
  stride?: number | [number, number];
  padding?: Padding;
}

function poolCall(g: Graph, type: string, x: Value, kernel: number | [number, number], o: PoolOptions): Value[] {
  const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
  const [sh, sw] = o.stride === undefined ? [kh, kw] : typeof o.stride === 'number' ? [o.stride, o.stride] : o.stride;
  const pads = x.rank === 4 ? resolvePads(o.padding ?? 'valid', x.shape[2] as number, x.shape[3] as number, kh, kw, sh, sw) : [0, 0, 0, 0];
  return g.apply(type, [x], { kernel: [kh, kw], strides: [sh, sw], pads });
}

/** Max pooling; the stride defaults to the kernel size along each axis. */
export const maxPool2d = (g: Graph, x: Value, kernel: number | [number, number], o: PoolOptions = {}): Value => poolCall(g, 'MaxPool', x, kernel, o)[0];
export const avgPool2d = (g: Graph, x: Value, kernel: number | [number, number], o: PoolOptions = {}): Value => poolCall(g, 'AveragePool', x, kernel, o)[0];
export const globalAvgPool = (g: Graph, x: Value): Value => g.op('GlobalAveragePool', [x]);
