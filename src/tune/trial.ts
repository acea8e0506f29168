/**
 * The live trial an objective receives: define-by-run suggestions (`suggestFloat`, `suggestInt`,
 * `suggestCategorical`), intermediate reports and the pruning question.
 *
 * Owns: resolving one suggestion — the value already drawn under that name, else the sampler's joint proposal
 * for this trial, else the sampler's independent draw — and recording it. Suggestions are synchronous, as an
 * objective wants them; each is written through to the storage in the background and every write is awaited
 * before the trial reports or is told its result.
 *
 * Imports core and the tune files it names.
 */
import { errors } from '../core/index.js';
import {
  categoricalDistribution,
  containsValue,
  floatDistribution,
  intDistribution,
  sameDistribution,
  singleValue,
  type CategoricalChoice,
  type Distribution,
  type ParamValue,
  type SuggestFloatOptions,
  type SuggestIntOptions,
} from './distributions.js';
import type { Sampler, SamplerContext } from './sampler.js';
import type { ParamSuggester } from './search-space.js';
import type { TrialPatch } from './storage.js';
import type { TrialRecord } from './trial-record.js';

/** Throw from an objective to stop a trial the pruner judged weak; the study records it as pruned. */
export class TrialPruned extends Error {
  constructor(message = 'trial pruned') {
    super(message);
    this.name = 'TrialPruned';
  }
}

/** What a trial needs from its study; kept narrow so the trial never sees the storage or other trials' writes. */
export interface TrialHost {
  readonly sampler: Sampler;
  readonly context: SamplerContext;
  write(number: number, patch: TrialPatch): Promise<unknown>;
  /** Asks the study's pruner about this trial as stored now. */
  shouldPrune(number: number): Promise<boolean>;
}

export class Trial implements ParamSuggester {
  readonly number: number;
  private readonly values: Record<string, ParamValue> = {};
  private readonly dists: Record<string, Distribution> = {};
  private readonly writes: Promise<unknown>[] = [];
  private drawn = 0;

  constructor(
    private readonly host: TrialHost,
    record: TrialRecord,
    private readonly relative: Readonly<Record<string, ParamValue>>,
  ) {
    this.number = record.number;
    Object.assign(this.values, record.params);
    Object.assign(this.dists, record.distributions);
  }

  /** The values suggested so far. */
  get params(): Readonly<Record<string, ParamValue>> {
    return { ...this.values };
  }

  get distributions(): Readonly<Record<string, Distribution>> {
    return { ...this.dists };
  }

  /** A float in [low, high]; `log` samples its logarithm uniformly, `step` restricts it to low + k·step. */
  suggestFloat(name: string, low: number, high: number, options: SuggestFloatOptions = {}): number {
    return this.suggest(name, floatDistribution(name, low, high, options)) as number;
  }

  /** An integer in [low, high] (both included); `step` restricts it to low + k·step. */
  suggestInt(name: string, low: number, high: number, options: SuggestIntOptions = {}): number {
    return this.suggest(name, intDistribution(name, low, high, options)) as number;
  }

  suggestCategorical<T extends CategoricalChoice>(name: string, choices: readonly T[]): T {
    return this.suggest(name, categoricalDistribution(name, choices)) as T;
  }

  /** One parameter by its distribution; asking again under the same name returns the same value. */
  suggest(name: string, distribution: Distribution): ParamValue {
    const previous = this.dists[name];
    if (previous) {
      if (!sameDistribution(previous, distribution)) {
        throw errors.invalidArgument(
          `parameter "${name}" was already suggested in trial ${this.number} with ${JSON.stringify(previous)}; a name keeps one distribution within a study`,
          { param: name },
        );
      }
      return this.values[name];
    }
    let value = singleValue(distribution);
    if (value === undefined) {
      const proposed = this.relative[name];
      value =
        name in this.relative && containsValue(distribution, proposed)
          ? proposed
          : this.host.sampler.sampleIndependent(this.host.context, this.number, name, distribution, this.drawn);
    }
    this.drawn++;
    this.values[name] = value;
    this.dists[name] = distribution;
    this.track(this.host.write(this.number, { params: { [name]: value }, distributions: { [name]: distribution } }));
    return value;
  }

  /** Records the objective's value at `step` (an epoch, a number of samples); pruners compare trials by it. */
  async report(value: number, step: number): Promise<void> {
    if (!Number.isInteger(step) || step < 0) throw errors.invalidArgument(`report(value, step): step must be a non-negative integer, got ${step}`);
    if (typeof value !== 'number' || Number.isNaN(value)) throw errors.invalidArgument(`report(value, step): value must be a number, got ${value}`);
    this.track(this.host.write(this.number, { intermediate: { [String(step)]: value } }));
    await this.flush();
  }

  /** Whether the study's pruner would stop this trial now; throw `new TrialPruned()` when it says yes. */
  async shouldPrune(): Promise<boolean> {
    await this.flush();
    return this.host.shouldPrune(this.number);
  }

  async setUserAttr(key: string, value: unknown): Promise<void> {
    this.track(this.host.write(this.number, { userAttrs: { [key]: value } }));
    await this.flush();
  }

  /** Waits for every background write; the first failure is thrown here. */
  async flush(): Promise<void> {
    while (this.writes.length) await this.writes.shift();
  }

  private track(p: Promise<unknown>): void {
    // a rejected write is re-thrown by flush(); catching here only keeps Node from calling it unhandled meanwhile
    p.catch(() => undefined);
    this.writes.push(p);
  }
}
