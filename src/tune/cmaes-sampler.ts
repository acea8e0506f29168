/**
 * CMA-ES (covariance matrix adaptation evolution strategy) over the numeric parameters of the relative space,
 * in unit-cube coordinates. Trials come in generations of λ by trial number; the search distribution (mean,
 * step size, covariance, evolution paths) is rebuilt for each ask by replaying the standard (μ/μ_w, λ) updates
 * over the complete trials of every earlier generation, so the sampler holds no state between trials and a
 * study reloaded elsewhere continues exactly. Categorical and conditional parameters are drawn at random.
 *
 * Imports core and the tune files it names.
 */
import { errors } from '../core/index.js';
import { fromUnit, toUnit, type Distribution, type NumericDistribution, type ParamValue } from './distributions.js';
import { RNG_PURPOSE, completeWithLoss, hashString, randomSeed, relativeSpace, trialRng, uniformValue, type Sampler, type SamplerContext } from './sampler.js';
import { sameDistributionOf } from './trial-record.js';

export interface CmaEsOptions {
  seed?: number;
  /** Initial step size in unit coordinates (default 1/6 of the range, as is customary). */
  sigma0?: number;
  /** Offspring per generation (default 4 + ⌊3 ln d⌋). */
  populationSize?: number;
}

interface CmaState {
  mean: Float64Array;
  sigma: number;
  C: Float64Array;
  B: Float64Array;
  D: Float64Array;
  ps: Float64Array;
  pc: Float64Array;
}

export class CmaEsSampler implements Sampler {
  readonly name = 'cmaes';
  readonly seed: number;
  private readonly sigma0: number;
  private readonly lambdaOption: number | undefined;

  constructor(o: CmaEsOptions = {}) {
    this.seed = o.seed ?? randomSeed();
    this.sigma0 = o.sigma0 ?? 1 / 6;
    this.lambdaOption = o.populationSize;
    if (!(this.sigma0 > 0)) throw errors.invalidArgument(`sigma0 must be positive, got ${this.sigma0}`);
    if (o.populationSize !== undefined && !(Number.isInteger(o.populationSize) && o.populationSize >= 2)) {
      throw errors.invalidArgument(`populationSize must be an integer ≥ 2, got ${o.populationSize}`);
    }
  }

  sampleRelative(ctx: SamplerContext, trialNumber: number): Record<string, ParamValue> {
    const full = relativeSpace(ctx);
    const names = Object.keys(full).filter((n) => full[n].type !== 'categorical');
    const d = names.length;
    if (d === 0) return {};
    const dists = names.map((n) => full[n] as NumericDistribution);
    const lambda = this.lambdaOption ?? 4 + Math.floor(3 * Math.log(d));
    const generation = Math.floor(trialNumber / lambda);
    const done = completeWithLoss(ctx).filter((c) => names.every((n, j) => sameDistributionOf(c.trial, n, dists[j])));
    const state = replay(d, lambda, this.sigma0, generation, done.map((c) => ({
      generation: Math.floor(c.trial.number / lambda),
      loss: c.loss,
      x: Float64Array.from(names, (n, j) => toUnit(dists[j], c.trial.params[n] as number)),
    })));
    const rng = trialRng(this.seed, trialNumber, RNG_PURPOSE.relative);
    const x = new Float64Array(d);
    const z = new Float64Array(d);
    for (let tries = 0; tries < 100; tries++) {
      for (let i = 0; i < d; i++) z[i] = rng.normal() * state.D[i];
      let inside = true;
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += state.B[i * d + k] * z[k];
        x[i] = state.mean[i] + state.sigma * s;
        if (x[i] < 0 || x[i] > 1) inside = false;
      }
      if (inside) break;
    }
    const out: Record<string, ParamValue> = {};
    names.forEach((n, j) => (out[n] = fromUnit(dists[j], x[j])));
    return out;
  }

  sampleIndependent(_ctx: SamplerContext, trialNumber: number, name: string, d: Distribution): ParamValue {
    return uniformValue(trialRng(this.seed, trialNumber, RNG_PURPOSE.independent, hashString(name)), d);
  }
}

/** The search distribution in force for `generation`, from the results of generations 0 … generation − 1. */
function replay(d: number, lambda: number, sigma0: number, generation: number, results: { generation: number; loss: number; x: Float64Array }[]): CmaState {
  const mu = Math.floor(lambda / 2);
  const rawW = Array.from({ length: mu }, (_, i) => Math.log(mu + 0.5) - Math.log(i + 1));
  const wSum = rawW.reduce((a, b) => a + b, 0);
  const weights = rawW.map((w) => w / wSum);
  const muEff = 1 / weights.reduce((a, w) => a + w * w, 0);
  const cs = (muEff + 2) / (d + muEff + 5);
  const ds = 1 + 2 * Math.max(0, Math.sqrt((muEff - 1) / (d + 1)) - 1) + cs;
  const cc = (4 + muEff / d) / (d + 4 + (2 * muEff) / d);
  const c1 = 2 / ((d + 1.3) ** 2 + muEff);
  const cmu = Math.min(1 - c1, (2 * (muEff - 2 + 1 / muEff)) / ((d + 2) ** 2 + muEff));
  const chiN = Math.sqrt(d) * (1 - 1 / (4 * d) + 1 / (21 * d * d));
  const s: CmaState = {
    mean: new Float64Array(d).fill(0.5),
    sigma: sigma0,
    C: identity(d),
    B: identity(d),
    D: new Float64Array(d).fill(1),
    ps: new Float64Array(d),
    pc: new Float64Array(d),
  };
  const byGen = new Map<number, { loss: number; x: Float64Array }[]>();
  for (const r of results) if (r.generation < generation) (byGen.get(r.generation) ?? byGen.set(r.generation, []).get(r.generation))!.push(r);
  let updates = 0;
  for (let g = 0; g < generation; g++) {
    const gen = (byGen.get(g) ?? []).sort((a, b) => a.loss - b.loss);
    if (gen.length < 2) continue; // a generation lost to failures leaves the distribution as it was
    const m = Math.min(mu, Math.floor(gen.length / 2) || 1);
    const w = weights.slice(0, m);
    const ws = w.reduce((a, b) => a + b, 0);
    for (let i = 0; i < m; i++) w[i] /= ws;
    const ys = gen.slice(0, m).map((r) => Float64Array.from(r.x, (v, i) => (v - s.mean[i]) / s.sigma));
    const yw = new Float64Array(d);
    ys.forEach((y, k) => y.forEach((v, i) => (yw[i] += w[k] * v)));
    for (let i = 0; i < d; i++) s.mean[i] += s.sigma * yw[i];
    // C^{-1/2}·yw = B·D⁻¹·Bᵀ·yw
    const t = new Float64Array(d);
    for (let k = 0; k < d; k++) {
      let v = 0;
      for (let i = 0; i < d; i++) v += s.B[i * d + k] * yw[i];
      t[k] = v / s.D[k];
    }
    const cs2 = Math.sqrt(cs * (2 - cs) * muEff);
    for (let i = 0; i < d; i++) {
      let v = 0;
      for (let k = 0; k < d; k++) v += s.B[i * d + k] * t[k];
      s.ps[i] = (1 - cs) * s.ps[i] + cs2 * v;
    }
    updates++;
    const psNorm = Math.hypot(...s.ps);
    const hs = psNorm / Math.sqrt(1 - (1 - cs) ** (2 * updates)) < (1.4 + 2 / (d + 1)) * chiN ? 1 : 0;
    const cc2 = Math.sqrt(cc * (2 - cc) * muEff);
    for (let i = 0; i < d; i++) s.pc[i] = (1 - cc) * s.pc[i] + hs * cc2 * yw[i];
    const decay = 1 - c1 - cmu + (1 - hs) * c1 * cc * (2 - cc);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let rankMu = 0;
        ys.forEach((y, k) => (rankMu += w[k] * y[i] * y[j]));
        s.C[i * d + j] = decay * s.C[i * d + j] + c1 * s.pc[i] * s.pc[j] + cmu * rankMu;
      }
    }
    s.sigma *= Math.exp((cs / ds) * (psNorm / chiN - 1));
    s.sigma = Math.min(Math.max(s.sigma, 1e-10), 1);
    const { values, vectors } = symmetricEigen(s.C, d);
    s.B = vectors;
    s.D = values.map((v) => Math.sqrt(Math.max(v, 1e-20)));
  }
  return s;
}

function identity(d: number): Float64Array {
  const m = new Float64Array(d * d);
  for (let i = 0; i < d; i++) m[i * d + i] = 1;
  return m;
}

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations; vectors are columns of the result. */
export function symmetricEigen(A: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = A.slice();
  const v = identity(n);
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Float64Array.from({ length: n }, (_, i) => a[i * n + i]), vectors: v };
}
