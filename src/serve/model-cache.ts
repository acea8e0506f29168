// The models a server holds: loaded from the registry by `name`, `name:version` or `name@alias` (a bare name
// means the production alias if set, else the latest version), from verified bytes only, warmed up before they
// count as ready, kept in an LRU within a budget, and swapped to a new version without failing requests: new
// requests switch at once, the old version drains, then closes. Each loaded version is a SessionPool behind a
// Batcher.
import { AimassError } from '../core/index.js';
import type { Registry, VersionRef } from '../registry/index.js';
import { Batcher, type BatcherOptions, type SubmitOptions } from './batcher.js';
import { type Prediction, ServingPipeline } from './pipeline.js';
import { SessionPool } from './session-pool.js';
import { type HostTensors, dummyFeeds } from './tensors.js';

/** A registry version record (derived here so that serve/ needs no storage types). */
export type ServedVersion = Awaited<ReturnType<Registry['resolve']>>;

/** loading (reading verified bytes, starting workers, warming up) → ready → draining → closed. */
export type ModelState = 'loading' | 'ready' | 'draining' | 'closed';

export interface ModelCacheOptions {
  /** Most versions held at once; loading one more unloads the least recently used (default 4). */
  maxModels?: number;
  /** Worker threads per loaded version (default 1). */
  workers?: number;
  /** ONNX Runtime intra-op threads per worker (default 1). */
  intraOpNumThreads?: number;
  /** Dynamic batching per version (defaults: 16 samples, 500 µs, 1024 queued). */
  batching?: Partial<Omit<BatcherOptions, 'maxInFlightBatches'>>;
  /** The alias a bare model name follows when set (default "production"); otherwise the latest version. */
  defaultAlias?: string;
  /**
   * How often (ms) to re-resolve the names and aliases requests used, switching to the version they now point at
   * (an alias moved, a new latest version); 0 (the default) checks only when `refresh()` is called.
   */
  refreshIntervalMs?: number;
  /** Called when a refresh fails (the registry unreachable, the new version does not load); the old one keeps serving. */
  onRefreshError?: (error: unknown, route: string) => void;
}

/** What a ModelCache reports as it works, for metrics; attached with `observe`. Callbacks must not throw. */
export interface ModelCacheObserver {
  /** A version finished loading and warming up, `seconds` after it began. */
  onLoad?(name: string, version: number, seconds: number): void;
  /** A version left the cache (evicted, swapped out, unloaded, or the cache closed). */
  onUnload?(name: string, version: number): void;
  /** A batch of `samples` went to a version's workers. */
  onBatch?(name: string, version: number, samples: number): void;
}

export interface PredictOptions extends SubmitOptions {
  /** Classes listed per prediction (default 5). */
  topK?: number;
}

export interface PredictResult {
  model: string;
  version: number;
  predictions: Prediction[];
}

/** One loaded model version: a pool of sessions behind a dynamic batcher. */
export class ServedModel {
  private currentState: ModelState = 'ready';
  private closing?: Promise<void>;

  constructor(
    readonly record: ServedVersion,
    private readonly pool: SessionPool,
    private readonly batcher: Batcher,
    /** How raw records become inputs and outputs become labels (from pipeline.json, or inferred). */
    readonly pipeline: ServingPipeline,
  ) {}

  get name(): string {
    return this.record.model;
  }

  get version(): number {
    return this.record.version;
  }

  get state(): ModelState {
    return this.currentState;
  }

  /** Samples waiting in this version's batching queue. */
  get queued(): number {
    return this.batcher.queued;
  }

  infer(feeds: HostTensors, o?: SubmitOptions): Promise<HostTensors> {
    if (this.currentState !== 'ready') return Promise.reject(new AimassError('UNAVAILABLE', `version ${this.version} of "${this.name}" is being unloaded; retry the request`));
    return this.batcher.submit(feeds, o);
  }

  /** Raw records (text, images, table rows, arrays) through the pipeline, the model, and back as predictions. */
  async predict(records: readonly unknown[], o: PredictOptions = {}): Promise<PredictResult> {
    const feeds = await this.pipeline.prepare(records);
    const outputs = await this.infer(feeds, o);
    return { model: this.name, version: this.version, predictions: this.pipeline.predictions(outputs, records.length, o.topK) };
  }

  /** Stops taking requests, finishes those queued and running, then ends the workers. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.currentState = 'draining';
      await this.batcher.close();
      await this.pool.close();
      this.currentState = 'closed';
    })();
    return this.closing;
  }
}

interface ParsedRef {
  name: string;
  /** An exact version, when the reference names one. */
  version?: number;
  /** What to resolve otherwise: an alias or 'latest'; undefined means the default. */
  ref?: string;
  /** The key a resolved non-exact reference is remembered under. */
  route: string;
}

/** `name`, `name:3`, `name:latest` or `name@alias`. */
export function parseModelRef(text: string): ParsedRef {
  const m = /^([^:@\s]+)(?::(\d+|latest)|@([^:@\s]+))?$/.exec(text);
  if (!m) throw new AimassError('INVALID_ARGUMENT', `"${text}" is not a model reference; use name, name:version, name:latest or name@alias`);
  const [, name, version, alias] = m;
  if (version !== undefined && version !== 'latest') return { name, version: Number(version), route: `${name}:${version}` };
  if (version === 'latest') return { name, ref: 'latest', route: `${name}:latest` };
  if (alias !== undefined) return { name, ref: alias, route: `${name}@${alias}` };
  return { name, route: name };
}

const keyOf = (name: string, version: number) => `${name}:${version}`;

/** How long a refresh leaves a version that failed to load before trying it again. */
const RETRY_FAILED_LOAD_MS = 30_000;

export class ModelCache {
  /** Ready models by name:version, least recently used first. */
  private readonly models = new Map<string, ServedModel>();
  private readonly loading = new Map<string, Promise<ServedModel>>();
  /** Non-exact references (name, name@alias, name:latest) → the name:version they resolved to. */
  private readonly routes = new Map<string, string>();
  private readonly closing = new Set<Promise<void>>();
  private readonly maxModels: number;
  private readonly workers: number;
  private refreshTimer?: NodeJS.Timeout;
  /** Versions a refresh failed to load, and when it may try again. */
  private readonly failedLoads = new Map<string, number>();
  private refreshing?: Promise<void>;
  private closed = false;
  private readonly observers = new Set<ModelCacheObserver>();

  constructor(
    private readonly registry: Registry,
    private readonly o: ModelCacheOptions = {},
  ) {
    this.maxModels = o.maxModels ?? 4;
    this.workers = o.workers ?? 1;
    if (!Number.isInteger(this.maxModels) || this.maxModels < 1) throw new AimassError('INVALID_ARGUMENT', `maxModels must be a whole number ≥ 1, got ${this.maxModels}`);
    const every = o.refreshIntervalMs ?? 0;
    if (!Number.isFinite(every) || every < 0) throw new AimassError('INVALID_ARGUMENT', `refreshIntervalMs must be ≥ 0, got ${every}`);
    if (every > 0) {
      this.refreshTimer = setInterval(() => void this.refresh(), every);
      this.refreshTimer.unref();
    }
  }

  /** Runs raw records through the model a reference names (see ServedModel.predict). */
  async predict(ref: string, records: readonly unknown[], o?: PredictOptions): Promise<PredictResult> {
    const model = await this.get(ref);
    return model.predict(records, o);
  }

  /**
   * Re-resolves every name and alias requests have used (`name`, `name@alias`, `name:latest`); where one now
   * means another version, loads and warms that version, switches the route to it, and unloads the version it
   * left if no other route uses it. A version that fails to load leaves the route where it was.
   */
  refresh(): Promise<void> {
    if (this.refreshing) return this.refreshing;
    const run = (async () => {
      await Promise.resolve(); // so that `refreshing` is set before the body can finish
      try {
        for (const [route, key] of [...this.routes]) {
          if (this.closed) return;
          const parsed = parseModelRef(route);
          let record: ServedVersion;
          try {
            record = await this.resolve(parsed.name, parsed.ref);
          } catch (e) {
            this.o.onRefreshError?.(e, route);
            continue;
          }
          const next = keyOf(record.model, record.version);
          if (next === key || this.routes.get(route) !== key) continue;
          if ((this.failedLoads.get(next) ?? 0) > Date.now()) continue; // failed lately: not retried on every tick
          try {
            await this.loadVersion(record);
            this.failedLoads.delete(next);
          } catch (e) {
            this.failedLoads.set(next, Date.now() + RETRY_FAILED_LOAD_MS);
            this.o.onRefreshError?.(e, route);
            continue;
          }
          if (this.routes.get(route) !== key) continue; // moved meanwhile by a swap
          this.routes.set(route, next);
          if (![...this.routes.values()].includes(key)) await this.unloadKey(key);
        }
      } finally {
        this.refreshing = undefined;
      }
    })();
    this.refreshing = run;
    return run;
  }

  /** The model a reference names, loading and warming it first if needed. */
  async get(ref: string): Promise<ServedModel> {
    const parsed = parseModelRef(ref);
    const hit = this.lookup(parsed);
    if (hit) return hit;
    const record = await this.resolve(parsed.name, parsed.version ?? parsed.ref);
    const model = await this.loadVersion(record);
    if (parsed.version === undefined) this.routes.set(parsed.route, keyOf(record.model, record.version));
    return model;
  }

  /**
   * The loaded, ready version a request for `name` (or `name` `version`) reaches now, or undefined when it would
   * have to be resolved or loaded first (then use get). No parsing: the hot path's lookup.
   */
  peek(name: string, version?: number): ServedModel | undefined {
    const key = version === undefined ? this.routes.get(name) : keyOf(name, version);
    const model = key === undefined ? undefined : this.models.get(key);
    if (!model || model.state !== 'ready') return undefined;
    this.touch(key!, model);
    return model;
  }

  /** Runs a request on the model a reference names; a loaded model takes it without waiting on the registry. */
  infer(ref: string, feeds: HostTensors, o?: SubmitOptions): Promise<HostTensors> {
    let hit: ServedModel | undefined;
    try {
      hit = this.lookup(parseModelRef(ref));
    } catch (e) {
      return Promise.reject(e);
    }
    // Looking up and submitting in one synchronous step is what makes swap atomic for callers.
    if (hit) return hit.infer(feeds, o);
    return this.get(ref).then((m) => m.infer(feeds, o));
  }

  /** True only while the version (or the one the bare name routes to) is loaded and warmed up. */
  isReady(name: string, version?: number): boolean {
    const key = version === undefined ? this.routes.get(name) : keyOf(name, version);
    return key !== undefined && this.models.get(key)?.state === 'ready';
  }

  /** Loaded versions, least recently used first, with the samples waiting in each one's queue. */
  list(): { name: string; version: number; state: ModelState; queued: number }[] {
    return [...this.models.values()].map((m) => ({ name: m.name, version: m.version, state: m.state, queued: m.queued }));
  }

  /** Reports loads, unloads and batches to `observer` from now on; returns the function that stops it. */
  observe(observer: ModelCacheObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /**
   * Re-resolves what a bare `name` means (or `ref`, when given), loads and warms that version, switches new
   * requests for `name` to it at once, then drains and closes the version it replaced.
   */
  async swap(name: string, ref?: VersionRef): Promise<ServedModel> {
    const record = await this.resolve(name, ref);
    const model = await this.loadVersion(record);
    const next = keyOf(record.model, record.version);
    const previous = this.routes.get(name);
    this.routes.set(name, next);
    if (previous !== undefined && previous !== next) await this.unloadKey(previous);
    return model;
  }

  /** Unloads one version, or every loaded version of `name`; queued and running requests finish first. */
  async unload(name: string, version?: number): Promise<void> {
    const keys = version === undefined ? [...this.models.values()].filter((m) => m.name === name).map((m) => keyOf(m.name, m.version)) : [keyOf(name, version)];
    await Promise.all(keys.map((k) => this.unloadKey(k)));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    await this.refreshing;
    await Promise.allSettled([...this.loading.values()]);
    await Promise.all([...this.models.keys()].map((k) => this.unloadKey(k)));
    await Promise.all(this.closing);
  }

  private lookup(parsed: ParsedRef): ServedModel | undefined {
    const key = parsed.version !== undefined ? keyOf(parsed.name, parsed.version) : this.routes.get(parsed.route);
    const model = key === undefined ? undefined : this.models.get(key);
    if (!model || model.state !== 'ready') return undefined;
    this.touch(key!, model);
    return model;
  }

  private touch(key: string, model: ServedModel): void {
    this.models.delete(key);
    this.models.set(key, model);
  }

  private async resolve(name: string, ref: VersionRef | undefined): Promise<ServedVersion> {
    if (ref !== undefined) return this.registry.resolve(name, ref);
    const alias = this.o.defaultAlias ?? 'production';
    try {
      return await this.registry.resolve(name, alias);
    } catch (e) {
      if (e instanceof AimassError && e.code === 'NOT_FOUND' && e.details?.alias === alias) return this.registry.resolve(name, 'latest');
      throw e;
    }
  }

  private loadVersion(record: ServedVersion): Promise<ServedModel> {
    const key = keyOf(record.model, record.version);
    const loaded = this.models.get(key);
    if (loaded && loaded.state === 'ready') {
      this.touch(key, loaded);
      return Promise.resolve(loaded);
    }
    let pending = this.loading.get(key);
    if (!pending) {
      pending = this.start(record).finally(() => this.loading.delete(key));
      this.loading.set(key, pending);
    }
    return pending;
  }

  private async start(record: ServedVersion): Promise<ServedModel> {
    const startedAt = performance.now();
    // readFile checks the sha256: corrupt bytes fail here with DATA_CORRUPT and never reach a session.
    const bytes = await this.registry.readFile(record, 'model.onnx');
    const pipeline = ServingPipeline.load(await this.pipelineJson(record), record.signature);
    const pool = await SessionPool.create(bytes, { workers: this.workers, intraOpNumThreads: this.o.intraOpNumThreads });
    try {
      // One dummy request per worker, sent together so that the least-busy dispatch gives each worker one.
      await Promise.all(Array.from({ length: this.workers }, () => pool.run(dummyFeeds(record.signature))));
    } catch (e) {
      await pool.close();
      throw e;
    }
    const b = this.o.batching ?? {};
    const batchable = record.signature.inputs.every((i) => typeof i.shape[0] !== 'number' || i.shape[0] <= 0);
    const batcher = new Batcher((feeds) => pool.run(feeds), {
      maxBatchSize: batchable ? (b.maxBatchSize ?? 16) : 1,
      maxQueueDelayUs: b.maxQueueDelayUs ?? 500,
      maxQueue: b.maxQueue ?? 1024,
      maxInFlightBatches: this.workers,
      onBatch: (samples) => this.tell((o) => o.onBatch?.(record.model, record.version, samples)),
    });
    const model = new ServedModel(record, pool, batcher, pipeline);
    this.models.set(keyOf(record.model, record.version), model);
    this.tell((o) => o.onLoad?.(record.model, record.version, (performance.now() - startedAt) / 1000));
    this.evict();
    return model;
  }

  /** The version's pipeline.json, parsed; undefined when it has none. */
  private async pipelineJson(record: ServedVersion): Promise<unknown> {
    if (!record.files.some((f) => f.path === 'pipeline.json')) return undefined;
    const text = (await this.registry.readFile(record, 'pipeline.json')).toString('utf8');
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new AimassError('INVALID_SPEC', `pipeline.json of version ${record.version} of "${record.model}" is not valid JSON (${(e as Error).message})`, { problems: ['pipeline.json: not JSON'] });
    }
  }

  private tell(event: (o: ModelCacheObserver) => void): void {
    for (const o of this.observers) {
      try {
        event(o);
      } catch {
        // an observer (metrics) must never fail serving
      }
    }
  }

  private evict(): void {
    while (this.models.size > this.maxModels) {
      const [oldest] = this.models.keys();
      void this.unloadKey(oldest);
    }
  }

  private async unloadKey(key: string): Promise<void> {
    const model = this.models.get(key);
    if (!model) return;
    this.models.delete(key);
    this.tell((o) => o.onUnload?.(model.name, model.version));
    for (const [route, target] of this.routes) if (target === key) this.routes.delete(route);
    const closing = model.close();
    this.closing.add(closing);
    try {
      await closing;
    } finally {
      this.closing.delete(closing);
    }
  }
}
