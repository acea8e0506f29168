// Layers: the parameterized building blocks models are made of. Each creates its parameters under its own
// scope (so weights are named "block1/conv/weight") with PyTorch's default initialization, and returns the
// layer's output value.
import { type Graph, type Value, ops } from '../engine/index.js';

export function dense(g: Graph, x: Value, units: number, name: string): Value {
  return g.scope(name, () => {
    const fanIn = x.shape[x.rank - 1] as number;
    const w = g.param('weight', [fanIn, units], { kind: 'fan_in_uniform', fanIn });
    const b = g.param('bias', [units], { kind: 'fan_in_uniform', fanIn });
    if (x.rank === 2) return ops.gemm(g, x, w, { bias: b });
    return ops.add(g, ops.matmul(g, x, w), b);
  });
}

export interface ConvLayerOptions {
  filters: number;
  kernel: number | [number, number];
  stride?: number;
  padding?: ops.Padding;
  bias?: boolean;
}

export function conv(g: Graph, x: Value, o: ConvLayerOptions, name: string): Value {
  return g.scope(name, () => {
    if (x.rank !== 4) throw g.shapeMismatch(`a conv layer takes [N, C, H, W] input, got [${x.shape}]`);
    const c = x.shape[1] as number;
    const [kh, kw] = typeof o.kernel === 'number' ? [o.kernel, o.kernel] : o.kernel;
    const fanIn = c * kh * kw;
    const w = g.param('weight', [o.filters, c, kh, kw], { kind: 'fan_in_uniform', fanIn });
    const b = o.bias === false ? null : g.param('bias', [o.filters], { kind: 'fan_in_uniform', fanIn });
    return ops.conv2d(g, x, w, b, { stride: o.stride ?? 1, padding: o.padding ?? 'valid' });
  });
}

export function batchNorm(g: Graph, x: Value, name: string): Value {
  return g.scope(name, () => {
    const c = x.shape[1] as number;
    const gamma = g.param('gamma', [c], { kind: 'ones' });
    const beta = g.param('beta', [c], { kind: 'zeros' });
    const mean = g.buffer('running_mean', [c], { kind: 'zeros' });
    const variance = g.buffer('running_var', [c], { kind: 'ones' });
    return ops.batchNorm(g, x, gamma, beta, mean, variance);
  });
}

export function layerNorm(g: Graph, x: Value, name: string): Value {
  return g.scope(name, () => {
    const d = x.shape[x.rank - 1] as number;
    return ops.layerNorm(g, x, g.param('gamma', [d], { kind: 'ones' }), g.param('beta', [d], { kind: 'zeros' }));
  });
}

export function embedding(g: Graph, ids: Value, vocabSize: number, dim: number, name: string): Value {
  return g.scope(name, () => ops.gather(g, g.param('table', [vocabSize, dim], { kind: 'normal', std: 1 }), ids));
}

/** 1 for real tokens, 0 for padding (id 0), as float [B, T]. */
export function tokenMask(g: Graph, ids: Value): Value {
  return ops.cast(g, ops.greater(g, ids, g.constInt64([0], [])), 'float32');
}
