// The embedded broker: a TaskStore (SQLite by default; any SqlDriver works) plus in-process wake-ups. An idle
// claimer sleeps until something it might take appears (a submit, a retry coming due, a lease running out, a
// rate bucket refilling, a slot freeing), never polling the database in a tight loop. Claimers in other
// processes sharing the SQLite file cannot wake it, so it also looks every `pollMs` (default 1 s).
//
// When several claimers wait in this process, the least loaded looks first: that is "among fitting nodes,
// the least loaded" for in-process workers.
import { migrate, type SqlDriver } from '../storage/index.js';
import type { ClaimOptions, TaskBroker } from './broker.js';
import { StoreBackedBroker } from './store-broker.js';
import {
  TaskStore,
  type ClaimBatch,
  type ClaimedTask,
  type ClaimOffer,
  type Lease,
  type LeaseStatus,
  type TaskFailure,
  type TaskStoreOptions,
  type UpdateResult,
} from './task-store.js';
import type { TaskRecord, TaskSpec } from './task.js';

export interface EmbeddedBrokerOptions extends TaskStoreOptions {
  /** Lease length for claims and heartbeats (default 30000 ms). */
  leaseMs?: number;
  /** Fallback look at the database while waiting, for changes made by other processes (default 1000 ms). */
  pollMs?: number;
  /** Close the driver with the broker (default true). */
  ownsDriver?: boolean;
}

interface Waiter {
  load: number;
  wake(): void;
}

/** Migrates the database (tasks are schema version 2) and opens the broker over it. */
export async function openEmbeddedBroker(driver: SqlDriver, options: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  await migrate(driver);
  return new EmbeddedBroker(new TaskStore(driver, options), options);
}

export class EmbeddedBroker extends StoreBackedBroker implements TaskBroker {
  readonly transport = 'embedded';
  readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly ownsDriver: boolean;
  private readonly waiters = new Set<Waiter>();
  private closed = false;
  /** Counts wake-ups, so a claim can tell that something changed while its query was running. */
  private generation = 0;

  constructor(
    store: TaskStore,
    options: EmbeddedBrokerOptions = {},
  ) {
    super(store);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 1000;
    this.ownsDriver = options.ownsDriver ?? true;
  }

  async submit(spec: TaskSpec): Promise<{ task: TaskRecord; created: boolean }> {
    const out = await this.store.submit(spec);
    if (out.created) {
      this.emit('submitted', out.task);
      this.wakeWaiters();
    }
    return out;
  }

  async submitMany(specs: readonly TaskSpec[]): Promise<{ task: TaskRecord; created: boolean }[]> {
    const out = await this.store.submitMany(specs);
    for (const o of out) if (o.created) this.emit('submitted', o.task);
    if (out.some((o) => o.created)) this.wakeWaiters();
    return out;
  }

  async claim(offer: ClaimOffer & { load?: number }, options: ClaimOptions = {}): Promise<ClaimedTask | undefined> {
    return (await this.claimMany(offer, 1, options))[0];
  }

  async claimMany(offer: ClaimOffer & { load?: number }, max: number, options: ClaimOptions = {}): Promise<ClaimedTask[]> {
    const until = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      if (this.closed) return [];
      const seen = this.generation;
      const result = await this.store.claimMany(offer, this.leaseMs, { max });
      this.report(result);
      if (result.claimed.length > 0) return result.claimed;
      const remaining = until - Date.now();
      // An aborted signal stops the waiting only: what was there was claimed above.
      if (remaining <= 0 || options.signal?.aborted) return [];
      if (this.generation !== seen) continue;
      const dueIn = result.retryAt === undefined ? Infinity : Math.max(0, result.retryAt - this.store.now());
      await this.sleep(offer.load ?? 0, Math.min(remaining, dueIn, this.pollMs), options.signal);
    }
  }

  heartbeat(lease: Lease): Promise<LeaseStatus> {
    return this.store.heartbeat(lease, this.leaseMs).then((r) => r.status);
  }

  async complete(lease: Lease, result: unknown): Promise<UpdateResult> {
    const out = await this.store.complete(lease, result);
    if (out.recorded) {
      this.emit('succeeded', out.task);
      this.wakeWaiters();
    }
    return out;
  }

  async fail(lease: Lease, failure: TaskFailure): Promise<UpdateResult> {
    const out = await this.store.fail(lease, failure);
    if (out.recorded) {
      this.emitFailure(out.task, lease.attempt);
      this.wakeWaiters();
    }
    return out;
  }

  async cancel(taskId: string, reason?: string): Promise<UpdateResult> {
    const out = await this.store.cancel(taskId, reason);
    if (out.recorded) {
      this.emit('cancelled', out.task);
      this.wakeWaiters();
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wakeWaiters();
    if (this.ownsDriver) await this.store.db.close();
  }

  private report(result: ClaimBatch): void {
    this.emitClaimBatch(result);
    if (result.requeued.length > 0) this.wakeWaiters();
  }

  /** Least loaded first: their claims reach the store first. */
  private wakeWaiters(): void {
    this.generation++;
    const waiting = [...this.waiters].sort((a, b) => a.load - b.load);
    this.waiters.clear();
    for (const w of waiting) w.wake();
  }

  private sleep(load: number, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || this.closed) return resolve();
      const waiter: Waiter = {
        load,
        wake: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', waiter.wake);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, ms);
      signal?.addEventListener('abort', waiter.wake, { once: true });
      this.waiters.add(waiter);
    });
  }
}
