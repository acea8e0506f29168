/**
 * Parzen estimators for TPE: a weighted mixture of one kernel per observed trial plus a broad prior kernel,
 * over any mix of numeric dimensions (truncated normals on the unit interval, evaluated as probability mass
 * over a grid cell for ints and stepped floats) and categorical ones (a smoothed choice distribution per
 * kernel). A univariate estimator is the one-dimensional case; a multivariate one shares the kernel choice
 * across dimensions, so it models how parameters move together.
 *
 * Bandwidths follow the published TPE recipe: univariate kernels take the larger gap to their neighbours
 * (the prior counted among them), multivariate kernels a Scott-like 0.2·n^(−1/(d+4)); both clipped to
 * [1/min(100, 1 + n), 1] (the "magic clip") so early kernels are neither needle-thin nor wider than the range.
 *
 * Imports core and ./numeric.
 */
import type { Rng } from '../core/index.js';
import { logSumExp, normalCdf } from './numeric.js';

export type ParzenDim = { kind: 'numeric'; discrete: boolean } | { kind: 'categorical'; choices: number };

export interface ParzenOptions {
  priorWeight: number;
  multivariate: boolean;
  magicClip: boolean;
}

/** Observations per dimension: unit coordinates (numeric) or choice indices (categorical), one per trial. */
export type ParzenObservations = Float64Array[];

export class ParzenEstimator {
  private readonly nKernels: number;
  private readonly logWeights: Float64Array;
  private readonly cumWeights: Float64Array;
  /** numeric dims: mus/sigmas per kernel and the log of each kernel's mass inside [0, 1] */
  private readonly mus: (Float64Array | null)[] = [];
  private readonly sigmas: (Float64Array | null)[] = [];
  private readonly logZ: (Float64Array | null)[] = [];
  /** categorical dims: row-major log probabilities, kernel × choice */
  private readonly logProbs: (Float64Array | null)[] = [];

  constructor(
    readonly dims: readonly ParzenDim[],
    obs: ParzenObservations,
    weights: Float64Array,
    o: ParzenOptions,
  ) {
    const n = weights.length;
    this.nKernels = n + 1;
    const w = new Float64Array(n + 1);
    let total = 0;
    for (let i = 0; i < n; i++) total += w[i] = weights[i];
    w[n] = o.priorWeight;
    total += o.priorWeight;
    this.logWeights = new Float64Array(n + 1);
    this.cumWeights = new Float64Array(n + 1);
    let acc = 0;
    for (let k = 0; k <= n; k++) {
      this.logWeights[k] = Math.log(w[k] / total);
      acc += w[k] / total;
      this.cumWeights[k] = acc;
    }
    const minSigma = o.magicClip ? 1 / Math.min(100, 1 + this.nKernels) : 1e-12;
    const scott = 0.2 * Math.pow(Math.max(n, 1), -1 / (dims.length + 4));
    dims.forEach((dim, j) => {
      const x = obs[j];
      if (dim.kind === 'categorical') {
        const K = dim.choices;
        const lp = new Float64Array(this.nKernels * K);
        // each observed kernel leans to its own choice; the prior kernel is uniform
        const eps = o.priorWeight / (n + 1);
        for (let k = 0; k < n; k++) {
          const norm = Math.log(1 + eps);
          for (let c = 0; c < K; c++) lp[k * K + c] = Math.log((c === x[k] ? 1 : 0) + eps / K) - norm;
        }
        for (let c = 0; c < K; c++) lp[n * K + c] = -Math.log(K);
        this.mus.push(null);
        this.sigmas.push(null);
        this.logZ.push(null);
        this.logProbs.push(lp);
        return;
      }
      const mus = new Float64Array(this.nKernels);
      const sigmas = new Float64Array(this.nKernels);
      for (let k = 0; k < n; k++) mus[k] = x[k];
      mus[n] = 0.5;
      sigmas[n] = 1;
      if (o.multivariate) {
        for (let k = 0; k < n; k++) sigmas[k] = scott;
      } else if (n > 0) {
        // sorted with the prior's centre; each kernel spans the larger gap to a neighbour (bounds at the ends)
        const order = Array.from({ length: n + 1 }, (_, k) => k).sort((a, b) => mus[a] - mus[b]);
        const m = order.length;
        for (let r = 0; r < m; r++) {
          const k = order[r];
          if (k === n) continue;
          const left = r > 0 ? mus[k] - mus[order[r - 1]] : mus[k];
          const right = r < m - 1 ? mus[order[r + 1]] - mus[k] : 1 - mus[k];
          // without endpoints: the outermost kernels use their inner neighbour only
          sigmas[k] = m >= 3 && r === 0 ? right : m >= 3 && r === m - 1 ? left : Math.max(left, right);
        }
      }
      for (let k = 0; k < n; k++) sigmas[k] = Math.min(1, Math.max(minSigma, sigmas[k]));
      const logZ = new Float64Array(this.nKernels);
      for (let k = 0; k < this.nKernels; k++) {
        logZ[k] = Math.log(Math.max(1e-300, normalCdf((1 - mus[k]) / sigmas[k]) - normalCdf(-mus[k] / sigmas[k])));
      }
      this.mus.push(mus);
      this.sigmas.push(sigmas);
      this.logZ.push(logZ);
      this.logProbs.push(null);
    });
  }

  /** `count` draws; numeric coordinates in [0, 1] (not yet snapped to grids), categorical as indices. */
  sample(rng: Rng, count: number): Float64Array[] {
    const out = this.dims.map(() => new Float64Array(count));
    for (let s = 0; s < count; s++) {
      const u = rng.next();
      let k = 0;
      while (k < this.nKernels - 1 && this.cumWeights[k] < u) k++;
      this.dims.forEach((dim, j) => {
        if (dim.kind === 'categorical') {
          const K = dim.choices;
          const lp = this.logProbs[j] as Float64Array;
          let v = rng.next();
          let c = 0;
          for (; c < K - 1; c++) {
            v -= Math.exp(lp[k * K + c]);
            if (v < 0) break;
          }
          out[j][s] = c;
          return;
        }
        const mu = (this.mus[j] as Float64Array)[k];
        const sigma = (this.sigmas[j] as Float64Array)[k];
        let x = NaN;
        for (let tries = 0; tries < 100; tries++) {
          const z = mu + sigma * rng.normal();
          if (z >= 0 && z <= 1) {
            x = z;
            break;
          }
        }
        out[j][s] = Number.isNaN(x) ? Math.min(1, Math.max(0, mu)) : x;
      });
    }
    return out;
  }

  /**
   * Log density (log mass for discrete dimensions) of each point. `cells[j]`, for a discrete numeric dimension,
   * gives each point's grid cell [lo, hi] as cells[j][2s], cells[j][2s+1]; continuous dimensions use `points`.
   */
  logPdf(points: Float64Array[], cells: (Float64Array | null)[]): Float64Array {
    const count = points[0]?.length ?? 0;
    const out = new Float64Array(count);
    const terms = new Float64Array(this.nKernels);
    for (let s = 0; s < count; s++) {
      for (let k = 0; k < this.nKernels; k++) terms[k] = this.logWeights[k];
      this.dims.forEach((dim, j) => {
        if (dim.kind === 'categorical') {
          const K = dim.choices;
          const c = points[j][s];
          const lp = this.logProbs[j] as Float64Array;
          for (let k = 0; k < this.nKernels; k++) terms[k] += lp[k * K + c];
          return;
        }
        const mus = this.mus[j] as Float64Array;
        const sigmas = this.sigmas[j] as Float64Array;
        const logZ = this.logZ[j] as Float64Array;
        const cell = cells[j];
        if (dim.discrete && cell) {
          const lo = cell[2 * s];
          const hi = cell[2 * s + 1];
          for (let k = 0; k < this.nKernels; k++) {
            const mass = normalCdf((hi - mus[k]) / sigmas[k]) - normalCdf((lo - mus[k]) / sigmas[k]);
            terms[k] += Math.log(Math.max(mass, 1e-300)) - logZ[k];
          }
        } else {
          const x = points[j][s];
          for (let k = 0; k < this.nKernels; k++) {
            const z = (x - mus[k]) / sigmas[k];
            terms[k] += -0.5 * z * z - Math.log(sigmas[k]) - 0.9189385332046727 - logZ[k];
          }
        }
      });
      out[s] = logSumExp(terms);
    }
    return out;
  }
}
