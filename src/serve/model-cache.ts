// The models a server holds: loaded from the registry by `name`, `name:version` or `name@alias` (a bare name
// means the production alias if set, else the latest version), from verified bytes only, warmed up before they
// count as ready, kept in an LRU within a budget, and swapped to a new version without failing requests: new
// requests switch at once, the old version drains, then closes. Each loaded version is a SessionPool behind a
// Batcher.
import { AimassError } from '../core/index.js';
import type { Registry, VersionRef } from '../registry/index.js';
import { Batcher, type BatcherOptions, type SubmitOptions } from './batcher.js';
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
}

/** One loaded model version: a pool of sessions behind a dynamic batcher. */
export class ServedModel {
  private currentState: ModelState = 'ready';
  private closing?: Promise<void>;

  constructor(
    readonly record: ServedVersion,
    private readonly pool: SessionPool,
    private readonly batcher: Batcher,
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

  infer(feeds: HostTensors, o?: SubmitOptions): Promise<HostTensors> {
    if (this.currentState !== 'ready') return Promise.reject(new AimassError('UNAVAILABLE', `version ${this.version} of "${this.name}" is being unloaded; retry the request`));
    return this.batcher.submit(feeds, o);
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

export class ModelCache {
  /** Ready models by name:version, least recently used first. */
  private readonly models = new Map<string, ServedModel>();
  private readonly loading = new Map<string, Promise<ServedModel>>();
  /** Non-exact references (name, name@alias, name:latest) → the name:version they resolved to. */
  private readonly routes = new Map<string, string>();
  private readonly closing = new Set<Promise<void>>();
  private readonly maxModels: number;
  private readonly workers: number;

  constructor(
    private readonly registry: Registry,
    private readonly o: ModelCacheOptions = {},
  ) {
    this.maxModels = o.maxModels ?? 4;
    this.workers = o.workers ?? 1;
    if (!Number.isInteger(this.maxModels) || this.maxModels < 1) throw new AimassError('INVALID_ARGUMENT', `maxModels must be a whole number ≥ 1, got ${this.maxModels}`);
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

  /** Loaded versions, least recently used first. */
  list(): { name: string; version: number; state: ModelState }[] {
    return [...this.models.values()].map((m) => ({ name: m.name, version: m.version, state: m.state }));
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
    // readFile checks the sha256: corrupt bytes fail here with DATA_CORRUPT and never reach a session.
    const bytes = await this.registry.readFile(record, 'model.onnx');
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
    });
    const model = new ServedModel(record, pool, batcher);
    this.models.set(keyOf(record.model, record.version), model);
    this.evict();
    return model;
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
