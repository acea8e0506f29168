// The JetStream broker: task records stay in SQL (TaskStore: PostgreSQL in a cluster, SQLite works too), and
// a JetStream work-queue stream (file storage, one durable pull consumer shared by every worker) carries the
// task ids. SQL decides, the stream delivers:
//
//   submit     SQL insert (submits that arrive together share one write), then publish the ids, all at once,
//              each on its own subject <prefix>.queue.<task id> (msgId = task id, so a repeated publish is
//              stored once)
//   republish  every `republishMs`, queued tasks unchanged for longer than a publish retries, whose subject
//              has no message in the stream, are published again: a publish that failed for good, or a
//              submitter that died between its insert and its publish, loses no task
//   claim      pulls up to `window` messages (or `max`, if more; a worker's loop in two pull requests, a lone
//              claim one message per request), plus those this broker still holds from its last claim; SQL
//              claims up to `max` of them, best first (priority, then FIFO — exact within the window), in one
//              statement on PostgreSQL. What is left over:
//                the claim took all it asked for, and its  → held here for that claim, at most `holdMs`,
//                caller claims again right after (a worker)  then given back (nak): no round trip per message
//                finished, cancelled or unknown task       → term (it leaves the stream)
//                backoff not due / lease still held        → nak(until then)
//                its type is at its rate limit             → nak(until the bucket refills, from SQL)
//                does not fit this node, or its type is at
//                its concurrency limit                     → nak(0): another node may take it now; a claimer
//                                                            that took nothing waits pollMs before pulling again
//   heartbeat  +WPI on the message (resets the ack wait) and extend the SQL lease
//   complete   SQL (once; completions that arrive together share one transaction), then ack
//   fail       SQL first; a retry naks with the backoff delay, an ended task is termed
//   leaseMs    = the consumer's ack wait, so a killed worker's message comes back when its SQL lease has run
//                out too (a redelivery that arrives a little early is nakked until the lease ends).
//
// The consumer has no max_deliver: naks for "not this node" are not attempts. Attempts, backoff and dead
// tasks are counted in SQL, which is authoritative; a duplicate message (a publish retried after the 2 min
// dedupe window) is harmless, because every claim is checked in SQL and a finished task's message is termed.
//
// Messages are pulled with raw JetStream pull requests (`$JS.API.CONSUMER.MSG.NEXT`, `no_wait`, plus a short
// `expires` when the claim may wait: the server then answers as soon as one message is there, with whatever
// else is ready), so no pull is left open on the server when a worker dies or a claim ends, and a claim with
// waitMs 0 answers at once. One exception: a `no_wait` pull that the server let in because messages were there,
// but whose messages went to pulls queued before it, is not answered at all (nats-server 2.9 ends only pulls
// that expire or got part of their batch); it stays open until the next message, which the server then sends
// to it. Its claim goes on without it after NO_WAIT_ANSWER_MS, but its inbox is kept until the server closes
// the pull, and what comes is held for the next claim: an inbox dropped earlier would swallow that message (a
// task handed back a moment before, say) until its ack wait ran out. Acks are the JetStream ack protocol on the
// message's reply subject; hand-backs the next pull must see are confirmed by the server (sent as requests)
// before that pull goes out.
//
// Events (watch) are this broker's own changes, like the embedded broker's; waitForTask also polls SQL.
import type { NatsConnection, Msg, MsgHdrs, Subscription } from '@nats-io/transport-node';
import { AimassError, errors } from '../core/index.js';
import { migrate, type SqlDriver } from '../storage/index.js';
import type { ClaimOptions, TaskBroker } from './broker.js';
import { StoreBackedBroker } from './store-broker.js';
import { kindFits } from './scheduling.js';
import {
  TaskStore,
  type ClaimBatch,
  type ClaimedTask,
  type ClaimOffer,
  type Lease,
  type LeaseStatus,
  type TaskFailure,
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
  /** How long messages pulled but not taken stay with this broker for its next claim (default 100 ms). */
  holdMs?: number;
  /** How long a claimer whose pulled messages did not fit waits before pulling again (default 250 ms). */
  pollMs?: number;
  /** How long submit retries a publish that timed out or found no responder (default 15000 ms). */
  publishRetryMs?: number;
  /** How often queued tasks without a message in the stream are published again (default 30000 ms; 0: never). */
  republishMs?: number;
  /** Close the driver with the broker (default true). */
  ownsDriver?: boolean;
}

interface Delivery {
  taskId: string;
  reply: string;
  /** When it was pulled (epoch ms): how long it has been held. */
  pulledAt: number;
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

export class JetStreamBroker extends StoreBackedBroker implements TaskBroker {
  readonly transport = 'nats';
  readonly leaseMs: number;
  readonly stream: string;
  readonly consumer: string;
  private readonly subject: string;
  private readonly replicas: number;
  private readonly window: number;
  private readonly holdMs: number;
  private readonly pollMs: number;
  private readonly publishRetryMs: number;
  private readonly republishTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  private readonly ownsDriver: boolean;
  private readonly sleepers = new Set<() => void>();
  /** Pulled, not taken, not given back yet: the next claim looks at these first. */
  private held: Delivery[] = [];
  /** Pulls waiting for a message: a message held meanwhile (sent to an earlier pull) ends their wait. */
  private readonly waiting = new Set<() => void>();
  /** Inboxes of no-wait pulls the server has not closed yet (see the header): what they get is held. */
  private readonly lingering = new Set<Subscription>();
  private holdTimer: NodeJS.Timeout | undefined;
  /** Hand-backs sent as requests and not yet confirmed: the next pull waits for them. */
  private readonly handing = new Set<Promise<void>>();
  /** Publishes waiting for the stream's acknowledgement, by reply subject. */
  private readonly stored = new Map<string, (error?: Error) => void>();
  private readonly storedPrefix = `${inboxRoot}.p${++brokers}`;
  private published = 0;
  private storedSub: Subscription | undefined;
  private newHeaders: (() => MsgHdrs) | undefined;
  private closed = false;

  constructor(
    store: TaskStore,
    private readonly nc: NatsConnection,
    private readonly ownsConnection: boolean,
    options: JetStreamBrokerOptions = {},
  ) {
    super(store);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.stream = options.stream ?? 'AIMASS_TASKS';
    this.consumer = options.consumer ?? 'workers';
    this.subject = `${options.subjectPrefix ?? 'aimass.tasks'}.queue`;
    this.replicas = options.replicas ?? 1;
    this.window = options.window ?? 8;
    this.holdMs = options.holdMs ?? 100;
    this.pollMs = options.pollMs ?? 250;
    this.publishRetryMs = options.publishRetryMs ?? 15_000;
    const republishMs = options.republishMs ?? 30_000;
    if (republishMs > 0) this.republishTimer = setInterval(() => void this.republish().catch(() => undefined), republishMs).unref();
    this.ownsDriver = options.ownsDriver ?? true;
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
    this.newHeaders = (await import('@nats-io/transport-node')).headers;
    this.storedSub ??= this.nc.subscribe(`${this.storedPrefix}.*`, { callback: (_err, msg) => this.onStored(msg) });
    const jsm = await jetstreamManager(this.nc);
    const stream = {
      name: this.stream,
      // <prefix>.queue itself: messages of streams made before each task had its own subject.
      subjects: [this.subject, `${this.subject}.*`],
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
    return (await this.submitMany([spec]))[0];
  }

  async submitMany(specs: readonly TaskSpec[]): Promise<{ task: TaskRecord; created: boolean }[]> {
    const out = await this.store.submitMany(specs);
    // Also when not created: the first submitter may have died between insert and publish; msgId dedupes.
    await Promise.all([...new Set(out.filter((o) => o.task.state === 'queued').map((o) => o.task.id))].map((id) => this.publish(id)));
    for (const o of out) if (o.created) this.emit('submitted', o.task);
    if (out.some((o) => o.created)) this.wake();
    return out;
  }

  /**
   * Publishes a queued task's id (again, after a lost publish: the server stores it once within 2 min). A
   * timeout or a missing responder (a server restarting, a stream leader being elected) is retried with the
   * same msgId for up to `publishRetryMs`.
   */
  async publish(taskId: string): Promise<void> {
    const until = Date.now() + this.publishRetryMs;
    for (;;) {
      try {
        await this.publishOnce(taskId);
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

  /**
   * One publish, answered when the stream stored it (or already had it: a duplicate within the dedupe window).
   * The JetStream publish protocol by hand — a plain publish with a Nats-Msg-Id header and a reply subject that
   * one subscription serves for all — as it costs a fraction of a request each when thousands go out together.
   */
  private publishOnce(taskId: string): Promise<void> {
    const reply = `${this.storedPrefix}.${++this.published}`;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error('the stream did not confirm it within 2000 ms')), 2000);
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.stored.delete(reply);
        if (error) reject(error);
        else resolve();
      };
      this.stored.set(reply, done);
      try {
        const h = this.newHeaders!();
        h.set('Nats-Msg-Id', taskId);
        this.nc.publish(`${this.subject}.${taskId}`, taskId, { reply, headers: h });
      } catch (e) {
        done(e as Error);
      }
    });
  }

  /** The stream's answer to a publish: `{stream, seq}`, `{error}`, or a 503 status when no stream listens. */
  private onStored(msg: Msg): void {
    const done = this.stored.get(msg.subject);
    if (!done) return;
    if (msg.headers?.code === 503) return done(new Error('no responders: the stream is not available (a server restarting, a leader being elected)'));
    try {
      const ack = JSON.parse(msg.string()) as { error?: { description?: string } };
      done(ack.error ? new Error(ack.error.description ?? 'the stream refused it') : undefined);
    } catch (e) {
      done(e as Error);
    }
  }

  /**
   * Publishes again the queued tasks that have no message in the stream and have not changed for
   * `publishRetryMs` (so none whose first publish may still be under way); answers how many. The periodic sweep
   * calls it; a duplicate of a message that is there after all is harmless (see above).
   */
  republish(): Promise<number> {
    this.sweeping ??= (async () => {
      try {
        const stale = await this.store.queuedSince(this.store.now() - this.publishRetryMs, REPUBLISH_BATCH);
        if (stale.length === 0 || this.closed) return 0;
        const { jetstreamManager } = await import('@nats-io/jetstream');
        const info = await (await jetstreamManager(this.nc)).streams.info(this.stream, { subjects_filter: `${this.subject}.*` });
        const inStream = new Set(Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(this.subject.length + 1)));
        const lost = stale.filter((id) => !inStream.has(id));
        await Promise.all(lost.map((id) => this.publish(id)));
        return lost.length;
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }

  async claim(offer: ClaimOffer & { load?: number }, options: ClaimOptions = {}): Promise<ClaimedTask | undefined> {
    return (await this.claimMany(offer, 1, options))[0];
  }

  async claimMany(offer: ClaimOffer & { load?: number }, max: number, options: ClaimOptions = {}): Promise<ClaimedTask[]> {
    if (!(Number.isInteger(max) && max >= 1)) throw errors.invalidArgument(`max must be a whole number ≥ 1, got ${max}`);
    let until = Date.now() + (options.waitMs ?? 0);
    let recheck = (options.waitMs ?? 0) <= 0;
    for (;;) {
      if (this.closed) return [];
      // An aborted signal stops the waiting only: what is there now is still claimed.
      const waitMs = options.signal?.aborted ? 0 : until - Date.now();
      const held = this.held.splice(0);
      const room = Math.max(this.window, max) - held.length;
      let pulled: Delivery[] = [];
      if (held.length > 0) pulled = room > 0 ? await this.pull(room, 0, options.signal) : [];
      else {
        // One first, then the rest of the window: claimers pulling at the same moment each get some, rather
        // than the first taking all there is and the others none. A lone claim (not a worker's loop, which
        // keeps what it does not take) pulls the rest one by one, so that claimers side by side share finely.
        pulled = await this.pull(1, waitMs, options.signal);
        if (options.again) {
          if (pulled.length > 0 && room > 1) pulled.push(...(await this.pull(room - 1, 0, undefined)));
        } else {
          while (pulled.length > 0 && pulled.length < room) {
            const more = await this.pull(1, 0, undefined);
            if (more.length === 0) break;
            pulled.push(...more);
          }
        }
      }
      const deliveries = [...held, ...pulled];
      if (deliveries.length === 0) {
        // A pull of ours left open on the server may have been sent a message meanwhile (one handed back a
        // moment ago, say): the server sent it before the answer to this pull, so it is held here by now.
        if (this.held.length > 0) continue;
        if (options.signal?.aborted) return [];
        if (Date.now() < until) continue;
        // "No messages" can be wrong for a moment: right after the stream stored a message (its consumer is
        // told a little later), or while a message handed back goes to another pull. When SQL has a task due,
        // a claim that answers at once looks again, waiting RECHECK_MS at most.
        if (recheck && (await this.store.anyDue())) {
          recheck = false;
          until = Date.now() + RECHECK_MS;
          continue;
        }
        return [];
      }
      const ids = [...new Set(deliveries.map((d) => d.taskId))];
      let result: ClaimBatch;
      try {
        result = await this.store.claimMany(offer, this.leaseMs, { max, only: ids });
      } catch (e) {
        for (const d of deliveries) this.nak(d, 0);
        throw e;
      }
      this.emitClaimBatch(result);
      const taken = new Map(result.claimed.map((c) => [c.task.id, c]));
      const tokens = new Map<string, Delivery>();
      const rest: Delivery[] = [];
      for (const d of deliveries) {
        if (taken.has(d.taskId) && !tokens.has(d.taskId)) tokens.set(d.taskId, d);
        else rest.push(d);
      }
      // In the order SQL chose them: best first.
      const out = result.claimed.map((c): ClaimedTask => ({ task: c.task, lease: { ...c.lease, token: tokens.get(c.task.id) } }));
      if (result.claimed.length >= max && options.again) {
        // It took all it asked for, and claims again soon: the rest may well be claimable then; keep them.
        for (const d of rest) {
          if (taken.has(d.taskId)) this.ack(d, '+TERM');
          else this.hold(d);
        }
      } else {
        const glances = await this.store.glance([...new Set(rest.filter((d) => !taken.has(d.taskId)).map((d) => d.taskId))]);
        const now = this.store.now();
        for (const d of rest) this.handBack(d, taken.has(d.taskId) ? '+TERM' : this.settle(glances.get(d.taskId), offer, result, now));
        // Confirmed by the server before answering, so the next pull (by anyone) already sees them again.
        await Promise.all(this.handing);
      }
      if (out.length > 0) return out;
      const remaining = until - Date.now();
      if (remaining <= 0 || options.signal?.aborted) return [];
      // What we saw does not fit here; give other nodes a moment to take it before pulling again.
      await this.sleep(Math.min(remaining, this.pollMs), options.signal);
    }
  }

  /** How to give back a message that this claim did not take. */
  private settle(task: TaskGlance | undefined, offer: ClaimOffer, result: ClaimBatch, now: number): string {
    // No record: a duplicate of a chosen task's message (a republish), or a task that no longer exists.
    if (!task || isFinished(task.state)) return '+TERM';
    if (task.state === 'running') return nakVerb(Math.max(0, (task.leaseExpiresMs ?? now) - now) + 10);
    if (task.notBeforeMs > now) return nakVerb(task.notBeforeMs - now);
    // A rate limit frees at a known time, for every node: hide the message until then. A concurrency slot frees
    // when some task ends, at no known time: give it back at once (this claimer then waits pollMs).
    const limits = this.store.limitsOf(task.type);
    if (result.claimed.length === 0 && fitsOffer(task, offer) && limits?.ratePerSecond !== undefined && limits.concurrency === undefined && result.retryAt !== undefined) {
      return nakVerb(Math.max(0, result.retryAt - now));
    }
    return '-NAK';
  }

  /** Keeps a message for the next claim; gives it back once it has been here `holdMs`. */
  private hold(d: Delivery): void {
    if (this.closed) return this.nak(d, 0);
    this.held.push(d);
    for (const stopWaiting of [...this.waiting]) stopWaiting();
    this.holdTimer ??= setTimeout(() => this.expireHeld(), this.holdMs).unref();
  }

  private expireHeld(): void {
    this.holdTimer = undefined;
    const now = Date.now();
    const keep: Delivery[] = [];
    for (const d of this.held) {
      if (now - d.pulledAt >= this.holdMs) this.handBack(d, '-NAK');
      else keep.push(d);
    }
    this.held = keep;
    if (keep.length > 0) this.holdTimer = setTimeout(() => this.expireHeld(), Math.max(1, keep[0].pulledAt + this.holdMs - now)).unref();
  }

  /** An ack of any kind, sent as a request: tracked until the server has applied it. */
  private handBack(d: Delivery, verb: string): void {
    let confirmed: Promise<void>;
    try {
      confirmed = this.nc.request(d.reply, verb, { timeout: 2000 }).then(
        () => undefined,
        // Unconfirmed: at worst the message waits out its ack wait and comes back; SQL decides again then.
        () => undefined,
      );
    } catch {
      return; // a closed connection: as above
    }
    this.handing.add(confirmed);
    void confirmed.then(() => this.handing.delete(confirmed));
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
      this.emitFailure(out.task, lease.attempt);
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

  /** Messages in the stream: queued or held by a worker, not yet acked or termed. */
  async depth(): Promise<number> {
    const { jetstreamManager } = await import('@nats-io/jetstream');
    return (await (await jetstreamManager(this.nc)).streams.info(this.stream)).state.messages;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    clearTimeout(this.holdTimer);
    clearInterval(this.republishTimer);
    await this.sweeping?.catch(() => undefined);
    this.storedSub?.unsubscribe();
    for (const sub of this.lingering) sub.unsubscribe();
    this.lingering.clear();
    for (const d of this.held.splice(0)) this.nak(d, 0);
    await Promise.all(this.handing);
    if (this.ownsConnection) {
      // Acks and naks are fire-and-forget publishes; flush them before closing.
      await this.nc.flush().catch(() => undefined);
      await this.nc.close().catch(() => undefined);
    }
    if (this.ownsDriver) await this.store.db.close();
  }

  // --- the JetStream pull and ack protocol --------------------------------------------------------------------

  /**
   * One pull request for up to `n` messages: `no_wait` (what is there now) when waitMs is 0, else also `expires`
   * (cut to 5 s; the caller loops), which answers as soon as one message is there. An aborted wait, or a no-wait
   * pull the server has not answered within NO_WAIT_ANSWER_MS, resolves but keeps listening until the server
   * closes the request, so a message sent to it meanwhile is held for the next claim instead of waiting out a
   * lease in a dead inbox.
   */
  private async pull(n: number, waitMs: number, signal: AbortSignal | undefined): Promise<Delivery[]> {
    if (this.handing.size > 0) await Promise.all(this.handing);
    if (this.closed) return [];
    const expires = signal?.aborted ? 0 : Math.min(Math.max(0, waitMs), 5000);
    const waiting = expires >= 10;
    const request = waiting ? { batch: n, no_wait: true, expires: nanos(expires) } : { batch: n, no_wait: true };
    const inbox = createInbox();
    return new Promise<Delivery[]>((resolve, reject) => {
      const got: Delivery[] = [];
      let answered = false;
      const answer = (error?: Error) => {
        if (answered) return;
        answered = true;
        signal?.removeEventListener('abort', onAbort);
        this.waiting.delete(onAbort);
        if (error) reject(error);
        else resolve(got);
      };
      const end = (error?: Error) => {
        clearTimeout(timer);
        sub.unsubscribe();
        this.lingering.delete(sub);
        answer(error);
      };
      // Only the server may close a no-wait pull (see the header): go on without it, keep its inbox.
      const linger = () => {
        this.lingering.add(sub);
        answer();
      };
      const onAbort = () => answer();
      let received = 0;
      const sub = this.nc.subscribe(inbox, {
        callback: (err, msg: Msg) => {
          if (err) return end(err);
          if (msg.reply && msg.reply.startsWith('$JS.ACK.')) {
            const delivery = { taskId: msg.string(), reply: msg.reply, pulledAt: Date.now() };
            if (answered) this.hold(delivery);
            else got.push(delivery);
            if (++received >= n) end();
            return;
          }
          // A status: 404 no messages, 408 request over (the rest of the batch is not coming), 409 (consumer
          // deleted, leadership change…).
          end();
        },
      });
      const timer = waiting ? setTimeout(() => end(), expires + 2000) : setTimeout(linger, NO_WAIT_ANSWER_MS);
      // Only a wait is cut short; what is there now comes within a round trip anyway. An earlier pull that
      // stopped waiting stays open on the server and may get the next message: then it is held here, and this
      // wait ends so that the claim takes it.
      if (waiting) {
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiting.add(onAbort);
      }
      try {
        this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.stream}.${this.consumer}`, JSON.stringify(request), { reply: inbox });
      } catch (e) {
        end(e as Error);
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

/**
 * How long a no-wait pull waits for the server's answer, which normally comes within a round trip, before its
 * claim goes on without it (its inbox is kept; see the header).
 */
const NO_WAIT_ANSWER_MS = 500;

/** How long a claim that answers at once waits for a due task whose message a pull did not find (see claimMany). */
const RECHECK_MS = 50;

/** Queued tasks one republish sweep looks at, at most (the oldest first). */
const REPUBLISH_BATCH = 1000;

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
let brokers = 0;
const inboxRoot = `_INBOX.aimass_${Math.random().toString(36).slice(2, 10)}`;
function createInbox(): string {
  return `${inboxRoot}.${++inboxes}`;
}
