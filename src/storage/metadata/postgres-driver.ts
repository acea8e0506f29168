// SqlDriver over a pg connection pool (cluster mode). Rewrites the `?` placeholders to $1..$n, returns BIGINT
// columns as JS numbers (like SQLite does), and turns an unreachable, restarting or overloaded server into
// UNAVAILABLE (retryable) naming the server, never a crash: an idle connection that dies is dropped quietly and
// the next query reports the outage. Transactions that fail to serialize (deadlock, serialization failure) are
// run again, a few times, with backoff.
//
// `?schema=name` in the URI keeps everything in that PostgreSQL schema (created when missing), so several
// deployments, or test runs, can share one database.
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { AimassError } from '../../core/index.js';
import type { SqlDriver, SqlValue, TransactionOptions } from './sql-driver.js';

export interface PostgresDriverOptions {
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** How long to wait for a connection before UNAVAILABLE (default 10000 ms). */
  connectTimeoutMs?: number;
  /** The PostgreSQL schema to use; overrides `?schema=` in the URI. */
  schema?: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const TRANSACTION_ATTEMPTS = 5;
const INT8_OID = 20;

/** BIGINT as a JS number: ids, sizes and counts here stay far below 2^53. */
const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (text: string) => Number(text) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** Connects to the server a `postgresql://` (or `postgres://`) URI names and checks that it answers. */
export async function openPostgresDriver(uri: string, options: PostgresDriverOptions = {}): Promise<SqlDriver> {
  const target = parsePostgresUri(uri, options.schema);
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    allowExitOnIdle: true,
    types: typeParsers,
    ...(target.schema ? { options: `-c search_path=${target.schema}` } : {}),
  });
  // Without a listener, an idle connection dropped by the server would crash the process.
  pool.on('error', () => undefined);
  const driver = new PostgresDriver(pool, target.display);
  try {
    await driver.query('SELECT 1');
    if (target.schema) {
      try {
        await driver.run(`CREATE SCHEMA IF NOT EXISTS ${target.schema}`);
      } catch (e) {
        // Two openers creating the schema at once: the loser sees a duplicate, which is what it wanted.
        if (!['23505', '42P06'].includes(sqlState(e) ?? '')) throw e;
      }
    }
  } catch (e) {
    await driver.close().catch(() => undefined);
    throw e;
  }
  return driver;
}

/** The URI without its password, for messages and `store.uri`. */
export function redactPostgresUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return uri.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/** `?` placeholders to `$1..$n`, leaving quoted strings and identifiers alone. */
export function toPostgresPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  let quote: string | undefined;
  for (const ch of sql) {
    if (quote) {
      if (ch === quote) quote = undefined;
      out += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      out += ch;
    } else {
      out += ch === '?' ? `$${++n}` : ch;
    }
  }
  return out;
}

function parsePostgresUri(uri: string, schemaOption: string | undefined): { connectionString: string; schema?: string; display: string } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AimassError('INVALID_ARGUMENT', `"${redactPostgresUri(uri)}" is not a valid PostgreSQL URI; use postgresql://user@host:5432/database`, {
      uri: redactPostgresUri(uri),
    });
  }
  const schema = schemaOption ?? url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new AimassError(
      'INVALID_ARGUMENT',
      `PostgreSQL schema "${schema}" is invalid: use lower-case letters, digits and "_", starting with a letter or "_"`,
      { schema },
    );
  }
  const where = `${url.hostname || 'localhost'}${url.port ? `:${url.port}` : ''}${url.pathname}`;
  return { connectionString: url.toString(), schema, display: `PostgreSQL at ${where}` };
}

class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly display: string,
  ) {}

  async query<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.checkOpen();
    try {
      return (await this.pool.query(rewrite(sql), params as SqlValue[])).rows as T[];
    } catch (e) {
      throw postgresError(e, this.display);
    }
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    this.checkOpen();
    try {
      return { changes: (await this.pool.query(rewrite(sql), params as SqlValue[])).rowCount ?? 0 };
    } catch (e) {
      throw postgresError(e, this.display);
    }
  }

  async transaction<T>(fn: (tx: SqlDriver) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    this.checkOpen();
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (e) {
        throw postgresError(e, this.display);
      }
      // A checked-out connection that dies between two statements emits 'error'; unheard, that would crash the
      // process. The statement that follows fails instead, and is reported as UNAVAILABLE.
      let broken: Error | undefined;
      const onError = (e: Error) => (broken = e);
      client.on('error', onError);
      try {
        await client.query(options.readOnly ? 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY' : 'BEGIN');
        const result = await fn(clientDriver(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        if (isUnavailable(e)) broken = e as Error;
        else await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
        if (isSerializationFailure(e) && attempt < TRANSACTION_ATTEMPTS) {
          await sleep(5 * 2 ** attempt * Math.random());
          continue;
        }
        throw postgresError(e, this.display);
      } finally {
        // A connection that failed mid-transaction is destroyed, not returned to the pool.
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private checkOpen(): void {
    if (this.closed) throw new AimassError('UNAVAILABLE', `The metadata store on ${this.display} is closed; open it again`, { backend: 'postgres' });
  }
}

/** The driver a transaction's callback gets: one pooled connection inside BEGIN … COMMIT. */
function clientDriver(client: pg.PoolClient): SqlDriver {
  const tx: SqlDriver = {
    dialect: 'postgres',
    query: async <T>(sql: string, params: readonly SqlValue[] = []) => (await client.query(rewrite(sql), params as SqlValue[])).rows as T[],
    run: async (sql: string, params: readonly SqlValue[] = []) => ({ changes: (await client.query(rewrite(sql), params as SqlValue[])).rowCount ?? 0 }),
    transaction: (fn) => fn(tx),
    close: async () => {
      throw new AimassError('INTERNAL', 'close() was called inside a transaction; close the driver, not the transaction');
    },
  };
  return tx;
}

const rewritten = new Map<string, string>();
function rewrite(sql: string): string {
  let text = rewritten.get(sql);
  if (text === undefined) {
    text = toPostgresPlaceholders(sql);
    if (rewritten.size < 1024) rewritten.set(sql, text);
  }
  return text;
}

function sqlState(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isSerializationFailure(e: unknown): boolean {
  const code = sqlState(e);
  return code === '40001' || code === '40P01';
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
/** Server shutting down, crashed, starting up, or out of connection slots. */
const SERVER_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);
const DROPPED_CONNECTION = /Connection terminated|connection timeout|timeout exceeded when trying to connect|connection error|not queryable/i;

function isUnavailable(e: unknown): boolean {
  if (e instanceof AimassError) return false;
  const code = sqlState(e);
  if (code !== undefined && (NETWORK_ERRORS.has(code) || SERVER_UNAVAILABLE.has(code) || code.startsWith('08'))) return true;
  return e instanceof Error && DROPPED_CONNECTION.test(e.message);
}

/** Unreachable → UNAVAILABLE (retryable); bad credentials → UNAUTHENTICATED; missing database → NOT_FOUND. */
function postgresError(e: unknown, display: string): unknown {
  const code = sqlState(e);
  const details = { backend: 'postgres' };
  if (isUnavailable(e)) {
    const why = code ?? (e as Error).message;
    return new AimassError(
      'UNAVAILABLE',
      `${display} is unavailable (${why}); check that the server is up and reachable, then retry`,
      { ...details, retryable: true },
      { cause: e },
    );
  }
  if (code === '28P01' || code === '28000') {
    const message = `${display} refused the credentials: ${(e as Error).message}; check the user and password in the URI`;
    return new AimassError('UNAUTHENTICATED', message, details, { cause: e });
  }
  if (code === '3D000') {
    return new AimassError('NOT_FOUND', `${display}: ${(e as Error).message}; create the database first`, details, { cause: e });
  }
  return e;
}
