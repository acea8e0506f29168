// Messages between a worker's process pool and its child processes (over the fork IPC channel, as JSON). A child
// runs what it is sent one task at a time, in order, and answers each task on its own; a batch of tasks comes in
// one message, so that short tasks cost one write to the child for several of them.
import type { HandlerRef } from './handlers.js';

export interface RunMessage {
  type: 'run';
  taskId: string;
  attempt: number;
  taskType: string;
  handler: Required<HandlerRef>;
  payload: unknown;
  threads: number;
}

/** Several tasks to run one after another. */
export interface RunBatchMessage {
  type: 'run-batch';
  runs: RunMessage[];
}

/** Do not start this task (it was stopped while waiting its turn); answered with `skipped` unless already started. */
export interface SkipMessage {
  type: 'skip';
  taskId: string;
}

export type ToChild = RunMessage | RunBatchMessage | SkipMessage;

export type FromChild =
  | { type: 'ready'; pid: number }
  | { type: 'done'; taskId: string; result: unknown }
  | { type: 'error'; taskId: string; error: { code: string; message: string; retryable: boolean } }
  | { type: 'skipped'; taskId: string };
