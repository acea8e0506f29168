// Task handlers: which code runs a task type. The registry maps a type to a module and an export name; the
// module is loaded in the child process that runs the task, never in the worker itself, so a handler that
// leaks, crashes or blocks its thread cannot hurt the worker or another task.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { AimassError, errors } from '../core/index.js';
import { TASK_TYPE_PATTERN } from './task.js';

/** What a handler gets besides the payload. */
export interface TaskContext {
  taskId: string;
  attempt: number;
  type: string;
  /** CPU threads granted; pass it to ONNX Runtime as intraOpNumThreads. */
  threads: number;
  /** Aborted when the task is cancelled, times out or its lease is lost; stop soon after. */
  signal: AbortSignal;
}

/**
 * A handler: payload in, JSON-serializable result out. Throw to fail the attempt; an error whose
 * `details.retryable` (or own `retryable`) is false is not retried, nor is one with a caller-error code.
 */
export type TaskHandler = (payload: unknown, context: TaskContext) => unknown | Promise<unknown>;

export interface HandlerRef {
  /** Absolute path or file: URL of an ES module (.ts works: children load tsx). */
  module: string;
  /** Export name (default "default"). */
  export?: string;
}

export class HandlerRegistry {
  private readonly handlers = new Map<string, Required<HandlerRef>>();

  register(type: string, ref: HandlerRef): this {
    if (!TASK_TYPE_PATTERN.test(type)) throw errors.invalidArgument(`task type "${type}" is invalid: use lower-case words joined by "-", "." or ":"`, { type });
    const module = ref.module.startsWith('file:') ? ref.module : path.isAbsolute(ref.module) ? pathToFileURL(ref.module).href : undefined;
    if (!module) throw errors.invalidArgument(`handler module "${ref.module}" for "${type}" must be an absolute path or a file: URL`, { type });
    this.handlers.set(type, { module, export: ref.export ?? 'default' });
    return this;
  }

  get(type: string): Required<HandlerRef> {
    const ref = this.handlers.get(type);
    if (!ref) {
      throw new AimassError('NOT_FOUND', `no handler is registered for task type "${type}"; known: ${this.types().join(', ') || 'none'}`, { type });
    }
    return ref;
  }

  types(): string[] {
    return [...this.handlers.keys()].sort();
  }
}
