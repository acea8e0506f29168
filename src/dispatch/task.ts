// The task model: what a submitter hands in (TaskSpec, validated with every problem listed), what the store
// keeps (TaskRecord with its attempt history), the lifecycle as a string union, and the retry policy
// (exponential backoff with jitter). Pure data and functions; no I/O.
import { z } from 'zod';
import { parseWith } from '../core/index.js';
export { isRetryableCode } from './retryable.js';

/** Built-in task types; any other name registered with a handler is accepted too (see TASK_TYPE_PATTERN). */
export const BUILTIN_TASK_TYPES = ['train', 'trial', 'predict-batch', 'evaluate', 'backup', 'custom'] as const;
export const TASK_TYPE_PATTERN = /^[a-z][a-z0-9]*(?:[-.:][a-z0-9]+)*$/;

/**
 * queued → running → succeeded | failed | dead, and back to queued for a retry; cancelled from queued or running.
 * `failed` is a failure that must not be retried (or a timeout); `dead` means retryable failures used every attempt.
 */
export type TaskState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'dead';
export const TASK_STATES: readonly TaskState[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead'];
export const FINISHED_STATES: ReadonlySet<TaskState> = new Set(['succeeded', 'failed', 'cancelled', 'dead']);

export function isFinished(state: TaskState): boolean {
  return FINISHED_STATES.has(state);
}

/** How one attempt ended. `lease-expired`: its worker stopped heartbeating (crashed, killed, partitioned). */
export type AttemptOutcome = 'running' | 'succeeded' | 'failed' | 'crashed' | 'oom' | 'timed-out' | 'lease-expired' | 'cancelled';

export type TaskKind = 'image' | 'text' | 'any';

/** Named lanes; an integer priority is accepted too (higher runs first). */
export const PRIORITY_LANES = { high: 2, normal: 1, low: 0 } as const;
export type PriorityLane = keyof typeof PRIORITY_LANES;

export interface ResourceNeeds {
  /** CPU threads the task uses; its child process gets this as its thread count. */
  cpu: number;
  /** Memory in MB; the child's `--max-old-space-size` and the node's free memory are checked against it. */
  memoryMb: number;
  kind: TaskKind;
  /** Labels a node must carry (exact values), like Kubernetes node affinity. */
  labels: Record<string, string>;
}

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Delay before the second attempt; doubles each attempt up to maxDelayMs, then ±50% jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** What a submitter hands in. Everything but `type` has a default. */
export interface TaskSpec {
  type: string;
  payload?: unknown;
  priority?: PriorityLane | number;
  resources?: Partial<ResourceNeeds>;
  /** Hard limit on one attempt's run time; the process running it is killed when it passes. */
  timeoutMs?: number;
  /** An absolute time (ISO-8601) after which the task must not start. */
  deadline?: string;
  retry?: Partial<RetryPolicy>;
  /** Submitting twice with the same key gives back the first task instead of a second one. */
  idempotencyKey?: string;
}

export interface TaskError {
  code: string;
  message: string;
}

export interface TaskAttempt {
  attempt: number;
  node: string;
  startedAt: string;
  endedAt: string | null;
  outcome: AttemptOutcome;
  error: TaskError | null;
}

/** A task as stored: its normalized spec, its state and its attempt history. */
export interface TaskRecord extends NormalizedTaskSpec {
  id: string;
  state: TaskState;
  /** Attempts started so far (the current one included while running). */
  attempts: number;
  /** The node running it, while running. */
  node: string | null;
  /** While queued after a retryable failure: not claimable before this time. */
  notBefore: string | null;
  leaseExpiresAt: string | null;
  result: unknown;
  error: TaskError | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  history: TaskAttempt[];
}

/** The spec after validation, defaults filled in. */
export interface NormalizedTaskSpec {
  type: string;
  payload: unknown;
  priority: number;
  resources: ResourceNeeds;
  timeoutMs: number;
  deadline: string | null;
  retry: RetryPolicy;
  idempotencyKey: string | null;
}

export const DEFAULT_TIMEOUT_MS = 60 * 60 * 1000;
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };
export const DEFAULT_RESOURCES: ResourceNeeds = { cpu: 1, memoryMb: 256, kind: 'any', labels: {} };

const jsonSafe = (v: unknown): boolean => {
  try {
    return JSON.stringify(v) !== undefined || v === undefined;
  } catch {
    return false;
  }
};

const TaskSpecSchema = z
  .object({
    type: z.string().regex(TASK_TYPE_PATTERN, 'a task type is lower-case words joined by "-", "." or ":", e.g. "train" or "predict-batch"'),
    payload: z.unknown().refine(jsonSafe, 'must be JSON-serializable (no cycles, no BigInt)').optional(),
    priority: z
      .union([z.enum(['high', 'normal', 'low']), z.number().int().min(-1000).max(1000)], {
        error: 'must be "high", "normal", "low" or a whole number from -1000 to 1000',
      })
      .optional(),
    resources: z
      .object({
        cpu: z.number().int().min(1).max(1024).optional(),
        memoryMb: z.number().int().min(16).max(4 * 1024 * 1024).optional(),
        kind: z.enum(['image', 'text', 'any']).optional(),
        labels: z.record(z.string().min(1), z.string()).optional(),
      })
      .strict()
      .optional(),
    timeoutMs: z.number().int().min(1).max(7 * 24 * 3600 * 1000).optional(),
    deadline: z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time such as 2026-01-31T12:00:00Z' }).optional(),
    retry: z
      .object({
        maxAttempts: z.number().int().min(1).max(100).optional(),
        baseDelayMs: z.number().int().min(0).max(24 * 3600 * 1000).optional(),
        maxDelayMs: z.number().int().min(0).max(24 * 3600 * 1000).optional(),
      })
      .strict()
      .optional(),
    idempotencyKey: z.string().min(1).max(256).optional(),
  })
  .strict();

/** Validates a spec (INVALID_SPEC listing every problem, each path prefixed with `root`) and fills in the defaults. */
export function normalizeTaskSpec(spec: unknown, root = ''): NormalizedTaskSpec {
  const s = parseWith(TaskSpecSchema, spec, 'task', root);
  const priority = s.priority === undefined ? PRIORITY_LANES.normal : typeof s.priority === 'string' ? PRIORITY_LANES[s.priority] : s.priority;
  const retry = { ...DEFAULT_RETRY, ...s.retry };
  if (retry.maxDelayMs < retry.baseDelayMs) retry.maxDelayMs = retry.baseDelayMs;
  return {
    type: s.type,
    payload: s.payload ?? null,
    priority,
    resources: { ...DEFAULT_RESOURCES, ...s.resources, labels: { ...s.resources?.labels } },
    timeoutMs: s.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    deadline: s.deadline === undefined ? null : new Date(s.deadline).toISOString(),
    retry,
    idempotencyKey: s.idempotencyKey ?? null,
  };
}

/**
 * Delay before attempt `failedAttempt + 1`: base × 2^(failedAttempt−1), capped at max, then scaled by a random
 * factor in [0.5, 1.5) so that many tasks failing together do not retry together.
 */
export function backoffDelayMs(retry: RetryPolicy, failedAttempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
  return Math.round(exponential * (0.5 + random()));
}
