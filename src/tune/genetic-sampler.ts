/**
 * Evolutionary samplers: a genetic algorithm for one objective and NSGA-II for several. Trials come in
 * generations of `populationSize` by trial number; generation 0 is random, and each child of generation g is
 * bred from parents chosen by tournament among the selected trials of earlier generations, by crossover
 * (per parameter: a blend of the parents' unit coordinates, or one parent's choice) and mutation (a Gaussian
 * step in unit coordinates, or a new random choice).
 *
 * Owns: selection of the parent pool — for the GA, the complete trials of generation g − 1 plus the `eliteCount`
 * best of all (elitism: the best found never leave the pool); for NSGA-II, the best `populationSize` complete
 * trials by non-dominated rank then crowding distance (its elitist (μ+λ) selection, recomputed from the
 * records so no state is kept between trials) — and the breeding itself. Parameters outside the relative space
 * (conditional ones) are drawn at random. Every draw of trial n comes from (seed, n), so runs reproduce.
 *
 * Imports core and the tune files it names.
 */
import { errors, type Rng } from '../core/index.js';
import { fromUnit, toUnit, type Distribution, type NumericDistribution, type ParamValue } from './distributions.js';
import { crowdingDistance, nonDominatedSort } from './pareto.js';
import { RNG_PURPOSE, hashString, randomSeed, relativeSpace, trialRng, uniformValue, type Sampler, type SamplerContext } from './sampler.js';
import { lossesOf, sameDistributionOf, type TrialRecord } from './trial-record.js';

export interface GeneticOptions {
  seed?: number;
  /** Trials per generation (default 20). */
  populationSize?: number;
  /** Probability a child mixes two parents rather than copying one (default 0.9). */
  crossoverRate?: number;
  /** Probability each parameter mutates (default 1/number of parameters). */
  mutationRate?: number;
  /** Standard deviation of a numeric mutation in unit coordinates (default 0.1). */
  mutationScale?: number;
  /** Contestants per tournament (default 2 for NSGA-II, 3 for the GA). */
  tournamentSize?: number;
  /** Best trials of all kept in the GA's parent pool besides the last generation (default 4). */
  eliteCount?: number;
}

const GENERATION_ATTR = 'generation';

interface Ranked {
  trial: TrialRecord;
  /** lower is better: the loss (GA) or the rank with crowding as tie-break (NSGA-II) */
  rank: number;
  crowding: number;
}

abstract class EvolutionarySampler implements Sampler {
  abstract readonly name: string;
  readonly seed: number;
  protected readonly o: Required<Omit<GeneticOptions, 'seed' | 'mutationRate'>> & { mutationRate: number | null };

  constructor(o: GeneticOptions, defaultTournament: number) {
    this.seed = o.seed ?? randomSeed();
    this.o = {
      populationSize: o.populationSize ?? 20,
      crossoverRate: o.crossoverRate ?? 0.9,
      mutationRate: o.mutationRate ?? null,
      mutationScale: o.mutationScale ?? 0.1,
      tournamentSize: o.tournamentSize ?? defaultTournament,
      eliteCount: o.eliteCount ?? 4,
    };
    const problems: string[] = [];
    if (!Number.isInteger(this.o.populationSize) || this.o.populationSize < 2) problems.push(`populationSize: must be an integer ≥ 2, got ${this.o.populationSize}`);
    for (const k of ['crossoverRate', 'mutationRate'] as const) {
      const v = this.o[k];
      if (v !== null && !(v >= 0 && v <= 1)) problems.push(`${k}: must be in [0, 1], got ${v}`);
    }
    if (!(this.o.mutationScale > 0)) problems.push(`mutationScale: must be positive, got ${this.o.mutationScale}`);
    if (!Number.isInteger(this.o.tournamentSize) || this.o.tournamentSize < 1) problems.push(`tournamentSize: must be a positive integer, got ${this.o.tournamentSize}`);
    if (!Number.isInteger(this.o.eliteCount) || this.o.eliteCount < 0) problems.push(`eliteCount: must be a non-negative integer, got ${this.o.eliteCount}`);
    if (problems.length) throw errors.invalidSpec(`the ${new.target.name} options have ${problems.length} problem(s)`, problems);
  }

  protected generationOf(trialNumber: number): number {
    return Math.floor(trialNumber / this.o.populationSize);
  }

  trialAttrs(_ctx: SamplerContext, trialNumber: number): Record<string, unknown> {
    return { [GENERATION_ATTR]: this.generationOf(trialNumber) };
  }

  /** The parent pool for generation g, ranked (lower `rank` is better); empty means "draw at random". */
  protected abstract pool(ctx: SamplerContext, candidates: TrialRecord[], generation: number): Ranked[];

  sampleRelative(ctx: SamplerContext, trialNumber: number): Record<string, ParamValue> {
    const generation = this.generationOf(trialNumber);
    if (generation === 0) return {};
    const space = relativeSpace(ctx);
    const names = Object.keys(space);
    if (names.length === 0) return {};
    const candidates = ctx.trials.filter(
      (t) => t.state === 'complete' && t.values && this.generationOf(t.number) < generation && names.every((n) => sameDistributionOf(t, n, space[n])),
    );
    const pool = this.pool(ctx, candidates, generation);
    if (pool.length < 2) return {};
    const rng = trialRng(this.seed, trialNumber, RNG_PURPOSE.relative);
    const a = this.tournament(pool, rng);
    let b = this.tournament(pool, rng);
    for (let tries = 0; b === a && tries < 5; tries++) b = this.tournament(pool, rng);
    const cross = rng.next() < this.o.crossoverRate;
    const rate = this.o.mutationRate ?? 1 / names.length;
    const out: Record<string, ParamValue> = {};
    for (const name of names) {
      const d = space[name];
      const va = a.params[name];
      const vb = b.params[name];
      if (d.type === 'categorical') {
        let v = cross && rng.next() < 0.5 ? vb : va;
        if (rng.next() < rate) v = d.choices[rng.int(d.choices.length)];
        out[name] = v;
        continue;
      }
      const nd = d as NumericDistribution;
      let u = toUnit(nd, va as number);
      if (cross) {
        // blend crossover: anywhere on the segment between the parents, extended by a quarter on each side
        const ub = toUnit(nd, vb as number);
        u += (rng.next() * 1.5 - 0.25) * (ub - u);
      }
      if (rng.next() < rate) u += rng.normal() * this.o.mutationScale;
      out[name] = fromUnit(nd, reflect(u));
    }
    return out;
  }

  sampleIndependent(_ctx: SamplerContext, trialNumber: number, name: string, d: Distribution): ParamValue {
    return uniformValue(trialRng(this.seed, trialNumber, RNG_PURPOSE.independent, hashString(name)), d);
  }

  private tournament(pool: Ranked[], rng: Rng): TrialRecord {
    let best = pool[rng.int(pool.length)];
    for (let i = 1; i < this.o.tournamentSize; i++) {
      const c = pool[rng.int(pool.length)];
      if (c.rank < best.rank || (c.rank === best.rank && c.crowding > best.crowding)) best = c;
    }
    return best.trial;
  }
}

/** Folds a coordinate back into [0, 1] like a ball off the walls, so mutations near a bound stay spread. */
function reflect(u: number): number {
  let v = u;
  for (let i = 0; i < 4 && (v < 0 || v > 1); i++) v = v < 0 ? -v : 2 - v;
  return Math.min(1, Math.max(0, v));
}

/** Genetic algorithm for a single objective (the first, if the study has several). */
export class GeneticSampler extends EvolutionarySampler {
  readonly name = 'genetic';

  constructor(o: GeneticOptions = {}) {
    super(o, 3);
  }

  protected pool(ctx: SamplerContext, candidates: TrialRecord[], generation: number): Ranked[] {
    const sign = ctx.directions[0] === 'maximize' ? -1 : 1;
    const ranked = candidates.map((trial) => ({ trial, rank: sign * (trial.values as number[])[0], crowding: 0 })).filter((r) => !Number.isNaN(r.rank));
    const previous = ranked.filter((r) => this.generationOf(r.trial.number) === generation - 1);
    const elite = [...ranked].sort((x, y) => x.rank - y.rank || x.trial.number - y.trial.number).slice(0, this.o.eliteCount);
    const pool = new Set([...previous, ...elite]);
    // while the last generation is still running (parallel trials), fall back to the best of all
    if (previous.length < this.o.populationSize / 2) {
      for (const r of [...ranked].sort((x, y) => x.rank - y.rank).slice(0, this.o.populationSize)) pool.add(r);
    }
    return [...pool];
  }
}

/** NSGA-II for several objectives: non-dominated sorting, crowding distance, elitist selection. */
export class Nsga2Sampler extends EvolutionarySampler {
  readonly name = 'nsga2';

  constructor(o: GeneticOptions = {}) {
    super(o, 2);
  }

  protected pool(ctx: SamplerContext, candidates: TrialRecord[]): Ranked[] {
    const points = candidates.map((t) => lossesOf(t, ctx.directions) as number[]);
    const selected: Ranked[] = [];
    const fronts = nonDominatedSort(points);
    for (let r = 0; r < fronts.length && selected.length < this.o.populationSize; r++) {
      const front = fronts[r];
      const crowd = crowdingDistance(points, front);
      const members = front.map((i, k) => ({ trial: candidates[i], rank: r, crowding: crowd[k] }));
      if (selected.length + members.length > this.o.populationSize) {
        // the front that does not fit whole contributes its least crowded members
        members.sort((x, y) => y.crowding - x.crowding || x.trial.number - y.trial.number);
      }
      selected.push(...members.slice(0, this.o.populationSize - selected.length));
    }
    return selected;
  }
}

