// A pool of worker threads serving one model version, each holding its own ONNX Runtime session (session.run
// blocks its thread, so parallelism comes from threads, and the main event loop stays free). Requests go to the
// least busy worker; a worker that dies is replaced, and what it had in flight fails with UNAVAILABLE rather
// than hanging. This is the worker-thread adapter around the runtime-free batcher and cache logic.
import { Worker } from 'node:worker_threads';
import { AimassError } from '../core/index.js';
import { CRASH_FOR_TESTS, type FromPoolWorker, type PoolWorkerData, type ToPoolWorker } from './pool-worker.js';
import { type HostTensors, transferablesOf } from './tensors.js';

export interface SessionPoolOptions {
  /** Worker threads, each with its own session (default 1). */
  workers?: number;
  /** ONNX Runtime intra-op threads per session (default 1: parallelism comes from the workers). */
  intraOpNumThreads?: number;
}

/** Test-only hook (not exported from serve/index.ts): `pool[CRASH_WORKER_FOR_TESTS](i)` kills worker i. */
export const CRASH_WORKER_FOR_TESTS = Symbol('crash a pool worker (tests only)');

interface Pending {
  resolve(outputs: HostTensors): void;
  reject(error: AimassError): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  dead: boolean;
  inFlight: Map<number, Pending>;
}

/** How long close() lets a worker release its session before terminating it. */
const CLOSE_GRACE_MS = 2000;

export class SessionPool {
  private slots: Slot[] = [];
  private nextId = 1;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  private constructor(
    /** Kept to start replacement workers; each worker gets its own transferred copy. */
    private readonly bytes: Uint8Array,
    private readonly intraOpNumThreads: number,
  ) {}

  /** Starts the workers and resolves once every one holds a session; fails (closing them) if any cannot. */
  static async create(bytes: Uint8Array, o: SessionPoolOptions = {}): Promise<SessionPool> {
    const workers = o.workers ?? 1;
    const threads = o.intraOpNumThreads ?? 1;
    if (!Number.isInteger(workers) || workers < 1) throw new AimassError('INVALID_ARGUMENT', `a session pool needs at least 1 worker, got ${workers}`);
    if (!Number.isInteger(threads) || threads < 0) throw new AimassError('INVALID_ARGUMENT', `intraOpNumThreads must be a whole number ≥ 0, got ${threads}`);
    const pool = new SessionPool(Uint8Array.from(bytes), threads);
    const started = await Promise.allSettled(Array.from({ length: workers }, () => pool.spawn()));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await pool.close();
      throw failed.reason;
    }
    return pool;
  }

  /** Live workers (starting or ready). */
  get size(): number {
    return this.slots.length;
  }

  /** Requests sent to workers and not yet answered. */
  get inFlight(): number {
    return this.slots.reduce((n, s) => n + s.inFlight.size, 0);
  }

  /**
   * Runs the model on `feeds` in the least busy worker. Buffers that a feed's data spans whole are transferred,
   * not copied: the caller's arrays are detached afterwards, so pass arrays you no longer need.
   */
  run(feeds: HostTensors): Promise<HostTensors> {
    if (this.closed) return Promise.reject(new AimassError('UNAVAILABLE', 'the model is being unloaded; retry the request'));
    const slot = this.pick();
    if (!slot) return Promise.reject(new AimassError('UNAVAILABLE', 'no serving worker is running for this model; retry shortly'));
    const id = this.nextId++;
    return new Promise<HostTensors>((resolve, reject) => {
      slot.inFlight.set(id, { resolve, reject });
      const message: ToPoolWorker = { type: 'run', id, feeds };
      try {
        slot.worker.postMessage(message, transferablesOf(feeds));
      } catch (e) {
        slot.inFlight.delete(id);
        reject(new AimassError('INVALID_ARGUMENT', `the request could not be sent to a serving worker: ${(e as Error).message}`));
      }
    });
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Lets the workers finish what they were sent, releases their sessions and ends them. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    await Promise.all(slots.map((s) => this.stop(s)));
  }

  /** Test-only: makes worker `index` exit abruptly inside its thread, as a native crash would. */
  [CRASH_WORKER_FOR_TESTS](index = 0): void {
    const message: ToPoolWorker = { type: CRASH_FOR_TESTS };
    this.slots[index]?.worker.postMessage(message);
  }

  private pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (!best || (s.ready && !best.ready) || (s.ready === best.ready && s.inFlight.size < best.inFlight.size)) best = s;
    }
    return best;
  }

  private spawn(): Promise<void> {
    const copy = Uint8Array.from(this.bytes);
    const workerData: PoolWorkerData = { bytes: copy, intraOpNumThreads: this.intraOpNumThreads };
    const worker = new Worker(new URL('./pool-worker-entry.mjs', import.meta.url), { workerData, transferList: [copy.buffer] });
    const slot: Slot = { worker, ready: false, dead: false, inFlight: new Map() };
    this.slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      const die = (error: AimassError) => {
        if (slot.dead) return;
        slot.dead = true;
        this.slots = this.slots.filter((s) => s !== slot);
        for (const p of slot.inFlight.values()) p.reject(error);
        slot.inFlight.clear();
        this.checkIdle();
        void worker.terminate();
        if (!slot.ready) reject(error);
        // Replace only workers that had started fine: one that cannot start would fail again, in a loop.
        else if (!this.closed) this.spawn().catch(() => {});
      };
      worker.on('message', (m: FromPoolWorker) => {
        if (m.type === 'ready') {
          slot.ready = true;
          resolve();
        } else if (m.type === 'result' || m.type === 'error') {
          if (m.type === 'error' && m.id === undefined) return die(AimassError.fromJSON(m.error));
          const pending = slot.inFlight.get(m.id!);
          if (!pending) return;
          slot.inFlight.delete(m.id!);
          if (m.type === 'result') pending.resolve(m.outputs);
          else pending.reject(AimassError.fromJSON(m.error));
          this.checkIdle();
        }
      });
      worker.on('error', (e) => die(new AimassError('UNAVAILABLE', `a serving worker crashed (${e.message}); retry the request`)));
      worker.on('exit', (code) =>
        die(new AimassError('UNAVAILABLE', this.closed ? 'the model was unloaded before answering; retry the request' : `a serving worker exited with code ${code}; retry the request`)),
      );
    });
  }

  private async stop(slot: Slot): Promise<void> {
    if (slot.dead) return;
    const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
    const message: ToPoolWorker = { type: 'close' };
    slot.worker.postMessage(message);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), CLOSE_GRACE_MS)));
    if ((await Promise.race([exited, grace])) === 'late') await slot.worker.terminate();
    clearTimeout(timer);
  }

  private checkIdle(): void {
    if (this.inFlight !== 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
