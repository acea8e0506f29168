// Task records in SQL (SQLite embedded, PostgreSQL in a cluster), over the project's SqlDriver. The store owns
// every state change of a task and makes each one atomic (one transaction, or one statement):
//
// - submit is idempotent by key and bounded (RESOURCE_EXHAUSTED "queue full, retry after N s"; exact on SQLite,
//   on PostgreSQL as exact as concurrent submitters allow: it never was one serialized step there);
// - claim hands a task to one claimer only (SQLite: BEGIN IMMEDIATE serializes writers; PostgreSQL: candidate
//   rows are read FOR UPDATE SKIP LOCKED, so concurrent claimers pass each other by), honouring the claimer's
//   capabilities, per-type concurrency and rate limits, priority with aging, and retry not-before times. A task
//   whose lease expired (its worker died) is put back first, so it is claimable again;
// - complete writes the result once: a second completion (a lost ack, or a stale attempt finishing after the
//   task was re-run) changes nothing and says so;
// - fail retries with backoff, or ends the task (failed, or dead when retryable attempts ran out).
//
// Work comes in batches where that is cheaper: submitMany and claimMany; submits and completions that arrive
// together are written together (group commit: a lone one at once, more per write under load). On PostgreSQL
// the common claim and the completions are one statement each (CTEs), and the claim falls back to the stepwise
// transaction only when something needs its care (a lost lease to reap, limits, what was asked for not taken).
//
// Times come from an injectable clock so tests can step through backoff, leases and rate limits.
import { AimassError, errors, newId } from '../core/index.js';
import { GroupCommit } from './group-commit.js';
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
  /**
   * How `cpu` and `memoryMb` bound a claim of several tasks: "together" (default), their needs added up, for
   * tasks that start at once; "each", every task on its own, for tasks claimed ahead that will run one after
   * another as the node's slots free.
   */
  fit?: 'together' | 'each';
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

export interface ClaimBatch {
  claimed: ClaimedTask[];
  /** When nothing fit: the earliest epoch ms at which a backoff, lease or rate limit lets something through. */
  retryAt?: number;
  /** Tasks this claim ended on the way (deadline passed, or a lost lease that used the last attempt). */
  ended: TaskRecord[];
  /** Tasks whose expired lease this claim put back in the queue. */
  requeued: TaskRecord[];
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
/** Rows per INSERT: 27 parameters each stays under both databases' limits. */
const INSERT_ROWS = 1000;

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
    return (await this.submitMany([spec]))[0];
  }

  /**
   * Records several tasks at once, all or none: INVALID_SPEC (problems prefixed `[i]`) or RESOURCE_EXHAUSTED when
   * the new ones do not all fit in the queue. Keys already known (or repeated in `specs`) give back the first
   * task. Concurrent calls are written together, in one write.
   */
  async submitMany(specs: readonly TaskSpec[]): Promise<{ task: TaskRecord; created: boolean }[]> {
    const normalized = specs.map((spec, i) => normalizeTaskSpec(spec, specs.length === 1 ? '' : `[${i}]`));
    if (normalized.length === 0) return [];
    return this.submits.run(normalized);
  }

  /** Queued tasks at the last count (plus those this store added since), and when: see insertUnits. */
  private queuedSeen: { n: number; at: number } | undefined;
  private readonly submits = new GroupCommit<NormalizedTaskSpec[], { task: TaskRecord; created: boolean }[]>((units) => this.insertUnits(units), 64, 2);

  /** One transaction for every waiting submit: each unit is accepted whole or refused whole (queue full). */
  private async insertUnits(units: NormalizedTaskSpec[][]): Promise<({ task: TaskRecord; created: boolean }[] | Error)[]> {
    type Slot = { id: string; created: boolean; row?: TaskRow };
    // PostgreSQL, when one INSERT holds them all: no transaction around it (two round trips fewer), as its READ
    // COMMITTED transaction did not make the count and the insert one step either, and the key lookup and ON
    // CONFLICT work the same without. And while the last count (under a second old) says the queue stays under
    // half full with these, no count before the insert: the insert counts too, for the next time. SQLite: a
    // write transaction, which makes the bound exact.
    const total = units.reduce((n, u) => n + u.length, 0);
    const postgres = this.db.dialect === 'postgres' && total <= INSERT_ROWS;
    const seen = this.queuedSeen;
    const roomy = postgres && seen !== undefined && this.clock() - seen.at < 1000 && seen.n + total <= this.maxQueued / 2;
    // Counting costs more the longer the queue: with room to spare, a count a quarter second old will do.
    const recount = !roomy || this.clock() - seen.at >= 250;
    const inOne = <T>(fn: (tx: SqlDriver) => Promise<T>) => (postgres ? fn(this.db) : this.db.transaction(fn));
    const outcome = await inOne(async (tx) => {
      const keys = [...new Set(units.flat().flatMap((s) => (s.idempotencyKey === null ? [] : [s.idempotencyKey])))];
      const byKey = new Map<string, string>();
      for (const part of chunks(keys, 500)) {
        const rows = await tx.query<{ id: string; idempotency_key: string }>(
          `SELECT id, idempotency_key FROM tasks WHERE idempotency_key IN (${marks(part)})`,
          part,
        );
        for (const r of rows) byKey.set(r.idempotency_key, r.id);
      }
      const queued = roomy ? seen.n : Number((await tx.query<{ n: number }>("SELECT COUNT(*) AS n FROM tasks WHERE state = 'queued'"))[0].n);
      let room = this.maxQueued - queued;
      const now = this.clock();
      const at = iso(now);
      const fresh: TaskRow[] = [];
      const answers: (Slot[] | 'full')[] = [];
      for (const unit of units) {
        const slots: Slot[] = [];
        const claimedKeys = new Map<string, Slot>();
        for (const s of unit) {
          const known = s.idempotencyKey === null ? undefined : byKey.get(s.idempotencyKey) ?? claimedKeys.get(s.idempotencyKey)?.id;
          if (known !== undefined) {
            slots.push({ id: known, created: false });
            continue;
          }
          const row = newRow(newId('task'), s, now - s.priority * this.agingMs, now, at);
          const slot = { id: row.id, created: true, row };
          if (s.idempotencyKey !== null) claimedKeys.set(s.idempotencyKey, slot);
          slots.push(slot);
        }
        const rows = slots.flatMap((x) => (x.row ? [x.row] : []));
        if (rows.length > room) {
          answers.push('full');
          continue;
        }
        room -= rows.length;
        for (const [key, slot] of claimedKeys) byKey.set(key, slot.id);
        fresh.push(...rows);
        answers.push(slots);
      }
      const inserted = new Set<string>();
      let counted: number | undefined;
      for (const part of chunks(fresh, INSERT_ROWS)) {
        const insert = `INSERT INTO tasks (${COLUMNS}) VALUES ${part.map(() => ROW_MARKS).join(', ')} ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`;
        // PostgreSQL: the count of queued tasks before the insert comes back in the same statement.
        const rows = postgres && recount
          ? await tx.query<{ id: string | null; queued: number | null }>(
              `WITH added AS (${insert}) SELECT id, NULL AS queued FROM added UNION ALL SELECT NULL, (SELECT COUNT(*) FROM tasks WHERE state = 'queued')`,
              part.flatMap(rowValues),
            )
          : await tx.query<{ id: string | null; queued?: number | null }>(insert, part.flatMap(rowValues));
        for (const r of rows) {
          if (r.id !== null) inserted.add(r.id);
          else if (r.queued !== null && r.queued !== undefined) counted = Number(r.queued);
        }
      }
      this.queuedSeen = { n: (counted ?? queued) + inserted.size, at: counted === undefined && roomy ? seen.at : now };
      // A key that another submitter inserted meanwhile: its task is the one to give back.
      const winner = new Map<string, string>();
      for (const r of fresh) if (!inserted.has(r.id)) winner.set(r.id, (await this.byKey(tx, r.idempotency_key!))!);
      const full = answers.includes('full') ? await this.queueFull(tx, queued) : undefined;
      return answers.map((a) => (a === 'full' ? full! : a.map((slot): Slot => (winner.has(slot.id) ? { id: winner.get(slot.id)!, created: false } : slot))));
    });
    const existing = await this.getMany(outcome.flatMap((a) => (a instanceof Error ? [] : a.filter((s) => !s.row).map((s) => s.id))));
    return outcome.map((a) =>
      a instanceof Error ? a : a.map((s) => ({ task: s.row ? toRecord(s.row, []) : existing.get(s.id)!, created: s.created && s.row !== undefined })),
    );
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

  /** Leases the next task that fits `offer` for `leaseMs`, or says when to look again (see claimMany). */
  async claim(offer: ClaimOffer, leaseMs: number, only?: readonly string[]): Promise<ClaimResult> {
    const { claimed, ...rest } = await this.claimMany(offer, leaseMs, { max: 1, only });
    return { ...rest, claimed: claimed[0] };
  }

  /**
   * Leases up to `max` tasks that fit `offer` together (their CPU and memory added up), best first, in one
   * transaction; when none fits, says when to look again. `only` restricts the choice to these task ids (a
   * JetStream claimer chooses among the messages it pulled).
   */
  async claimMany(offer: ClaimOffer, leaseMs: number, options: { max?: number; only?: readonly string[] } = {}): Promise<ClaimBatch> {
    if (!(leaseMs > 0)) throw errors.invalidArgument(`leaseMs must be > 0, got ${leaseMs}`);
    const max = options.max ?? 1;
    if (!(Number.isInteger(max) && max >= 1)) throw errors.invalidArgument(`max must be a whole number ≥ 1, got ${max}`);
    if (this.db.dialect !== 'postgres' || (offer.fit !== 'each' && max > 1) || this.limitedAmong(offer.types)) return this.claimStepwise(offer, leaseMs, max, options.only);
    // PostgreSQL, the common case in one statement; the stepwise claim only when something needs its care: a
    // lease ran out (reap it), or what was asked for was not all taken (a deadline passed, a retry is not due,
    // a duplicate message… or the queue ran short).
    const quick = await this.claimAtOnce(offer, leaseMs, max, options.only);
    const seen = new Set([...quick.claimed.map((c) => c.task.id), ...quick.ended.map((t) => t.id)]);
    const rest = options.only?.filter((id) => !seen.has(id));
    const leaseRanOut = quick.soonestLease !== null && quick.soonestLease < this.clock();
    if (!leaseRanOut && (rest ? rest.length === 0 : quick.claimed.length === max)) return { claimed: quick.claimed, ended: quick.ended, requeued: [] };
    const more = await this.claimStepwise(offer, leaseMs, max - quick.claimed.length, rest);
    return {
      claimed: [...quick.claimed, ...more.claimed],
      retryAt: quick.claimed.length > 0 ? undefined : more.retryAt,
      ended: [...quick.ended, ...more.ended],
      requeued: more.requeued,
    };
  }

  /** Whether a concurrency or rate limit applies to any of these types (all types when undefined). */
  private limitedAmong(types: readonly string[] | undefined): boolean {
    return Object.keys(this.limits).some((t) => !types || types.includes(t));
  }

  /**
   * PostgreSQL: picks up to `max` due, fitting tasks (skipping rows other claimers hold), leases them and records
   * their attempts in one statement — or ends them when their deadline passed — and says when the soonest lease
   * runs out. Limited types need the stepwise claim (the caller checks there are none).
   */
  private async claimAtOnce(
    offer: ClaimOffer,
    leaseMs: number,
    max: number,
    only: readonly string[] | undefined,
  ): Promise<{ claimed: ClaimedTask[]; ended: TaskRecord[]; soonestLease: number | null }> {
    const now = Math.trunc(this.clock());
    const at = iso(now);
    const expiresAt = now + leaseMs;
    if (only?.length === 0) return { claimed: [], ended: [], soonestLease: null };
    const { where, params } = this.claimable(offer, now, undefined);
    if (!where) return { claimed: [], ended: [], soonestLease: null };
    const late = `tasks.deadline_ms < ${now}`;
    // A node without labels takes only tasks that ask for none: a text comparison, no JSON to parse per row.
    const labels = Object.keys(offer.labels ?? {}).length === 0 ? "labels = '{}'" : 'CAST(labels AS jsonb) <@ CAST(? AS jsonb)';
    if (labels !== "labels = '{}'") params.push(JSON.stringify(offer.labels));
    const fits = `${where.join(' AND ')} AND (deadline_ms < ${now} OR ${labels})`;
    // Named tasks (a transport's delivered messages) are looked up one by one by key, in a subquery per id that
    // the planner cannot turn into a scan of the queue: without statistics (a new table, or no autovacuum) it
    // took the queued tasks for a handful and scanned every dead entry of them on each claim.
    const picked = only
      ? `SELECT t.id FROM (VALUES ${only.map(() => '(?)').join(', ')}) AS named (id) CROSS JOIN LATERAL ` +
        `(SELECT id, sort_key FROM tasks WHERE tasks.id = named.id AND ${fits} FOR UPDATE SKIP LOCKED) AS t ORDER BY t.sort_key, t.id LIMIT ${max}`
      : `SELECT id FROM tasks WHERE ${fits} ORDER BY sort_key, id LIMIT ${max} FOR UPDATE SKIP LOCKED`;
    if (only) params.unshift(...only);
    const rows = await this.db.query<TaskRow & { soonest_lease: number | null }>(
      `WITH picked AS (${picked}), ` +
        `leased AS (UPDATE tasks SET state = CASE WHEN ${late} THEN 'failed' ELSE 'running' END, ` +
        `attempts = CASE WHEN ${late} THEN tasks.attempts ELSE tasks.attempts + 1 END, ` +
        `node = CASE WHEN ${late} THEN NULL ELSE ? END, ` +
        `lease_expires_ms = CASE WHEN ${late} THEN NULL ELSE ${expiresAt} END, ` +
        `started_at = CASE WHEN ${late} THEN tasks.started_at ELSE COALESCE(tasks.started_at, ?) END, ` +
        `error_code = CASE WHEN ${late} THEN 'TIMEOUT' ELSE tasks.error_code END, ` +
        `error_message = CASE WHEN ${late} THEN 'the deadline ' || to_char(to_timestamp(tasks.deadline_ms / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || ' passed before the task could start' ELSE tasks.error_message END, ` +
        `ended_at = CASE WHEN ${late} THEN ? ELSE tasks.ended_at END, ` +
        'updated_at = ? FROM picked WHERE tasks.id = picked.id RETURNING tasks.*), ' +
        "started AS (INSERT INTO task_attempts (task_id, attempt, node, started_at, outcome) SELECT id, attempts, node, ?, 'running' FROM leased WHERE state = 'running') " +
        "SELECT leased.*, (SELECT MIN(lease_expires_ms) FROM tasks WHERE state = 'running') AS soonest_lease FROM leased ORDER BY sort_key, id",
      [...params, offer.node, at, at, at, at],
    );
    const history = await this.attemptsOf(
      this.db,
      rows.filter((r) => (r.state === 'running' ? Number(r.attempts) > 1 : Number(r.attempts) > 0)).map((r) => r.id),
    );
    const claimed: ClaimedTask[] = [];
    const ended: TaskRecord[] = [];
    for (const r of rows) {
      const { soonest_lease: _, ...row } = r;
      const attempt = Number(r.attempts);
      if (r.state !== 'running') {
        ended.push(toRecord(row, history.get(r.id) ?? []));
        continue;
      }
      const attempts = history.get(r.id) ?? [{ task_id: r.id, attempt, node: offer.node, started_at: at, ended_at: null, outcome: 'running', error_code: null, error_message: null }];
      claimed.push({ task: toRecord(row, attempts), lease: { taskId: r.id, attempt, node: offer.node, expiresAt } });
    }
    return { claimed, ended, soonestLease: rows[0]?.soonest_lease == null ? null : Number(rows[0].soonest_lease) };
  }

  /** The WHERE of claimable tasks for an offer (without limits, labels, deadlines); no `where` when nothing can match. */
  private claimable(offer: ClaimOffer, now: number, only: readonly string[] | undefined): { where?: string[]; params: SqlValue[] } {
    const where = ["state = 'queued'", 'not_before_ms <= ?', 'cpu <= ?', 'memory_mb <= ?'];
    const params: SqlValue[] = [now, offer.cpu, offer.memoryMb];
    if (!offer.kinds.includes('any')) {
      where.push(`kind IN ('any'${offer.kinds.map(() => ', ?').join('')})`);
      params.push(...offer.kinds);
    }
    if (offer.types) {
      if (offer.types.length === 0) return { params };
      where.push(`type IN (${marks(offer.types)})`);
      params.push(...offer.types);
    }
    if (only) {
      if (only.length === 0) return { params };
      where.push(`id IN (${marks(only)})`);
      params.push(...only);
    }
    return { where, params };
  }

  /** The claim in steps, in one transaction: reaps lost leases, ends passed deadlines, honours limits. */
  private async claimStepwise(offer: ClaimOffer, leaseMs: number, max: number, only: readonly string[] | undefined): Promise<ClaimBatch> {
    const result = await this.db.transaction(async (tx): Promise<{ claimed: ClaimedTask[]; retryAt?: number; ended: string[]; requeued: string[] }> => {
      const now = this.clock();
      const ended: string[] = [];
      const claimed: ClaimedTask[] = [];
      const requeued = await this.reapExpiredLeases(tx, now, ended);
      if (max === 0) return { claimed, ended, requeued };
      const blocked = await this.blockedTypes(tx, now, offer.types);
      const { where, params } = this.claimable(offer, now, only);
      if (!where) return { claimed, ended, requeued };
      if (blocked.types.length > 0) {
        where.push(`type NOT IN (${marks(blocked.types)})`);
        params.push(...blocked.types);
      }
      // Candidates are read without locks; only those about to be taken are locked (skipping any that another
      // claimer holds), so concurrent claimers on PostgreSQL pass each other instead of one locking the lot.
      const candidates = await tx.query<TaskRow>(
        `SELECT ${COLUMNS} FROM tasks WHERE ${where.join(' AND ')} ORDER BY sort_key, id LIMIT ${Math.max(CANDIDATES, max)}`,
        params,
      );
      const together = offer.fit !== 'each';
      let cpu = offer.cpu;
      let memoryMb = offer.memoryMb;
      const takenOfType = new Map<string, number>();
      const chosen: TaskRow[] = [];
      for (let next = 0; next < candidates.length && chosen.length < max; ) {
        // The next few that look like they fit (or whose deadline passed), locked in one statement.
        const picks: TaskRow[] = [];
        let pickCpu = cpu;
        let pickMemory = memoryMb;
        for (; next < candidates.length && picks.length < max - chosen.length; next++) {
          const c = candidates[next];
          const late = c.deadline_ms !== null && Number(c.deadline_ms) < now;
          if (!late && (Number(c.cpu) > pickCpu || Number(c.memory_mb) > pickMemory || !labelsFit(JSON.parse(c.labels), offer.labels ?? {}))) continue;
          if (!late && together) {
            pickCpu -= Number(c.cpu);
            pickMemory -= Number(c.memory_mb);
          }
          picks.push(c);
        }
        if (picks.length === 0) break;
        const locked =
          tx.dialect === 'postgres'
            ? new Set(
                (
                  await tx.query<{ id: string }>(
                    `SELECT id FROM tasks WHERE id IN (${marks(picks)}) AND state = 'queued'${skipLocked(tx)}`,
                    picks.map((p) => p.id),
                  )
                ).map((r) => r.id),
              )
            : new Set(picks.map((p) => p.id));
        for (const row of picks) {
          if (!locked.has(row.id)) continue;
          if (row.deadline_ms !== null && Number(row.deadline_ms) < now) {
            await this.endTask(tx, row.id, 'failed', now, { code: 'TIMEOUT', message: `the deadline ${iso(Number(row.deadline_ms))} passed before the task could start` });
            ended.push(row.id);
            continue;
          }
          if (Number(row.cpu) > cpu || Number(row.memory_mb) > memoryMb) continue;
          if (this.limits[row.type] && !(await this.takeTypeSlot(tx, row.type, now, takenOfType.get(row.type) ?? 0))) continue;
          takenOfType.set(row.type, (takenOfType.get(row.type) ?? 0) + 1);
          if (together) {
            cpu -= Number(row.cpu);
            memoryMb -= Number(row.memory_mb);
          }
          chosen.push(row);
        }
      }
      if (chosen.length === 0) return { claimed, retryAt: await this.nextChange(tx, now, blocked.refillAt), ended, requeued };
      const expiresAt = now + leaseMs;
      const at = iso(now);
      await tx.run(
        `UPDATE tasks SET state = 'running', attempts = attempts + 1, node = ?, lease_expires_ms = ?, started_at = COALESCE(started_at, ?), updated_at = ? WHERE id IN (${marks(chosen)})`,
        [offer.node, expiresAt, at, at, ...chosen.map((r) => r.id)],
      );
      await tx.run(
        `INSERT INTO task_attempts (task_id, attempt, node, started_at, outcome) VALUES ${chosen.map(() => "(?, ?, ?, ?, 'running')").join(', ')}`,
        chosen.flatMap((r) => [r.id, Number(r.attempts) + 1, offer.node, at]),
      );
      const retried = chosen.filter((r) => Number(r.attempts) > 0);
      const history = await this.attemptsOf(tx, retried.map((r) => r.id));
      for (const row of chosen) {
        const attempt = Number(row.attempts) + 1;
        const running: TaskRow = { ...row, state: 'running', attempts: attempt, node: offer.node, lease_expires_ms: expiresAt, started_at: row.started_at ?? at, updated_at: at };
        const attempts = history.get(row.id) ?? [{ task_id: row.id, attempt, node: offer.node, started_at: at, ended_at: null, outcome: 'running', error_code: null, error_message: null }];
        claimed.push({ task: toRecord(running, attempts), lease: { taskId: row.id, attempt, node: offer.node, expiresAt } });
      }
      return { claimed, ended, requeued };
    });
    const touched = await this.getMany([...result.ended, ...result.requeued]);
    const records = (ids: string[]) => ids.flatMap((id) => (touched.has(id) ? [touched.get(id)!] : []));
    return { claimed: result.claimed, retryAt: result.retryAt, ended: records(result.ended), requeued: records(result.requeued) };
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
   * slot) and takes a token. `takenHere`: tasks of the type this claim already took. False when the type is at
   * its limit now.
   */
  private async takeTypeSlot(tx: SqlDriver, type: string, now: number, takenHere: number): Promise<boolean> {
    const limit = this.limits[type];
    const burst = bucketSize(limit);
    await tx.run('INSERT INTO task_type_buckets (type, tokens, refilled_ms) VALUES (?, ?, ?) ON CONFLICT (type) DO NOTHING', [type, burst, now]);
    const [bucket] = await tx.query<{ tokens: number; refilled_ms: number }>(
      `SELECT tokens, refilled_ms FROM task_type_buckets WHERE type = ?${forUpdate(tx)}`,
      [type],
    );
    if (limit.concurrency !== undefined) {
      const [{ n }] = await tx.query<{ n: number }>("SELECT COUNT(*) AS n FROM tasks WHERE state = 'running' AND type = ?", [type]);
      if (Number(n) + takenHere >= limit.concurrency) return false;
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
   * completions of a task that ended otherwise, change nothing (`recorded: false`). Completions that arrive
   * together are written in one transaction.
   */
  complete(lease: Lease, result: unknown): Promise<UpdateResult> {
    return this.completions.run({ lease, text: JSON.stringify(result ?? null) });
  }

  private readonly completions = new GroupCommit<{ lease: Lease; text: string }, UpdateResult>((items) => this.completeAll(items), 512, 1);

  private async completeAll(items: { lease: Lease; text: string }[]): Promise<(UpdateResult | Error)[]> {
    return this.db.dialect === 'postgres' ? this.completeAtOnce(items) : this.completeStepwise(items);
  }

  /**
   * PostgreSQL: every completion of the batch in one statement (tasks and their attempts), then reads back only
   * what it did not record (to tell a repeated completion from an unknown task) and older attempt histories.
   */
  private async completeAtOnce(items: { lease: Lease; text: string }[]): Promise<(UpdateResult | Error)[]> {
    const at = iso(this.clock());
    // The first completion of a task in the batch is the one that counts; the others are answered after it.
    const firsts = new Map<string, { lease: Lease; text: string }>();
    for (const item of items) if (!firsts.has(item.lease.taskId)) firsts.set(item.lease.taskId, item);
    const sent = [...firsts.values()];
    type Done = TaskRow & { completed_attempt: number; closed: AttemptRow[] | null };
    const rows = await this.db.query<Done>(
      `WITH v AS (SELECT * FROM (VALUES ${sent.map(() => '(?, CAST(? AS INTEGER), ?)').join(', ')}) AS v (id, attempt, result)), ` +
        "done AS (UPDATE tasks SET state = 'succeeded', result = v.result, node = NULL, lease_expires_ms = NULL, error_code = NULL, error_message = NULL, ended_at = ?, updated_at = ? " +
        "FROM v WHERE tasks.id = v.id AND tasks.state IN ('running', 'queued') AND v.attempt >= 1 AND v.attempt <= tasks.attempts RETURNING tasks.*, v.attempt AS completed_attempt), " +
        // The completed attempt succeeded (also over lease-expired: the work was done); a newer one still running
        // is told its result will not be used.
        "closed AS (UPDATE task_attempts SET outcome = CASE WHEN task_attempts.attempt = done.completed_attempt THEN 'succeeded' ELSE 'cancelled' END, ended_at = ?, " +
        "error_code = CASE WHEN task_attempts.attempt = done.completed_attempt THEN NULL ELSE 'CANCELLED' END, " +
        "error_message = CASE WHEN task_attempts.attempt = done.completed_attempt THEN NULL ELSE 'attempt ' || done.completed_attempt || ' completed first; this attempt''s result is not used' END " +
        "FROM done WHERE task_attempts.task_id = done.id AND (task_attempts.attempt = done.completed_attempt OR task_attempts.outcome = 'running') RETURNING task_attempts.*) " +
        'SELECT done.*, (SELECT json_agg(closed.* ORDER BY closed.attempt) FROM closed WHERE closed.task_id = done.id) AS closed FROM done',
      [...sent.flatMap((i) => [i.lease.taskId, i.lease.attempt, i.text]), at, at, at],
    );
    const recorded = new Map(rows.map((r) => [r.id, r]));
    const older = rows.filter((r) => Number(r.attempts) > 1).map((r) => r.id);
    const [history, others] = await Promise.all([
      this.attemptsOf(this.db, older),
      this.getMany(items.filter((i) => !recorded.has(i.lease.taskId) || firsts.get(i.lease.taskId) !== i).map((i) => i.lease.taskId)),
    ]);
    const records = new Map<string, TaskRecord>();
    for (const r of rows) {
      const { completed_attempt: _, closed, ...row } = r;
      records.set(r.id, toRecord(row, history.get(r.id) ?? closed ?? []));
    }
    return items.map((item) => {
      const id = item.lease.taskId;
      if (recorded.has(id) && firsts.get(id) === item) return { task: records.get(id)!, recorded: true };
      const task = records.get(id) ?? others.get(id);
      return task ? { task, recorded: false } : errors.notFound('task', id, 'list tasks to see the ids');
    });
  }

  private async completeStepwise(items: { lease: Lease; text: string }[]): Promise<(UpdateResult | Error)[]> {
    return this.db.transaction(async (tx) => {
      const ids = [...new Set(items.map((i) => i.lease.taskId))].sort();
      const rows = new Map<string, TaskRow>();
      for (const part of chunks(ids, 500)) {
        // In id order, so that two batches locking overlapping tasks cannot deadlock.
        for (const r of await tx.query<TaskRow>(`SELECT ${COLUMNS} FROM tasks WHERE id IN (${marks(part)}) ORDER BY id${forUpdate(tx)}`, part)) rows.set(r.id, r);
      }
      const now = this.clock();
      const at = iso(now);
      const done: { item: (typeof items)[number]; row: TaskRow }[] = [];
      const answers: (TaskRow | { row: TaskRow; recorded: false } | Error)[] = items.map((item) => {
        const row = rows.get(item.lease.taskId);
        if (!row) return errors.notFound('task', item.lease.taskId, 'list tasks to see the ids');
        if ((row.state !== 'running' && row.state !== 'queued') || item.lease.attempt < 1 || item.lease.attempt > Number(row.attempts)) return { row, recorded: false };
        done.push({ item, row: { ...row } });
        // A second completion of the same task in this batch finds it finished.
        const finished: TaskRow = { ...row, state: 'succeeded', result: item.text, node: null, lease_expires_ms: null, error_code: null, error_message: null, ended_at: at, updated_at: at };
        rows.set(row.id, finished);
        return finished;
      });
      for (const { item, row } of done) {
        if (row.state === 'running' && Number(row.attempts) !== item.lease.attempt) {
          await this.closeAttempt(tx, row.id, Number(row.attempts), 'cancelled', now, {
            code: 'CANCELLED',
            message: `attempt ${item.lease.attempt} completed first; this attempt's result is not used`,
          });
        }
      }
      for (const part of chunks(done, 200)) {
        await tx.run(
          `UPDATE task_attempts SET outcome = 'succeeded', ended_at = ?, error_code = NULL, error_message = NULL WHERE (task_id, attempt) IN (VALUES ${part.map(() => '(?, CAST(? AS INTEGER))').join(', ')})`,
          [at, ...part.flatMap((d) => [d.row.id, d.item.lease.attempt])],
        );
        await tx.run(
          "UPDATE tasks SET state = 'succeeded', result = v.column2, node = NULL, lease_expires_ms = NULL, error_code = NULL, error_message = NULL, ended_at = ?, updated_at = ? " +
            `FROM (VALUES ${part.map(() => '(?, ?)').join(', ')}) AS v WHERE tasks.id = v.column1`,
          [at, at, ...part.flatMap((d) => [d.row.id, d.item.text])],
        );
      }
      const history = await this.attemptsOf(tx, ids);
      return answers.map((a) => {
        if (a instanceof Error) return a;
        if ('recorded' in a && a.recorded === false) return { task: toRecord(a.row, history.get(a.row.id) ?? []), recorded: false };
        const row = a as TaskRow;
        return { task: toRecord(row, history.get(row.id) ?? []), recorded: true };
      });
    });
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
    return (await this.getMany([taskId])).get(taskId);
  }

  /** The records of these tasks (unknown ids are left out), in two statements. */
  async getMany(ids: readonly string[]): Promise<Map<string, TaskRecord>> {
    const out = new Map<string, TaskRecord>();
    const unique = [...new Set(ids)];
    for (const part of chunks(unique, 500)) {
      const rows = await this.db.query<TaskRow>(`SELECT ${COLUMNS} FROM tasks WHERE id IN (${marks(part)})`, part);
      if (rows.length === 0) continue;
      const history = await this.attemptsOf(this.db, rows.map((r) => r.id));
      for (const r of rows) out.set(r.id, toRecord(r, history.get(r.id) ?? []));
    }
    return out;
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
    const history = await this.attemptsOf(this.db, rows.map((r) => r.id));
    return rows.map((r) => toRecord(r, history.get(r.id) ?? []));
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

  /** Whether some queued task is due (no backoff left), whatever it needs: one row of an index, at most. */
  async anyDue(): Promise<boolean> {
    return (await this.db.query("SELECT 1 FROM tasks WHERE state = 'queued' AND not_before_ms <= ? LIMIT 1", [this.now()])).length > 0;
  }

  /** Ids of queued tasks unchanged since `before` (epoch ms), the longest unchanged first, at most `limit`. */
  async queuedSince(before: number, limit: number): Promise<string[]> {
    const rows = await this.db.query<{ id: string }>("SELECT id FROM tasks WHERE state = 'queued' AND updated_at < ? ORDER BY updated_at, id LIMIT ?", [
      iso(before),
      limit,
    ]);
    return rows.map((r) => r.id);
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

  /** Attempt history of these tasks, oldest first. */
  private async attemptsOf(db: SqlDriver, ids: readonly string[]): Promise<Map<string, AttemptRow[]>> {
    const out = new Map<string, AttemptRow[]>();
    for (const part of chunks(ids, 500)) {
      const rows = await db.query<AttemptRow>(`SELECT * FROM task_attempts WHERE task_id IN (${marks(part)}) ORDER BY task_id, attempt`, part);
      for (const a of rows) {
        const list = out.get(a.task_id);
        if (list) list.push(a);
        else out.set(a.task_id, [a]);
      }
    }
    return out;
  }

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

const COLUMN_NAMES = COLUMNS.split(', ') as (keyof TaskRow)[];
const ROW_MARKS = `(${COLUMN_NAMES.map(() => '?').join(', ')})`;

/** The row of a task just submitted. */
function newRow(id: string, s: NormalizedTaskSpec, sortKey: number, now: number, at: string): TaskRow {
  return {
    id,
    type: s.type,
    payload: JSON.stringify(s.payload),
    priority: s.priority,
    cpu: s.resources.cpu,
    memory_mb: s.resources.memoryMb,
    kind: s.resources.kind,
    labels: JSON.stringify(s.resources.labels),
    timeout_ms: s.timeoutMs,
    deadline_ms: s.deadline === null ? null : Date.parse(s.deadline),
    max_attempts: s.retry.maxAttempts,
    base_delay_ms: s.retry.baseDelayMs,
    max_delay_ms: s.retry.maxDelayMs,
    idempotency_key: s.idempotencyKey,
    state: 'queued',
    attempts: 0,
    node: null,
    sort_key: sortKey,
    not_before_ms: now,
    lease_expires_ms: null,
    result: null,
    error_code: null,
    error_message: null,
    created_at: at,
    updated_at: at,
    started_at: null,
    ended_at: null,
  };
}

function rowValues(row: TaskRow): SqlValue[] {
  return COLUMN_NAMES.map((c) => row[c]);
}

/** `?, ?, ?` for each item. */
function marks(items: readonly unknown[]): string {
  return items.map(() => '?').join(', ');
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
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
