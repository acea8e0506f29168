// Internals of the GP sampler: Cholesky and inverse, the marginal-likelihood gradient against finite
// differences, interpolation, predictive gradients, log EI against the direct formula, and the bounded minimizer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/index.js';
import { logExpectedImprovement } from './acquisition.js';
import { GaussianProcess, negLogPosterior } from './gp.js';
import { choleskyInPlace, choleskyInverse, choleskyLogDet, choleskySolve } from './linalg.js';
import { erfc, logNormalCdf, minimizeBounded, normalCdf, normalPdf } from './numeric.js';

function randomSpd(n: number, rng: Rng): Float64Array {
  const a = Float64Array.from({ length: n * n }, () => rng.normal());
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = i === j ? n : 0;
    for (let k = 0; k < n; k++) s += a[i * n + k] * a[j * n + k];
    m[i * n + j] = s;
  }
  return m;
}

test('Cholesky factor reproduces the matrix; solve, inverse and log-determinant agree', () => {
  const n = 7;
  const A = randomSpd(n, new Rng(1));
  const L = A.slice();
  assert.ok(choleskyInPlace(L, n));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += L[i * n + k] * L[j * n + k];
    assert.ok(Math.abs(s - A[i * n + j]) < 1e-9);
  }
  const b = Float64Array.from({ length: n }, (_, i) => i - 3);
  const x = choleskySolve(L, n, b.slice());
  const inv = choleskyInverse(L, n);
  for (let i = 0; i < n; i++) {
    let ax = 0;
    let invb = 0;
    for (let k = 0; k < n; k++) {
      ax += A[i * n + k] * x[k];
      invb += inv[i * n + k] * b[k];
    }
    assert.ok(Math.abs(ax - b[i]) < 1e-9);
    assert.ok(Math.abs(invb - x[i]) < 1e-9);
  }
  // det of a 2×2 by hand
  const two = Float64Array.from([4, 2, 2, 3]);
  assert.ok(choleskyInPlace(two, 2));
  assert.ok(Math.abs(choleskyLogDet(two, 2) - Math.log(8)) < 1e-12);
  assert.equal(choleskyInPlace(Float64Array.from([1, 2, 2, 1]), 2), false, 'indefinite');
});

function toyData(n: number, d: number, seed: number) {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: n * d }, () => rng.next());
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.sin(6 * x[i * d]) + (d > 1 ? x[i * d + 1] ** 2 : 0);
  const mean = y.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(y.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { x, y: y.map((v) => (v - mean) / sd) };
}

test('the log-posterior gradient matches finite differences', () => {
  const d = 3;
  const { x, y } = toyData(25, d, 2);
  const priors = { ls: [Math.log(0.5), 1.5] as [number, number], sf2: [0, 1.5] as [number, number], noise: [Math.log(1e-4), 2] as [number, number] };
  const theta = Float64Array.from([Math.log(0.3), Math.log(0.7), Math.log(1.2), Math.log(0.8), Math.log(1e-3)]);
  const g = new Float64Array(d + 2);
  const f0 = negLogPosterior(theta, g, x, y, d, priors);
  assert.ok(Number.isFinite(f0));
  const scratch = new Float64Array(d + 2);
  for (let i = 0; i < d + 2; i++) {
    const h = 1e-5;
    const tp = theta.slice();
    const tm = theta.slice();
    tp[i] += h;
    tm[i] -= h;
    const fd = (negLogPosterior(tp, scratch, x, y, d, priors) - negLogPosterior(tm, scratch, x, y, d, priors)) / (2 * h);
    assert.ok(Math.abs(fd - g[i]) < 1e-4 * Math.max(1, Math.abs(fd)), `θ${i}: analytic ${g[i]} vs numeric ${fd}`);
  }
});

test('a fitted GP interpolates its data and its predictive gradients match finite differences', () => {
  const d = 2;
  const { x, y } = toyData(30, d, 3);
  const gp = GaussianProcess.fit(x, y, d);
  for (let i = 0; i < 30; i++) {
    const p = x.slice(i * d, i * d + d);
    const { mean, variance } = gp.predict(p);
    assert.ok(Math.abs(mean - y[i]) < 0.05, `point ${i}: ${mean} vs ${y[i]}`);
    assert.ok(variance < 0.01);
  }
  const p = Float64Array.from([0.37, 0.52]);
  const dm = new Float64Array(d);
  const dv = new Float64Array(d);
  const base = gp.predictWithGradient(p, dm, dv);
  assert.ok(Math.abs(base.mean - gp.predict(p).mean) < 1e-12);
  for (let j = 0; j < d; j++) {
    const h = 1e-6;
    const a = p.slice();
    const b = p.slice();
    a[j] += h;
    b[j] -= h;
    const fm = (gp.predict(a).mean - gp.predict(b).mean) / (2 * h);
    const fv = (gp.predict(a).variance - gp.predict(b).variance) / (2 * h);
    assert.ok(Math.abs(fm - dm[j]) < 1e-5 * Math.max(1, Math.abs(fm)), `dmean ${dm[j]} vs ${fm}`);
    assert.ok(Math.abs(fv - dv[j]) < 1e-5 * Math.max(1, Math.abs(fv)), `dvar ${dv[j]} vs ${fv}`);
  }
});

test('log EI equals the direct formula where that is accurate, stays finite far below, and its derivatives are right', () => {
  for (const [mean, std, best] of [[0, 1, 0.5], [1, 0.5, 0], [0, 2, -3], [0.2, 0.1, 0.1]]) {
    const z = (best - mean) / std;
    const direct = Math.log(std * (normalPdf(z) + z * normalCdf(z)));
    const r = logExpectedImprovement(mean, std, best);
    assert.ok(Math.abs(r.value - direct) < 1e-9, `${mean},${std},${best}: ${r.value} vs ${direct}`);
    const h = 1e-6;
    const dm = (logExpectedImprovement(mean + h, std, best).value - logExpectedImprovement(mean - h, std, best).value) / (2 * h);
    const ds = (logExpectedImprovement(mean, std + h, best).value - logExpectedImprovement(mean, std - h, best).value) / (2 * h);
    assert.ok(Math.abs(dm - r.dMean) < 1e-5 * Math.max(1, Math.abs(dm)));
    assert.ok(Math.abs(ds - r.dStd) < 1e-5 * Math.max(1, Math.abs(ds)));
  }
  // deep in the tail: monotone and finite, continuous across the branch points
  let last = Infinity;
  for (let z = -1.5; z > -200; z *= 1.3) {
    const v = logExpectedImprovement(-z, 1, 0).value;
    assert.ok(Number.isFinite(v) && v < last, `z=${z}: ${v}`);
    last = v;
  }
  for (const z of [-1, -30]) {
    const a = logExpectedImprovement(-(z + 1e-9), 1, 0).value;
    const b = logExpectedImprovement(-(z - 1e-9), 1, 0).value;
    assert.ok(Math.abs(a - b) < 1e-6, `jump at z=${z}: ${a} vs ${b}`);
  }
});

test('normal tail functions', () => {
  assert.ok(Math.abs(erfc(0.5) - 0.4795001221869535) < 1e-14);
  assert.ok(Math.abs(erfc(3) - 2.209049699858544e-5) < 1e-18);
  assert.ok(Math.abs(normalCdf(-1.96) - 0.024997895148220435) < 1e-14);
  assert.ok(Math.abs(logNormalCdf(-40) - -804.6084420137538) < 1e-9);
});

test('the bounded minimizer finds interior and boundary minima', () => {
  const rosen = (x: Float64Array, g: Float64Array) => {
    g[0] = -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2);
    g[1] = 200 * (x[1] - x[0] ** 2);
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2;
  };
  const r = minimizeBounded(rosen, Float64Array.from([-1.2, 1]), { lower: -2, upper: 2, maxIterations: 500, gtol: 1e-8, ftol: 0 });
  assert.ok(Math.abs(r.x[0] - 1) < 1e-4 && Math.abs(r.x[1] - 1) < 1e-4, `${r.x}`);
  const bowl = (x: Float64Array, g: Float64Array) => {
    g[0] = 2 * (x[0] - 3);
    g[1] = 2 * (x[1] + 1);
    return (x[0] - 3) ** 2 + (x[1] + 1) ** 2;
  };
  const b = minimizeBounded(bowl, Float64Array.from([0.5, 0.5]), { lower: 0, upper: 1 });
  assert.deepEqual([...b.x], [1, 0]);
});
