/**
 * Quasi-random points: a scrambled Halton sequence (radical inverses in the first primes, each digit passed
 * through a random permutation per dimension and digit position), and the quasi-Monte-Carlo sampler on it.
 * Fills the unit cube far more evenly than independent draws, which is what an initial design and an
 * acquisition function's starting points need.
 *
 * Imports core and ./sampler.
 */
import { Rng } from '../core/index.js';
import { fromUnit, type Distribution, type ParamValue } from './distributions.js';
import { RNG_PURPOSE, mixSeed, randomSeed, relativeSpace, trialRng, type Sampler, type SamplerContext } from './sampler.js';

const PRIMES: number[] = [];
for (let p = 2; PRIMES.length < 256; p++) if (PRIMES.every((q) => p % q !== 0)) PRIMES.push(p);

export class ScrambledHalton {
  private readonly perms: Uint16Array[][] = [];

  /** Dimension d's scrambling depends only on (seed, d), so adding dimensions never changes the earlier ones. */
  constructor(
    readonly dims: number,
    readonly seed: number,
  ) {
    if (dims > PRIMES.length) throw new RangeError(`ScrambledHalton supports up to ${PRIMES.length} dimensions`);
    for (let d = 0; d < dims; d++) {
      const base = PRIMES[d];
      const digits = Math.ceil(53 / Math.log2(base));
      const rng = new Rng(mixSeed(seed, d));
      const perDigit: Uint16Array[] = [];
      for (let k = 0; k < digits; k++) {
        const perm = new Uint16Array(base);
        for (let i = 0; i < base; i++) perm[i] = i;
        perDigit.push(rng.shuffle(perm));
      }
      this.perms.push(perDigit);
    }
  }

  /** Point `index` (0, 1, …) written into `out`. */
  point(index: number, out = new Float64Array(this.dims)): Float64Array {
    for (let d = 0; d < this.dims; d++) {
      const base = PRIMES[d];
      const perms = this.perms[d];
      let i = index;
      let f = 1 / base;
      let x = 0;
      for (let k = 0; k < perms.length; k++) {
        x += perms[k][i % base] * f;
        i = Math.floor(i / base);
        f /= base;
      }
      out[d] = x;
    }
    return out;
  }
}

/** Quasi-random search: trial n takes point n of a seeded scrambled Halton sequence over the relative space. */
export class QmcSampler implements Sampler {
  readonly name = 'qmc';
  readonly seed: number;

  constructor(o: { seed?: number } = {}) {
    this.seed = o.seed ?? randomSeed();
  }

  sampleRelative(ctx: SamplerContext, trialNumber: number): Record<string, ParamValue> {
    return qmcPoint(this.seed, relativeSpace(ctx), trialNumber);
  }

  /** Parameters outside the relative space take further coordinates of the same point, by draw order. */
  sampleIndependent(_ctx: SamplerContext, trialNumber: number, _name: string, d: Distribution, index: number): ParamValue {
    if (index >= PRIMES.length) return unitToValue(d, trialRng(this.seed, trialNumber, RNG_PURPOSE.independent, index).next());
    const u = new ScrambledHalton(index + 1, this.seed).point(trialNumber)[index];
    return unitToValue(d, u);
  }
}

/** The values of Halton point `index` over a space, one dimension per parameter in the space's key order. */
export function qmcPoint(seed: number, space: Record<string, Distribution>, index: number): Record<string, ParamValue> {
  const names = Object.keys(space);
  if (names.length === 0) return {};
  const u = new ScrambledHalton(Math.min(names.length, PRIMES.length), seed).point(index);
  const out: Record<string, ParamValue> = {};
  names.forEach((name, d) => {
    out[name] = unitToValue(space[name], d < u.length ? u[d] : new Rng(mixSeed(seed, index, d)).next());
  });
  return out;
}

export function unitToValue(d: Distribution, u: number): ParamValue {
  if (d.type === 'categorical') return d.choices[Math.min(d.choices.length - 1, Math.floor(u * d.choices.length))];
  return fromUnit(d, u);
}
