/**
 * A JetStream work queue: the prototype of cluster task dispatch (dispatch/ can build its NATS queue on it).
 *
 *   publish ──> stream <name> (WorkQueue retention, file storage, subjects <prefix>.q.<type>, bounded)
 *           ──> one durable pull consumer shared by every worker (explicit ack)
 *           ──> handler(item, signal); return = ack, throw = retry later, item.term() = poison
 *   failed on its last attempt, or crashed on every attempt ──> stream <name>_DEAD (<prefix>.dead.<type>)
 *
 * Delivery guarantees, all the server's:
 *   - at least once: a message leaves the stream only when acked (or termed). A worker that dies holding one
 *     (killed process, lost network) lets its lease run out, and the server delivers it again, to any worker.
 *   - the lease of attempt n is `ackWaitMs + backoffMs[n-1]` (the consumer's BackOff list), so a message whose
 *     workers keep crashing comes back later each time. While the handler runs, `working()` is sent every third
 *     of a lease, so long tasks keep theirs; when the process dies those stop, and the lease runs out.
 *   - a handler that throws is retried after `backoffMs[n-1]` (nak with delay), up to `maxDeliver` attempts;
 *     then the message is copied to the dead-letter stream and termed. A message that reached `maxDeliver` by
 *     crashes alone is moved there too, when the server's MAX_DELIVERIES advisory arrives.
 *   - publishing with a `msgId` is deduplicated by the server within its duplicate window (2 min).
 *   - the queue is bounded (`maxMessages`, discard new): a full queue refuses the publish with RESOURCE_EXHAUSTED.
 *   - file storage: a restarted server still has every message it acknowledged to a publisher.
 *
 * Imports only core/ and this folder; the NATS client is loaded on first use.
 */
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { AimassError, silentLogger, type Logger } from '../core/index.js';
import { natsFailure } from './nats-connection.js';

export interface WorkQueueOptions {
  /** Stream name, e.g. `AIMASS_TASKS`; the dead letters go to `<stream>_DEAD`. */
  stream: string;
  /** Subject prefix, e.g. `aimass.tasks`: work on `<prefix>.q.<type>`, dead letters on `<prefix>.dead.<type>`. */
  subjectPrefix: string;
  /** Durable consumer shared by all workers (default `workers`). */
  consumer?: string;
  /** Lease of a delivered message before it is given to another worker (default 30 s). */
  ackWaitMs?: number;
  /** Attempts before a message is dead-lettered (default 5). */
  maxDeliver?: number;
  /** Delay before attempt n+1 after attempt n failed (last value repeats; default 1 s, 5 s, 30 s). */
  backoffMs?: number[];
  /** Bound on queued messages (default 100 000); publishing beyond it fails with RESOURCE_EXHAUSTED. */
  maxMessages?: number;
  /** Stream replicas in a JetStream cluster (default 1). */
  replicas?: number;
  logger?: Logger;
}

export interface WorkItem {
  readonly type: string;
  readonly data: Uint8Array;
  /** Stream sequence: the message's identity in the queue. */
  readonly seq: number;
  /** 1 on first delivery. */
  readonly attempt: number;
  readonly headers: Record<string, string>;
  /** Extends the lease now (also sent automatically while the handler runs). */
  working(): void;
  /** Gives the message back, to be delivered again after `delayMs` (default: the backoff for this attempt). */
  nak(delayMs?: number): void;
  /** Poison: never deliver again; the message is dead-lettered with `reason`. */
  term(reason: string): Promise<void>;
}

export type WorkHandler = (item: WorkItem, signal: AbortSignal) => Promise<void>;

export interface Consumption {
  /** Messages handled so far (acked, nakked or termed). */
  readonly handled: number;
  /** Stops pulling, waits for running handlers, and resolves. */
  stop(): Promise<void>;
}

export interface DeadLetter {
  type: string;
  data: Uint8Array;
  /** Sequence in the work stream. */
  originalSeq: number;
  reason: string;
  attempts: number;
}

const DEFAULTS = { consumer: 'workers', ackWaitMs: 30_000, maxDeliver: 5, backoffMs: [1000, 5000, 30_000], maxMessages: 100_000, replicas: 1 };
const TOKEN = /^[A-Za-z0-9_-]+$/;
const nanos = (ms: number) => Math.round(ms * 1_000_000);

export class WorkQueue {
  readonly stream: string;
  readonly deadStream: string;
  readonly consumer: string;
  private readonly settings: Required<Omit<WorkQueueOptions, 'logger'>>;
  private readonly logger: Logger;
  private readonly target = { servers: [] as string[], uri: '' };

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    options: WorkQueueOptions,
  ) {
    this.settings = { ...DEFAULTS, ...stripUndefined(options) } as Required<Omit<WorkQueueOptions, 'logger'>>;
    this.stream = options.stream;
    this.deadStream = `${options.stream}_DEAD`;
    this.consumer = this.settings.consumer;
    this.logger = options.logger ?? silentLogger;
    this.target.servers = [nc.getServer()];
    this.target.uri = `nats://${nc.getServer()}/${options.stream}`;
  }

  /** Creates (or updates) the streams and the durable consumer, and returns the queue. */
  static async open(nc: NatsConnection, options: WorkQueueOptions): Promise<WorkQueue> {
    for (const [what, value] of [
      ['stream', options.stream],
      ['consumer', options.consumer ?? DEFAULTS.consumer],
    ] as const) {
      if (!TOKEN.test(value)) throw new AimassError('INVALID_ARGUMENT', `Work queue ${what} "${value}" must be letters, digits, "-" and "_"`, { [what]: value });
    }
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(options.subjectPrefix)) {
      throw new AimassError('INVALID_ARGUMENT', `Work queue subject prefix "${options.subjectPrefix}" must be dot-separated tokens`, { subjectPrefix: options.subjectPrefix });
    }
    const { jetstream, jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(nc);
    const queue = new WorkQueue(nc, jetstream(nc), jsm, options);
    await queue.ensure();
    return queue;
  }

  /** Queues one message of `type`; resolves once the server has stored it. */
  async publish(type: string, data: Uint8Array, options: { msgId?: string; headers?: Record<string, string> } = {}): Promise<{ seq: number; duplicate: boolean }> {
    if (!TOKEN.test(type)) throw new AimassError('INVALID_ARGUMENT', `Work type "${type}" must be letters, digits, "-" and "_"`, { type });
    const { headers: makeHeaders } = await import('@nats-io/transport-node');
    let headers;
    if (options.headers) {
      headers = makeHeaders();
      for (const [k, v] of Object.entries(options.headers)) headers.set(k, v);
    }
    try {
      const ack = await this.js.publish(`${this.settings.subjectPrefix}.q.${type}`, data, { msgID: options.msgId, headers });
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (e) {
      if (/maximum messages exceeded|maximum bytes exceeded/i.test((e as Error).message ?? '')) {
        throw new AimassError('RESOURCE_EXHAUSTED', `Work queue ${this.stream} is full (${this.settings.maxMessages} messages); retry after workers catch up`, {
          stream: this.stream,
          maxMessages: this.settings.maxMessages,
        });
      }
      throw natsFailure(e, this.target, `queueing ${type} work`);
    }
  }

  /** Messages waiting or in progress (not yet acked). */
  async depth(): Promise<number> {
    return (await this.jsm.streams.info(this.stream)).state.messages;
  }

  /** Runs `handler` on messages as they come, `concurrency` at a time, until `stop()`. */
  async consume(handler: WorkHandler, options: { concurrency?: number } = {}): Promise<Consumption> {
    const concurrency = options.concurrency ?? 1;
    const consumer = await this.js.consumers.get(this.stream, this.consumer);
    // Short-lived pull requests: nats-server 2.9 keeps a killed worker's open pulls until they expire and may
    // hand redeliveries to them, spending an attempt and a lease on a dead process each time.
    const messages: ConsumerMessages = await consumer.consume({ max_messages: Math.max(concurrency, 1) * 2, expires: 5000 });
    const sweeper = this.sweepDeadLetters();
    const abort = new AbortController();
    const running = new Set<Promise<void>>();
    let handled = 0;
    let release: (() => void) | undefined;

    const loop = (async () => {
      for await (const message of messages) {
        while (running.size >= concurrency) await new Promise<void>((resolve) => (release = resolve));
        const task = this.handle(message, handler, abort.signal).finally(() => {
          handled++;
          running.delete(task);
          release?.();
        });
        running.add(task);
      }
    })();

    return {
      get handled() {
        return handled;
      },
      stop: async () => {
        abort.abort();
        await messages.close().catch(() => undefined);
        await loop.catch(() => undefined);
        await Promise.all(running);
        sweeper.stop();
      },
    };
  }

  /** The dead letters, oldest first (for inspection and tests). */
  async deadLetters(): Promise<DeadLetter[]> {
    const info = await this.jsm.streams.info(this.deadStream);
    const letters: DeadLetter[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const message = await this.jsm.streams.getMessage(this.deadStream, { seq }).catch(() => null);
      if (!message) continue;
      const header = (name: string) => message.header.get(name) ?? '';
      letters.push({
        type: message.subject.slice(`${this.settings.subjectPrefix}.dead.`.length),
        data: message.data,
        originalSeq: Number(header('Aimass-Original-Seq')),
        reason: header('Aimass-Reason'),
        attempts: Number(header('Aimass-Attempts')),
      });
    }
    return letters;
  }

  private async ensure(): Promise<void> {
    const { RetentionPolicy, StorageType, DiscardPolicy, AckPolicy, DeliverPolicy } = await import('@nats-io/jetstream');
    const { subjectPrefix, replicas, maxMessages, ackWaitMs, maxDeliver, backoffMs } = this.settings;
    const streams = [
      {
        name: this.stream,
        subjects: [`${subjectPrefix}.q.>`],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        num_replicas: replicas,
        max_msgs: maxMessages,
        discard: DiscardPolicy.New,
        duplicate_window: nanos(120_000),
      },
      { name: this.deadStream, subjects: [`${subjectPrefix}.dead.>`], retention: RetentionPolicy.Limits, storage: StorageType.File, num_replicas: replicas },
    ];
    try {
      for (const config of streams) {
        await this.jsm.streams.add(config).catch(async (e: Error) => {
          if (!/already in use/i.test(e.message)) throw e;
          await this.jsm.streams.update(config.name, config);
        });
      }
      // The server needs fewer BackOff values than attempts; each is the lease of one attempt.
      const leases = Array.from({ length: Math.min(maxDeliver - 1, Math.max(backoffMs.length, 1)) }, (_, i) => nanos(ackWaitMs + backoffAt(backoffMs, i + 1)));
      const config = {
        durable_name: this.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(ackWaitMs),
        max_deliver: maxDeliver,
        max_ack_pending: -1,
        ...(maxDeliver > 1 ? { backoff: leases } : {}),
      };
      const existing = await this.jsm.consumers.info(this.stream, this.consumer).catch(() => null);
      if (existing) await this.jsm.consumers.update(this.stream, this.consumer, config);
      else await this.jsm.consumers.add(this.stream, config);
    } catch (e) {
      throw natsFailure(e, this.target, `setting up work queue ${this.stream}`);
    }
  }

  private async handle(message: JsMsg, handler: WorkHandler, signal: AbortSignal): Promise<void> {
    const attempt = message.info.deliveryCount;
    const type = message.subject.slice(`${this.settings.subjectPrefix}.q.`.length);
    let settled = false;
    const headers: Record<string, string> = {};
    for (const [k, v] of message.headers ?? []) headers[k] = v[0] ?? '';
    const item: WorkItem = {
      type,
      data: message.data,
      seq: message.seq,
      attempt,
      headers,
      working: () => message.working(),
      nak: (delayMs) => {
        settled = true;
        message.nak(delayMs ?? backoffAt(this.settings.backoffMs, attempt));
      },
      term: async (reason) => {
        settled = true;
        await this.deadLetter(type, message.data, message.seq, reason, attempt);
        // No reason on the wire: nats-server 2.9 reads `+TERM <reason>` as something else and keeps the message.
        // The dead letter carries the reason.
        message.term();
      },
    };
    // Keep the lease while the handler runs; a killed process stops doing this, and the lease runs out.
    const keepAlive = setInterval(() => message.working(), Math.max(50, this.settings.ackWaitMs / 3));
    try {
      await handler(item, signal);
      if (!settled) message.ack();
    } catch (e) {
      if (settled) return;
      const reason = (e as Error)?.message ?? String(e);
      if (attempt >= this.settings.maxDeliver) {
        await item.term(`failed ${attempt} times; last error: ${reason}`).catch((err) => this.logger.error({ err, seq: message.seq }, 'dead-lettering failed'));
      } else {
        item.nak();
      }
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async deadLetter(type: string, data: Uint8Array, seq: number, reason: string, attempts: number): Promise<void> {
    const { headers: makeHeaders } = await import('@nats-io/transport-node');
    const h = makeHeaders();
    h.set('Aimass-Original-Seq', String(seq));
    h.set('Aimass-Reason', reason.slice(0, 1000));
    h.set('Aimass-Attempts', String(attempts));
    // Deduplicated by the original sequence: two workers reporting the same dead message store it once.
    await this.js.publish(`${this.settings.subjectPrefix}.dead.${type}`, data, { headers: h, msgID: `dead-${this.stream}-${seq}` });
  }

  /**
   * A message whose every attempt crashed its worker is never handed out again, but stays in a work-queue stream;
   * this moves it to the dead letters when the server says so. `consume()` runs it; a supervisor that does not
   * consume can run it alone. Sweepers form a queue group, so one of them handles each advisory.
   */
  sweepDeadLetters(): { stop(): void } {
    const subject = `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${this.stream}.${this.consumer}`;
    const subscription: Subscription = this.nc.subscribe(subject, {
      queue: `aimass-dead-letters-${this.stream}`,
      callback: (err, msg) => {
        if (err) return;
        void (async () => {
          const advisory = msg.json<{ stream_seq: number; deliveries: number }>();
          const stored = await this.jsm.streams.getMessage(this.stream, { seq: advisory.stream_seq }).catch(() => null);
          if (!stored) return;
          const type = stored.subject.slice(`${this.settings.subjectPrefix}.q.`.length);
          await this.deadLetter(type, stored.data, advisory.stream_seq, `no worker finished it in ${advisory.deliveries} attempts`, advisory.deliveries);
          await this.jsm.streams.deleteMessage(this.stream, advisory.stream_seq, false);
        })().catch((e) => this.logger.warn({ err: e }, 'moving a max-deliveries message to the dead letters failed'));
      },
    });
    return { stop: () => subscription.unsubscribe() };
  }
}

/** The delay after attempt `attempt` (1-based) failed: the list's entry, its last one repeating. */
function backoffAt(backoffMs: number[], attempt: number): number {
  if (backoffMs.length === 0) return 0;
  return backoffMs[Math.min(attempt, backoffMs.length) - 1];
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
