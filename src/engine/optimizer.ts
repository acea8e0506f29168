// Optimizers inside the train-step graph: SGD (momentum, Nesterov), Adam and AdamW, with L2 weight decay
// (coupled for SGD/Adam, decoupled for AdamW) and clipping by global gradient norm. The learning rate and the
// step number are graph inputs, so schedules are computed outside and need no recompilation.
import { z } from 'zod';
import { type Graph, type Value } from './graph.js';
import { add, div, maximum, mul, pow, reduceSum, scale, sqrt, sub } from './ops/index.js';

export const OptimizerSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('sgd'),
      lr: z.number().positive(),
      momentum: z.number().min(0).max(1).default(0),
      nesterov: z.boolean().default(false),
      weightDecay: z.number().min(0).default(0),
      clipNorm: z.number().positive().optional(),
    })
    .strict(),
  z
    .object({
      type: z.enum(['adam', 'adamw']),
      lr: z.number().positive(),
      beta1: z.number().min(0).lt(1).default(0.9),
      beta2: z.number().min(0).lt(1).default(0.999),
      eps: z.number().positive().default(1e-8),
      weightDecay: z.number().min(0).default(0),
      clipNorm: z.number().positive().optional(),
    })
    .strict(),
]);
export type OptimizerSpec = z.infer<typeof OptimizerSchema>;

/** One optimizer state tensor: a graph input and the value the step outputs for it. */
export interface StateSlot {
  input: Value;
  next: Value;
}

export interface OptimizerStep {
  newParams: Value[];
  state: StateSlot[];
  gradNorm: Value;
}

/** Slot names per parameter for each optimizer (m = first moment or velocity, v = second moment). */
export function stateSlots(spec: OptimizerSpec): string[] {
  if (spec.type === 'sgd') return spec.momentum > 0 ? ['m'] : [];
  return ['m', 'v'];
}

export function applyOptimizer(g: Graph, params: Value[], grads: Value[], spec: OptimizerSpec, lr: Value, step: Value): OptimizerStep {
  return g.scope('optimizer', () => {
    const squares = grads.map((d) => reduceSum(g, mul(g, d, d)));
    const gradNorm = sqrt(g, squares.reduce((a, b) => add(g, a, b)));
    if (spec.clipNorm !== undefined) {
      // factor = clip / max(norm, clip): 1 while the norm is within the bound
      const factor = div(g, g.scalar(spec.clipNorm), maximum(g, gradNorm, g.scalar(spec.clipNorm)));
      grads = grads.map((d) => mul(g, d, factor));
    }
    const state: StateSlot[] = [];
    const slot = (p: Value, kind: string): Value => g.input(`opt/${kind}/${p.name}`, 'float32', p.shape);
    const bias = (beta: number) => sub(g, g.scalar(1), pow(g, g.scalar(beta), step));
    const [bc1, bc2] = spec.type === 'sgd' ? [null, null] : [bias(spec.beta1), bias(spec.beta2)];
    const newParams = params.map((p, i) => {
      let d = grads[i];
      if (spec.type === 'sgd') {
        if (spec.weightDecay > 0) d = add(g, d, scale(g, p, spec.weightDecay));
        let update = d;
        if (spec.momentum > 0) {
          const m = slot(p, 'm');
          const m2 = add(g, scale(g, m, spec.momentum), d);
          state.push({ input: m, next: m2 });
          update = spec.nesterov ? add(g, d, scale(g, m2, spec.momentum)) : m2;
        }
        return sub(g, p, mul(g, lr, update));
      }
      if (spec.type === 'adam' && spec.weightDecay > 0) d = add(g, d, scale(g, p, spec.weightDecay));
      const m = slot(p, 'm');
      const v = slot(p, 'v');
      const m2 = add(g, scale(g, m, spec.beta1), scale(g, d, 1 - spec.beta1));
      const v2 = add(g, scale(g, v, spec.beta2), scale(g, mul(g, d, d), 1 - spec.beta2));
      state.push({ input: m, next: m2 }, { input: v, next: v2 });
      let update = div(g, div(g, m2, bc1!), add(g, sqrt(g, div(g, v2, bc2!)), g.scalar(spec.eps)));
      if (spec.type === 'adamw' && spec.weightDecay > 0) update = add(g, update, scale(g, p, spec.weightDecay));
      return sub(g, p, mul(g, lr, update));
    });
    return { newParams, state, gradNorm };
  });
}
