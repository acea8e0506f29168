// The metadata schema, one for SQLite and PostgreSQL, as numbered migrations recorded in `schema_migrations`.
// `migrate` applies the missing ones in one transaction; concurrent openers of the same database are safe (they
// take turns, and whoever comes second finds nothing left to do). To change the schema, append a migration:
// never edit one that has shipped.
//
// Portable column choices: timestamps are ISO-8601 UTC strings (text, they sort as text), JSON values are text,
// sizes are BIGINT, metric values DOUBLE PRECISION (REAL affinity on SQLite). Text compares bytewise in both.
import { AimassError } from '../../core/index.js';
import { autoIdColumn, migrationLock, textColumn } from './dialect.js';
import type { SqlDialect, SqlDriver } from './sql-driver.js';

interface Migration {
  version: number;
  name: string;
  statements(dialect: SqlDialect): string[];
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'models, versions, aliases with history, runs with metric history',
    statements: (d) => {
      const t = textColumn(d);
      return [
        `CREATE TABLE models (
          name ${t} PRIMARY KEY,
          description ${t} NOT NULL,
          tags ${t} NOT NULL,
          created_at ${t} NOT NULL,
          updated_at ${t} NOT NULL,
          latest_version INTEGER NOT NULL DEFAULT 0
        )`,
        `CREATE TABLE versions (
          model ${t} NOT NULL REFERENCES models (name),
          version INTEGER NOT NULL,
          artifact_uri ${t} NOT NULL,
          files ${t} NOT NULL,
          size BIGINT NOT NULL,
          signature ${t} NOT NULL,
          source ${t} NOT NULL CHECK (source IN ('trained', 'imported')),
          framework ${t} NOT NULL,
          params ${t} NOT NULL,
          metrics ${t} NOT NULL,
          dataset_hash ${t},
          run_id ${t},
          parent_version INTEGER,
          created_by ${t} NOT NULL,
          created_at ${t} NOT NULL,
          description ${t} NOT NULL,
          tags ${t} NOT NULL,
          PRIMARY KEY (model, version)
        )`,
        'CREATE INDEX versions_run_id ON versions (run_id)',
        // The foreign key to versions is the database's own guard against deleting a version an alias points at.
        `CREATE TABLE aliases (
          model ${t} NOT NULL,
          alias ${t} NOT NULL,
          version INTEGER NOT NULL,
          updated_at ${t} NOT NULL,
          updated_by ${t} NOT NULL,
          PRIMARY KEY (model, alias),
          FOREIGN KEY (model, version) REFERENCES versions (model, version)
        )`,
        'CREATE INDEX aliases_target ON aliases (model, version)',
        // No foreign key to versions: the history outlives the versions it mentions.
        `CREATE TABLE alias_events (
          id ${autoIdColumn(d)},
          model ${t} NOT NULL REFERENCES models (name),
          alias ${t} NOT NULL,
          from_version INTEGER,
          to_version INTEGER,
          actor ${t} NOT NULL,
          reason ${t} NOT NULL,
          at ${t} NOT NULL
        )`,
        'CREATE INDEX alias_events_by_alias ON alias_events (model, alias, id)',
        `CREATE TABLE runs (
          id ${t} PRIMARY KEY,
          name ${t} NOT NULL,
          status ${t} NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'killed')),
          params ${t} NOT NULL,
          metrics ${t} NOT NULL,
          artifacts ${t} NOT NULL,
          tags ${t} NOT NULL,
          started_at ${t} NOT NULL,
          ended_at ${t},
          error ${t}
        )`,
        'CREATE INDEX runs_started_at ON runs (started_at)',
        // id orders the points as they were logged; (run_id, key, id) also finds a key's latest point.
        `CREATE TABLE run_metrics (
          id ${autoIdColumn(d)},
          run_id ${t} NOT NULL REFERENCES runs (id),
          key ${t} NOT NULL,
          step BIGINT NOT NULL,
          value DOUBLE PRECISION NOT NULL,
          at ${t} NOT NULL
        )`,
        'CREATE INDEX run_metrics_by_key ON run_metrics (run_id, key, id)',
      ];
    },
  },
  {
    version: 2,
    name: 'dispatch: tasks with attempt history, per-type rate buckets',
    statements: (d) => {
      const t = textColumn(d);
      // Scheduling times (not_before_ms, lease_expires_ms, sort_key) are epoch milliseconds, because claims
      // compare and order by them in SQL; the times people read stay ISO text like everywhere else.
      // sort_key = enqueue time − priority × aging step: ordering by it is "higher priority first, FIFO within
      // a priority", and a task that waited long enough overtakes newer ones of higher priority (no starvation).
      return [
        `CREATE TABLE tasks (
          id ${t} PRIMARY KEY,
          type ${t} NOT NULL,
          payload ${t} NOT NULL,
          priority INTEGER NOT NULL,
          cpu INTEGER NOT NULL,
          memory_mb INTEGER NOT NULL,
          kind ${t} NOT NULL CHECK (kind IN ('image', 'text', 'any')),
          labels ${t} NOT NULL,
          timeout_ms BIGINT NOT NULL,
          deadline_ms BIGINT,
          max_attempts INTEGER NOT NULL,
          base_delay_ms BIGINT NOT NULL,
          max_delay_ms BIGINT NOT NULL,
          idempotency_key ${t} UNIQUE,
          state ${t} NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead')),
          attempts INTEGER NOT NULL DEFAULT 0,
          node ${t},
          sort_key BIGINT NOT NULL,
          not_before_ms BIGINT NOT NULL,
          lease_expires_ms BIGINT,
          result ${t},
          error_code ${t},
          error_message ${t},
          created_at ${t} NOT NULL,
          updated_at ${t} NOT NULL,
          started_at ${t},
          ended_at ${t}
        )`,
        'CREATE INDEX tasks_claimable ON tasks (state, sort_key, id)',
        'CREATE INDEX tasks_leases ON tasks (state, lease_expires_ms)',
        'CREATE INDEX tasks_by_type ON tasks (type, state)',
        'CREATE INDEX tasks_created ON tasks (created_at, id)',
        `CREATE TABLE task_attempts (
          task_id ${t} NOT NULL REFERENCES tasks (id),
          attempt INTEGER NOT NULL,
          node ${t} NOT NULL,
          started_at ${t} NOT NULL,
          ended_at ${t},
          outcome ${t} NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed', 'crashed', 'oom', 'timed-out', 'lease-expired', 'cancelled')),
          error_code ${t},
          error_message ${t},
          PRIMARY KEY (task_id, attempt)
        )`,
        // One row per rate-limited type: its token bucket, and the row claims of that type lock so that
        // concurrency and rate limits hold across concurrent claimers.
        `CREATE TABLE task_type_buckets (
          type ${t} PRIMARY KEY,
          tokens DOUBLE PRECISION NOT NULL,
          refilled_ms BIGINT NOT NULL
        )`,
      ];
    },
  },
  {
    version: 3,
    name: 'tuning: studies and their trials',
    statements: (d) => {
      const t = textColumn(d);
      // Times are epoch milliseconds (the tune module's records carry them so); parameters, distributions,
      // values, intermediate values and attributes are JSON text, read and written whole.
      return [
        `CREATE TABLE studies (
          id ${t} PRIMARY KEY,
          name ${t} NOT NULL UNIQUE,
          directions ${t} NOT NULL,
          user_attrs ${t} NOT NULL,
          created_ms BIGINT NOT NULL
        )`,
        `CREATE TABLE trials (
          study_id ${t} NOT NULL REFERENCES studies (id),
          number INTEGER NOT NULL,
          state ${t} NOT NULL CHECK (state IN ('running', 'complete', 'pruned', 'failed')),
          params ${t} NOT NULL,
          distributions ${t} NOT NULL,
          trial_values ${t},
          intermediate ${t} NOT NULL,
          user_attrs ${t} NOT NULL,
          system_attrs ${t} NOT NULL,
          started_ms BIGINT NOT NULL,
          finished_ms BIGINT,
          PRIMARY KEY (study_id, number)
        )`,
        'CREATE INDEX trials_by_state ON trials (study_id, state, number)',
      ];
    },
  },
  {
    version: 4,
    name: 'dispatch: partial indexes over queued and running tasks only',
    // A task row is rewritten three times in its life (queued, running, ended). On PostgreSQL each rewrite that
    // changes the state adds an entry to every index of the table, and the old entries stay until vacuum: with
    // indexes over all tasks, each claim and completion wrote six index entries and claims walked the dead
    // ones of every task that had ever been queued. Indexes that hold only the rows a claim or the lease
    // reaper looks for are written only while a task is in that state and stay as small as the queue.
    // Per-type running counts (concurrency limits) read the running index; listing by type reads by time.
    statements: () => [
      'DROP INDEX tasks_claimable',
      'DROP INDEX tasks_leases',
      'DROP INDEX tasks_by_type',
      "CREATE INDEX tasks_queued ON tasks (sort_key, id) WHERE state = 'queued'",
      "CREATE INDEX tasks_running ON tasks (lease_expires_ms) WHERE state = 'running'",
    ],
  },
];

/** The schema version this code reads and writes (the newest migration). */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Brings the database up to SCHEMA_VERSION and returns it. Refuses (UNSUPPORTED) a database that a newer AI Mass
 * has migrated further, rather than writing records that version would misread.
 *
 * An up-to-date database (every open but the first) is recognised by a plain read, so opening a store never
 * waits for another connection's write transaction: read-only commands keep working while a writer holds the
 * lock. Only a database that needs migrating takes the write lock.
 */
export async function migrate(driver: SqlDriver): Promise<number> {
  const known = await appliedVersions(driver);
  if (known && MIGRATIONS.every((m) => known.has(m.version))) return checkNotNewer(known);
  return driver.transaction(async (tx) => {
    const lock = migrationLock(tx.dialect);
    if (lock) await tx.query(lock);
    await tx.run(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TEXT NOT NULL
      )`,
    );
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => Number(r.version)));
    checkNotNewer(applied);
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements(tx.dialect)) await tx.run(statement);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        new Date().toISOString(),
      ]);
    }
    return SCHEMA_VERSION;
  });
}

/** The migrations recorded in the database, or undefined when it has no schema_migrations table yet. */
async function appliedVersions(driver: SqlDriver): Promise<Set<number> | undefined> {
  let rows;
  try {
    rows = await driver.query<{ version: number }>('SELECT version FROM schema_migrations');
  } catch (e) {
    // an unreachable or locked database says so (as an AimassError); any other failure is the missing table
    if (e instanceof AimassError) throw e;
    return undefined;
  }
  return new Set(rows.map((r) => Number(r.version)));
}

function checkNotNewer(applied: Set<number>): number {
  const newest = Math.max(0, ...applied);
  if (newest > SCHEMA_VERSION) {
    throw new AimassError(
      'UNSUPPORTED',
      `The metadata database is at schema version ${newest}, newer than this AI Mass knows (${SCHEMA_VERSION}); upgrade AI Mass to use it`,
      { databaseVersion: newest, knownVersion: SCHEMA_VERSION },
    );
  }
  return SCHEMA_VERSION;
}
