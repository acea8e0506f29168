import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../core/index.js';
import { type CsrLike, LogisticRegression } from './logistic.js';
import { lbfgs } from './lbfgs.js';

function csr(dense: number[][]): CsrLike {
  const indptr = [0];
  const indices: number[] = [];
  const values: number[] = [];
  for (const row of dense) {
    row.forEach((v, j) => {
      if (v !== 0) {
        indices.push(j);
        values.push(v);
      }
    });
    indptr.push(indices.length);
  }
  return { rows: dense.length, cols: dense[0].length, indptr: Int32Array.from(indptr), indices: Int32Array.from(indices), values: Float32Array.from(values) };
}

test('L-BFGS finds the minimum of the Rosenbrock function', () => {
  const r = lbfgs(
    (x, g) => {
      const [a, b] = [x[0], x[1]];
      g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
      g[1] = 200 * (b - a * a);
      return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
    },
    Float64Array.from([-1.2, 1]),
    { maxIterations: 500, tol: 1e-8 },
  );
  assert.ok(Math.abs(r.x[0] - 1) < 1e-4 && Math.abs(r.x[1] - 1) < 1e-4, `x = ${r.x}`);
});

test('binary logistic regression: its gradient vanishes at the fit (the optimality condition), and it separates', () => {
  const rng = new Rng(3);
  const rows: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 200; i++) {
    const c = i % 2;
    y.push(c);
    rows.push([rng.normal() + (c ? 1 : -1), rng.normal() * 0.5, c ? Math.max(0, rng.normal()) : 0]);
  }
  const X = csr(rows);
  const C = 0.5;
  const m = LogisticRegression.fit(X, y, 2, { C, tol: 1e-8, maxIterations: 500 });
  // ∂/∂w: w + C·Σ (p_i − y_i) x_i = 0 and Σ (p_i − y_i) = 0 at the optimum
  const p = m.predictProba(X);
  const gw = Array.from(m.coef);
  let gb = 0;
  rows.forEach((r, i) => {
    const err = p[i * 2 + 1] - y[i];
    r.forEach((v, j) => (gw[j] += C * err * v));
    gb += C * err;
  });
  for (const v of [...gw, gb]) assert.ok(Math.abs(v) < 1e-4, `gradient ${gw} ${gb}`);
  const acc = m.predict(X).reduce((a, v, i) => a + (v === y[i] ? 1 : 0), 0) / y.length;
  assert.ok(acc > 0.85, `accuracy ${acc}`);
});

test('multinomial logistic regression on three classes', () => {
  const rng = new Rng(5);
  const rows: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < 300; i++) {
    const c = i % 3;
    y.push(c);
    rows.push([0, 1, 2].map((k) => (k === c ? 2 : 0) + rng.normal() * 0.5));
  }
  const m = LogisticRegression.fit(csr(rows), y, 3, { C: 1 });
  assert.ok(m.fit.converged);
  const pred = m.predict(csr(rows));
  assert.ok(pred.reduce((a, v, i) => a + (v === y[i] ? 1 : 0), 0) / 300 > 0.95);
  const p = m.predictProba(csr(rows.slice(0, 1)));
  assert.ok(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-6);
});

test('bad labels are refused naming the row', () => {
  assert.throws(() => LogisticRegression.fit(csr([[1], [2]]), [0, 3], 2), /row 1/);
});
