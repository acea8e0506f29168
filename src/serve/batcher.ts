// Dynamic batching for one model: requests (each with its own batch dim, usually 1) wait in a bounded queue
// and are merged into one batch of up to maxBatchSize samples, or whatever is queued once the oldest request
// has waited maxQueueDelayUs; the batch runs through `runBatch` and its outputs are split back per request.
// When no batch is running, waiting would only leave the workers idle: what is queued runs at the end of the
// current event-loop turn instead (requests that arrived together still share a batch); and when a batch ends,
// what queued while it ran goes to the freed worker at once, before the ended batch's requests are answered.
// Runtime-free: it knows nothing of ONNX Runtime or threads, only a `(feeds) => Promise<outputs>` function.
import { AimassError } from '../core/index.js';
import { type HostTensors, batchSizeOf, concatBatch, sameSampleShape, splitBatch } from './tensors.js';

export type RunBatch = (feeds: HostTensors) => Promise<HostTensors>;

export interface BatcherOptions {
  /** Most samples merged into one batch. */
  maxBatchSize: number;
  /**
   * Longest the oldest queued request waits for company, while another batch runs, before its batch runs
   * anyway (microseconds). With no batch running, requests do not wait.
   */
  maxQueueDelayUs: number;
  /** Most samples waiting; beyond it new requests fail at once with RESOURCE_EXHAUSTED. */
  maxQueue: number;
  /** Batches running at once (match the workers behind runBatch; default 1). */
  maxInFlightBatches?: number;
  /** Told the number of samples of each batch as it goes to runBatch (for metrics; must not throw). */
  onBatch?: (samples: number) => void;
}

export interface SubmitOptions {
  /** Longest the request may wait in the queue; past it, it is dropped and fails with TIMEOUT. */
  timeoutMs?: number;
}

interface Queued {
  feeds: HostTensors;
  samples: number;
  enqueuedAt: number;
  timer?: NodeJS.Timeout;
  resolve(outputs: HostTensors): void;
  reject(error: unknown): void;
}

export class Batcher {
  private readonly queue: Queued[] = [];
  private queuedSamples = 0;
  private inFlightBatches = 0;
  private timer?: NodeJS.Timeout;
  private idleFlush?: NodeJS.Immediate;
  private closing = false;
  private idleWaiters: (() => void)[] = [];
  private readonly maxInFlight: number;

  constructor(
    private readonly runBatch: RunBatch,
    private readonly o: BatcherOptions,
  ) {
    for (const k of ['maxBatchSize', 'maxQueue'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new AimassError('INVALID_ARGUMENT', `${k} must be a whole number ≥ 1, got ${o[k]}`);
    }
    if (!(o.maxQueueDelayUs >= 0)) throw new AimassError('INVALID_ARGUMENT', `maxQueueDelayUs must be ≥ 0, got ${o.maxQueueDelayUs}`);
    this.maxInFlight = o.maxInFlightBatches ?? 1;
  }

  /** Samples waiting in the queue. */
  get queued(): number {
    return this.queuedSamples;
  }

  /** Batches handed to runBatch and not finished. */
  get running(): number {
    return this.inFlightBatches;
  }

  /** Queues a request; resolves with its own slice of the batch outputs. */
  submit(feeds: HostTensors, o: SubmitOptions = {}): Promise<HostTensors> {
    if (this.closing) return Promise.reject(new AimassError('UNAVAILABLE', 'the model is being unloaded; retry the request'));
    let samples: number;
    try {
      samples = batchSizeOf(feeds);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.queuedSamples + samples > this.o.maxQueue) {
      return Promise.reject(
        new AimassError('RESOURCE_EXHAUSTED', `the model's queue is full (${this.queuedSamples} of ${this.o.maxQueue} samples waiting); retry after a short wait`, {
          queued: this.queuedSamples,
          maxQueue: this.o.maxQueue,
        }),
      );
    }
    return new Promise<HostTensors>((resolve, reject) => {
      const q: Queued = { feeds, samples, enqueuedAt: performance.now(), resolve, reject };
      if (o.timeoutMs !== undefined) q.timer = setTimeout(() => this.expire(q, o.timeoutMs!), o.timeoutMs);
      this.queue.push(q);
      this.queuedSamples += samples;
      this.pump();
    });
  }

  /** Refuses new requests, runs everything queued without waiting for the delay, and resolves when all finished. */
  close(): Promise<void> {
    this.closing = true;
    this.pump();
    return this.idle();
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlightBatches === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Sends what may go to the free workers. `batchEnded`: a batch has just finished, so a worker is free and what
   * is queued waited for company while it ran: it goes now.
   */
  private pump(batchEnded = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.inFlightBatches < this.maxInFlight) {
      const waitedUs = (performance.now() - this.queue[0].enqueuedAt) * 1000;
      if (!this.closing && !batchEnded && this.queuedSamples < this.o.maxBatchSize && waitedUs < this.o.maxQueueDelayUs) {
        // Nothing running: no wait (a timer would add a millisecond or more), only the end of this turn.
        if (this.inFlightBatches === 0) this.idleFlush ??= setImmediate(() => this.flushIdle());
        else this.timer = setTimeout(() => this.pump(), (this.o.maxQueueDelayUs - waitedUs) / 1000);
        return;
      }
      this.dispatch(this.take());
    }
    this.checkIdle();
  }

  private flushIdle(): void {
    this.idleFlush = undefined;
    if (this.queue.length > 0 && this.inFlightBatches === 0) this.dispatch(this.take());
    this.pump();
  }

  /** The longest run of queued requests from the head that fit one batch and share their sample shapes. */
  private take(): Queued[] {
    const batch: Queued[] = [];
    let samples = 0;
    while (this.queue.length > 0) {
      const q = this.queue[0];
      if (batch.length > 0 && (samples + q.samples > this.o.maxBatchSize || !sameSampleShape(batch[0].feeds, q.feeds))) break;
      this.queue.shift();
      clearTimeout(q.timer);
      this.queuedSamples -= q.samples;
      batch.push(q);
      samples += q.samples;
    }
    return batch;
  }

  private dispatch(batch: Queued[]): void {
    this.inFlightBatches++;
    this.o.onBatch?.(batch.reduce((n, q) => n + q.samples, 0));
    const run = async () => {
      if (batch.length === 1) return [await this.runBatch(batch[0].feeds)];
      const outputs = await this.runBatch(concatBatch(batch.map((q) => q.feeds)));
      return splitBatch(outputs, batch.map((q) => q.samples));
    };
    const ended = () => {
      this.inFlightBatches--;
      this.pump(true);
    };
    run().then(
      (parts) => {
        // The next batch goes to the worker before this one's requests are answered, so that the worker runs
        // it while this thread writes the answers (answering first left the worker idle for that time).
        ended();
        batch.forEach((q, i) => q.resolve(parts[i]));
      },
      async (e) => {
        try {
          // One request's data can fail a merged batch (an index out of range, say): run each alone so that only
          // that one fails. concatBatch copied the feeds, so each request still holds its own. Failures that are
          // not about the data (the worker gone, a deadline) fail them all.
          if (batch.length === 1 || (e instanceof AimassError && (e.code === 'UNAVAILABLE' || e.code === 'TIMEOUT'))) return batch.forEach((q) => q.reject(e));
          const alone = await Promise.allSettled(batch.map((q) => this.runBatch(q.feeds)));
          alone.forEach((r, i) => (r.status === 'fulfilled' ? batch[i].resolve(r.value) : batch[i].reject(r.reason)));
        } finally {
          ended();
        }
      },
    );
  }

  private expire(q: Queued, timeoutMs: number): void {
    const i = this.queue.indexOf(q);
    if (i < 0) return; // already running: it finishes normally
    this.queue.splice(i, 1);
    this.queuedSamples -= q.samples;
    q.reject(new AimassError('TIMEOUT', `the request waited more than ${timeoutMs} ms in the model's queue; retry later or allow a longer deadline`, { timeoutMs }));
    this.pump();
  }

  private checkIdle(): void {
    if (this.queue.length > 0 || this.inFlightBatches > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
