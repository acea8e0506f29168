/**
 * Tree-structured Parzen Estimator (TPE). Past trials are split into the best γ(n) ("below") and the rest
 * ("above"); a Parzen estimator l(x) is fitted to the first and g(x) to the second, and the next point is the
 * one of n candidates drawn from l that maximizes l(x)/g(x) — the expected-improvement ratio.
 *
 * Owns: the split (complete trials by loss, then pruned ones by how far they got, then — with the constant
 * liar — running ones as the worst of all, so parallel workers are steered away from points already being
 * evaluated, and a candidate equal to a running point is passed over while another exists), the age weights, univariate sampling (one estimator per parameter, which copes with conditional
 * parameters naturally: each uses the trials that have it) and multivariate sampling over the relative space
 * (one joint estimator; parameters outside it fall back to univariate TPE). Multi-objective studies rank
 * trials by non-dominated front first. Cost per trial is linear in the number of trials.
 *
 * Imports core and the tune files it names.
 */
import { errors } from '../core/index.js';
import { choiceIndex, fromUnit, toUnit, unitCell, type Distribution, type NumericDistribution, type ParamValue } from './distributions.js';
import { nonDominatedSort } from './pareto.js';
import { ParzenEstimator, type ParzenDim } from './parzen.js';
import { RNG_PURPOSE, hashString, randomSeed, relativeSpace, trialRng, uniformValue, type Sampler, type SamplerContext } from './sampler.js';
import { lastIntermediate, lossesOf, sameDistributionOf, type TrialRecord } from './trial-record.js';

export interface TpeOptions {
  seed?: number;
  /** Trials drawn at random before TPE starts (default 10). */
  nStartupTrials?: number;
  /** Candidates drawn from l(x) per suggestion (default 24). */
  nEiCandidates?: number;
  /** Size of the "below" group for n trials (default min(⌈0.1·n⌉, 25)). */
  gamma?: (n: number) => number;
  /** Weight of the prior kernel (default 1). */
  priorWeight?: number;
  /** Model the relative space jointly (default false: one estimator per parameter). */
  multivariate?: boolean;
  /** Count running trials as the worst results so parallel trials spread out (default false). */
  constantLiar?: boolean;
  /** Age weights for n observations, oldest first (default: flat for the newest 25, a ramp before). */
  weights?: (n: number) => Float64Array;
  magicClip?: boolean;
}

export const defaultGamma = (n: number): number => Math.min(Math.ceil(0.1 * n), 25);

export function defaultTpeWeights(n: number): Float64Array {
  const w = new Float64Array(n).fill(1);
  if (n < 25) return w;
  const ramp = n - 25;
  for (let i = 0; i < ramp; i++) w[i] = 1 / n + ((1 - 1 / n) * i) / Math.max(1, ramp - 1);
  return w;
}

export class TpeSampler implements Sampler {
  readonly name: string;
  readonly seed: number;
  private readonly o: Required<Omit<TpeOptions, 'seed'>>;

  constructor(o: TpeOptions = {}) {
    this.seed = o.seed ?? randomSeed();
    this.o = {
      nStartupTrials: o.nStartupTrials ?? 10,
      nEiCandidates: o.nEiCandidates ?? 24,
      gamma: o.gamma ?? defaultGamma,
      priorWeight: o.priorWeight ?? 1,
      multivariate: o.multivariate ?? false,
      constantLiar: o.constantLiar ?? false,
      weights: o.weights ?? defaultTpeWeights,
      magicClip: o.magicClip ?? true,
    };
    if (!(this.o.nEiCandidates >= 1)) throw errors.invalidArgument(`nEiCandidates must be at least 1, got ${this.o.nEiCandidates}`);
    if (!(this.o.priorWeight > 0)) throw errors.invalidArgument(`priorWeight must be positive, got ${this.o.priorWeight}`);
    this.name = this.o.multivariate ? 'tpe-multivariate' : 'tpe';
  }

  sampleRelative(ctx: SamplerContext, trialNumber: number): Record<string, ParamValue> {
    if (!this.o.multivariate || this.startup(ctx)) return {};
    const space = relativeSpace(ctx);
    const names = Object.keys(space);
    if (names.length === 0) return {};
    return this.sampleJoint(ctx, names.map((n) => [n, space[n]]), trialRng(this.seed, trialNumber, RNG_PURPOSE.relative));
  }

  sampleIndependent(ctx: SamplerContext, trialNumber: number, name: string, d: Distribution): ParamValue {
    const rng = trialRng(this.seed, trialNumber, RNG_PURPOSE.independent, hashString(name));
    if (this.startup(ctx)) return uniformValue(rng, d);
    return this.sampleJoint(ctx, [[name, d]], rng)[name];
  }

  private startup(ctx: SamplerContext): boolean {
    let complete = 0;
    for (const t of ctx.trials) if (t.state === 'complete') complete++;
    return complete < this.o.nStartupTrials;
  }

  private sampleJoint(ctx: SamplerContext, params: [string, Distribution][], rng: ReturnType<typeof trialRng>): Record<string, ParamValue> {
    const { below, above } = this.split(ctx, params);
    const dims: ParzenDim[] = params.map(([, d]) =>
      d.type === 'categorical' ? { kind: 'categorical', choices: d.choices.length } : { kind: 'numeric', discrete: unitCell(d, d.low) !== null },
    );
    const opts = { priorWeight: this.o.priorWeight, multivariate: params.length > 1, magicClip: this.o.magicClip };
    const l = new ParzenEstimator(dims, observe(below, params), this.o.weights(below.length), opts);
    const g = new ParzenEstimator(dims, observe(above, params), this.o.weights(above.length), opts);
    const raw = l.sample(rng, this.o.nEiCandidates);
    // snap numeric candidates onto their grids so l and g are compared on values the trial can really take
    const count = this.o.nEiCandidates;
    const values: ParamValue[][] = params.map(() => new Array(count));
    const cells: (Float64Array | null)[] = params.map(() => null);
    params.forEach(([, d], j) => {
      for (let s = 0; s < count; s++) {
        if (d.type === 'categorical') {
          values[j][s] = d.choices[raw[j][s]];
          continue;
        }
        const v = fromUnit(d, raw[j][s]);
        values[j][s] = v;
        const cell = unitCell(d, v);
        if (cell) {
          cells[j] ??= new Float64Array(2 * count);
          (cells[j] as Float64Array)[2 * s] = cell[0];
          (cells[j] as Float64Array)[2 * s + 1] = cell[1];
        } else raw[j][s] = toUnit(d, v);
      }
    });
    const ll = l.logPdf(raw, cells);
    const lg = g.logPdf(raw, cells);
    // with the liar, a candidate equal to a running trial's point is only taken when every candidate is one
    const taken = this.o.constantLiar ? runningPoints(ctx, params) : null;
    let best = -1;
    let bestAny = 0;
    for (let s = 0; s < count; s++) {
      const score = ll[s] - lg[s];
      if (score > ll[bestAny] - lg[bestAny]) bestAny = s;
      if (taken?.has(JSON.stringify(values.map((v) => v[s])))) continue;
      if (best < 0 || score > ll[best] - lg[best]) best = s;
    }
    if (best < 0) best = bestAny;
    const out: Record<string, ParamValue> = {};
    params.forEach(([name], j) => (out[name] = values[j][best]));
    return out;
  }

  /** Trials that have every one of `params` (same distributions), best first, split into below and above. */
  private split(ctx: SamplerContext, params: [string, Distribution][]): { below: TrialRecord[]; above: TrialRecord[] } {
    const has = (t: TrialRecord) => params.every(([n, d]) => n in t.params && sameDistributionOf(t, n, d));
    const complete: { t: TrialRecord; key: number[] }[] = [];
    const pruned: { t: TrialRecord; step: number; value: number }[] = [];
    const running: TrialRecord[] = [];
    for (const t of ctx.trials) {
      if (!has(t)) continue;
      if (t.state === 'complete' && t.values) complete.push({ t, key: lossesOf(t, ctx.directions) as number[] });
      else if (t.state === 'pruned') {
        const last = lastIntermediate(t);
        const sign = ctx.directions[0] === 'maximize' ? -1 : 1;
        pruned.push({ t, step: last ? last.step : -1, value: last ? sign * last.value : Infinity });
      } else if (t.state === 'running' && this.o.constantLiar) running.push(t);
    }
    let ordered: TrialRecord[];
    if (ctx.directions.length === 1) {
      ordered = complete.sort((a, b) => a.key[0] - b.key[0] || a.t.number - b.t.number).map((c) => c.t);
    } else {
      // several objectives: by non-dominated front, then by the sum of losses scaled to each objective's range
      const pts = complete.map((c) => c.key);
      const m = ctx.directions.length;
      const lo = new Array(m).fill(Infinity);
      const hi = new Array(m).fill(-Infinity);
      for (const p of pts) p.forEach((v, i) => ((lo[i] = Math.min(lo[i], v)), (hi[i] = Math.max(hi[i], v))));
      const scaled = (p: number[]) => p.reduce((s, v, i) => s + (hi[i] > lo[i] ? (v - lo[i]) / (hi[i] - lo[i]) : 0), 0);
      ordered = [];
      for (const front of nonDominatedSort(pts)) ordered.push(...front.sort((a, b) => scaled(pts[a]) - scaled(pts[b])).map((i) => complete[i].t));
    }
    ordered.push(...pruned.sort((a, b) => b.step - a.step || a.value - b.value).map((p) => p.t), ...running);
    const nBelow = Math.min(ordered.length, Math.max(0, Math.round(this.o.gamma(ordered.length))));
    const byNumber = (a: TrialRecord, b: TrialRecord) => a.number - b.number;
    return { below: ordered.slice(0, nBelow).sort(byNumber), above: ordered.slice(nBelow).sort(byNumber) };
  }
}

/** The points (over `params`) of running trials, as JSON keys. */
function runningPoints(ctx: SamplerContext, params: [string, Distribution][]): Set<string> {
  const out = new Set<string>();
  for (const t of ctx.trials) {
    if (t.state !== 'running' || !params.every(([n]) => n in t.params)) continue;
    out.add(JSON.stringify(params.map(([n]) => t.params[n])));
  }
  return out;
}

/** Per-dimension observations: unit coordinates for numeric parameters, choice indices for categorical ones. */
function observe(trials: readonly TrialRecord[], params: [string, Distribution][]): Float64Array[] {
  return params.map(([name, d]) => {
    const x = new Float64Array(trials.length);
    trials.forEach((t, i) => {
      const v = t.params[name];
      x[i] = d.type === 'categorical' ? choiceIndex(d, v) : toUnit(d as NumericDistribution, v as number);
    });
    return x;
  });
}
