// Initial values for parameters and buffers from their ParamInit, drawn from a seeded generator so that the
// same seed gives the same weights.
import type { Rng } from '../core/index.js';
import type { TensorSpec } from './compile.js';
import type { ParamInit } from './graph.js';
import { numel } from './shape.js';

export function initialValue(init: ParamInit, shape: number[], rng: Rng): Float32Array {
  const n = numel(shape);
  const out = new Float32Array(n);
  const uniform = (limit: number) => {
    for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * limit;
  };
  switch (init.kind) {
    case 'zeros':
      break;
    case 'ones':
      out.fill(1);
      break;
    case 'constant':
      out.fill(init.value);
      break;
    case 'uniform':
      uniform(init.limit);
      break;
    case 'normal':
      for (let i = 0; i < n; i++) out[i] = rng.normal() * init.std;
      break;
    case 'he_uniform':
      uniform(Math.sqrt(6 / init.fanIn));
      break;
    case 'fan_in_uniform':
      uniform(1 / Math.sqrt(init.fanIn));
      break;
    case 'glorot_uniform':
      uniform(Math.sqrt(6 / (init.fanIn + init.fanOut)));
      break;
  }
  return out;
}

export function initialValues(specs: TensorSpec[], rng: Rng): Map<string, Float32Array> {
  return new Map(specs.map((s) => [s.name, initialValue(s.init, s.shape, rng)]));
}
