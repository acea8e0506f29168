// Logistic regression on sparse (CSR) features fitted by L-BFGS, the way scikit-learn's LogisticRegression
// (lbfgs) does: minimize ½‖w‖² + C·Σ loss over the training rows (the intercept is not penalized). Two classes
// use the binary logistic loss, more use the multinomial (softmax) loss. Used for text classification on
// TF-IDF features, where the weights are far more than the engine's dense graphs should hold per batch.
import { AimassError } from '../core/index.js';
import { lbfgs } from './lbfgs.js';

/** A CSR matrix (what features/ produces); only these fields are read. */
export interface CsrLike {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

export interface LogisticOptions {
  /** Inverse regularization strength (default 1). */
  C?: number;
  maxIterations?: number;
  tol?: number;
  fitIntercept?: boolean;
}

export interface LogisticFit {
  iterations: number;
  converged: boolean;
  loss: number;
}

/** Column-major copy of a CSR matrix. */
function toCsc(X: CsrLike): { colptr: Int32Array; rowind: Int32Array; vals: Float64Array } {
  const nnz = X.indptr[X.rows];
  const colptr = new Int32Array(X.cols + 1);
  for (let p = 0; p < nnz; p++) colptr[X.indices[p] + 1]++;
  for (let j = 0; j < X.cols; j++) colptr[j + 1] += colptr[j];
  const next = colptr.slice(0, X.cols);
  const rowind = new Int32Array(nnz);
  const vals = new Float64Array(nnz);
  for (let i = 0; i < X.rows; i++) {
    for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) {
      const q = next[X.indices[p]]++;
      rowind[q] = i;
      vals[q] = X.values[p];
    }
  }
  return { colptr, rowind, vals };
}

export class LogisticRegression {
  private constructor(
    readonly classes: number,
    readonly cols: number,
    /** Weights: one row (binary) or one row per class (multinomial), each `cols` long. */
    readonly coef: Float64Array,
    readonly intercept: Float64Array,
    readonly fit: LogisticFit,
  ) {}

  /** `y` holds class ids 0..classes−1 for each row of X. */
  static fit(X: CsrLike, y: ArrayLike<number>, classes: number, o: LogisticOptions = {}): LogisticRegression {
    if (y.length !== X.rows) throw new AimassError('INVALID_ARGUMENT', `${X.rows} feature rows but ${y.length} labels`);
    if (!(classes >= 2)) throw new AimassError('INVALID_ARGUMENT', `logistic regression needs at least 2 classes, got ${classes}`);
    for (let i = 0; i < y.length; i++) if (!(Number.isInteger(y[i]) && y[i] >= 0 && y[i] < classes)) throw new AimassError('INVALID_ARGUMENT', `label ${y[i]} of row ${i} is not a class id in 0..${classes - 1}`);
    const C = o.C ?? 1;
    const fitB = o.fitIntercept ?? true;
    const K = classes === 2 ? 1 : classes;
    const D = X.cols;
    const { indptr, indices, values } = X;
    const z = new Float64Array(X.rows * K);
    const rows = X.rows;
    // the binary loss on its own tight loops (the common case: one weight row, no inner class loop), with the
    // gradient accumulated column by column from a CSC copy, so its reads stay in the small per-row array
    const csc = K === 1 ? toCsc(X) : null;
    const fgBinary = (w: Float64Array, g: Float64Array): number => {
      const { colptr, rowind, vals } = csc!;
      z.fill(fitB ? w[D] : 0);
      for (let j = 0; j < D; j++) {
        const wj = w[j];
        if (wj === 0) continue;
        const end = colptr[j + 1];
        for (let p = colptr[j]; p < end; p++) z[rowind[p]] += wj * vals[p];
      }
      let loss = 0;
      for (let i = 0; i < rows; i++) {
        const sign = y[i] === 1 ? 1 : -1;
        const m = sign * z[i];
        loss += m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
        z[i] = (C * -sign) / (1 + Math.exp(m));
      }
      let reg = 0;
      for (let j = 0; j < D; j++) {
        const v = w[j];
        reg += v * v;
        g[j] = v;
      }
      for (let j = 0; j < D; j++) {
        let acc = g[j];
        const end = colptr[j + 1];
        for (let p = colptr[j]; p < end; p++) acc += z[rowind[p]] * vals[p];
        g[j] = acc;
      }
      if (fitB) {
        let gb = 0;
        for (let i = 0; i < rows; i++) gb += z[i];
        g[D] = gb;
      }
      return 0.5 * reg + C * loss;
    };
    const fg = (w: Float64Array, g: Float64Array): number => {
      // margins z = X·Wᵀ + b
      z.fill(0);
      for (let i = 0; i < X.rows; i++) {
        for (let k = 0; k < K; k++) {
          let s = fitB ? w[K * D + k] : 0;
          const base = k * D;
          for (let p = indptr[i]; p < indptr[i + 1]; p++) s += values[p] * w[base + indices[p]];
          z[i * K + k] = s;
        }
      }
      let loss = 0;
      // z becomes dLoss/dz
      if (K === 1) {
        for (let i = 0; i < X.rows; i++) {
          const s = y[i] === 1 ? 1 : -1;
          const m = s * z[i];
          loss += m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
          z[i] = -s / (1 + Math.exp(m));
        }
      } else {
        for (let i = 0; i < X.rows; i++) {
          let max = -Infinity;
          for (let k = 0; k < K; k++) max = Math.max(max, z[i * K + k]);
          let sum = 0;
          for (let k = 0; k < K; k++) sum += Math.exp(z[i * K + k] - max);
          loss += Math.log(sum) + max - z[i * K + y[i]];
          for (let k = 0; k < K; k++) z[i * K + k] = Math.exp(z[i * K + k] - max) / sum - (k === y[i] ? 1 : 0);
        }
      }
      let reg = 0;
      for (let j = 0; j < K * D; j++) {
        reg += w[j] * w[j];
        g[j] = w[j];
      }
      if (fitB) for (let k = 0; k < K; k++) g[K * D + k] = 0;
      for (let i = 0; i < X.rows; i++) {
        for (let k = 0; k < K; k++) {
          const dz = C * z[i * K + k];
          if (dz === 0) continue;
          const base = k * D;
          for (let p = indptr[i]; p < indptr[i + 1]; p++) g[base + indices[p]] += dz * values[p];
          if (fitB) g[K * D + k] += dz;
        }
      }
      return 0.5 * reg + C * loss;
    };
    const res = lbfgs(K === 1 ? fgBinary : fg, new Float64Array(K * D + (fitB ? K : 0)), { maxIterations: o.maxIterations ?? 100, tol: o.tol ?? 1e-4 });
    const coef = res.x.slice(0, K * D);
    const intercept = fitB ? res.x.slice(K * D) : new Float64Array(K);
    return new LogisticRegression(classes, D, coef, intercept, { iterations: res.iterations, converged: res.converged, loss: res.f });
  }

  /** Class probabilities, rows × classes. */
  predictProba(X: CsrLike): Float32Array {
    if (X.cols !== this.cols) throw new AimassError('INVALID_ARGUMENT', `features have ${X.cols} columns, the model ${this.cols}`);
    const K = this.classes === 2 ? 1 : this.classes;
    const out = new Float32Array(X.rows * this.classes);
    const zs = new Float64Array(K);
    for (let i = 0; i < X.rows; i++) {
      for (let k = 0; k < K; k++) {
        let s = this.intercept[k];
        const base = k * this.cols;
        for (let p = X.indptr[i]; p < X.indptr[i + 1]; p++) s += X.values[p] * this.coef[base + X.indices[p]];
        zs[k] = s;
      }
      if (K === 1) {
        const p1 = 1 / (1 + Math.exp(-zs[0]));
        out[i * 2] = 1 - p1;
        out[i * 2 + 1] = p1;
      } else {
        let max = -Infinity;
        for (let k = 0; k < K; k++) max = Math.max(max, zs[k]);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += Math.exp(zs[k] - max);
        for (let k = 0; k < K; k++) out[i * K + k] = Math.exp(zs[k] - max) / sum;
      }
    }
    return out;
  }

  predict(X: CsrLike): Int32Array {
    const p = this.predictProba(X);
    const out = new Int32Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let best = 0;
      for (let k = 1; k < this.classes; k++) if (p[i * this.classes + k] > p[i * this.classes + best]) best = k;
      out[i] = best;
    }
    return out;
  }
}
