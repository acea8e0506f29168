/**
 * Studies: a named optimization of one or more objectives over trials, with the ask/tell API and a driver loop.
 *
 *   const study = await createStudy({ direction: 'minimize', sampler: new GpSampler({ seed: 1 }) });
 *   const trial = await study.ask();                  // or study.ask(space) for a declarative space
 *   const x = trial.suggestFloat('x', -5, 10);
 *   await study.tell(trial, (x - 2) ** 2);
 *
 * Owns: creating and loading studies through a `StudyStorage`, taking the snapshot a sampler sees at each ask,
 * telling results (values, pruned, failed), the optimize loop with parallel trials, and best trial(s). Values
 * that are NaN mark the trial failed, as a crashed objective does; a pruned trial keeps its last reported value.
 *
 * Imports core and the tune files it names.
 */
import { AimassError, errors } from '../core/index.js';
import type { ParamValue } from './distributions.js';
import { paretoFront } from './pareto.js';
import { nopPruner, type Pruner } from './pruner.js';
import { RandomSampler } from './random-sampler.js';
import type { Sampler, SamplerContext } from './sampler.js';
import { parseSearchSpace, sampleSearchSpace, type SearchSpace } from './search-space.js';
import { InMemoryStudyStorage, type StudyRecord, type StudyStorage, type TrialPatch } from './storage.js';
import { Trial, TrialPruned } from './trial.js';
import { lastIntermediate, lossOf, lossesOf, type Direction, type TrialRecord, type TrialState } from './trial-record.js';

export interface StudyOptions {
  /** Unique within the storage; a generated one when left out. */
  name?: string;
  storage?: StudyStorage;
  /** One objective (default minimize); use `directions` for several. */
  direction?: Direction;
  directions?: Direction[];
  sampler?: Sampler;
  pruner?: Pruner;
  /** Load the study of this name when it exists instead of failing with ALREADY_EXISTS. */
  loadIfExists?: boolean;
  /** Stored with a new study (a loaded one keeps its own), e.g. the tuning spec it runs. */
  userAttrs?: Record<string, unknown>;
}

/** What an objective returns: one value, one per objective, or nothing when it threw TrialPruned. */
export type ObjectiveResult = number | readonly number[];
export type Objective = (trial: Trial) => ObjectiveResult | Promise<ObjectiveResult>;

export type TellResult = ObjectiveResult | { state: 'pruned' | 'failed'; values?: readonly number[] };

export interface OptimizeOptions {
  nTrials: number;
  /** Trials in flight at once (default 1); each is asked with the others still running. */
  concurrency?: number;
  /** A declarative space drawn before the objective runs; the objective then reads `trial.params`. */
  space?: SearchSpace | unknown;
  /** Record a throwing objective as a failed trial and go on (default false: the error ends optimize). */
  catchErrors?: boolean;
}

export async function createStudy(o: StudyOptions = {}): Promise<Study> {
  const storage = o.storage ?? new InMemoryStudyStorage();
  if (o.direction && o.directions) throw errors.invalidArgument('give either direction or directions, not both');
  const directions = o.directions ?? [o.direction ?? 'minimize'];
  if (directions.length === 0) throw errors.invalidArgument('directions must name at least one objective');
  for (const d of directions) {
    if (d !== 'minimize' && d !== 'maximize') throw errors.invalidArgument(`direction must be "minimize" or "maximize", got ${JSON.stringify(d)}`);
  }
  const name = o.name ?? `study-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
  let record: StudyRecord;
  try {
    record = await storage.createStudy(name, directions, o.userAttrs);
  } catch (e) {
    if (!(o.loadIfExists && e instanceof AimassError && e.code === 'ALREADY_EXISTS')) throw e;
    record = await storage.getStudy(name);
    if (record.directions.join() !== directions.join()) {
      throw errors.invalidArgument(`study "${name}" exists with directions ${record.directions.join(', ')}, not ${directions.join(', ')}`);
    }
  }
  return new Study(record, storage, o.sampler ?? new RandomSampler(), o.pruner ?? nopPruner);
}

export async function loadStudy(name: string, o: { storage: StudyStorage; sampler?: Sampler; pruner?: Pruner }): Promise<Study> {
  return new Study(await o.storage.getStudy(name), o.storage, o.sampler ?? new RandomSampler(), o.pruner ?? nopPruner);
}

export class Study {
  constructor(
    readonly record: StudyRecord,
    readonly storage: StudyStorage,
    readonly sampler: Sampler,
    readonly pruner: Pruner,
  ) {}

  get name(): string {
    return this.record.name;
  }

  get directions(): readonly Direction[] {
    return this.record.directions;
  }

  /** Starts a trial. With a space (JSON or parsed), every active parameter is drawn before this returns. */
  async ask(space?: SearchSpace | unknown): Promise<Trial> {
    const parsed = space === undefined ? undefined : asSearchSpace(space);
    // asks of this process go one at a time, so each snapshot holds every trial asked before it
    const previous = this.asking;
    let release!: () => void;
    this.asking = new Promise<void>((r) => (release = r));
    await previous;
    try {
      const snapshot = await this.storage.getTrials(this.record.id);
      const context: SamplerContext = { directions: this.directions, trials: snapshot, space: parsed };
      const number = snapshot.length;
      const attrs = this.sampler.trialAttrs?.(context, number) ?? {};
      let record = await this.storage.createTrial(this.record.id, { systemAttrs: attrs });
      if (record.number === number) return await this.start(record, context, parsed);
      // another process added trials between our read and our create: sample from what the store holds now
      const all = await this.storage.getTrials(this.record.id);
      const fresh: SamplerContext = { directions: this.directions, trials: all.slice(0, record.number), space: parsed };
      const freshAttrs = this.sampler.trialAttrs?.(fresh, record.number);
      if (freshAttrs) record = await this.storage.updateTrial(this.record.id, record.number, { systemAttrs: freshAttrs });
      return await this.start(record, fresh, parsed);
    } finally {
      release();
    }
  }

  private asking: Promise<void> = Promise.resolve();

  private async start(record: TrialRecord, context: SamplerContext, space: SearchSpace | undefined): Promise<Trial> {
    const relative: Record<string, ParamValue> = this.sampler.sampleRelative?.(context, record.number) ?? {};
    const trial = new Trial(
      {
        sampler: this.sampler,
        context,
        write: (n: number, patch: TrialPatch) => this.storage.updateTrial(this.record.id, n, patch),
        shouldPrune: async (n: number) => {
          const trials = await this.storage.getTrials(this.record.id);
          return this.pruner.prune({ directions: this.directions, trials }, trials[n]);
        },
      },
      record,
      relative,
    );
    if (space) {
      sampleSearchSpace(trial, space);
      await trial.flush();
    }
    return trial;
  }

  /** Finishes a running trial with its value(s), or as pruned or failed. */
  async tell(trial: Trial | number, result: TellResult): Promise<TrialRecord> {
    const number = typeof trial === 'number' ? trial : trial.number;
    if (typeof trial !== 'number') await trial.flush();
    const patch = this.patchFor(result);
    if (patch.state === 'pruned' && patch.values === undefined && this.directions.length === 1) {
      const current = (await this.storage.getTrials(this.record.id))[number];
      const last = current ? lastIntermediate(current) : null;
      patch.values = last ? [last.value] : null;
    }
    return this.storage.updateTrial(this.record.id, number, patch);
  }

  private patchFor(result: TellResult): TrialPatch {
    if (typeof result === 'number' || Array.isArray(result)) {
      const values = typeof result === 'number' ? [result] : [...(result as readonly number[])];
      if (values.length !== this.directions.length) {
        throw errors.invalidArgument(`the study has ${this.directions.length} objective(s) but the trial returned ${values.length} value(s)`, { values });
      }
      for (const v of values) if (typeof v !== 'number') throw errors.invalidArgument(`objective values must be numbers, got ${JSON.stringify(values)}`);
      if (values.some((v) => Number.isNaN(v))) return { state: 'failed', values: null, systemAttrs: { failReason: 'objective returned NaN' } };
      return { state: 'complete', values };
    }
    const r = result as { state: 'pruned' | 'failed'; values?: readonly number[] };
    if (r.state !== 'pruned' && r.state !== 'failed') throw errors.invalidArgument(`tell: state must be "pruned" or "failed", got ${JSON.stringify(r.state)}`);
    return r.values ? { state: r.state, values: [...r.values] } : { state: r.state };
  }

  /** Runs `nTrials` trials of `objective`, up to `concurrency` at once. */
  async optimize(objective: Objective, o: OptimizeOptions): Promise<void> {
    const concurrency = o.concurrency ?? 1;
    if (!Number.isInteger(o.nTrials) || o.nTrials < 0) throw errors.invalidArgument(`nTrials must be a non-negative integer, got ${o.nTrials}`);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw errors.invalidArgument(`concurrency must be a positive integer, got ${concurrency}`);
    const space = o.space === undefined ? undefined : asSearchSpace(o.space);
    let started = 0;
    let failure: unknown = null;
    const runOne = async (): Promise<void> => {
      const trial = await this.ask(space);
      try {
        const result = await objective(trial);
        await this.tell(trial, result);
      } catch (e) {
        if (e instanceof TrialPruned) {
          await this.tell(trial, { state: 'pruned' });
          return;
        }
        await this.tell(trial, { state: 'failed' }).catch(() => undefined);
        if (!o.catchErrors) throw e;
      }
    };
    const lane = async (): Promise<void> => {
      while (failure === null && started < o.nTrials) {
        started++;
        try {
          await runOne();
        } catch (e) {
          failure ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, o.nTrials) }, lane));
    if (failure !== null) throw failure;
  }

  async trials(states?: readonly TrialState[]): Promise<readonly TrialRecord[]> {
    return this.storage.getTrials(this.record.id, states);
  }

  /** The complete trial with the best first objective; NOT_FOUND before any trial completed. */
  async bestTrial(): Promise<TrialRecord> {
    if (this.directions.length > 1) {
      throw errors.invalidArgument('a multi-objective study has no single best trial; use bestTrials() for the Pareto front');
    }
    let best: TrialRecord | null = null;
    let bestLoss = Infinity;
    for (const t of await this.trials(['complete'])) {
      const loss = lossOf(t, this.directions);
      if (loss !== null && (best === null || loss < bestLoss)) {
        best = t;
        bestLoss = loss;
      }
    }
    if (!best) throw errors.notFound('best trial', this.name, 'no trial has completed yet');
    return best;
  }

  async bestValue(): Promise<number> {
    return ((await this.bestTrial()).values as number[])[0];
  }

  /** The complete trials no other complete trial dominates (the Pareto front), in number order. */
  async bestTrials(): Promise<TrialRecord[]> {
    const complete = (await this.trials(['complete'])).filter((t) => t.values && t.values.length === this.directions.length);
    const points = complete.map((t) => lossesOf(t, this.directions) as number[]);
    return paretoFront(points).map((i) => complete[i]);
  }
}

function asSearchSpace(space: unknown): SearchSpace {
  const s = space as SearchSpace;
  if (s && Array.isArray(s.params) && s.params.every((p) => p && typeof p.name === 'string' && p.distribution)) return s;
  return parseSearchSpace(space);
}
