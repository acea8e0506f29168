/**
 * Bayesian optimization with a Gaussian process: after a quasi-random initial design, each trial fits a GP
 * (Matérn 5/2, per-dimension length scales by maximum a posteriori on unit-cube inputs and standardized
 * outputs) to the complete trials and proposes the point of highest log expected
 * improvement.
 *
 * Owns: encoding the relative space (numeric parameters as unit coordinates, categorical ones one-hot), the
 * output warping, capping the training set so cost stays flat after hundreds of trials (the best half and the
 * most recent rest are kept; hyperparameters are fitted on a smaller such subset than the posterior uses), pending trials as "kriging believers" (their posterior mean is added as if
 * observed, so parallel trials spread out), and the acquisition search: a scrambled-Halton sweep plus
 * perturbations of the best points, the top candidates refined by bounded quasi-Newton steps on the exact
 * gradient of log EI. Parameters outside the relative space are drawn at random.
 *
 * Imports core and the tune files it names.
 */
import { errors } from '../core/index.js';
import { logExpectedImprovement } from './acquisition.js';
import { choiceIndex, fromUnit, toUnit, type Distribution, type NumericDistribution, type ParamValue } from './distributions.js';
import { GaussianProcess, type GpFitOptions } from './gp.js';
import { minimizeBounded } from './numeric.js';
import { QmcSampler, ScrambledHalton, qmcPoint } from './qmc.js';
import {
  RNG_PURPOSE,
  completeWithLoss,
  hashString,
  mixSeed,
  randomSeed,
  relativeSpace,
  trialRng,
  uniformValue,
  type Sampler,
  type SamplerContext,
} from './sampler.js';
import { sameDistributionOf, type TrialRecord } from './trial-record.js';

export type OutputWarp = 'none' | 'log';

export interface GpSamplerOptions {
  seed?: number;
  /** Quasi-random trials before the GP takes over (default 10). */
  nStartupTrials?: number;
  /** Training points the posterior is conditioned on, at most (default 150): the best half and the most recent rest. */
  maxTrainingPoints?: number;
  /** Points the hyperparameters are fitted on, at most (default 100), chosen the same way. */
  maxFitPoints?: number;
  /** Quasi-random candidates scored per trial (default 1024). */
  nRawCandidates?: number;
  /** Best candidates refined by gradient steps (default 8). */
  nRestarts?: number;
  /**
   * Output transform before standardizing (default 'none'). 'log' models log(y − min + c); measured on the
   * bench functions it sharpened the model around the incumbent too much and did worse, so it is opt-in.
   */
  outputWarp?: OutputWarp;
  gp?: GpFitOptions;
}

interface Encoding {
  names: string[];
  dists: Distribution[];
  /** first encoded column of each parameter */
  offsets: number[];
  width: number;
  /** 1 for columns moved by gradient steps (numeric), 0 for one-hot columns */
  continuous: Uint8Array;
}

export class GpSampler implements Sampler {
  readonly name = 'gp';
  readonly seed: number;
  private readonly o: Required<Omit<GpSamplerOptions, 'seed' | 'gp'>> & { gp: GpFitOptions };
  private readonly startupSampler: QmcSampler;

  constructor(o: GpSamplerOptions = {}) {
    this.seed = o.seed ?? randomSeed();
    this.o = {
      nStartupTrials: o.nStartupTrials ?? 10,
      maxTrainingPoints: o.maxTrainingPoints ?? 150,
      maxFitPoints: o.maxFitPoints ?? 100,
      nRawCandidates: o.nRawCandidates ?? 1024,
      nRestarts: o.nRestarts ?? 8,
      outputWarp: o.outputWarp ?? 'none',
      gp: o.gp ?? {},
    };
    if (!(this.o.maxTrainingPoints >= 2 && this.o.maxFitPoints >= 2)) {
      throw errors.invalidArgument(`maxTrainingPoints and maxFitPoints must be at least 2, got ${this.o.maxTrainingPoints} and ${this.o.maxFitPoints}`);
    }
    this.startupSampler = new QmcSampler({ seed: this.seed });
  }

  sampleRelative(ctx: SamplerContext, trialNumber: number): Record<string, ParamValue> {
    const space = relativeSpace(ctx);
    const names = Object.keys(space);
    if (names.length === 0) return {};
    const has = (t: TrialRecord) => names.every((n) => sameDistributionOf(t, n, space[n]));
    const done = completeWithLoss(ctx).filter((c) => has(c.trial) && !Number.isNaN(c.loss));
    if (done.length < this.o.nStartupTrials) return qmcPoint(this.seed, space, trialNumber);
    const enc = encoding(space);
    const train = capTraining(done, this.o.maxTrainingPoints);
    const x = new Float64Array(train.length * enc.width);
    train.forEach((c, i) => encodeInto(enc, c.trial.params, x, i * enc.width));
    const y = warpAndStandardize(
      train.map((c) => c.loss),
      this.o.outputWarp,
    );
    let gp: GaussianProcess;
    try {
      gp = this.fit(x, y, enc.width, train);
    } catch {
      // a covariance no jitter could repair (e.g. many exact duplicates): keep the search going quasi-randomly
      return qmcPoint(this.seed, space, trialNumber);
    }
    let best = Infinity;
    for (let i = 0; i < y.length; i++) best = Math.min(best, y[i]);
    const pending = ctx.trials.filter((t) => t.state === 'running' && has(t));
    if (pending.length) gp = withBelievers(gp, enc, pending);
    const rng = trialRng(this.seed, trialNumber, RNG_PURPOSE.acquisition);
    const u = maximizeLogEi(gp, enc, best, x, y, train.length, rng, this.o, mixSeed(this.seed, trialNumber));
    return decode(enc, u);
  }

  /**
   * Hyperparameters from at most `maxFitPoints` of the training points (the fit costs O(n³) per likelihood
   * evaluation, about a hundred evaluations per trial), then the posterior on all of them (one factorization).
   */
  private fit(x: Float64Array, y: Float64Array, width: number, train: { trial: TrialRecord; loss: number }[]): GaussianProcess {
    if (train.length <= this.o.maxFitPoints) return GaussianProcess.fit(x, y, width, this.o.gp);
    const indexed = train.map((c, i) => ({ trial: c.trial, loss: y[i], i }));
    const subset = capTraining(indexed, this.o.maxFitPoints);
    const xs = new Float64Array(subset.length * width);
    subset.forEach((c, k) => xs.set(x.subarray(c.i * width, (c.i + 1) * width), k * width));
    const hyper = GaussianProcess.fit(xs, Float64Array.from(subset, (c) => c.loss), width, this.o.gp).hyper;
    return GaussianProcess.withHyperparameters(x, y, width, hyper);
  }

  sampleIndependent(ctx: SamplerContext, trialNumber: number, name: string, d: Distribution, index: number): ParamValue {
    if (completeWithLoss(ctx).length < this.o.nStartupTrials) return this.startupSampler.sampleIndependent(ctx, trialNumber, name, d, index);
    return uniformValue(trialRng(this.seed, trialNumber, RNG_PURPOSE.independent, hashString(name)), d);
  }
}

function encoding(space: Record<string, Distribution>): Encoding {
  const names = Object.keys(space);
  const dists = names.map((n) => space[n]);
  const offsets: number[] = [];
  let width = 0;
  for (const d of dists) {
    offsets.push(width);
    width += d.type === 'categorical' ? d.choices.length : 1;
  }
  const continuous = new Uint8Array(width);
  dists.forEach((d, i) => {
    if (d.type !== 'categorical') continuous[offsets[i]] = 1;
  });
  return { names, dists, offsets, width, continuous };
}

function encodeInto(enc: Encoding, params: Record<string, ParamValue>, out: Float64Array, at: number): void {
  enc.dists.forEach((d, i) => {
    const v = params[enc.names[i]];
    if (d.type === 'categorical') {
      for (let c = 0; c < d.choices.length; c++) out[at + enc.offsets[i] + c] = 0;
      out[at + enc.offsets[i] + choiceIndex(d, v)] = 1;
    } else out[at + enc.offsets[i]] = toUnit(d as NumericDistribution, v as number);
  });
}

function decode(enc: Encoding, u: Float64Array): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  enc.dists.forEach((d, i) => {
    const o = enc.offsets[i];
    if (d.type === 'categorical') {
      let best = 0;
      for (let c = 1; c < d.choices.length; c++) if (u[o + c] > u[o + best]) best = c;
      out[enc.names[i]] = d.choices[best];
    } else out[enc.names[i]] = fromUnit(d as NumericDistribution, u[o]);
  });
  return out;
}

/** The best half by loss and the most recent of the rest, in trial order. */
function capTraining<T extends { trial: TrialRecord; loss: number }>(done: T[], max: number): T[] {
  if (done.length <= max) return done;
  const byLoss = [...done].sort((a, b) => a.loss - b.loss || a.trial.number - b.trial.number);
  const keep = new Set(byLoss.slice(0, Math.floor(max / 2)));
  for (let i = done.length - 1; i >= 0 && keep.size < max; i--) keep.add(done[i]);
  return done.filter((c) => keep.has(c));
}

/** Finite, optionally log-warped, standardized outputs. */
export function warpAndStandardize(losses: number[], warp: OutputWarp): Float64Array {
  const finite = losses.filter((v) => Number.isFinite(v));
  const hiFinite = finite.length ? Math.max(...finite) : 0;
  const loFinite = finite.length ? Math.min(...finite) : 0;
  // +Infinity (a diverged run) counts as the worst seen; −Infinity as the best
  let y = losses.map((v) => (v === Infinity ? hiFinite : v === -Infinity ? loFinite : v));
  if (warp === 'log') {
    const sorted = [...y].sort((a, b) => a - b);
    const min = sorted[0];
    const spread = sorted[Math.floor(sorted.length / 2)] - min;
    // the offset keeps the best points apart without letting log blow up their differences
    const c = Math.max(spread * 1e-3, 1e-12 * Math.max(1, Math.abs(min)));
    y = y.map((v) => Math.log(v - min + c));
  }
  const n = y.length;
  let mean = 0;
  for (const v of y) mean += v / n;
  let variance = 0;
  for (const v of y) variance += ((v - mean) * (v - mean)) / n;
  const sd = variance > 0 ? Math.sqrt(variance) : 1;
  return Float64Array.from(y, (v) => (v - mean) / sd);
}

/** Conditions on running trials' points with the posterior mean as their value (same hyperparameters). */
function withBelievers(gp: GaussianProcess, enc: Encoding, pending: TrialRecord[]): GaussianProcess {
  const d = enc.width;
  const n = gp.n;
  const x = new Float64Array((n + pending.length) * d);
  x.set(gp.x);
  const y = new Float64Array(n + pending.length);
  y.set(gp.y);
  const p = new Float64Array(d);
  pending.forEach((t, i) => {
    encodeInto(enc, t.params, p, 0);
    x.set(p, (n + i) * d);
    y[n + i] = gp.predict(p).mean;
  });
  return GaussianProcess.withHyperparameters(x, y, d, gp.hyper);
}

function maximizeLogEi(
  gp: GaussianProcess,
  enc: Encoding,
  best: number,
  xTrain: Float64Array,
  yTrain: Float64Array,
  nTrain: number,
  rng: ReturnType<typeof trialRng>,
  o: { nRawCandidates: number; nRestarts: number },
  haltonSeed: number,
): Float64Array {
  const d = enc.width;
  const score = (p: Float64Array) => {
    const { mean, variance } = gp.predict(p);
    return logExpectedImprovement(mean, Math.sqrt(variance), best).value;
  };
  const candidates: Float64Array[] = [];
  const halton = new ScrambledHalton(enc.dists.length, haltonSeed);
  const h = new Float64Array(enc.dists.length);
  for (let i = 0; i < o.nRawCandidates; i++) {
    halton.point(i, h);
    const p = new Float64Array(d);
    enc.dists.forEach((dist, k) => {
      if (dist.type === 'categorical') p[enc.offsets[k] + Math.min(dist.choices.length - 1, Math.floor(h[k] * dist.choices.length))] = 1;
      else p[enc.offsets[k]] = h[k];
    });
    candidates.push(p);
  }
  // local perturbations of the best observed points, at several scales, for refinement near the incumbent
  const order = Array.from({ length: nTrain }, (_, i) => i).sort((a, b) => yTrain[a] - yTrain[b]);
  const ls = gp.hyper.lengthscales;
  const top = order.slice(0, Math.min(5, nTrain));
  for (const [rank, i] of top.entries()) {
    const count = rank === 0 ? 200 : 50;
    for (let s = 0; s < count; s++) {
      const scale = [0.3, 0.1, 0.03, 0.01][s % 4];
      const p = xTrain.slice(i * d, (i + 1) * d);
      for (let j = 0; j < d; j++) {
        if (!enc.continuous[j]) continue;
        p[j] = Math.min(1, Math.max(0, p[j] + rng.normal() * scale * Math.min(ls[j], 1)));
      }
      candidates.push(p);
    }
  }
  const scores = candidates.map(score);
  const ranked = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a]);
  const dMean = new Float64Array(d);
  const dVar = new Float64Array(d);
  const fg = (p: Float64Array, g: Float64Array) => {
    const { mean, variance } = gp.predictWithGradient(p, dMean, dVar);
    const std = Math.sqrt(variance);
    const r = logExpectedImprovement(mean, std, best);
    for (let j = 0; j < d; j++) g[j] = -(r.dMean * dMean[j] + (r.dStd * dVar[j]) / (2 * std));
    return -r.value;
  };
  let bestX = candidates[ranked[0]];
  let bestF = -scores[ranked[0]];
  const starts: Float64Array[] = [];
  for (const i of ranked) {
    if (starts.length >= o.nRestarts) break;
    const c = candidates[i];
    // skip starts nearly on top of one already chosen
    if (starts.some((s) => s.every((v, j) => Math.abs(v - c[j]) < 1e-3))) continue;
    starts.push(c);
  }
  for (const s of starts) {
    const r = minimizeBounded(fg, s, { lower: 0, upper: 1, maxIterations: 50, gtol: 1e-6, ftol: 1e-9, active: enc.continuous });
    if (r.f < bestF) {
      bestF = r.f;
      bestX = r.x;
    }
  }
  return bestX;
}
