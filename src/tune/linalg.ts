/**
 * Dense linear algebra on row-major Float64Arrays for the Gaussian process: Cholesky factorization, triangular
 * solves and the inverse from a factor. Sizes are a few hundred at most, so plain loops in cache-friendly order.
 */

/**
 * Overwrites the lower triangle of the n×n matrix `a` with its Cholesky factor L (a = L·Lᵀ) and zeroes the upper
 * triangle. Returns false, leaving `a` partly overwritten, when `a` is not positive definite.
 */
export function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let s = a[rj + j];
    for (let k = 0; k < j; k++) s -= a[rj + k] * a[rj + k];
    if (!(s > 0)) return false;
    const ljj = Math.sqrt(s);
    a[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let t = a[ri + j];
      for (let k = 0; k < j; k++) t -= a[ri + k] * a[rj + k];
      a[ri + j] = t / ljj;
    }
    for (let k = j + 1; k < n; k++) a[rj + k] = 0;
  }
  return true;
}

/** Solves L·x = b in place (b becomes x) for lower-triangular L. */
export function solveLower(L: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[ri + k] * b[k];
    b[i] = s / L[ri + i];
  }
  return b;
}

/** Solves Lᵀ·x = b in place for lower-triangular L. */
export function solveUpperT(L: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * b[k];
    b[i] = s / L[i * n + i];
  }
  return b;
}

/** Solves (L·Lᵀ)·x = b in place. */
export function choleskySolve(L: Float64Array, n: number, b: Float64Array): Float64Array {
  return solveUpperT(L, n, solveLower(L, n, b));
}

/** (L·Lᵀ)⁻¹ as a full symmetric n×n matrix. */
export function choleskyInverse(L: Float64Array, n: number, out = new Float64Array(n * n)): Float64Array {
  // M = L⁻¹ (lower triangular), by forward substitution column by column
  const M = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    M[j * n + j] = 1 / L[j * n + j];
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = 0;
      for (let k = j; k < i; k++) s -= L[ri + k] * M[k * n + j];
      M[ri + j] = s / L[ri + i];
    }
  }
  // (LLᵀ)⁻¹ = Mᵀ·M; entry (i, j) sums over rows k ≥ max(i, j)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += M[k * n + i] * M[k * n + j];
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** log det(L·Lᵀ) = 2·Σ log L_ii. */
export function choleskyLogDet(L: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.log(L[i * n + i]);
  return 2 * s;
}
