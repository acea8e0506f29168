// Model builders: turn a validated ModelSpec into an engine ModelDefinition. The reference CNN of the
// benchmarks is { type: 'cnn', input: [1, 28, 28], blocks: [{filters: 16, pool: 2}, {filters: 32, pool: 2}],
// dense: [64], classes: 10 }.
import { AimassError } from '../core/index.js';
import { type Graph, type Head, type InputSpec, type ModelDefinition, type Value, ops } from '../engine/index.js';
import { batchNorm, conv, dense, embedding, tokenMask } from './layers.js';
import type { ModelSpec } from './specs.js';

function headOf(spec: ModelSpec): Head {
  if (spec.task === 'multiclass') {
    if (!spec.classes || spec.classes < 2) throw new AimassError('INVALID_SPEC', 'a multiclass model needs "classes" (2 or more)', { problems: ['model.classes: required for task multiclass, at least 2'] });
    return { task: 'multiclass', classes: spec.classes };
  }
  if (spec.task === 'binary') return { task: 'binary' };
  return { task: 'regression', outputs: spec.outputs ?? 1 };
}

/** Final layer: logits/predictions of the head's shape. */
function headLayer(g: Graph, x: Value, head: Head): Value {
  if (head.task === 'multiclass') return dense(g, x, head.classes, 'head');
  if (head.task === 'regression') return dense(g, x, head.outputs, 'head');
  // [B, 1] -> [B], keeping a symbolic batch dimension
  return g.op('Reshape', [dense(g, x, 1, 'head')], { shape: [0] });
}

function denseStack(g: Graph, x: Value, units: number[], act: ops.Activation, drop: number, seed: number, bn = false): Value {
  units.forEach((u, i) => {
    x = dense(g, x, u, `dense${i + 1}`);
    if (bn) x = batchNorm(g, x, `bn${i + 1}`);
    x = ops.activation(g, x, act);
    x = ops.dropout(g, x, drop, seed + i);
  });
  return x;
}

/** Activations that never decrease, so that max(act(x)) = act(max(x)). GELU dips below zero, so it is not one. */
const MONOTONIC = new Set<ops.Activation>(['relu', 'leaky_relu', 'sigmoid', 'tanh']);

/** Reshape that keeps a symbolic batch dimension: [N, ...] -> [N, rest...]. */
const batchReshape = (g: Graph, x: Value, rest: number[]): Value => g.op('Reshape', [x], { shape: [0, ...rest] });

export function buildModel(spec: ModelSpec): ModelDefinition {
  const head = headOf(spec);
  switch (spec.type) {
    case 'linear':
      return {
        head,
        inputs: [{ name: 'features', dtype: 'float32', shape: [spec.input] }],
        build: (g, [x]) => headLayer(g, x, head),
      };
    case 'mlp':
      return {
        head,
        inputs: [{ name: 'features', dtype: 'float32', shape: [spec.input] }],
        build: (g, [x], ctx) => headLayer(g, denseStack(g, x, spec.hidden, spec.activation, spec.dropout, ctx.seed, spec.batchNorm), head),
      };
    case 'cnn':
      return {
        head,
        inputs: [{ name: 'image', dtype: 'float32', shape: [...spec.input] }],
        build: (g, [x], ctx) => {
          spec.blocks.forEach((b, i) =>
            g.scope(`block${i + 1}`, () => {
              x = conv(g, x, { filters: b.filters, kernel: b.kernel, stride: b.stride, padding: b.padding, bias: !b.batchNorm }, 'conv');
              if (b.batchNorm) x = batchNorm(g, x, 'bn');
              if (b.pool && b.poolType === 'max' && MONOTONIC.has(b.activation)) {
                // max-pooling commutes with a non-decreasing activation; pooling first makes the activation and
                // its gradient work on a quarter of the values (same outputs, same gradients)
                x = ops.activation(g, ops.maxPool2d(g, x, b.pool), b.activation);
              } else {
                x = ops.activation(g, x, b.activation);
                if (b.pool) x = b.poolType === 'max' ? ops.maxPool2d(g, x, b.pool) : ops.avgPool2d(g, x, b.pool);
              }
            }),
          );
          x = spec.globalPool ? ops.flatten(g, ops.globalAvgPool(g, x)) : ops.flatten(g, x);
          x = ops.dropout(g, x, spec.dropout, ctx.seed + 100);
          return headLayer(g, denseStack(g, x, spec.dense, spec.activation, spec.dropout, ctx.seed), head);
        },
      };
    case 'bag_of_embeddings':
      return {
        head,
        inputs: [tokenInput(spec.seqLen)],
        build: (g, [ids], ctx) => {
          const e = embedding(g, ids, spec.vocabSize, spec.embedDim, 'embedding');
          const x = ops.maskedMean(g, e, tokenMask(g, ids));
          return headLayer(g, denseStack(g, ops.dropout(g, x, spec.dropout, ctx.seed + 100), spec.hidden, spec.activation, spec.dropout, ctx.seed), head);
        },
      };
    case 'textcnn':
      return {
        head,
        inputs: [tokenInput(spec.seqLen)],
        build: (g, [ids], ctx) => {
          if (spec.kernels.some((k) => k > spec.seqLen)) throw new AimassError('INVALID_SPEC', `textcnn kernels [${spec.kernels}] must not exceed seqLen ${spec.seqLen}`, { problems: ['model.kernels: each must be <= seqLen'] });
          const e = embedding(g, ids, spec.vocabSize, spec.embedDim, 'embedding');
          // zero the padding positions, then treat [B, 1, T, E] as an image
          const masked = ops.mul(g, e, ops.unsqueeze(g, tokenMask(g, ids), [2]));
          const img = ops.unsqueeze(g, masked, [1]);
          const pooled = spec.kernels.map((k, i) =>
            g.scope(`kernel${i + 1}`, () => {
              const c = ops.activation(g, conv(g, img, { filters: spec.filters, kernel: [k, spec.embedDim] }, 'conv'), spec.activation);
              // max over time: one window spanning all T − k + 1 positions
              const p = ops.maxPool2d(g, c, [spec.seqLen - k + 1, 1], { stride: 1 });
              return batchReshape(g, p, [spec.filters]);
            }),
          );
          const x = ops.dropout(g, ops.concat(g, pooled, 1), spec.dropout, ctx.seed);
          return headLayer(g, x, head);
        },
      };
  }
}

function tokenInput(seqLen: number): InputSpec {
  return { name: 'tokens', dtype: 'int64', shape: [seqLen] };
}
