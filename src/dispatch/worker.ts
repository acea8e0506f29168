// The worker runtime of one node: claims tasks that fit what the node has free, runs each in a child process
// of its pool, heartbeats the lease while it runs, and reports the outcome to the broker. The same loop runs
// over any TaskBroker (embedded now, JetStream in a cluster).
//
// Outcomes: a result → complete; a thrown error → fail (retryable as the error says); a crash or a memory cap
// overrun → fail, retryable; a timeout → fail, not retryable (error TIMEOUT). A heartbeat that finds the task
// cancelled, or the lease lost to another worker, stops the child and reports nothing: the task moved on.
import { EventEmitter } from 'node:events';
import { silentLogger, toAimassError, type Logger } from '../core/index.js';
import type { TaskBroker } from './broker.js';
import type { HandlerRegistry } from './handlers.js';
import { ProcessPool, type ChildOutcome, type ProcessPoolOptions } from './process-pool.js';
import { offerFor, type NodeCapacity, type NodeLoad } from './scheduling.js';
import type { ClaimedTask, TaskFailure } from './task-store.js';

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

export class TaskWorker extends EventEmitter<TaskWorkerEvents> {
  readonly pool: ProcessPool;
  private readonly broker: TaskBroker;
  private readonly node: NodeCapacity;
  private readonly handlers: HandlerRegistry;
  private readonly maxConcurrent: number;
  private readonly heartbeatMs: number;
  private readonly claimWaitMs: number;
  private readonly logger: Logger;
  private readonly active = new Map<string, { info: RunningTask; stop(reason: string): void; done: Promise<void> }>();
  private usedCpu = 0;
  private usedMemoryMb = 0;
  private stopping = false;
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
    this.logger = options.logger ?? silentLogger;
    this.pool = new ProcessPool({ ...options.pool, maxChildren: this.maxConcurrent });
  }

  start(): this {
    this.loopDone = this.loop();
    return this;
  }

  /** What the node has and uses now. */
  load(): NodeLoad {
    return { ...this.node, usedCpu: this.usedCpu, usedMemoryMb: this.usedMemoryMb, draining: this.stopping };
  }

  running(): RunningTask[] {
    return [...this.active.values()].map((a) => a.info);
  }

  /**
   * Stops claiming. With `drain`, waits for running tasks to finish; otherwise stops them (each fails as
   * retryable, so another worker runs it). Then closes the pool.
   */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    this.stopping = true;
    this.claimAbort.abort();
    this.changed?.();
    await this.loopDone;
    if (!options.drain) for (const a of this.active.values()) a.stop('the worker is stopping');
    await Promise.all([...this.active.values()].map((a) => a.done));
    await this.pool.close();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const load = this.load();
      if (this.active.size >= this.maxConcurrent || load.cpu - load.usedCpu < 1) {
        await new Promise<void>((resolve) => (this.changed = resolve));
        continue;
      }
      this.claimAbort = new AbortController();
      let claimed: ClaimedTask | undefined;
      try {
        claimed = await this.broker.claim(offerFor(load, this.handlers.types()), { waitMs: this.claimWaitMs, signal: this.claimAbort.signal });
      } catch (e) {
        this.logger.warn({ err: toAimassError(e).message }, 'claiming a task failed; trying again shortly');
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      if (claimed) this.launch(claimed);
    }
  }

  private launch({ task, lease }: ClaimedTask): void {
    const { cpu, memoryMb } = task.resources;
    this.usedCpu += cpu;
    this.usedMemoryMb += memoryMb;
    let stopRun: (reason: string) => void = () => undefined;
    let stopReason: string | undefined;
    const done = (async () => {
      let outcome: ChildOutcome;
      let leaseGone = false;
      // Heartbeats start at the claim: starting a fresh child can take longer than a short lease.
      const heartbeat = setInterval(() => {
        this.broker.heartbeat(lease).then(
          (status) => {
            if (status !== 'held' && !leaseGone) {
              leaseGone = true;
              this.active.get(task.id)?.stop(status === 'cancelled' ? 'the task was cancelled' : 'the lease was lost to another worker');
            }
          },
          (e) => this.logger.warn({ err: toAimassError(e).message, taskId: task.id }, 'heartbeat failed'),
        );
      }, this.heartbeatMs);
      try {
        const run = await this.pool.run({
          taskId: task.id,
          attempt: lease.attempt,
          taskType: task.type,
          handler: this.handlers.get(task.type),
          payload: task.payload,
          threads: cpu,
          memoryMb,
          timeoutMs: task.timeoutMs,
        });
        stopRun = run.stop;
        if (stopReason !== undefined) run.stop(stopReason);
        const info: RunningTask = { taskId: task.id, type: task.type, attempt: lease.attempt, pid: run.pid, cpu, memoryMb, startedAt: new Date().toISOString() };
        this.active.get(task.id)!.info = info;
        this.emit('task-started', info);
        outcome = await run.outcome;
      } catch (e) {
        const err = toAimassError(e);
        outcome = { kind: 'failed', error: { code: err.code, message: err.message, retryable: err.details?.retryable !== false } };
      } finally {
        clearInterval(heartbeat);
      }
      if (!leaseGone) await this.report(lease, outcome);
      this.usedCpu -= cpu;
      this.usedMemoryMb -= memoryMb;
      this.active.delete(task.id);
      this.emit('task-ended', { taskId: task.id, attempt: lease.attempt, outcome: outcome.kind });
      this.claimAbort.abort();
      this.changed?.();
    })();
    this.active.set(task.id, {
      info: { taskId: task.id, type: task.type, attempt: lease.attempt, pid: -1, cpu, memoryMb, startedAt: new Date().toISOString() },
      stop: (reason) => {
        stopReason = reason;
        stopRun(reason);
      },
      done,
    });
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

function failureOf(outcome: Exclude<ChildOutcome, { kind: 'succeeded' }>): TaskFailure {
  switch (outcome.kind) {
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
