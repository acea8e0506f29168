// SqlDriver over one better-sqlite3 connection (the embedded default). better-sqlite3 is synchronous, so this
// driver queues callers: a transaction keeps the connection to itself until it ends, and nothing else slips
// into it. The file is opened in WAL mode (readers never wait for the writer) with foreign keys on.
//
// Writers in several connections or processes serialize on BEGIN IMMEDIATE. Waiting for the write lock happens
// here, asynchronously, with backoff, up to the busy timeout: SQLite's own busy handler would block the event
// loop and so would stall a writer in this same process that the waiter is waiting for. After the timeout the
// caller gets UNAVAILABLE ("database is locked … retry"), never a crash.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AimassError, parseUri } from '../../core/index.js';
import type { SqlDriver, SqlValue, TransactionOptions } from './sql-driver.js';

export interface SqliteDriverOptions {
  /** How long a writer waits for another connection's write transaction before UNAVAILABLE (default 5000 ms). */
  busyTimeoutMs?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const MAX_BACKOFF_MS = 50;
/** Prepared statements kept per connection; the store's SQL is a fixed, small set. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * The file a `sqlite:` URI names: `sqlite:/abs/path.db` and `sqlite:///abs/path.db` are absolute,
 * `sqlite:relative.db` is resolved against the working directory, `sqlite::memory:` is a private in-memory
 * database.
 */
export function sqlitePathFromUri(uri: string): string {
  const parsed = parseUri(uri);
  const forms = 'use sqlite:/absolute/path.db, sqlite:relative/path.db or sqlite::memory:';
  if (!parsed || parsed.scheme !== 'sqlite') {
    throw new AimassError('INVALID_ARGUMENT', `"${uri}" is not a SQLite URI; ${forms}`, { uri });
  }
  const { rest, hasAuthority } = parsed;
  if (rest === ':memory:') return ':memory:';
  if (rest === '' || (hasAuthority && !rest.startsWith('/'))) {
    throw new AimassError('INVALID_ARGUMENT', `SQLite URI "${uri}" names no file; ${forms}`, { uri });
  }
  return path.resolve(rest);
}

/** Opens (creating it and its parent folders when missing) the SQLite database a `sqlite:` URI names. */
export async function openSqliteDriver(uri: string, options: SqliteDriverOptions = {}): Promise<SqlDriver> {
  const file = sqlitePathFromUri(uri);
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new AimassError('INVALID_ARGUMENT', `busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
  }
  let db: Database.Database;
  try {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    // `timeout` is SQLite's busy_timeout: it still covers the brief locks a statement can meet outside
    // BEGIN IMMEDIATE (WAL recovery, another connection switching journal mode).
    db = new Database(file, { timeout: busyTimeoutMs });
  } catch (e) {
    throw new AimassError(
      'UNAVAILABLE',
      `Cannot open the SQLite database ${file}: ${(e as Error).message}; check the path and its permissions`,
      { backend: 'sqlite', path: file },
      { cause: e },
    );
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
  } catch (e) {
    db.close();
    throw sqliteError(e, file, busyTimeoutMs);
  }
  return new SqliteDriver(db, file, busyTimeoutMs);
}

class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly statements = new Map<string, Database.Statement>();
  /** What a transaction's callback gets: runs statements directly on the connection the transaction holds. */
  private readonly txView: SqlDriver;

  constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    private readonly busyTimeoutMs: number,
  ) {
    const self = this;
    this.txView = {
      dialect: 'sqlite',
      query: async <T>(sql: string, params?: readonly SqlValue[]) => self.execute<T>(sql, params).rows,
      run: async (sql: string, params?: readonly SqlValue[]) => ({ changes: self.execute(sql, params).changes }),
      transaction: (fn) => fn(self.txView),
      close: async () => {
        throw new AimassError('INTERNAL', 'close() was called inside a transaction; close the driver, not the transaction');
      },
    };
  }

  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.exclusive(async () => this.execute<T>(sql, params).rows);
  }

  /** A lone write is a transaction of its own, so it waits for the write lock like any other writer. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.transaction((tx) => tx.run(sql, params));
  }

  transaction<T>(fn: (tx: SqlDriver) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    return this.exclusive(async () => {
      if (options.readOnly) this.db.exec('BEGIN DEFERRED');
      else await this.beginImmediate();
      try {
        const result = await fn(this.txView);
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw sqliteError(e, this.file, this.busyTimeoutMs);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    this.statements.clear();
    this.db.close();
  }

  /** Runs `work` once everything queued before it has finished. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    if (this.closed) {
      return Promise.reject(new AimassError('UNAVAILABLE', `The SQLite metadata store ${this.file} is closed; open it again`, { backend: 'sqlite', path: this.file }));
    }
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Takes the write lock, polling without blocking the event loop, for at most the busy timeout. */
  private async beginImmediate(): Promise<void> {
    const started = Date.now();
    let backoff = 1;
    this.db.pragma('busy_timeout = 0');
    try {
      for (;;) {
        try {
          this.db.exec('BEGIN IMMEDIATE');
          return;
        } catch (e) {
          const waited = Date.now() - started;
          if (!isBusy(e) || waited >= this.busyTimeoutMs) throw sqliteError(e, this.file, waited);
          await sleep(Math.min(backoff * (0.5 + Math.random()), this.busyTimeoutMs - waited + 1));
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      }
    } finally {
      this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  private execute<T>(sql: string, params: readonly SqlValue[] = []): { rows: T[]; changes: number } {
    try {
      const statement = this.prepare(sql);
      if (statement.reader) {
        const rows = statement.all(...params) as T[];
        return { rows, changes: rows.length };
      }
      return { rows: [], changes: statement.run(...params).changes };
    } catch (e) {
      throw sqliteError(e, this.file, this.busyTimeoutMs);
    }
  }

  private prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

/** Locked → UNAVAILABLE (retryable); anything else unchanged. */
function sqliteError(e: unknown, file: string, waitedMs: number): unknown {
  if (!isBusy(e)) return e;
  return new AimassError(
    'UNAVAILABLE',
    `database is locked: another connection held a write transaction on ${file} for ${waitedMs} ms; retry the operation`,
    { backend: 'sqlite', path: file, retryable: true },
    { cause: e },
  );
}
