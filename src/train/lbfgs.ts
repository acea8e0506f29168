// Limited-memory BFGS for smooth unconstrained minimization (used to fit linear and logistic models on sparse
// features, where a second-order method converges in tens of iterations): two-loop recursion over the last m
// (s, y) pairs, a backtracking line search on the Armijo condition, and pairs with sᵀy ≤ 0 skipped so the
// inverse-Hessian estimate stays positive definite. Stops when max|g| ≤ tol (scipy's pgtol, as scikit-learn).

export interface LbfgsOptions {
  /** Pairs kept (default 10). */
  memory?: number;
  maxIterations?: number;
  /** Stop when the largest gradient component is at most this (default 1e-4). */
  tol?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
}

/** `fg(x, g)` returns f(x) and writes ∇f(x) into g. */
export function lbfgs(fg: (x: Float64Array, g: Float64Array) => number, x0: Float64Array, o: LbfgsOptions = {}): LbfgsResult {
  const m = o.memory ?? 10;
  const maxIt = o.maxIterations ?? 100;
  const tol = o.tol ?? 1e-4;
  const n = x0.length;
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = fg(x, g);
  let evaluations = 1;
  // the last m (s, y) pairs in ring buffers: no allocation per iteration
  const S = Array.from({ length: m }, () => new Float64Array(n));
  const Y = Array.from({ length: m }, () => new Float64Array(n));
  const rho = new Float64Array(m);
  let count = 0; // pairs held
  let head = 0; // slot of the next pair
  const slot = (k: number) => (head - count + k + m) % m; // k-th oldest pair
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);
  const alpha = new Float64Array(m);
  const maxAbs = (v: Float64Array) => {
    let a = 0;
    for (let i = 0; i < v.length; i++) {
      const x = v[i] < 0 ? -v[i] : v[i];
      if (x > a) a = x;
    }
    return a;
  };
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * b[i];
    return s;
  };
  let it = 0;
  for (; it < maxIt; it++) {
    if (maxAbs(g) <= tol) return { x, f, iterations: it, evaluations, converged: true };
    // d = −H·g by the two-loop recursion
    for (let i = 0; i < n; i++) d[i] = -g[i];
    for (let k = count - 1; k >= 0; k--) {
      const j = slot(k);
      alpha[j] = rho[j] * dot(S[j], d);
      const y = Y[j];
      const a = alpha[j];
      for (let i = 0; i < n; i++) d[i] -= a * y[i];
    }
    if (count) {
      const j = slot(count - 1);
      const gamma = dot(S[j], Y[j]) / dot(Y[j], Y[j]);
      for (let i = 0; i < n; i++) d[i] *= gamma;
    } else {
      // first step: scale so the step has unit length
      const norm = Math.sqrt(dot(d, d));
      if (norm > 0) for (let i = 0; i < n; i++) d[i] /= norm;
    }
    for (let k = 0; k < count; k++) {
      const j = slot(k);
      const c = alpha[j] - rho[j] * dot(Y[j], d);
      const s = S[j];
      for (let i = 0; i < n; i++) d[i] += s[i] * c;
    }
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // not a descent direction: restart from steepest descent
      count = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = dot(g, d);
    }
    // backtracking line search (Armijo)
    let step = 1;
    let fNew = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      fNew = fg(xNew, gNew);
      evaluations++;
      if (fNew <= f + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew <= f)) return { x, f, iterations: it, evaluations, converged: false };
    const s = S[head];
    const y = Y[head];
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
      sy += s[i] * y[i];
    }
    if (sy > 1e-10) {
      rho[head] = 1 / sy;
      head = (head + 1) % m;
      if (count < m) count++;
    }
    x.set(xNew);
    g.set(gNew);
    const fPrev = f;
    f = fNew;
    if (Math.abs(fPrev - f) <= 1e-12 * Math.max(1, Math.abs(f))) return { x, f, iterations: it + 1, evaluations, converged: true };
  }
  return { x, f, iterations: it, evaluations, converged: maxAbs(g) <= tol };
}
