/**
 * Numerics the model-based samplers share: the normal distribution (pdf, cdf, log cdf, scaled complementary
 * error function), log-sum-exp, and a bounded limited-memory quasi-Newton minimizer.
 *
 * Owns only plain functions over numbers and Float64Arrays; no allocation in the hot paths beyond what a call
 * returns.
 */

export const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const SQRT1_2 = Math.SQRT1_2;

export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z - LOG_SQRT_2PI);
}

/**
 * erfcx(x) = exp(x²)·erfc(x). For x ≥ 0 a Chebyshev-free route: erfc by the Numerical Recipes-style rational
 * approximation is not accurate enough in the tail, so large x use the continued fraction and small x the
 * series of erf.
 */
export function erfcx(x: number): number {
  if (x < 0) {
    // erfcx(−x) = 2·exp(x²) − erfcx(x); overflows only where the true value does
    return x < -26 ? Infinity : 2 * Math.exp(x * x) - erfcx(-x);
  }
  if (x < 2) return Math.exp(x * x) * (1 - erfSeries(x));
  // Lentz's continued fraction: erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …))))
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 200; k++) {
    const a = k / 2;
    d = x + a * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = x + a / c;
    if (c === 0) c = 1e-300;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return 1 / (f * Math.sqrt(Math.PI));
}

/** erf by its Taylor series (converges well for |x| < 2). */
function erfSeries(x: number): number {
  let sum = x;
  let term = x;
  const x2 = x * x;
  for (let n = 1; n < 200; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

export function erfc(x: number): number {
  return x < -26 ? 2 : erfcx(x) * Math.exp(-x * x);
}

export function normalCdf(z: number): number {
  return 0.5 * erfc(-z * SQRT1_2);
}

/** log Φ(z), accurate far into the lower tail. */
export function logNormalCdf(z: number): number {
  if (z > -1) return Math.log1p(-0.5 * erfc(z * SQRT1_2));
  // Φ(z) = ½·erfcx(−z/√2)·exp(−z²/2)
  return Math.log(0.5 * erfcx(-z * SQRT1_2)) - 0.5 * z * z;
}

/** Mills-type ratio Φ(z)/φ(z), stable for every z. */
export function cdfOverPdf(z: number): number {
  return Math.sqrt(Math.PI / 2) * erfcx(-z * SQRT1_2);
}

export function logSumExp(xs: ArrayLike<number>, n = xs.length): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (xs[i] > m) m = xs[i];
  if (m === -Infinity || m === Infinity) return m;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(xs[i] - m);
  return m + Math.log(s);
}

export interface BoundedMinimizeOptions {
  lower: Float64Array | number;
  upper: Float64Array | number;
  maxIterations?: number;
  /** Stop when the projected gradient's largest component is at most this. */
  gtol?: number;
  /** Stop when an iteration improves f by less than ftol·(|f| + 1). */
  ftol?: number;
  memory?: number;
  /** Dimensions held fixed (mask value 0). */
  active?: Uint8Array;
}

export interface BoundedMinimizeResult {
  x: Float64Array;
  f: number;
  iterations: number;
  evaluations: number;
}

/**
 * Minimizes a smooth f within box bounds: L-BFGS directions restricted to the free variables (those not held at
 * a bound by their gradient), a projected backtracking line search, and a steepest-descent restart whenever the
 * quasi-Newton direction fails to descend. Simpler than L-BFGS-B's Cauchy point, and enough for the small,
 * smooth problems here (GP hyperparameters, acquisition maximization).
 * `fg(x, g)` returns f(x) and writes ∇f(x) into g; it may return Infinity/NaN for points to avoid.
 */
export function minimizeBounded(fg: (x: Float64Array, g: Float64Array) => number, x0: Float64Array, o: BoundedMinimizeOptions): BoundedMinimizeResult {
  const n = x0.length;
  const lo = (i: number) => (typeof o.lower === 'number' ? o.lower : o.lower[i]);
  const hi = (i: number) => (typeof o.upper === 'number' ? o.upper : o.upper[i]);
  const maxIt = o.maxIterations ?? 100;
  const gtol = o.gtol ?? 1e-6;
  const ftol = o.ftol ?? 1e-10;
  const m = o.memory ?? 8;
  const active = o.active;
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.min(hi(i), Math.max(lo(i), x0[i]));
  const g = new Float64Array(n);
  let f = fg(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f)) return { x, f, iterations: 0, evaluations };
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const d = new Float64Array(n);
  const free = new Uint8Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(m);
  let it = 0;
  for (; it < maxIt; it++) {
    // free variables: not fixed by the mask, and not pressed against a bound by the gradient
    let pgMax = 0;
    for (let i = 0; i < n; i++) {
      const atLo = x[i] <= lo(i) && g[i] > 0;
      const atHi = x[i] >= hi(i) && g[i] < 0;
      free[i] = (active ? active[i] : 1) && !atLo && !atHi ? 1 : 0;
      if (free[i]) pgMax = Math.max(pgMax, Math.abs(g[i]));
    }
    if (pgMax <= gtol) break;
    // two-loop recursion on the free subspace
    for (let i = 0; i < n; i++) d[i] = free[i] ? -g[i] : 0;
    const k = S.length;
    for (let j = k - 1; j >= 0; j--) {
      let s = 0;
      for (let i = 0; i < n; i++) if (free[i]) s += S[j][i] * d[i];
      alpha[j] = rho[j] * s;
      for (let i = 0; i < n; i++) if (free[i]) d[i] -= alpha[j] * Y[j][i];
    }
    if (k > 0) {
      let sy = 0;
      let yy = 0;
      for (let i = 0; i < n; i++) {
        sy += S[k - 1][i] * Y[k - 1][i];
        yy += Y[k - 1][i] * Y[k - 1][i];
      }
      const gamma = yy > 0 ? sy / yy : 1;
      for (let i = 0; i < n; i++) d[i] *= gamma;
    }
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) if (free[i]) s += Y[j][i] * d[i];
      const beta = rho[j] * s;
      for (let i = 0; i < n; i++) if (free[i]) d[i] += S[j][i] * (alpha[j] - beta);
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i] * d[i];
    if (!(slope < 0)) {
      // not a descent direction: forget the curvature pairs and go downhill
      S.length = Y.length = rho.length = 0;
      slope = 0;
      for (let i = 0; i < n; i++) {
        d[i] = free[i] ? -g[i] : 0;
        slope -= g[i] * g[i] * free[i];
      }
    }
    // first step of a fresh steepest descent: move at most 1 unit of the largest component
    let step = 1;
    if (S.length === 0) {
      let dMax = 0;
      for (let i = 0; i < n; i++) dMax = Math.max(dMax, Math.abs(d[i]));
      if (dMax > 1) step = 1 / dMax;
    }
    let fNew = Infinity;
    let accepted = false;
    for (let ls = 0; ls < 30; ls++) {
      let projSlope = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.min(hi(i), Math.max(lo(i), x[i] + step * d[i]));
        xNew[i] = v;
        projSlope += g[i] * (v - x[i]);
      }
      fNew = fg(xNew, gNew);
      evaluations++;
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * Math.min(projSlope, 0)) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
      sy += s[i] * y[i];
    }
    const fOld = f;
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    if (sy > 1e-12) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    if (fOld - f <= ftol * (Math.abs(f) + 1)) {
      it++;
      break;
    }
  }
  return { x, f, iterations: it, evaluations };
}
