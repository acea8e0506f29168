// The worker runtime of one node: claims tasks that fit what the node has free, runs each in a child process
// of its pool, heartbeats the lease while it runs, and reports the outcome to the broker. The same loop runs
// over any TaskBroker (embedded now, JetStream in a cluster).
//
// Outcomes: a result → complete; a thrown error → fail (retryable as the error says); a crash or a memory cap
// overrun → fail, retryable; a timeout → fail, not retryable (error TIMEOUT). A heartbeat that finds the task
// cancelled, or the lease lost to another worker, stops the child and reports nothing: the task moved on.
//
// Short tasks are pipelined: the worker claims tasks ahead of its free slots, leased and heartbeated like running
// ones, and starts the next the moment a child is free; outcomes are reported in the background, so a slot never
// waits for the database. How far ahead follows the recent run times: about `prefetchMs` of work per slot (at
// most `prefetch` tasks), so one claim round trip covers many no-op tasks, while long tasks are not claimed ahead
// at all and so are never held back from an idle node. One claim asks for all it can take.
import { EventEmitter } from 'node:events';
import { silentLogger, toAimassError, type Logger } from '../core/index.js';
import type { TaskBroker } from './broker.js';
import type { HandlerRegistry } from './handlers.js';
import { ProcessPool, type ChildOutcome, type ChildRun, type ProcessPoolOptions } from './process-pool.js';
import { loadOf, type NodeCapacity, type NodeLoad } from './scheduling.js';
import type { ClaimedTask, ClaimOffer, TaskFailure } from './task-store.js';

export interface TaskWorkerOptions {
  broker: TaskBroker;
  node: NodeCapacity;
  handlers: HandlerRegistry;
  /** Tasks running at once (default: node.cpu). */
  maxConcurrent?: number;
  /** Between heartbeats (default: a third of the broker's lease). */
  heartbeatMs?: number;
  /** Long-poll length of one claim (default 5000 ms). */
  claimWaitMs?: number;
  /** Tasks claimed ahead of the free slots at most (default 64; 0: never claim ahead). */
  prefetch?: number;
  /** Work claimed ahead per slot, in recent run times (default 50 ms: no claim ahead for tasks longer than that). */
  prefetchMs?: number;
  pool?: Omit<ProcessPoolOptions, 'maxChildren'>;
  logger?: Logger;
}

export interface RunningTask {
  taskId: string;
  type: string;
  attempt: number;
  pid: number;
  cpu: number;
  memoryMb: number;
  startedAt: string;
}

export interface TaskEnded {
  taskId: string;
  attempt: number;
  outcome: ChildOutcome['kind'];
}

export interface TaskWorkerEvents {
  'task-started': [RunningTask];
  'task-ended': [TaskEnded];
}

/** A claimed task, from its claim to its reported outcome. */
interface Held {
  claimed: ClaimedTask;
  heartbeat: NodeJS.Timeout;
  /** The heartbeat found it cancelled or taken over: stop it, report nothing. */
  gone?: string;
  /** Set once it runs in a child. */
  info?: RunningTask;
  stop(reason: string): void;
  done?: Promise<void>;
}

export class TaskWorker extends EventEmitter<TaskWorkerEvents> {
  readonly pool: ProcessPool;
  private readonly broker: TaskBroker;
  private readonly node: NodeCapacity;
  private readonly handlers: HandlerRegistry;
  private readonly maxConcurrent: number;
  private readonly heartbeatMs: number;
  private readonly claimWaitMs: number;
  private readonly prefetch: number;
  private readonly prefetchMs: number;
  private readonly logger: Logger;
  /** Running in a child. */
  private readonly active = new Map<string, Held>();
  /** Claimed ahead, waiting for a slot, in claim order (best first). */
  private readonly ready: Held[] = [];
  /** Outcomes being reported. */
  private readonly reporting = new Set<Promise<void>>();
  /** Children busy with a task or a batch. */
  private slots = 0;
  private usedCpu = 0;
  private usedMemoryMb = 0;
  private readyCpu = 0;
  private readyMemoryMb = 0;
  /** Run times of the last few tasks (batches: per task), newest last. */
  private readonly runTimes: number[] = [];
  private stopping = false;
  private draining = false;
  private loopDone: Promise<void> = Promise.resolve();
  /** Aborts the claim in flight when resources change (a task ended) or the worker stops. */
  private claimAbort = new AbortController();
  private changed: (() => void) | undefined;

  constructor(options: TaskWorkerOptions) {
    super();
    this.broker = options.broker;
    this.node = options.node;
    this.handlers = options.handlers;
    this.maxConcurrent = options.maxConcurrent ?? options.node.cpu;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(10, Math.floor(options.broker.leaseMs / 3));
    this.claimWaitMs = options.claimWaitMs ?? 5000;
    this.prefetch = options.prefetch ?? 64;
    this.prefetchMs = options.prefetchMs ?? 50;
    this.logger = options.logger ?? silentLogger;
    this.pool = new ProcessPool({ ...options.pool, maxChildren: this.maxConcurrent });
  }

  start(): this {
    this.loopDone = this.loop();
    return this;
  }

  /** What the node has and what its running tasks use now. */
  load(): NodeLoad {
    return { ...this.node, usedCpu: this.usedCpu, usedMemoryMb: this.usedMemoryMb, draining: this.stopping };
  }

  running(): RunningTask[] {
    return [...this.active.values()].flatMap((a) => (a.info ? [a.info] : []));
  }

  /**
   * Stops claiming. With `drain`, runs what it holds to the end (tasks claimed ahead included); otherwise stops
   * the running tasks and gives back those claimed ahead (each fails as retryable, so another worker runs it).
   * Then waits for every outcome to be reported and closes the pool.
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    this.stopping = true;
    this.draining = options.drain === true;
    this.claimAbort.abort(STOP_WAITING);
    this.changed?.();
    await this.loopDone;
    if (!this.draining) {
      for (const t of this.ready.splice(0)) this.giveBack(t, 'the worker stopped before starting it');
      for (const a of this.active.values()) a.stop('the worker is stopping');
    }
    while (this.active.size > 0 || this.ready.length > 0) {
      this.startReady();
      if (this.active.size === 0) for (const t of this.ready.splice(0)) this.giveBack(t, 'the worker stopped before starting it');
      else await Promise.race([...this.active.values()].map((a) => a.done));
    }
    while (this.reporting.size > 0) await Promise.all(this.reporting);
    await this.pool.close();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const ask = this.nextClaim();
      if (!ask) {
        await new Promise<void>((resolve) => (this.changed = resolve));
        continue;
      }
      this.claimAbort = new AbortController();
      let claimed: ClaimedTask[];
      try {
        claimed = await this.broker.claimMany(ask.offer, ask.max, { waitMs: this.claimWaitMs, signal: this.claimAbort.signal, again: true });
      } catch (e) {
        this.logger.warn({ err: toAimassError(e).message }, 'claiming a task failed; trying again shortly');
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      for (const c of claimed) this.hold(c);
      this.startReady();
    }
  }

  /**
   * How many tasks to ask for, and the offer. Free slots only: tasks that fit together in what is free now.
   * Claiming ahead: tasks that each fit the node, as many as the free slots plus the tasks worth claiming ahead,
   * less those already waiting.
   */
  private nextClaim(): { offer: ClaimOffer & { load: number }; max: number } | undefined {
    const typical = this.typicalRunMs();
    const ahead = typical === undefined ? 0 : Math.min(this.prefetch, Math.floor((this.maxConcurrent * this.prefetchMs) / Math.max(typical, 0.01)));
    const base = { node: this.node.id, kinds: this.node.kinds, labels: this.node.labels, types: this.handlers.types(), load: loadOf(this.load()) };
    if (ahead >= 1) {
      const max = this.maxConcurrent + ahead - this.active.size - this.ready.length;
      return max < 1 ? undefined : { offer: { ...base, cpu: this.node.cpu, memoryMb: this.node.memoryMb, fit: 'each' }, max };
    }
    const max = this.maxConcurrent - this.active.size - this.ready.length;
    const cpu = this.node.cpu - this.usedCpu - this.readyCpu;
    const memoryMb = this.node.memoryMb - this.usedMemoryMb - this.readyMemoryMb;
    return max < 1 || cpu < 1 ? undefined : { offer: { ...base, cpu, memoryMb }, max };
  }

  /** A claimed task: heartbeated from now on (starting a fresh child can take longer than a short lease). */
  private hold(claimed: ClaimedTask): void {
    const { task, lease } = claimed;
    const t: Held = {
      claimed,
      stop: () => undefined,
      heartbeat: setInterval(() => {
        this.broker.heartbeat(lease).then(
          (status) => {
            if (status === 'held' || t.gone) return;
            t.gone = status === 'cancelled' ? 'the task was cancelled' : 'the lease was lost to another worker';
            const waiting = this.ready.indexOf(t);
            if (waiting >= 0) {
              this.ready.splice(waiting, 1);
              this.readyCpu -= task.resources.cpu;
              this.readyMemoryMb -= task.resources.memoryMb;
              clearInterval(t.heartbeat);
              this.wake();
            } else t.stop(t.gone);
          },
          (e) => this.logger.warn({ err: toAimassError(e).message, taskId: task.id }, 'heartbeat failed'),
        );
      }, this.heartbeatMs),
    };
    this.ready.push(t);
    this.readyCpu += task.resources.cpu;
    this.readyMemoryMb += task.resources.memoryMb;
  }

  /**
   * Starts tasks claimed ahead, in order, while the next one fits what is free. Short tasks go to a child in
   * batches (the next few of one profile, one message for all), so each costs less than a message of its own;
   * a batch holds its slot until its last task ended.
   */
  private startReady(): void {
    while (this.ready.length > 0 && (!this.stopping || this.draining)) {
      const { cpu, memoryMb } = this.ready[0].claimed.task.resources;
      if (this.slots >= this.maxConcurrent || cpu > this.node.cpu - this.usedCpu || memoryMb > this.node.memoryMb - this.usedMemoryMb) return;
      const size = Math.min(this.batchLimit(), Math.ceil(this.ready.length / (this.maxConcurrent - this.slots)));
      let n = 1;
      while (n < this.ready.length && n < size && sameProfile(this.ready[n].claimed, this.ready[0].claimed)) n++;
      const batch = this.ready.splice(0, n);
      for (const t of batch) {
        this.readyCpu -= t.claimed.task.resources.cpu;
        this.readyMemoryMb -= t.claimed.task.resources.memoryMb;
      }
      this.launch(batch);
    }
  }

  /** Tasks per batch: one, unless the recent ones were short (a batch stays well within the claim-ahead time). */
  private batchLimit(): number {
    const typical = this.typicalRunMs();
    if (typical === undefined) return 1;
    return Math.max(1, Math.min(MAX_BATCH, Math.floor(this.prefetchMs / 4 / Math.max(typical, 0.01))));
  }

  /**
   * The median of the recent run times; undefined before any task ended. A median, so that a child's first
   * task (which loads its modules) does not make a stream of short tasks look long for long.
   */
  private typicalRunMs(): number | undefined {
    if (this.runTimes.length === 0) return undefined;
    const sorted = [...this.runTimes].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  /** Runs a batch (often of one) in a child: each task's outcome is reported as it comes, in the background. */
  private launch(batch: Held[]): void {
    const { cpu, memoryMb } = batch[0].claimed.task.resources;
    this.usedCpu += cpu;
    this.usedMemoryMb += memoryMb;
    this.slots++;
    const stops = batch.map((t) => {
      let stopRun: (reason: string) => void = () => undefined;
      let stopReason: string | undefined;
      t.stop = (reason) => {
        stopReason = reason;
        stopRun(reason);
      };
      this.active.set(t.claimed.task.id, t);
      return (run: ChildRun) => {
        stopRun = run.stop;
        if (stopReason !== undefined) run.stop(stopReason);
      };
    });
    const done = (async () => {
      const started = performance.now();
      let runs: ChildRun[] | undefined;
      let failure: ChildOutcome | undefined;
      try {
        runs = await this.pool.runBatch(
          batch.map(({ claimed: { task, lease } }) => ({
            taskId: task.id,
            attempt: lease.attempt,
            taskType: task.type,
            handler: this.handlers.get(task.type),
            payload: task.payload,
            threads: cpu,
            memoryMb,
            timeoutMs: task.timeoutMs,
          })),
        );
      } catch (e) {
        const err = toAimassError(e);
        failure = { kind: 'failed', error: { code: err.code, message: err.message, retryable: err.details?.retryable !== false } };
      }
      const again: Held[] = [];
      await Promise.all(
        batch.map(async (t, i) => {
          const { task, lease } = t.claimed;
          let outcome: ChildOutcome;
          if (runs) {
            stops[i](runs[i]);
            t.info = { taskId: task.id, type: task.type, attempt: lease.attempt, pid: runs[i].pid, cpu, memoryMb, startedAt: new Date().toISOString() };
            this.emit('task-started', t.info);
            outcome = await runs[i].outcome;
          } else outcome = failure!;
          this.active.delete(task.id);
          if (outcome.kind === 'not-started' && !t.gone) {
            // Its batch's child died before its turn: it runs again (still leased and heartbeated).
            again.push(t);
            return;
          }
          clearInterval(t.heartbeat);
          this.track(t.gone ? Promise.resolve() : this.report(lease, outcome), { taskId: task.id, attempt: lease.attempt, outcome: outcome.kind });
        }),
      );
      this.runTimes.push((performance.now() - started) / batch.length);
      if (this.runTimes.length > RUN_TIMES) this.runTimes.shift();
      // The slot is free now; the outcomes are written in the background.
      this.usedCpu -= cpu;
      this.usedMemoryMb -= memoryMb;
      this.slots--;
      for (const t of again) {
        this.readyCpu += t.claimed.task.resources.cpu;
        this.readyMemoryMb += t.claimed.task.resources.memoryMb;
      }
      this.ready.unshift(...again);
      this.startReady();
      this.wake();
    })();
    for (const t of batch) t.done = done;
  }

  /** Gives back a task claimed ahead that will not run here. */
  private giveBack(t: Held, reason: string): void {
    clearInterval(t.heartbeat);
    this.readyCpu -= t.claimed.task.resources.cpu;
    this.readyMemoryMb -= t.claimed.task.resources.memoryMb;
    if (t.gone) return;
    this.track(this.report(t.claimed.lease, { kind: 'stopped', message: reason }));
  }

  private track(reported: Promise<void>, ended?: TaskEnded): void {
    const p = reported.then(() => {
      this.reporting.delete(p);
      if (ended) this.emit('task-ended', ended);
    });
    this.reporting.add(p);
  }

  /** Resources changed: look for work again (a long-polling claim asks again with the larger offer). */
  private wake(): void {
    if (!this.claimAbort.signal.aborted) this.claimAbort.abort(STOP_WAITING);
    this.changed?.();
  }

  private async report(lease: ClaimedTask['lease'], outcome: ChildOutcome): Promise<void> {
    try {
      if (outcome.kind === 'succeeded') {
        await this.broker.complete(lease, outcome.result);
        return;
      }
      await this.broker.fail(lease, failureOf(outcome));
    } catch (e) {
      // The lease runs out and the task is re-run elsewhere; the result is still recorded once.
      this.logger.error({ err: toAimassError(e).message, taskId: lease.taskId }, 'could not report a task outcome');
    }
  }
}

const MAX_BATCH = 32;
/** Run times kept for the typical one. */
const RUN_TIMES = 9;
/** The reason a claim stops waiting (one object: a DOMException per abort costs more than the claim saves). */
const STOP_WAITING = new Error('resources changed: claim again with the new offer');

function sameProfile(a: ClaimedTask, b: ClaimedTask): boolean {
  return a.task.resources.cpu === b.task.resources.cpu && a.task.resources.memoryMb === b.task.resources.memoryMb;
}

function failureOf(outcome: Exclude<ChildOutcome, { kind: 'succeeded' }>): TaskFailure {
  switch (outcome.kind) {
    case 'not-started':
      return { code: 'UNAVAILABLE', message: outcome.message, retryable: true, outcome: 'cancelled' };
    case 'failed':
      return { ...outcome.error, outcome: 'failed' };
    case 'crashed':
      return { code: 'INTERNAL', message: outcome.message, retryable: true, outcome: 'crashed' };
    case 'oom':
      return { code: 'RESOURCE_EXHAUSTED', message: outcome.message, retryable: true, outcome: 'oom' };
    case 'timed-out':
      return { code: 'TIMEOUT', message: outcome.message, retryable: false, outcome: 'timed-out' };
    case 'stopped':
      return { code: 'UNAVAILABLE', message: outcome.message, retryable: true, outcome: 'cancelled' };
  }
}
