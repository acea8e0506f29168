// Task records in SQL (SQLite embedded, PostgreSQL in a cluster), over the project's SqlDriver. The store owns
// every state change of a task and makes each one a single transaction:
//
// - submit is idempotent by key and bounded (RESOURCE_EXHAUSTED "queue full, retry after N s");
// - claim hands a task to one claimer only (SQLite: BEGIN IMMEDIATE serializes writers; PostgreSQL: candidate
//   rows are read FOR UPDATE SKIP LOCKED, so concurrent claimers pass each other by), honouring the claimer's
//   capabilities, per-type concurrency and rate limits, priority with aging, and retry not-before times. A task
//   whose lease expired (its worker died) is put back first, so it is claimable again;
// - complete writes the result once: a second completion (a lost ack, or a stale attempt finishing after the
//   task was re-run) changes nothing and says so;
// - fail retries with backoff, or ends the task (failed, or dead when retryable attempts ran out).
//
// Times come from an injectable clock so tests can step through backoff, leases and rate limits.
import { AimassError, errors, newId } from '../core/index.js';
import type { SqlDriver, SqlValue } from '../storage/index.js';
import {
  backoffDelayMs,
  normalizeTaskSpec,
  TASK_STATES,
  type AttemptOutcome,
  type NormalizedTaskSpec,
  type TaskAttempt,
  type TaskError,
  type TaskKind,
  type TaskRecord,
  type TaskSpec,
  type TaskState,
} from './task.js';

/** Limits for one task type, enforced at claim time across every claimer of the database. */
export interface TypeLimits {
  /** At most this many tasks of the type running at once. */
  concurrency?: number;
  /** Token bucket: claims per second on average… */
  ratePerSecond?: number;
  /** …and at most this many in a burst (default: max(1, ratePerSecond)). */
  burst?: number;
}

export interface TaskStoreOptions {
  /** Queued tasks beyond which submit answers RESOURCE_EXHAUSTED (default 10000). */
  maxQueued?: number;
  /** A queued task gains one priority step per this much waiting (default 30000 ms), so low lanes never starve. */
  agingMs?: number;
  limits?: Record<string, TypeLimits>;
  /** Epoch milliseconds; tests step it. */
  clock?: () => number;
  /** For backoff jitter; tests fix it. */
  random?: () => number;
}

/** What a claimer can take now: its free resources and what it declares. */
export interface ClaimOffer {
  node: string;
  /** Free CPU threads. */
  cpu: number;
  /** Free memory in MB. */
  memoryMb: number;
  /** Kinds the node runs; a task of kind "any" fits every node, a node listing "any" takes every kind. */
  kinds: readonly TaskKind[];
  labels?: Readonly<Record<string, string>>;
  /** Types the node has handlers for; all when omitted. */
  types?: readonly string[];
}

/** The right to run one attempt of a task until `expiresAt`, renewed by heartbeats. */
export interface Lease {
  taskId: string;
  attempt: number;
  node: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Transport-specific handle (a JetStream message to ack/nak); the embedded broker leaves it unset. */
  token?: unknown;
}

export interface ClaimedTask {
  task: TaskRecord;
  lease: Lease;
}

export interface ClaimResult {
  claimed?: ClaimedTask;
  /** When nothing fit: the earliest epoch ms at which a backoff, lease or rate limit lets something through. */
  retryAt?: number;
  /** Tasks this claim ended on the way (deadline passed, or a lost lease that used the last attempt). */
  ended: TaskRecord[];
  /** Tasks whose expired lease this claim put back in the queue. */
  requeued: TaskRecord[];
}

export type LeaseStatus = 'held' | 'lost' | 'cancelled';

export interface TaskFailure {
  code: string;
  message: string;
  retryable: boolean;
  /** How the attempt ended (default "failed"). */
  outcome?: AttemptOutcome;
}

export interface UpdateResult {
  task: TaskRecord;
  /** False when the call changed nothing: a repeated completion, a stale attempt, an already finished task. */
  recorded: boolean;
}

export interface TaskFilter {
  states?: readonly TaskState[];
  type?: string;
  node?: string;
  limit?: number;
}

export type TaskCounts = Record<TaskState, number>;

/** A task's state and needs, without payload or history. */
export interface TaskGlance {
  id: string;
  type: string;
  state: TaskState;
  resources: { cpu: number; memoryMb: number; kind: TaskKind; labels: Record<string, string> };
  leaseExpiresMs: number | null;
  notBeforeMs: number;
}

const DEFAULT_MAX_QUEUED = 10_000;
const DEFAULT_AGING_MS = 30_000;
const CANDIDATES = 64;

interface TaskRow {
  id: string;
  type: string;
  payload: string;
  priority: number;
  cpu: number;
  memory_mb: number;
  kind: TaskKind;
  labels: string;
  timeout_ms: number;
  deadline_ms: number | null;
  max_attempts: number;
  base_delay_ms: number;
  max_delay_ms: number;
  idempotency_key: string | null;
  state: TaskState;
  attempts: number;
  node: string | null;
  sort_key: number;
  not_before_ms: number;
  lease_expires_ms: number | null;
  result: string | null;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  ended_at: string | null;
}

interface AttemptRow {
  task_id: string;
  attempt: number;
  node: string;
  started_at: string;
  ended_at: string | null;
  outcome: AttemptOutcome;
  error_code: string | null;
  error_message: string | null;
}

const COLUMNS =
  'id, type, payload, priority, cpu, memory_mb, kind, labels, timeout_ms, deadline_ms, max_attempts, base_delay_ms, max_delay_ms, ' +
  'idempotency_key, state, attempts, node, sort_key, not_before_ms, lease_expires_ms, result, error_code, error_message, ' +
  'created_at, updated_at, started_at, ended_at';

export class TaskStore {
  private readonly maxQueued: number;
  private readonly agingMs: number;
  private readonly limits: Record<string, TypeLimits>;
  private readonly clock: () => number;
  private readonly random: () => number;

  constructor(
    readonly db: SqlDriver,
    options: TaskStoreOptions = {},
  ) {
    this.maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED;
    this.agingMs = options.agingMs ?? DEFAULT_AGING_MS;
    this.limits = options.limits ?? {};
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 1) throw errors.invalidArgument(`maxQueued must be a whole number ≥ 1, got ${this.maxQueued}`);
    if (!(this.agingMs > 0)) throw errors.invalidArgument(`agingMs must be > 0, got ${this.agingMs}`);
    for (const [type, l] of Object.entries(this.limits)) {
      if (l.concurrency !== undefined && !(Number.isInteger(l.concurrency) && l.concurrency >= 1)) {
        throw errors.invalidArgument(`limits.${type}.concurrency must be a whole number ≥ 1, got ${l.concurrency}`);
      }
      if (l.ratePerSecond !== undefined && !(l.ratePerSecond > 0)) throw errors.invalidArgument(`limits.${type}.ratePerSecond must be > 0, got ${l.ratePerSecond}`);
      if (l.burst !== undefined && !(l.burst >= 1)) throw errors.invalidArgument(`limits.${type}.burst must be ≥ 1, got ${l.burst}`);
    }
  }

  now(): number {
    return this.clock();
  }

  // --- submit ------------------------------------------------------------------------------------------------

  /** Records a new queued task, or returns the existing one with the same idempotency key (`created: false`). */
  async submit(spec: TaskSpec): Promise<{ task: TaskRecord; created: boolean }> {
    const s = normalizeTaskSpec(spec);
    const id = newId('task');
    const outcome = await this.db.transaction(async (tx) => {
      if (s.idempotencyKey !== null) {
        const existing = await this.byKey(tx, s.idempotencyKey);
        if (existing) return { id: existing, created: false };
      }
      const [{ n }] = await tx.query<{ n: number }>("SELECT COUNT(*) AS n FROM tasks WHERE state = 'queued'");
      if (Number(n) >= this.maxQueued) throw await this.queueFull(tx, Number(n));
      const now = this.clock();
      const at = iso(now);
      const { changes } = await tx.run(
        `INSERT INTO tasks (${COLUMNS}) VALUES (${Array(27).fill('?').join(', ')}) ON CONFLICT (idempotency_key) DO NOTHING`,
        insertValues(id, s, now - s.priority * this.agingMs, now, at),
      );
      if (changes === 0) return { id: (await this.byKey(tx, s.idempotencyKey!))!, created: false };
      return { id, created: true };
    });
    return { task: (await this.get(outcome.id))!, created: outcome.created };
  }

  private async byKey(tx: SqlDriver, key: string): Promise<string | undefined> {
    const rows = await tx.query<{ id: string }>('SELECT id FROM tasks WHERE idempotency_key = ?', [key]);
    return rows[0]?.id;
  }

  /** RESOURCE_EXHAUSTED with a retry-after estimated from how fast tasks finished in the last minute. */
  private async queueFull(tx: SqlDriver, queued: number): Promise<AimassError> {
    const since = iso(this.clock() - 60_000);
    const [{ n }] = await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM tasks WHERE ended_at >= ?', [since]);
    const perSecond = Number(n) / 60;
    const retryAfterS = perSecond > 0 ? Math.min(300, Math.max(1, Math.ceil((queued - this.maxQueued + 1) / perSecond))) : 5;
    return new AimassError(
      'RESOURCE_EXHAUSTED',
      `queue full (${queued} tasks queued, at most ${this.maxQueued}), retry after ${retryAfterS} s`,
      { queued, maxQueued: this.maxQueued, retryAfterS, retryable: true },
    );
  }

  // --- claim -------------------------------------------------------------------------------------------------

  /**
   * Leases the next task that fits `offer` for `leaseMs`, or says when to look again. `only` restricts the
   * choice to these task ids (a JetStream claimer chooses among the messages it pulled).
   */
  async claim(offer: ClaimOffer, leaseMs: number, only?: readonly string[]): Promise<ClaimResult> {
    if (!(leaseMs > 0)) throw errors.invalidArgument(`leaseMs must be > 0, got ${leaseMs}`);
    const result = await this.db.transaction(async (tx): Promise<{ lease?: Lease; retryAt?: number; ended: string[]; requeued: string[] }> => {
      const now = this.clock();
      const ended: string[] = [];
      const requeued = await this.reapExpiredLeases(tx, now, ended);
      const blocked = await this.blockedTypes(tx, now, offer.types);
      const where = ["state = 'queued'", 'not_before_ms <= ?', 'cpu <= ?', 'memory_mb <= ?'];
      const params: SqlValue[] = [now, offer.cpu, offer.memoryMb];
      if (!offer.kinds.includes('any')) {
        where.push(`kind IN ('any'${offer.kinds.map(() => ', ?').join('')})`);
        params.push(...offer.kinds);
      }
      if (offer.types) {
        if (offer.types.length === 0) return { ended, requeued };
        where.push(`type IN (${offer.types.map(() => '?').join(', ')})`);
        params.push(...offer.types);
      }
      if (only) {
        if (only.length === 0) return { ended, requeued };
        where.push(`id IN (${only.map(() => '?').join(', ')})`);
        params.push(...only);
      }
      if (blocked.types.length > 0) {
        where.push(`type NOT IN (${blocked.types.map(() => '?').join(', ')})`);
        params.push(...blocked.types);
      }
      // Candidates are read without locks; only the one taken is locked (skipping it if another claimer holds
      // it), so concurrent claimers on PostgreSQL pass each other instead of one locking the whole batch.
      const candidates = await tx.query<TaskRow>(`SELECT ${COLUMNS} FROM tasks WHERE ${where.join(' AND ')} ORDER BY sort_key, id LIMIT ${CANDIDATES}`, params);
      for (const candidate of candidates) {
        const [row] =
          tx.dialect === 'postgres'
            ? await tx.query<TaskRow>(`SELECT ${COLUMNS} FROM tasks WHERE id = ? AND state = 'queued'${skipLocked(tx)}`, [candidate.id])
            : [candidate];
        if (!row) continue;
        if (row.deadline_ms !== null && row.deadline_ms < now) {
          await this.endTask(tx, row.id, 'failed', now, { code: 'TIMEOUT', message: `the deadline ${iso(row.deadline_ms)} passed before the task could start` });
          ended.push(row.id);
          continue;
        }
        if (!labelsFit(JSON.parse(row.labels) as Record<string, string>, offer.labels ?? {})) continue;
        if (this.limits[row.type] && !(await this.takeTypeSlot(tx, row.type, now))) continue;
        const attempt = row.attempts + 1;
        const expiresAt = now + leaseMs;
        await tx.run(
          "UPDATE tasks SET state = 'running', attempts = ?, node = ?, lease_expires_ms = ?, started_at = COALESCE(started_at, ?), updated_at = ? WHERE id = ?",
          [attempt, offer.node, expiresAt, iso(now), iso(now), row.id],
        );
        await tx.run("INSERT INTO task_attempts (task_id, attempt, node, started_at, outcome) VALUES (?, ?, ?, ?, 'running')", [
          row.id,
          attempt,
          offer.node,
          iso(now),
        ]);
        return { lease: { taskId: row.id, attempt, node: offer.node, expiresAt }, ended, requeued };
      }
      return { retryAt: await this.nextChange(tx, now, blocked.refillAt), ended, requeued };
    });
    const records = async (ids: string[]) => (await Promise.all(ids.map((id) => this.get(id)))).filter((t): t is TaskRecord => t !== undefined);
    const ended = await records(result.ended);
    const requeued = await records(result.requeued);
    if (!result.lease) return { retryAt: result.retryAt, ended, requeued };
    return { claimed: { task: (await this.get(result.lease.taskId))!, lease: result.lease }, ended, requeued };
  }

  /**
   * Running tasks whose lease ran out: their worker is gone. The attempt is recorded as lease-expired and the
   * task goes back to the queue at once (keeping its place), or to dead when that was its last attempt.
   */
  private async reapExpiredLeases(tx: SqlDriver, now: number, ended: string[]): Promise<string[]> {
    const expired = await tx.query<{ id: string; attempts: number; max_attempts: number }>(
      `SELECT id, attempts, max_attempts FROM tasks WHERE state = 'running' AND lease_expires_ms < ? LIMIT ${CANDIDATES}${skipLocked(tx)}`,
      [now],
    );
    const requeued: string[] = [];
    for (const t of expired) {
      const error = { code: 'UNAVAILABLE', message: `the worker running attempt ${t.attempts} stopped renewing its lease (crashed, killed or cut off)` };
      await this.closeAttempt(tx, t.id, t.attempts, 'lease-expired', now, error);
      if (t.attempts >= t.max_attempts) {
        await this.endTask(tx, t.id, 'dead', now, error);
        ended.push(t.id);
      } else {
        await tx.run(
          "UPDATE tasks SET state = 'queued', node = NULL, lease_expires_ms = NULL, not_before_ms = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?",
          [now, error.code, error.message, iso(now), t.id],
        );
        requeued.push(t.id);
      }
    }
    return requeued;
  }

  /** Limited types that cannot start another task right now, and when the soonest rate bucket refills. */
  private async blockedTypes(tx: SqlDriver, now: number, only: readonly string[] | undefined): Promise<{ types: string[]; refillAt?: number }> {
    const limited = Object.keys(this.limits).filter((t) => !only || only.includes(t));
    if (limited.length === 0) return { types: [] };
    const marks = limited.map(() => '?').join(', ');
    const running = await tx.query<{ type: string; n: number }>(
      `SELECT type, COUNT(*) AS n FROM tasks WHERE state = 'running' AND type IN (${marks}) GROUP BY type`,
      limited,
    );
    const buckets = await tx.query<{ type: string; tokens: number; refilled_ms: number }>(
      `SELECT type, tokens, refilled_ms FROM task_type_buckets WHERE type IN (${marks})`,
      limited,
    );
    const types: string[] = [];
    let refillAt: number | undefined;
    for (const type of limited) {
      const limit = this.limits[type];
      const n = Number(running.find((r) => r.type === type)?.n ?? 0);
      if (limit.concurrency !== undefined && n >= limit.concurrency) {
        types.push(type);
        continue;
      }
      const bucket = buckets.find((b) => b.type === type);
      if (limit.ratePerSecond !== undefined && bucket) {
        const tokens = refill(limit, bucket.tokens, bucket.refilled_ms, now);
        if (tokens < 1) {
          types.push(type);
          const at = now + Math.ceil(((1 - tokens) * 1000) / limit.ratePerSecond);
          refillAt = refillAt === undefined ? at : Math.min(refillAt, at);
        }
      }
    }
    return { types, refillAt };
  }

  /**
   * Re-checks a limited type under its bucket row's lock (so concurrent claimers cannot both take the last
   * slot) and takes a token. False when the type is at its limit now.
   */
  private async takeTypeSlot(tx: SqlDriver, type: string, now: number): Promise<boolean> {
    const limit = this.limits[type];
    const burst = bucketSize(limit);
    await tx.run('INSERT INTO task_type_buckets (type, tokens, refilled_ms) VALUES (?, ?, ?) ON CONFLICT (type) DO NOTHING', [type, burst, now]);
    const [bucket] = await tx.query<{ tokens: number; refilled_ms: number }>(
      `SELECT tokens, refilled_ms FROM task_type_buckets WHERE type = ?${forUpdate(tx)}`,
      [type],
    );
    if (limit.concurrency !== undefined) {
      const [{ n }] = await tx.query<{ n: number }>("SELECT COUNT(*) AS n FROM tasks WHERE state = 'running' AND type = ?", [type]);
      if (Number(n) >= limit.concurrency) return false;
    }
    if (limit.ratePerSecond === undefined) return true;
    const tokens = refill(limit, bucket.tokens, bucket.refilled_ms, now);
    if (tokens < 1) return false;
    await tx.run('UPDATE task_type_buckets SET tokens = ?, refilled_ms = ? WHERE type = ?', [tokens - 1, now, type]);
    return true;
  }

  /** The earliest time something may become claimable without anyone calling the store: backoff or a lease ending. */
  private async nextChange(tx: SqlDriver, now: number, refillAt: number | undefined): Promise<number | undefined> {
    const [row] = await tx.query<{ backoff: number | null; lease: number | null }>(
      "SELECT (SELECT MIN(not_before_ms) FROM tasks WHERE state = 'queued' AND not_before_ms > ?) AS backoff, " +
        "(SELECT MIN(lease_expires_ms) FROM tasks WHERE state = 'running') AS lease",
      [now],
    );
    const times = [row?.backoff, row?.lease === null || row?.lease === undefined ? null : Number(row.lease) + 1, refillAt].filter(
      (t): t is number => t !== null && t !== undefined,
    );
    return times.length === 0 ? undefined : Math.min(...times.map(Number));
  }

  // --- while running -----------------------------------------------------------------------------------------

  /** Extends the lease; says whether it is still held, was lost (re-queued elsewhere) or the task was cancelled. */
  async heartbeat(lease: Lease, leaseMs: number): Promise<{ status: LeaseStatus; expiresAt: number }> {
    const expiresAt = this.clock() + leaseMs;
    const { changes } = await this.db.run("UPDATE tasks SET lease_expires_ms = ? WHERE id = ? AND state = 'running' AND attempts = ? AND node = ?", [
      expiresAt,
      lease.taskId,
      lease.attempt,
      lease.node,
    ]);
    if (changes === 1) return { status: 'held', expiresAt };
    const [row] = await this.db.query<{ state: TaskState }>('SELECT state FROM tasks WHERE id = ?', [lease.taskId]);
    return { status: row?.state === 'cancelled' ? 'cancelled' : 'lost', expiresAt: lease.expiresAt };
  }

  /**
   * Records the result, once. The first completion of any attempt wins (the work was done); later ones, and
   * completions of a task that ended otherwise, change nothing (`recorded: false`).
   */
  async complete(lease: Lease, result: unknown): Promise<UpdateResult> {
    const text = JSON.stringify(result ?? null);
    const recorded = await this.db.transaction(async (tx) => {
      const row = await this.lockTask(tx, lease.taskId);
      if (row.state !== 'running' && row.state !== 'queued') return false;
      if (lease.attempt < 1 || lease.attempt > row.attempts) return false;
      const now = this.clock();
      await this.closeAttempt(tx, row.id, lease.attempt, 'succeeded', now, null, true);
      if (row.state === 'running' && row.attempts !== lease.attempt) {
        await this.closeAttempt(tx, row.id, row.attempts, 'cancelled', now, {
          code: 'CANCELLED',
          message: `attempt ${lease.attempt} completed first; this attempt's result is not used`,
        });
      }
      await tx.run(
        "UPDATE tasks SET state = 'succeeded', result = ?, node = NULL, lease_expires_ms = NULL, error_code = NULL, error_message = NULL, ended_at = ?, updated_at = ? WHERE id = ?",
        [text, iso(now), iso(now), row.id],
      );
      return true;
    });
    return { task: (await this.get(lease.taskId))!, recorded };
  }

  /**
   * Ends the attempt as failed. Retryable with attempts left → queued again after backoff; retryable without →
   * dead; not retryable → failed. A stale lease (the task moved on) changes nothing.
   */
  async fail(lease: Lease, failure: TaskFailure): Promise<UpdateResult & { retryAt?: number }> {
    const out = await this.db.transaction(async (tx) => {
      const row = await this.lockTask(tx, lease.taskId);
      if (row.state !== 'running' || row.attempts !== lease.attempt) return { recorded: false };
      const now = this.clock();
      const error = { code: failure.code, message: failure.message };
      await this.closeAttempt(tx, row.id, row.attempts, failure.outcome ?? 'failed', now, error);
      if (failure.retryable && row.attempts < row.max_attempts) {
        const retry = { maxAttempts: row.max_attempts, baseDelayMs: row.base_delay_ms, maxDelayMs: row.max_delay_ms };
        const retryAt = now + backoffDelayMs(retry, row.attempts, this.random);
        await tx.run(
          "UPDATE tasks SET state = 'queued', node = NULL, lease_expires_ms = NULL, not_before_ms = ?, error_code = ?, error_message = ?, updated_at = ? WHERE id = ?",
          [retryAt, error.code, error.message, iso(now), row.id],
        );
        return { recorded: true, retryAt };
      }
      await this.endTask(tx, row.id, failure.retryable ? 'dead' : 'failed', now, error);
      return { recorded: true };
    });
    return { task: (await this.get(lease.taskId))!, ...out };
  }

  /** Cancels a queued or running task (a running one's worker learns it at its next heartbeat). */
  async cancel(taskId: string, reason = 'cancelled by request'): Promise<UpdateResult> {
    const recorded = await this.db.transaction(async (tx) => {
      const row = await this.lockTask(tx, taskId);
      if (row.state === 'cancelled') return false;
      if (row.state !== 'queued' && row.state !== 'running') {
        throw new AimassError('CONFLICT', `task "${taskId}" already ended (${row.state}); only queued or running tasks can be cancelled`, {
          taskId,
          state: row.state,
        });
      }
      const now = this.clock();
      const error = { code: 'CANCELLED', message: reason };
      if (row.state === 'running') await this.closeAttempt(tx, row.id, row.attempts, 'cancelled', now, error);
      await this.endTask(tx, row.id, 'cancelled', now, error);
      return true;
    });
    return { task: (await this.get(taskId))!, recorded };
  }

  // --- reading -----------------------------------------------------------------------------------------------

  async get(taskId: string): Promise<TaskRecord | undefined> {
    const rows = await this.db.query<TaskRow>(`SELECT ${COLUMNS} FROM tasks WHERE id = ?`, [taskId]);
    if (rows.length === 0) return undefined;
    const attempts = await this.db.query<AttemptRow>('SELECT * FROM task_attempts WHERE task_id = ? ORDER BY attempt', [taskId]);
    return toRecord(rows[0], attempts);
  }

  /** Newest first. */
  async list(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (filter.states && filter.states.length > 0) {
      where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
      params.push(...filter.states);
    }
    if (filter.type !== undefined) {
      where.push('type = ?');
      params.push(filter.type);
    }
    if (filter.node !== undefined) {
      where.push('node = ?');
      params.push(filter.node);
    }
    let sql = `SELECT ${COLUMNS} FROM tasks${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC`;
    if (filter.limit !== undefined) {
      sql += ' LIMIT ?';
      params.push(filter.limit);
    }
    const rows = await this.db.query<TaskRow>(sql, params);
    if (rows.length === 0) return [];
    const attempts = await this.db.query<AttemptRow>(
      `SELECT * FROM task_attempts WHERE task_id IN (${rows.map(() => '?').join(', ')}) ORDER BY task_id, attempt`,
      rows.map((r) => r.id),
    );
    const byTask = new Map<string, AttemptRow[]>();
    for (const a of attempts) byTask.set(a.task_id, [...(byTask.get(a.task_id) ?? []), a]);
    return rows.map((r) => toRecord(r, byTask.get(r.id) ?? []));
  }

  /** Just what a transport needs to settle its messages: state, lease and backoff times, needs. */
  async glance(ids: readonly string[]): Promise<Map<string, TaskGlance>> {
    const out = new Map<string, TaskGlance>();
    if (ids.length === 0) return out;
    const rows = await this.db.query<Pick<TaskRow, 'id' | 'type' | 'state' | 'cpu' | 'memory_mb' | 'kind' | 'labels' | 'lease_expires_ms' | 'not_before_ms'>>(
      `SELECT id, type, state, cpu, memory_mb, kind, labels, lease_expires_ms, not_before_ms FROM tasks WHERE id IN (${ids.map(() => '?').join(', ')})`,
      [...ids],
    );
    for (const r of rows) {
      out.set(r.id, {
        id: r.id,
        type: r.type,
        state: r.state,
        resources: { cpu: Number(r.cpu), memoryMb: Number(r.memory_mb), kind: r.kind, labels: JSON.parse(r.labels) as Record<string, string> },
        leaseExpiresMs: r.lease_expires_ms === null ? null : Number(r.lease_expires_ms),
        notBeforeMs: Number(r.not_before_ms),
      });
    }
    return out;
  }

  /** The type's concurrency and rate limits in this store, if any. */
  limitsOf(type: string): TypeLimits | undefined {
    return this.limits[type];
  }

  async counts(): Promise<TaskCounts> {
    const rows = await this.db.query<{ state: TaskState; n: number }>('SELECT state, COUNT(*) AS n FROM tasks GROUP BY state');
    const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as TaskCounts;
    for (const r of rows) counts[r.state] = Number(r.n);
    return counts;
  }

  // --- helpers -----------------------------------------------------------------------------------------------

  private async lockTask(tx: SqlDriver, taskId: string): Promise<TaskRow> {
    const [row] = await tx.query<TaskRow>(`SELECT ${COLUMNS} FROM tasks WHERE id = ?${forUpdate(tx)}`, [taskId]);
    if (!row) throw errors.notFound('task', taskId, 'list tasks to see the ids');
    return row;
  }

  private async endTask(tx: SqlDriver, taskId: string, state: TaskState, now: number, error: TaskError | null): Promise<void> {
    await tx.run(
      'UPDATE tasks SET state = ?, node = NULL, lease_expires_ms = NULL, error_code = ?, error_message = ?, ended_at = ?, updated_at = ? WHERE id = ?',
      [state, error?.code ?? null, error?.message ?? null, iso(now), iso(now), taskId],
    );
  }

  /** Ends an attempt's history row; only a running one, unless `overwrite` (a late success wins over lease-expired). */
  private async closeAttempt(
    tx: SqlDriver,
    taskId: string,
    attempt: number,
    outcome: AttemptOutcome,
    now: number,
    error: TaskError | null,
    overwrite = false,
  ): Promise<void> {
    await tx.run(
      `UPDATE task_attempts SET outcome = ?, ended_at = ?, error_code = ?, error_message = ? WHERE task_id = ? AND attempt = ?${overwrite ? '' : " AND outcome = 'running'"}`,
      [outcome, iso(now), error?.code ?? null, error?.message ?? null, taskId, attempt],
    );
  }
}

function bucketSize(limit: TypeLimits): number {
  return limit.burst ?? Math.max(1, limit.ratePerSecond ?? 1);
}

function refill(limit: TypeLimits, tokens: number, refilledMs: number, now: number): number {
  if (limit.ratePerSecond === undefined) return Infinity;
  return Math.min(bucketSize(limit), Number(tokens) + (Math.max(0, now - Number(refilledMs)) * limit.ratePerSecond) / 1000);
}

function labelsFit(needed: Record<string, string>, has: Readonly<Record<string, string>>): boolean {
  return Object.entries(needed).every(([k, v]) => has[k] === v);
}

function skipLocked(tx: SqlDriver): string {
  return tx.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
}

function forUpdate(tx: SqlDriver): string {
  return tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function insertValues(id: string, s: NormalizedTaskSpec, sortKey: number, now: number, at: string): SqlValue[] {
  return [
    id,
    s.type,
    JSON.stringify(s.payload),
    s.priority,
    s.resources.cpu,
    s.resources.memoryMb,
    s.resources.kind,
    JSON.stringify(s.resources.labels),
    s.timeoutMs,
    s.deadline === null ? null : Date.parse(s.deadline),
    s.retry.maxAttempts,
    s.retry.baseDelayMs,
    s.retry.maxDelayMs,
    s.idempotencyKey,
    'queued',
    0,
    null,
    sortKey,
    now,
    null,
    null,
    null,
    null,
    at,
    at,
    null,
    null,
  ];
}

function toRecord(r: TaskRow, attempts: AttemptRow[]): TaskRecord {
  return {
    id: r.id,
    type: r.type,
    payload: JSON.parse(r.payload),
    priority: Number(r.priority),
    resources: { cpu: Number(r.cpu), memoryMb: Number(r.memory_mb), kind: r.kind, labels: JSON.parse(r.labels) },
    timeoutMs: Number(r.timeout_ms),
    deadline: r.deadline_ms === null ? null : iso(Number(r.deadline_ms)),
    retry: { maxAttempts: Number(r.max_attempts), baseDelayMs: Number(r.base_delay_ms), maxDelayMs: Number(r.max_delay_ms) },
    idempotencyKey: r.idempotency_key,
    state: r.state,
    attempts: Number(r.attempts),
    node: r.node,
    notBefore: r.state === 'queued' && Number(r.attempts) > 0 ? iso(Number(r.not_before_ms)) : null,
    leaseExpiresAt: r.lease_expires_ms === null ? null : iso(Number(r.lease_expires_ms)),
    result: r.result === null ? null : JSON.parse(r.result),
    error: r.error_code === null ? null : { code: r.error_code, message: r.error_message ?? '' },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    history: attempts.map(
      (a): TaskAttempt => ({
        attempt: Number(a.attempt),
        node: a.node,
        startedAt: a.started_at,
        endedAt: a.ended_at,
        outcome: a.outcome,
        error: a.error_code === null ? null : { code: a.error_code, message: a.error_message ?? '' },
      }),
    ),
  };
}
