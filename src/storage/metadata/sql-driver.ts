// The tiny SQL interface the metadata store is written against, once, for SQLite and PostgreSQL. SQL uses `?`
// placeholders in both dialects (the PostgreSQL driver rewrites them to $1..$n) and returns plain rows whose
// integer columns are JS numbers in both. Drivers turn "the database is locked / unreachable" into UNAVAILABLE;
// every other database error passes through unchanged.

export type SqlDialect = 'sqlite' | 'postgres';

/** What may be bound to a `?`. Booleans and objects are not: store JSON as text, flags as 0/1. */
export type SqlValue = string | number | bigint | null;

export interface TransactionOptions {
  /**
   * A read-only transaction that sees one consistent state of the database from its first statement to its
   * last (SQLite: a deferred read transaction; PostgreSQL: REPEATABLE READ READ ONLY).
   */
  readOnly?: boolean;
}

export interface SqlDriver {
  readonly dialect: SqlDialect;
  /** Runs a statement that returns rows (SELECT, or INSERT/UPDATE … RETURNING). */
  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement for its effect; `changes` is the number of rows it inserted, updated or deleted. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /**
   * Runs `fn` in one transaction on one connection: committed when `fn` resolves, rolled back when it throws.
   * Write transactions serialize with every other writer (SQLite: BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED
   * plus the row locks the statements take). `fn` may be run again after a serialization failure, so it must do
   * nothing but database work. Calling `transaction` on `tx` itself joins the running transaction.
   */
  transaction<T>(fn: (tx: SqlDriver) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Waits for running work and closes the connection(s). */
  close(): Promise<void>;
}
