/**
 * Gaussian-process regression for Bayesian optimization: a Matérn-5/2 kernel with one length scale per input
 * dimension, a signal variance and a noise variance, fitted by maximizing the log marginal likelihood plus log
 * priors (ML-II / MAP) with analytic gradients; posterior mean and variance with their gradients in x.
 *
 * Inputs are expected in the unit cube and outputs standardized (mean 0, variance 1); the priors and bounds
 * below are set for that scale. Hyperparameters are optimized in log space from fixed starting points, so a fit
 * depends only on the data (never on earlier fits) and stays reproducible.
 *
 * Imports ./linalg and ./numeric.
 */
import { choleskyInPlace, choleskyInverse, choleskyLogDet, choleskySolve, solveLower } from './linalg.js';
import { minimizeBounded } from './numeric.js';

const SQRT5 = Math.sqrt(5);
const LOG_2PI = Math.log(2 * Math.PI);

export interface GpHyperparameters {
  lengthscales: Float64Array;
  signalVariance: number;
  noiseVariance: number;
}

export interface GpFitOptions {
  /** Length-scale bounds in unit-cube coordinates (default [0.005, 20]). */
  lengthscaleBounds?: [number, number];
  /** Prior on log length scale: normal mean and standard deviation (default log 0.5, 1.5). */
  lengthscalePrior?: [number, number];
  /** Noise-variance bounds relative to the standardized output (default [1e-6, 0.5]). */
  noiseBounds?: [number, number];
  /** Prior on log noise variance: normal mean and sd (default log 1e-4, 2). */
  noisePrior?: [number, number];
  maxIterations?: number;
}

/** Matérn 5/2 correlation at scaled distance r. */
export function matern52(r: number): number {
  const s = SQRT5 * r;
  return (1 + s + (s * s) / 3) * Math.exp(-s);
}

export class GaussianProcess {
  /** Row-major n×d inputs. */
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly n: number;
  readonly d: number;
  readonly hyper: GpHyperparameters;
  /** Cholesky factor of K + noise·I. */
  private readonly L: Float64Array;
  /** (K + noise·I)⁻¹·y */
  private readonly alpha: Float64Array;
  private readonly invLs2: Float64Array;
  private readonly tmp: Float64Array;
  private readonly kStar: Float64Array;

  private constructor(x: Float64Array, y: Float64Array, d: number, hyper: GpHyperparameters) {
    this.x = x;
    this.y = y;
    this.d = d;
    this.n = y.length;
    this.hyper = hyper;
    this.invLs2 = hyper.lengthscales.map((l) => 1 / (l * l));
    const n = this.n;
    const K = covariance(x, n, d, this.invLs2, hyper.signalVariance);
    let jitter = hyper.noiseVariance;
    for (let attempt = 0; ; attempt++) {
      const A = K.slice();
      for (let i = 0; i < n; i++) A[i * n + i] += jitter;
      if (choleskyInPlace(A, n)) {
        this.L = A;
        break;
      }
      if (attempt > 8) throw new Error('GaussianProcess: covariance is not positive definite even with jitter');
      jitter = Math.max(jitter * 10, 1e-8);
    }
    this.alpha = choleskySolve(this.L, n, y.slice());
    this.tmp = new Float64Array(n);
    this.kStar = new Float64Array(n);
  }

  /** Fits hyperparameters by MAP, then conditions on the data. `x` is row-major n×d. */
  static fit(x: Float64Array, y: Float64Array, d: number, o: GpFitOptions = {}): GaussianProcess {
    return new GaussianProcess(x, y, d, fitHyperparameters(x, y, d, o));
  }

  /** Conditions on data with given hyperparameters (no fitting). */
  static withHyperparameters(x: Float64Array, y: Float64Array, d: number, hyper: GpHyperparameters): GaussianProcess {
    return new GaussianProcess(x, y, d, hyper);
  }

  /** Posterior mean and latent variance at `p` (length d). */
  predict(p: Float64Array): { mean: number; variance: number } {
    const { n, d, x, invLs2 } = this;
    const sf2 = this.hyper.signalVariance;
    const k = this.kStar;
    let mean = 0;
    for (let i = 0; i < n; i++) {
      const r2 = scaledDistance2(p, 0, x, i * d, invLs2, d);
      k[i] = sf2 * matern52(Math.sqrt(r2));
      mean += k[i] * this.alpha[i];
    }
    const v = this.tmp;
    v.set(k);
    solveLower(this.L, n, v);
    let vv = 0;
    for (let i = 0; i < n; i++) vv += v[i] * v[i];
    return { mean, variance: Math.max(sf2 - vv, 1e-12 * sf2) };
  }

  /** Like `predict`, also writing ∂mean/∂p and ∂variance/∂p into the given arrays. */
  predictWithGradient(p: Float64Array, dMean: Float64Array, dVar: Float64Array): { mean: number; variance: number } {
    const { n, d, x, invLs2 } = this;
    const sf2 = this.hyper.signalVariance;
    const k = this.kStar;
    // dk_i/dp_j = −sf2·(5/3)(1+√5r)e^{−√5r}·(p_j − x_ij)/ℓ_j²; keep the scalar factor per i
    const factor = this.factorBuffer();
    let mean = 0;
    for (let i = 0; i < n; i++) {
      const r2 = scaledDistance2(p, 0, x, i * d, invLs2, d);
      const r = Math.sqrt(r2);
      const e = Math.exp(-SQRT5 * r);
      k[i] = sf2 * (1 + SQRT5 * r + (5 * r2) / 3) * e;
      factor[i] = -sf2 * (5 / 3) * (1 + SQRT5 * r) * e;
      mean += k[i] * this.alpha[i];
    }
    const v = this.tmp;
    v.set(k);
    solveLower(this.L, n, v);
    let vv = 0;
    for (let i = 0; i < n; i++) vv += v[i] * v[i];
    // w = K⁻¹k* = L⁻ᵀ v
    const w = v;
    for (let i = n - 1; i >= 0; i--) {
      let s = w[i];
      for (let m = i + 1; m < n; m++) s -= this.L[m * n + i] * w[m];
      w[i] = s / this.L[i * n + i];
    }
    dMean.fill(0);
    dVar.fill(0);
    for (let i = 0; i < n; i++) {
      const off = i * d;
      const a = factor[i] * this.alpha[i];
      const b = -2 * factor[i] * w[i];
      for (let j = 0; j < d; j++) {
        const g = (p[j] - x[off + j]) * invLs2[j];
        dMean[j] += a * g;
        dVar[j] += b * g;
      }
    }
    const variance = sf2 - vv;
    if (variance < 1e-12 * sf2) {
      dVar.fill(0);
      return { mean, variance: 1e-12 * sf2 };
    }
    return { mean, variance };
  }

  private factor?: Float64Array;
  private factorBuffer(): Float64Array {
    return (this.factor ??= new Float64Array(this.n));
  }
}

/** Σ_j (a[aOff+j] − b[bOff+j])² / ℓ_j²: the squared distance the kernel sees between two points of d dims. */
function scaledDistance2(a: Float64Array, aOff: number, b: Float64Array, bOff: number, invLs2: Float64Array, d: number): number {
  let r2 = 0;
  for (let j = 0; j < d; j++) {
    const diff = a[aOff + j] - b[bOff + j];
    r2 += diff * diff * invLs2[j];
  }
  return r2;
}

/** Noise-free covariance sf2·Matérn52 over the rows of x. */
function covariance(x: Float64Array, n: number, d: number, invLs2: Float64Array, sf2: number): Float64Array {
  const K = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    K[i * n + i] = sf2;
    for (let m = 0; m < i; m++) {
      const r2 = scaledDistance2(x, i * d, x, m * d, invLs2, d);
      const v = sf2 * matern52(Math.sqrt(r2));
      K[i * n + m] = v;
      K[m * n + i] = v;
    }
  }
  return K;
}

/**
 * Negative log posterior of θ = [log ℓ_1..d, log sf2, log noise] and its gradient. The marginal-likelihood
 * gradient is ½·tr((ααᵀ − K⁻¹)·∂K/∂θ), with ∂K/∂log ℓ_j = sf2·(5/3)(1+√5r)e^{−√5r}·Δ_j²/ℓ_j² for Matérn 5/2.
 */
export function negLogPosterior(
  theta: Float64Array,
  grad: Float64Array,
  x: Float64Array,
  y: Float64Array,
  d: number,
  priors: { ls: [number, number]; sf2: [number, number]; noise: [number, number] },
): number {
  const n = y.length;
  const invLs2 = new Float64Array(d);
  for (let j = 0; j < d; j++) invLs2[j] = Math.exp(-2 * theta[j]);
  const sf2 = Math.exp(theta[d]);
  const noise = Math.exp(theta[d + 1]);
  // K and, per pair, the common factor of the length-scale derivatives
  const K = new Float64Array(n * n);
  const F = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    K[i * n + i] = sf2 + noise + 1e-10;
    for (let m = 0; m < i; m++) {
      const r2 = scaledDistance2(x, i * d, x, m * d, invLs2, d);
      const r = Math.sqrt(r2);
      const e = Math.exp(-SQRT5 * r);
      const k = sf2 * (1 + SQRT5 * r + (5 * r2) / 3) * e;
      K[i * n + m] = K[m * n + i] = k;
      F[i * n + m] = sf2 * (5 / 3) * (1 + SQRT5 * r) * e;
    }
  }
  const L = K.slice();
  if (!choleskyInPlace(L, n)) {
    grad.fill(0);
    return Infinity;
  }
  const alpha = choleskySolve(L, n, y.slice());
  let yAlpha = 0;
  for (let i = 0; i < n; i++) yAlpha += y[i] * alpha[i];
  const lml = -0.5 * yAlpha - 0.5 * choleskyLogDet(L, n) - 0.5 * n * LOG_2PI;
  const Kinv = choleskyInverse(L, n);
  // W = ααᵀ − K⁻¹ (symmetric); the gradient of lml is ½ Σ W ∘ ∂K
  grad.fill(0);
  let gSf2 = 0;
  let gNoise = 0;
  for (let i = 0; i < n; i++) {
    const wii = alpha[i] * alpha[i] - Kinv[i * n + i];
    gSf2 += 0.5 * wii * sf2;
    gNoise += 0.5 * wii * noise;
    for (let m = 0; m < i; m++) {
      const w = alpha[i] * alpha[m] - Kinv[i * n + m];
      // off-diagonal pairs appear twice in the trace
      gSf2 += w * K[i * n + m];
      const f = w * F[i * n + m];
      if (f === 0) continue;
      for (let j = 0; j < d; j++) {
        const diff = x[i * d + j] - x[m * d + j];
        grad[j] += f * diff * diff * invLs2[j];
      }
    }
  }
  grad[d] = gSf2;
  grad[d + 1] = gNoise;
  // log priors: normal on each log parameter
  let logPrior = 0;
  const addPrior = (idx: number, [mu, sd]: [number, number]) => {
    const z = (theta[idx] - mu) / sd;
    logPrior -= 0.5 * z * z;
    grad[idx] -= z / sd;
  };
  for (let j = 0; j < d; j++) addPrior(j, priors.ls);
  addPrior(d, priors.sf2);
  addPrior(d + 1, priors.noise);
  for (let i = 0; i < d + 2; i++) grad[i] = -grad[i];
  return -(lml + logPrior);
}

export function fitHyperparameters(x: Float64Array, y: Float64Array, d: number, o: GpFitOptions = {}): GpHyperparameters {
  const [lsLo, lsHi] = o.lengthscaleBounds ?? [0.005, 20];
  const [nLo, nHi] = o.noiseBounds ?? [1e-6, 0.5];
  const priors = {
    ls: o.lengthscalePrior ?? ([Math.log(0.5), 1.5] as [number, number]),
    sf2: [0, 1.5] as [number, number],
    noise: o.noisePrior ?? ([Math.log(1e-4), 2] as [number, number]),
  };
  const lower = new Float64Array(d + 2);
  const upper = new Float64Array(d + 2);
  for (let j = 0; j < d; j++) {
    lower[j] = Math.log(lsLo);
    upper[j] = Math.log(lsHi);
  }
  lower[d] = Math.log(1e-2);
  upper[d] = Math.log(1e2);
  lower[d + 1] = Math.log(nLo);
  upper[d + 1] = Math.log(nHi);
  const fg = (t: Float64Array, g: Float64Array) => negLogPosterior(t, g, x, y, d, priors);
  let best: { x: Float64Array; f: number } | null = null;
  for (const ls0 of [0.3, 1.5]) {
    const t0 = new Float64Array(d + 2);
    for (let j = 0; j < d; j++) t0[j] = Math.log(ls0);
    t0[d] = 0;
    t0[d + 1] = Math.log(Math.min(nHi, Math.max(nLo, 1e-3)));
    const r = minimizeBounded(fg, t0, { lower, upper, maxIterations: o.maxIterations ?? 60, gtol: 1e-5, ftol: 1e-9 });
    if (best === null || r.f < best.f) best = r;
  }
  const t = (best as { x: Float64Array }).x;
  return {
    lengthscales: Float64Array.from({ length: d }, (_, j) => Math.exp(t[j])),
    signalVariance: Math.exp(t[d]),
    noiseVariance: Math.exp(t[d + 1]),
  };
}
