// The JetStream broker: task records stay in SQL (TaskStore: PostgreSQL in a cluster, SQLite works too), and
// a JetStream work-queue stream (file storage, one durable pull consumer shared by every worker) carries the
// task ids. SQL decides, the stream delivers:
//
//   submit     SQL insert, then publish the id (msgId = task id, so a repeated publish is stored once)
//   claim      pull up to `window` deliverable messages; SQL claims the best fitting task among them (priority,
//              then FIFO — exact within the window); every other message is settled at once:
//                finished, cancelled or unknown task   → term (it leaves the stream)
//                backoff not due / lease still held    → nak(until then)
//                its type is at its rate limit          → nak(until the bucket refills, from SQL)
//                does not fit this node, not chosen, or
//                its type is at its concurrency limit   → nak(0): another node may take it now; a claimer
//                                                         that took nothing waits pollMs before pulling again
//   heartbeat  +WPI on the message (resets the ack wait) and extend the SQL lease
//   complete   SQL (once), then ack
//   fail       SQL first; a retry naks with the backoff delay, an ended task is termed
//   leaseMs    = the consumer's ack wait, so a killed worker's message comes back when its SQL lease has run
//                out too (a redelivery that arrives a little early is nakked until the lease ends).
//
// The consumer has no max_deliver: naks for "not this node" are not attempts. Attempts, backoff and dead
// tasks are counted in SQL, which is authoritative; a duplicate message (a publish retried after the 2 min
// dedupe window) is harmless, because every claim is checked in SQL and a finished task's message is termed.
//
// Messages are pulled with raw JetStream pull requests (`$JS.API.CONSUMER.MSG.NEXT`, batch 1, `no_wait` or
// a short `expires`), so no pull is left open on the server when a worker dies or a claim ends, and a claim
// with waitMs 0 answers at once. Acks are the JetStream ack protocol on the message's reply subject.
//
// Events (watch) are this broker's own changes, like the embedded broker's; waitForTask also polls SQL.
import { EventEmitter } from 'node:events';
import type { NatsConnection, Msg } from '@nats-io/transport-node';
import { AimassError, errors } from '../core/index.js';
import { migrate, type SqlDriver } from '../storage/index.js';
import type { ClaimOptions, TaskBroker, TaskEvent } from './broker.js';
import { kindFits } from './scheduling.js';
import {
  TaskStore,
  type ClaimedTask,
  type ClaimOffer,
  type ClaimResult,
  type Lease,
  type LeaseStatus,
  type TaskCounts,
  type TaskFailure,
  type TaskFilter,
  type TaskGlance,
  type TaskStoreOptions,
  type UpdateResult,
} from './task-store.js';
import { isFinished, type TaskRecord, type TaskSpec } from './task.js';

export interface JetStreamBrokerOptions extends TaskStoreOptions {
  /** NATS servers, e.g. `nats://127.0.0.1:4222` or several; ignored when `connection` is given. */
  servers?: string | string[];
  /** An open connection to use instead (not closed by the broker). */
  connection?: NatsConnection;
  /** Work-queue stream (default AIMASS_TASKS); subject `<subjectPrefix>.queue`. */
  stream?: string;
  subjectPrefix?: string;
  /** Durable consumer shared by all workers (default `workers`). */
  consumer?: string;
  /** Stream replicas in a JetStream cluster (default 1). */
  replicas?: number;
  /** Lease of a claim = the consumer's ack wait (default 30000 ms). */
  leaseMs?: number;
  /** Messages a claim looks at to choose by priority (default 8). */
  window?: number;
  /** How long a claimer whose pulled messages did not fit waits before pulling again (default 250 ms). */
  pollMs?: number;
  /** How long submit retries a publish that timed out or found no responder (default 15000 ms). */
  publishRetryMs?: number;
  /** Close the driver with the broker (default true). */
  ownsDriver?: boolean;
}

interface Delivery {
  taskId: string;
  reply: string;
}

const nanos = (ms: number) => Math.round(ms * 1_000_000);
const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Migrates the task tables, connects, ensures the stream and consumer, and opens the broker. */
export async function openJetStreamBroker(driver: SqlDriver, options: JetStreamBrokerOptions): Promise<JetStreamBroker> {
  await migrate(driver);
  let nc = options.connection;
  const owned = nc === undefined;
  if (!nc) {
    const servers = (Array.isArray(options.servers) ? options.servers : [options.servers ?? 'nats://127.0.0.1:4222']).flatMap((s) => serverList(s));
    const { connect } = await import('@nats-io/transport-node');
    try {
      nc = await connect({ servers, name: 'aimass-dispatch', maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5000 });
    } catch (e) {
      throw new AimassError('UNAVAILABLE', `NATS ${servers.join(',')} is not reachable (${(e as Error).message}); check that nats-server -js is running`, { servers }, { cause: e });
    }
  }
  const broker = new JetStreamBroker(new TaskStore(driver, options), nc, owned, options);
  try {
    await broker.ensure();
  } catch (e) {
    await broker.close();
    throw e;
  }
  return broker;
}

/** `nats://a:4222,b:4222/x` → ['a:4222', 'b:4222']. */
function serverList(uri: string): string[] {
  const hosts = uri.replace(/^nats:\/\//i, '').replace(/[/?#].*$/, '');
  return hosts.split(',').map((h) => h.trim()).filter(Boolean);
}

export class JetStreamBroker implements TaskBroker {
  readonly transport = 'nats';
  readonly leaseMs: number;
  readonly stream: string;
  readonly consumer: string;
  private readonly subject: string;
  private readonly replicas: number;
  private readonly window: number;
  private readonly pollMs: number;
  private readonly publishRetryMs: number;
  private readonly ownsDriver: boolean;
  private readonly events = new EventEmitter();
  private readonly sleepers = new Set<() => void>();
  private closed = false;

  constructor(
    readonly store: TaskStore,
    private readonly nc: NatsConnection,
    private readonly ownsConnection: boolean,
    options: JetStreamBrokerOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.stream = options.stream ?? 'AIMASS_TASKS';
    this.consumer = options.consumer ?? 'workers';
    this.subject = `${options.subjectPrefix ?? 'aimass.tasks'}.queue`;
    this.replicas = options.replicas ?? 1;
    this.window = options.window ?? 8;
    this.pollMs = options.pollMs ?? 250;
    this.publishRetryMs = options.publishRetryMs ?? 15_000;
    this.ownsDriver = options.ownsDriver ?? true;
    this.events.setMaxListeners(0);
    for (const [what, value] of [
      ['stream', this.stream],
      ['consumer', this.consumer],
    ]) {
      if (!TOKEN.test(value)) throw errors.invalidArgument(`JetStream ${what} "${value}" must be letters, digits, "-" and "_"`);
    }
    if (!(this.leaseMs >= 100)) throw errors.invalidArgument(`leaseMs must be ≥ 100 for JetStream, got ${this.leaseMs}`);
  }

  /** Creates or updates the stream (work queue, file storage) and the consumer (ack wait = lease). */
  async ensure(): Promise<void> {
    const { jetstreamManager, RetentionPolicy, StorageType, DiscardPolicy, AckPolicy, DeliverPolicy } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(this.nc);
    const stream = {
      name: this.stream,
      subjects: [this.subject],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: this.replicas,
      discard: DiscardPolicy.New,
      duplicate_window: nanos(120_000),
    };
    try {
      await jsm.streams.add(stream).catch(async (e: Error) => {
        if (!/already in use/i.test(e.message)) throw e;
        await jsm.streams.update(stream.name, stream);
      });
      const consumer = {
        durable_name: this.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(this.leaseMs),
        max_deliver: -1,
        max_ack_pending: -1,
      };
      const existing = await jsm.consumers.info(this.stream, this.consumer).catch(() => null);
      if (!existing) await jsm.consumers.add(this.stream, consumer);
      else if (existing.config.ack_wait !== consumer.ack_wait) await jsm.consumers.update(this.stream, this.consumer, consumer);
    } catch (e) {
      throw new AimassError('UNAVAILABLE', `setting up JetStream stream ${this.stream} failed: ${(e as Error).message}; start nats-server with JetStream (-js)`, {
        stream: this.stream,
      }, { cause: e });
    }
  }

  async submit(spec: TaskSpec): Promise<{ task: TaskRecord; created: boolean }> {
    const out = await this.store.submit(spec);
    // Also when not created: the first submitter may have died between insert and publish; msgId dedupes.
    if (out.task.state === 'queued') await this.publish(out.task.id);
    if (out.created) {
      this.emit('submitted', out.task);
      this.wake();
    }
    return out;
  }

  /**
   * Publishes a queued task's id (again, after a lost publish: the server stores it once within 2 min). A
   * timeout or a missing responder (a server restarting, a stream leader being elected) is retried with the
   * same msgId for up to `publishRetryMs`.
   */
  async publish(taskId: string): Promise<void> {
    const { jetstream } = await import('@nats-io/jetstream');
    const js = jetstream(this.nc, { timeout: 2000 });
    const until = Date.now() + this.publishRetryMs;
    for (;;) {
      try {
        await js.publish(this.subject, taskId, { msgID: taskId });
        return;
      } catch (e) {
        if (Date.now() < until && !this.closed) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        throw new AimassError(
          'UNAVAILABLE',
          `queueing task ${taskId} on JetStream failed (${(e as Error).message}); it is recorded as queued: resubmit it with the same idempotency key to publish it again`,
          { taskId, retryable: true },
          { cause: e },
        );
      }
    }
  }

  async claim(offer: ClaimOffer & { load?: number }, options: ClaimOptions = {}): Promise<ClaimedTask | undefined> {
    const until = Date.now() + (options.waitMs ?? 0);
    for (;;) {
      if (this.closed || options.signal?.aborted) return undefined;
      const deliveries = await this.pull(until - Date.now(), options.signal);
      if (deliveries.length === 0) {
        if (Date.now() >= until) return undefined;
        continue;
      }
      const ids = [...new Set(deliveries.map((d) => d.taskId))];
      let result: ClaimResult;
      try {
        result = await this.store.claim(offer, this.leaseMs, ids);
      } catch (e) {
        for (const d of deliveries) this.nak(d, 0);
        throw e;
      }
      this.report(result);
      const chosen = result.claimed?.task.id;
      const glances = await this.store.glance(ids.filter((id) => id !== chosen));
      let token: Delivery | undefined;
      const now = this.store.now();
      const settled: Promise<void>[] = [];
      for (const d of deliveries) {
        if (d.taskId === chosen && !token) token = d;
        else settled.push(this.settle(d, d.taskId === chosen ? undefined : glances.get(d.taskId), offer, result, now));
      }
      // Confirmed by the server before answering, so the next pull (by anyone) already sees them again.
      await Promise.all(settled);
      if (result.claimed) return { task: result.claimed.task, lease: { ...result.claimed.lease, token } };
      const remaining = until - Date.now();
      if (remaining <= 0) return undefined;
      // What we saw does not fit here; give other nodes a moment to take it before pulling again.
      await this.sleep(Math.min(remaining, this.pollMs), options.signal);
    }
  }

  /** Settles a message that this claim did not take; resolves when the server confirmed it. */
  private settle(d: Delivery, task: TaskGlance | undefined, offer: ClaimOffer, result: ClaimResult, now: number): Promise<void> {
    // No record: a duplicate of the chosen task's message (a republish), or a task that no longer exists.
    if (!task || isFinished(task.state)) return this.confirm(d, '+TERM');
    if (task.state === 'running') return this.confirm(d, nakVerb(Math.max(0, (task.leaseExpiresMs ?? now) - now) + 10));
    if (task.notBeforeMs > now) return this.confirm(d, nakVerb(task.notBeforeMs - now));
    // A rate limit frees at a known time, for every node: hide the message until then. A concurrency slot frees
    // when some task ends, at no known time: give it back at once (this claimer then waits pollMs).
    const limits = this.store.limitsOf(task.type);
    if (!result.claimed && fitsOffer(task, offer) && limits?.ratePerSecond !== undefined && limits.concurrency === undefined && result.retryAt !== undefined) {
      return this.confirm(d, nakVerb(Math.max(0, result.retryAt - now)));
    }
    return this.confirm(d, '-NAK');
  }

  /** An ack of any kind, sent as a request: the server answers once it has applied it. */
  private async confirm(d: Delivery, verb: string): Promise<void> {
    try {
      await this.nc.request(d.reply, verb, { timeout: 2000 });
    } catch {
      // Unconfirmed: at worst the message waits out its ack wait and comes back; SQL decides again then.
    }
  }

  async heartbeat(lease: Lease): Promise<LeaseStatus> {
    const status = (await this.store.heartbeat(lease, this.leaseMs)).status;
    const d = lease.token as Delivery | undefined;
    if (d) {
      if (status === 'held') this.ack(d, '+WPI');
      else if (status === 'cancelled') this.ack(d, '+TERM');
    }
    return status;
  }

  async complete(lease: Lease, result: unknown): Promise<UpdateResult> {
    const out = await this.store.complete(lease, result);
    const d = lease.token as Delivery | undefined;
    if (d && isFinished(out.task.state)) this.ack(d, '+ACK');
    if (out.recorded) {
      this.emit('succeeded', out.task);
      this.wake();
    }
    return out;
  }

  async fail(lease: Lease, failure: TaskFailure): Promise<UpdateResult> {
    const out = await this.store.fail(lease, failure);
    const d = lease.token as Delivery | undefined;
    if (d) {
      if (isFinished(out.task.state)) this.ack(d, '+TERM');
      else if (out.recorded && out.retryAt !== undefined) this.nak(d, Math.max(0, out.retryAt - this.store.now()));
      // Not recorded and not finished: another attempt holds the task now; its delivery is the live one.
    }
    if (out.recorded) {
      this.emit(out.task.state === 'queued' ? 'retrying' : out.task.state === 'dead' ? 'dead' : 'failed', out.task, lease.attempt);
      this.wake();
    }
    return out;
  }

  async cancel(taskId: string, reason?: string): Promise<UpdateResult> {
    // The message stays until a claimer pulls it and sees the task cancelled (then it is termed).
    const out = await this.store.cancel(taskId, reason);
    if (out.recorded) this.emit('cancelled', out.task);
    return out;
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    return this.store.get(taskId);
  }

  list(filter?: TaskFilter): Promise<TaskRecord[]> {
    return this.store.list(filter);
  }

  counts(): Promise<TaskCounts> {
    return this.store.counts();
  }

  /** Messages in the stream: queued or held by a worker, not yet acked or termed. */
  async depth(): Promise<number> {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    return (await (await jetstreamManager(this.nc)).streams.info(this.stream)).state.messages;
  }

  watch(listener: (event: TaskEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    if (this.ownsConnection) {
      // Acks and naks are fire-and-forget publishes; flush them before closing.
      await this.nc.flush().catch(() => undefined);
      await this.nc.close().catch(() => undefined);
    }
    if (this.ownsDriver) await this.store.db.close();
  }

  // --- the JetStream pull and ack protocol --------------------------------------------------------------------

  /** One message (waiting up to `waitMs`), then up to window - 1 more that are deliverable now. */
  private async pull(waitMs: number, signal: AbortSignal | undefined): Promise<Delivery[]> {
    const first = await this.next(Math.max(0, waitMs), signal);
    if (!first) return [];
    const out = [first];
    while (out.length < this.window) {
      const more = await this.next(0, undefined);
      if (!more) break;
      out.push(more);
    }
    return out;
  }

  /**
   * One pull request, batch 1: `no_wait` when waitMs is 0, else `expires` (cut to 5 s; the caller loops). An
   * aborted wait resolves at once but keeps listening until the server closes the request, so a message sent
   * to it meanwhile is given back (nak) instead of waiting out a lease in a dead inbox.
   */
  private async next(waitMs: number, signal: AbortSignal | undefined): Promise<Delivery | undefined> {
    if (this.closed || signal?.aborted) return undefined;
    const expires = Math.min(waitMs, 5000);
    const request = expires < 10 ? { batch: 1, no_wait: true } : { batch: 1, expires: nanos(expires) };
    const inbox = createInbox();
    return new Promise<Delivery | undefined>((resolve, reject) => {
      let answered = false;
      const answer = (value: Delivery | undefined, error?: Error) => {
        if (answered) return;
        answered = true;
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(value);
      };
      const close = () => {
        clearTimeout(timer);
        sub.unsubscribe();
      };
      const onAbort = () => answer(undefined);
      const sub = this.nc.subscribe(inbox, {
        max: 1,
        callback: (err, msg: Msg) => {
          close();
          if (err) return answer(undefined, err);
          if (msg.reply && msg.reply.startsWith('$JS.ACK.')) {
            const delivery = { taskId: msg.string(), reply: msg.reply };
            if (answered || this.closed) this.nak(delivery, 0);
            else answer(delivery);
            return;
          }
          // A status: 404 no messages, 408 request expired, 409 (consumer deleted, leadership change…).
          answer(undefined);
        },
      });
      const timer = setTimeout(() => {
        sub.unsubscribe();
        answer(undefined);
      }, expires + 2000);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.consumer}`, JSON.stringify(request), { reply: inbox });
      } catch (e) {
        close();
        answer(undefined, e as Error);
      }
    });
  }

  private ack(d: Delivery, verb: '+ACK' | '+TERM' | '+WPI'): void {
    try {
      this.nc.publish(d.reply, verb);
    } catch {
      // A closed or reconnecting connection: the ack wait runs out and the message comes back; SQL decides again.
    }
  }

  private nak(d: Delivery, delayMs: number): void {
    try {
      this.nc.publish(d.reply, nakVerb(delayMs));
    } catch {
      // as in ack()
    }
  }

  // --- events and local wake-ups ----------------------------------------------------------------------------

  private report(result: ClaimResult): void {
    for (const task of result.requeued) this.emit('requeued', task);
    for (const task of result.ended) this.emit(task.state === 'dead' ? 'dead' : 'failed', task);
    if (result.claimed) this.emit('claimed', result.claimed.task);
  }

  private emit(kind: TaskEvent['kind'], task: TaskRecord, attempt = task.attempts): void {
    const event: TaskEvent = { kind, taskId: task.id, type: task.type, state: task.state, attempt };
    if (task.node) event.node = task.node;
    this.events.emit('event', event);
  }

  private wake(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || this.closed) return resolve();
      const wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal?.addEventListener('abort', wake, { once: true });
      this.sleepers.add(wake);
    });
  }
}

function nakVerb(delayMs: number): string {
  return delayMs > 0 ? `-NAK ${JSON.stringify({ delay: nanos(Math.ceil(delayMs)) })}` : '-NAK';
}

/** Whether the task fits what the claimer offered (the SQL claim checks the same). */
function fitsOffer(task: TaskGlance, offer: ClaimOffer): boolean {
  const r = task.resources;
  return (
    kindFits(r.kind, offer.kinds) &&
    r.cpu <= offer.cpu &&
    r.memoryMb <= offer.memoryMb &&
    Object.entries(r.labels).every(([k, v]) => offer.labels?.[k] === v) &&
    (!offer.types || offer.types.includes(task.type))
  );
}

let inboxes = 0;
const inboxRoot = `_INBOX.aimass_${Math.random().toString(36).slice(2, 10)}`;
function createInbox(): string {
  return `${inboxRoot}.${++inboxes}`;
}
