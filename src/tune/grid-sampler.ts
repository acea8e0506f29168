/**
 * Grid search: every combination of the listed values, each visited once, in an order shuffled by the seed.
 * Trial n takes the first combination (in that order) that no earlier trial — running ones included — holds,
 * so parallel trials never repeat one; once all are taken the grid starts over.
 *
 * Imports core and ./sampler.
 */
import { Rng, errors } from '../core/index.js';
import type { Distribution, ParamValue } from './distributions.js';
import { containsValue } from './distributions.js';
import { mixSeed, randomSeed, type Sampler, type SamplerContext } from './sampler.js';

const GRID_ATTR = 'gridIndex';
const MAX_GRID = 10_000_000;

export class GridSampler implements Sampler {
  readonly name = 'grid';
  readonly seed: number;
  private readonly names: string[];
  private readonly values: ParamValue[][];
  private readonly order: Uint32Array;

  constructor(grid: Record<string, readonly ParamValue[]>, o: { seed?: number } = {}) {
    this.seed = o.seed ?? randomSeed();
    this.names = Object.keys(grid).sort();
    const problems: string[] = [];
    this.values = this.names.map((n) => {
      const v = grid[n];
      if (!Array.isArray(v) || v.length === 0) problems.push(`${n}: list at least one value`);
      return Array.isArray(v) ? [...v] : [];
    });
    if (this.names.length === 0) problems.push('(grid): name at least one parameter');
    if (problems.length) throw errors.invalidSpec(`the grid has ${problems.length} problem(s)`, problems);
    const total = this.values.reduce((n, v) => n * v.length, 1);
    if (total > MAX_GRID) throw errors.invalidArgument(`the grid has ${total} combinations, more than ${MAX_GRID}; use another sampler`);
    this.order = new Rng(mixSeed(this.seed, 0x6a1d)).shuffle(Uint32Array.from({ length: total }, (_, i) => i));
  }

  get size(): number {
    return this.order.length;
  }

  trialAttrs(ctx: SamplerContext, trialNumber: number): Record<string, unknown> {
    return { [GRID_ATTR]: this.indexFor(ctx, trialNumber) };
  }

  sampleRelative(ctx: SamplerContext, trialNumber: number): Record<string, ParamValue> {
    let k = this.indexFor(ctx, trialNumber);
    const out: Record<string, ParamValue> = {};
    for (let d = this.names.length - 1; d >= 0; d--) {
      const v = this.values[d];
      out[this.names[d]] = v[k % v.length];
      k = Math.floor(k / v.length);
    }
    return out;
  }

  sampleIndependent(_ctx: SamplerContext, _n: number, name: string, d: Distribution): ParamValue {
    const i = this.names.indexOf(name);
    if (i < 0) throw errors.invalidArgument(`parameter "${name}" is not in the grid (${this.names.join(', ')}); add its values to the grid`, { param: name });
    const bad = this.values[i].filter((v) => !containsValue(d, v));
    throw errors.invalidArgument(`grid values ${JSON.stringify(bad)} of "${name}" are outside its distribution ${JSON.stringify(d)}`, { param: name });
  }

  private indexFor(ctx: SamplerContext, trialNumber: number): number {
    const taken = new Set<number>();
    for (const t of ctx.trials) {
      const g = t.systemAttrs[GRID_ATTR];
      if (typeof g === 'number' && t.state !== 'failed') taken.add(g);
    }
    for (const g of this.order) if (!taken.has(g)) return g;
    return this.order[trialNumber % this.order.length];
  }
}
