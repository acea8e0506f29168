// The loop of one pool child: load the handler named in each `run` message (modules are cached, so a child
// that ran a type once runs it again at the cost of a message), run it, send back the result or the error.
// Tasks sent while one runs (or several in one `run-batch`) wait their turn, in order; a `skip` drops a waiting one.
// On SIGTERM the running task's signal is aborted and the child exits once the handler settles; a handler that
// ignores it is SIGKILLed by the parent after its grace period. When the parent dies, the IPC channel closes
// and the child exits too.
import type { FromChild, RunMessage, ToChild } from './child-protocol.js';
import type { TaskHandler } from './handlers.js';
import { isRetryableCode } from './retryable.js';

const modules = new Map<string, Promise<Record<string, unknown>>>();
let current: { controller: AbortController; settled: Promise<void> } | undefined;
const waiting: RunMessage[] = [];
const skipped = new Set<string>();
let pumping = false;

function send(message: FromChild): void {
  process.send?.(message);
}

async function loadHandler(ref: RunMessage['handler']): Promise<TaskHandler> {
  let mod = modules.get(ref.module);
  if (!mod) {
    mod = import(ref.module) as Promise<Record<string, unknown>>;
    modules.set(ref.module, mod);
    mod.catch(() => modules.delete(ref.module));
  }
  const fn = (await mod)[ref.export];
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${ref.module} has no function export "${ref.export}"`), { code: 'NOT_FOUND', retryable: false });
  }
  return fn as TaskHandler;
}

function describeError(e: unknown): { code: string; message: string; retryable: boolean } {
  const err = (e ?? {}) as { code?: unknown; message?: unknown; retryable?: unknown; details?: { retryable?: unknown } };
  const code = typeof err.code === 'string' && /^[A-Z][A-Z_]*$/.test(err.code) ? err.code : 'INTERNAL';
  const message = typeof err.message === 'string' ? err.message : String(e);
  const flag = typeof err.retryable === 'boolean' ? err.retryable : typeof err.details?.retryable === 'boolean' ? err.details.retryable : undefined;
  return { code, message, retryable: flag ?? isRetryableCode(code) };
}

async function run(m: RunMessage): Promise<void> {
  const controller = new AbortController();
  let markSettled!: () => void;
  current = { controller, settled: new Promise((r) => (markSettled = r)) };
  try {
    const handler = await loadHandler(m.handler);
    const result = await handler(m.payload, { taskId: m.taskId, attempt: m.attempt, type: m.taskType, threads: m.threads, signal: controller.signal });
    send({ type: 'done', taskId: m.taskId, result: result === undefined ? null : result });
  } catch (e) {
    send({ type: 'error', taskId: m.taskId, error: describeError(e) });
  } finally {
    current = undefined;
    markSettled();
  }
}

async function pump(): Promise<void> {
  pumping = true;
  while (waiting.length > 0) {
    const m = waiting.shift()!;
    if (skipped.delete(m.taskId)) send({ type: 'skipped', taskId: m.taskId });
    else {
      await run(m);
      skipped.delete(m.taskId); // a skip that came too late
    }
  }
  pumping = false;
}

export function runChild(): void {
  process.on('message', (m: ToChild) => {
    if (m.type === 'run') waiting.push(m);
    else if (m.type === 'run-batch') waiting.push(...m.runs);
    else if (m.type === 'skip') skipped.add(m.taskId);
    if (!pumping) void pump();
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => {
    if (!current) process.exit(0);
    current.controller.abort(new Error('the task was stopped (timeout, cancel or lost lease)'));
    void current.settled.then(() => process.exit(0));
  });
  send({ type: 'ready', pid: process.pid });
}
