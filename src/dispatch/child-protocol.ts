// Messages between a worker's process pool and its child processes (over the fork IPC channel, as JSON).
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

export type ToChild = RunMessage;

export type FromChild =
  | { type: 'ready'; pid: number }
  | { type: 'done'; taskId: string; result: unknown }
  | { type: 'error'; taskId: string; error: { code: string; message: string; retryable: boolean } };
