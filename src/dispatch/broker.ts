// The TaskBroker: everything a submitter and a worker loop need, behind one interface that both transports
// implement. The embedded broker (embedded-broker.ts) is a TaskStore plus in-process wake-ups. A JetStream
// broker maps onto it as:
//
//   submit     record in SQL, then publish the task id to a work-queue stream
//   claim      pull a window of messages (long poll = `expires`), then claim the best of them in SQL in one
//              statement; Lease.token = the message
//   heartbeat  msg.working() (resets ack wait) + extend the SQL lease
//   complete   write the result in SQL (once), then msg.ack()
//   fail       SQL first; retry → msg.nak(backoff delay), end → msg.term()
//   leaseMs    the consumer's ack wait; max attempts ↔ max_deliver
//   watch      a subject of task events
//
// Records stay in SQL in both, so get/list/counts and exactly-once results are shared code (TaskStore). Both take
// work in batches where that is cheaper (submitMany, claimMany), and the store writes completions and submits
// that arrive together in one transaction.
import { AimassError } from '../core/index.js';
import type { ClaimedTask, ClaimOffer, Lease, LeaseStatus, TaskCounts, TaskFailure, TaskFilter, UpdateResult } from './task-store.js';
import { isFinished, type TaskRecord, type TaskSpec, type TaskState } from './task.js';

export interface ClaimOptions {
  /**
   * Wait up to this long for a task to fit (long poll); 0 (default) answers at once. A claim that answers at
   * once still finds a due task that fits whenever one is queued, unless another claim is looking at it that
   * moment: a claim gives back what it does not take before it answers (with `again`, within the transport's
   * hold time). So claimers that stop at their first empty answer leave nothing behind; to see a task that a
   * claimer elsewhere may be looking at, claim with a wait.
   */
  waitMs?: number;
  signal?: AbortSignal;
  /**
   * The caller claims again right after (a worker's loop): the transport may keep what it looked at but did not
   * take, for a moment, for that next claim, instead of handing it back to other claimers at once.
   */
  again?: boolean;
}

/** One change of one task, as this broker saw it. */
export interface TaskEvent {
  kind: 'submitted' | 'claimed' | 'succeeded' | 'retrying' | 'requeued' | 'failed' | 'dead' | 'cancelled';
  taskId: string;
  type: string;
  state: TaskState;
  attempt: number;
  node?: string;
}

export interface TaskBroker {
  /** "embedded", "nats", … */
  readonly transport: string;
  /** How long a claim or heartbeat keeps the task; heartbeat well within it. */
  readonly leaseMs: number;
  /** Queues a task (idempotent by key; RESOURCE_EXHAUSTED when the queue is full). */
  submit(spec: TaskSpec): Promise<{ task: TaskRecord; created: boolean }>;
  /** Queues several tasks, all or none (INVALID_SPEC naming the spec, or RESOURCE_EXHAUSTED); in order. */
  submitMany(specs: readonly TaskSpec[]): Promise<{ task: TaskRecord; created: boolean }[]>;
  /** The next task fitting `offer` (priority, then FIFO), leased to `offer.node`; undefined when none came in time. */
  claim(offer: ClaimOffer & { load?: number }, options?: ClaimOptions): Promise<ClaimedTask | undefined>;
  /**
   * Up to `max` tasks that fit `offer` together (their CPU and memory added up), best first, each with its own
   * lease; as soon as at least one is there (or none came in time: empty).
   */
  claimMany(offer: ClaimOffer & { load?: number }, max: number, options?: ClaimOptions): Promise<ClaimedTask[]>;
  heartbeat(lease: Lease): Promise<LeaseStatus>;
  complete(lease: Lease, result: unknown): Promise<UpdateResult>;
  fail(lease: Lease, failure: TaskFailure): Promise<UpdateResult>;
  cancel(taskId: string, reason?: string): Promise<UpdateResult>;
  get(taskId: string): Promise<TaskRecord | undefined>;
  list(filter?: TaskFilter): Promise<TaskRecord[]>;
  counts(): Promise<TaskCounts>;
  /** Calls `listener` on every task change; returns the unsubscribe function. */
  watch(listener: (event: TaskEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * Resolves with the task once it has finished (succeeded, failed, cancelled, dead). Listens for events and also
 * re-reads the record every `pollMs`, because changes made by other processes raise no event here.
 */
export async function waitForTask(broker: TaskBroker, taskId: string, options: { timeoutMs?: number; pollMs?: number } = {}): Promise<TaskRecord> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise<TaskRecord>((resolve, reject) => {
    let done = false;
    const finish = (error: Error | undefined, task?: TaskRecord) => {
      if (done) return;
      done = true;
      unsubscribe();
      clearInterval(poll);
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(task!);
    };
    const check = () => {
      broker.get(taskId).then(
        (task) => {
          if (!task) finish(new AimassError('NOT_FOUND', `task "${taskId}" was not found`, { taskId }));
          else if (isFinished(task.state)) finish(undefined, task);
        },
        (e: Error) => finish(e),
      );
    };
    const unsubscribe = broker.watch((event) => {
      if (event.taskId === taskId && isFinished(event.state)) check();
    });
    const poll = setInterval(check, options.pollMs ?? 500);
    const timer = setTimeout(
      () => finish(new AimassError('TIMEOUT', `task "${taskId}" did not finish within ${timeoutMs} ms`, { taskId, timeoutMs })),
      timeoutMs,
    );
    check();
  });
}
