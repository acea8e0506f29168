/**
 * Public entry of `dispatch/`: tasks (model, validation, retry policy), their SQL records (TaskStore), the
 * TaskBroker interface that submitters and workers use, its embedded implementation (SQLite or any SqlDriver,
 * in-process wake-ups), allocation (which node fits, which is least loaded), and the worker runtime that runs
 * handlers in a pool of child processes. The JetStream broker implements the same TaskBroker with the records
 * in SQL and the task ids on a JetStream work-queue stream.
 *
 * Imports only core/ and storage/ (and the NATS client).
 */
export {
  BUILTIN_TASK_TYPES,
  DEFAULT_RESOURCES,
  DEFAULT_RETRY,
  DEFAULT_TIMEOUT_MS,
  FINISHED_STATES,
  PRIORITY_LANES,
  TASK_STATES,
  TASK_TYPE_PATTERN,
  backoffDelayMs,
  isFinished,
  isRetryableCode,
  normalizeTaskSpec,
  type AttemptOutcome,
  type NormalizedTaskSpec,
  type PriorityLane,
  type ResourceNeeds,
  type RetryPolicy,
  type TaskAttempt,
  type TaskError,
  type TaskKind,
  type TaskRecord,
  type TaskSpec,
  type TaskState,
} from './task.js';
export {
  TaskStore,
  type ClaimBatch,
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
  type TypeLimits,
  type UpdateResult,
} from './task-store.js';
export { waitForTask, type ClaimOptions, type TaskBroker, type TaskEvent } from './broker.js';
export { EmbeddedBroker, openEmbeddedBroker, type EmbeddedBrokerOptions } from './embedded-broker.js';
export { JetStreamBroker, openJetStreamBroker, type JetStreamBrokerOptions } from './jetstream-broker.js';
export { chooseNode, fits, kindFits, loadOf, offerFor, type NodeCapacity, type NodeLoad } from './scheduling.js';
export { HandlerRegistry, type HandlerRef, type TaskContext, type TaskHandler } from './handlers.js';
export { ProcessPool, type ChildJob, type ChildOutcome, type ChildRun, type ProcessPoolOptions } from './process-pool.js';
export { TaskWorker, type RunningTask, type TaskEnded, type TaskWorkerEvents, type TaskWorkerOptions } from './worker.js';
