// The metadata store, written once in SQL over a SqlDriver, for SQLite and PostgreSQL alike. Every method is
// one statement or one transaction. Writes that touch a model first update its row (bumping updated_at), which
// checks that the model exists and, on PostgreSQL, locks it: concurrent version registrations, alias moves and
// deletions of one model therefore take turns, so version numbers are never handed out twice and an alias
// compare-and-set sees the value it compares against.
import { AimassError, errors } from '../../core/index.js';
import { afterExplicitIds, forUpdate } from './dialect.js';
import type {
  AliasEvent,
  AliasMove,
  AliasRecord,
  MetadataSnapshot,
  MetadataStore,
  MetricPoint,
  ModelRecord,
  NewVersion,
  RunQuery,
  RunRecord,
  RunStatus,
  VersionRecord,
} from './metadata-store.js';
import { migrate, SCHEMA_VERSION } from './schema.js';
import type { SqlDriver, SqlValue } from './sql-driver.js';
import {
  AliasMoveSchema,
  checkRunId,
  checkVersionNumber,
  MetricPointsSchema,
  NewModelSchema,
  NewRunSchema,
  NewVersionSchema,
  parseInput,
  RunQuerySchema,
  SnapshotSchema,
} from './validation.js';

export class SqlMetadataStore implements MetadataStore {
  private constructor(
    readonly uri: string,
    private readonly db: SqlDriver,
  ) {}

  /**
   * Migrates the database behind `driver` to the current schema (safe while other processes open it too) and
   * returns a store over it. The store owns the driver: `close()` closes it, and so does a failed open.
   * `uri` is what `store.uri` reports; leave passwords out of it.
   */
  static async open(driver: SqlDriver, uri: string): Promise<SqlMetadataStore> {
    try {
      await migrate(driver);
    } catch (e) {
      await driver.close().catch(() => undefined);
      throw e;
    }
    return new SqlMetadataStore(uri, driver);
  }

  // --- models -------------------------------------------------------------------------------------------------

  async createModel(m: { name: string; description?: string; tags?: Record<string, string> }): Promise<ModelRecord> {
    const input = parseInput(NewModelSchema, m, 'model');
    const at = now();
    const record: ModelRecord = {
      name: input.name,
      description: input.description ?? '',
      tags: input.tags ?? {},
      createdAt: at,
      updatedAt: at,
      latestVersion: 0,
    };
    const { changes } = await this.db.run(
      `INSERT INTO models (name, description, tags, created_at, updated_at, latest_version) VALUES (?, ?, ?, ?, ?, 0)
       ON CONFLICT (name) DO NOTHING`,
      [record.name, record.description, json(record.tags), at, at],
    );
    if (changes === 0) throw errors.alreadyExists('model', record.name, 'register a new version of it, or pick another name');
    return record;
  }

  async getModel(name: string): Promise<ModelRecord | null> {
    const rows = await this.db.query<ModelRow>(`SELECT ${MODEL_COLUMNS} FROM models WHERE name = ?`, [name]);
    return rows.length > 0 ? toModel(rows[0]) : null;
  }

  async listModels(): Promise<ModelRecord[]> {
    return (await this.db.query<ModelRow>(`SELECT ${MODEL_COLUMNS} FROM models ORDER BY name`)).map(toModel);
  }

  async deleteModel(name: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await touchModel(tx, name);
      await tx.run('DELETE FROM alias_events WHERE model = ?', [name]);
      await tx.run('DELETE FROM aliases WHERE model = ?', [name]);
      await tx.run('DELETE FROM versions WHERE model = ?', [name]);
      await tx.run('DELETE FROM models WHERE name = ?', [name]);
    });
  }

  // --- versions -----------------------------------------------------------------------------------------------

  async createVersion(v: NewVersion): Promise<VersionRecord> {
    const input = parseInput(NewVersionSchema, v, 'version');
    return this.db.transaction(async (tx) => {
      const at = now();
      // Allocating the number and inserting the version commit together, so a number is never handed out twice
      // and never skipped by a failed registration.
      const bumped = await tx.query<{ latest_version: number }>(
        'UPDATE models SET latest_version = latest_version + 1, updated_at = ? WHERE name = ? RETURNING latest_version',
        [at, input.model],
      );
      if (bumped.length === 0) throw modelNotFound(input.model);
      const version = Number(bumped[0].latest_version);
      if (input.parentVersion !== undefined && !(await versionExists(tx, input.model, input.parentVersion))) {
        throw versionNotFound(input.model, input.parentVersion, 'the parent version must exist when its child is registered');
      }
      const record: VersionRecord = {
        model: input.model,
        version,
        artifactUri: input.artifactUri,
        files: input.files,
        size: input.files.reduce((sum, f) => sum + f.size, 0),
        signature: input.signature,
        source: input.source,
        framework: input.framework,
        params: input.params,
        metrics: input.metrics,
        datasetHash: input.datasetHash ?? null,
        runId: input.runId ?? null,
        parentVersion: input.parentVersion ?? null,
        createdBy: input.createdBy,
        createdAt: at,
        description: input.description ?? '',
        tags: input.tags ?? {},
      };
      await insertRows(tx, 'versions', VERSION_COLUMN_LIST, [versionValues(record)]);
      return record;
    });
  }

  async getVersion(model: string, version: number): Promise<VersionRecord | null> {
    checkVersionNumber(version);
    const rows = await this.db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE model = ? AND version = ?`, [model, version]);
    return rows.length > 0 ? toVersion(rows[0]) : null;
  }

  async listVersions(model: string): Promise<VersionRecord[]> {
    const rows = await this.db.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions WHERE model = ? ORDER BY version`, [model]);
    if (rows.length === 0) await this.requireModel(model);
    return rows.map(toVersion);
  }

  async deleteVersion(model: string, version: number): Promise<void> {
    checkVersionNumber(version);
    await this.db.transaction(async (tx) => {
      await touchModel(tx, model);
      const pointing = await tx.query<{ alias: string }>('SELECT alias FROM aliases WHERE model = ? AND version = ? ORDER BY alias', [model, version]);
      if (pointing.length > 0) {
        const names = pointing.map((r) => r.alias);
        throw new AimassError(
          'CONFLICT',
          `Version ${version} of model "${model}" is the target of alias${names.length > 1 ? 'es' : ''} ${names.join(', ')}; ` +
            'move or delete them before deleting the version',
          { model, version, aliases: names },
        );
      }
      const { changes } = await tx.run('DELETE FROM versions WHERE model = ? AND version = ?', [model, version]);
      if (changes === 0) throw versionNotFound(model, version);
    });
  }

  // --- aliases ------------------------------------------------------------------------------------------------

  async moveAlias(m: AliasMove): Promise<AliasEvent> {
    const input = parseInput(AliasMoveSchema, m, 'alias move');
    const { model, alias, to } = input;
    return this.db.transaction(async (tx) => {
      const at = now();
      await touchModel(tx, model, at);
      const current = await tx.query<{ version: number }>('SELECT version FROM aliases WHERE model = ? AND alias = ?', [model, alias]);
      const from = current.length > 0 ? Number(current[0].version) : null;
      if (input.expected !== undefined && input.expected !== from) {
        const holds = from === null ? 'does not exist' : `points at version ${from}`;
        const believed = input.expected === null ? 'expected it to be absent' : `expected version ${input.expected}`;
        throw new AimassError(
          'CONFLICT',
          `Alias "${alias}" of model "${model}" ${holds}, but the move ${believed}; someone moved it meanwhile: read it again and decide`,
          { model, alias, expected: input.expected, actual: from },
        );
      }
      if (to === null) {
        if (from === null) throw aliasNotFound(model, alias);
        await tx.run('DELETE FROM aliases WHERE model = ? AND alias = ?', [model, alias]);
      } else {
        if (!(await versionExists(tx, model, to))) throw versionNotFound(model, to, `alias "${alias}" can only point at an existing version`);
        await tx.run(
          `INSERT INTO aliases (model, alias, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
          [model, alias, to, at, input.actor],
        );
      }
      const inserted = await tx.query<{ id: number }>(
        'INSERT INTO alias_events (model, alias, from_version, to_version, actor, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
        [model, alias, from, to, input.actor, input.reason, at],
      );
      return { id: Number(inserted[0].id), model, alias, from, to, actor: input.actor, reason: input.reason, at };
    });
  }

  async getAlias(model: string, alias: string): Promise<AliasRecord | null> {
    const rows = await this.db.query<AliasRow>(`SELECT ${ALIAS_COLUMNS} FROM aliases WHERE model = ? AND alias = ?`, [model, alias]);
    return rows.length > 0 ? toAlias(rows[0]) : null;
  }

  async listAliases(model: string): Promise<AliasRecord[]> {
    const rows = await this.db.query<AliasRow>(`SELECT ${ALIAS_COLUMNS} FROM aliases WHERE model = ? ORDER BY alias`, [model]);
    if (rows.length === 0) await this.requireModel(model);
    return rows.map(toAlias);
  }

  async aliasHistory(model: string, alias?: string): Promise<AliasEvent[]> {
    const rows =
      alias === undefined
        ? await this.db.query<AliasEventRow>(`SELECT ${ALIAS_EVENT_COLUMNS} FROM alias_events WHERE model = ? ORDER BY id`, [model])
        : await this.db.query<AliasEventRow>(`SELECT ${ALIAS_EVENT_COLUMNS} FROM alias_events WHERE model = ? AND alias = ? ORDER BY id`, [model, alias]);
    if (rows.length === 0) await this.requireModel(model);
    return rows.map(toAliasEvent);
  }

  // --- runs ---------------------------------------------------------------------------------------------------

  async createRun(r: { id: string; name: string; params: Record<string, unknown>; tags?: Record<string, string> }): Promise<RunRecord> {
    const input = parseInput(NewRunSchema, r, 'run');
    const record: RunRecord = {
      id: input.id,
      name: input.name,
      status: 'running',
      params: input.params,
      metrics: {},
      artifacts: {},
      tags: input.tags ?? {},
      startedAt: now(),
      endedAt: null,
      error: null,
    };
    const { changes } = await this.db.run(
      `INSERT INTO runs (${RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      runValues(record),
    );
    if (changes === 0) throw errors.alreadyExists('run', record.id, 'run ids are unique; make a new one with newId("run")');
    return record;
  }

  async getRun(id: string): Promise<RunRecord | null> {
    const rows = await this.db.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`, [id]);
    return rows.length > 0 ? toRun(rows[0]) : null;
  }

  async logMetrics(runId: string, points: { key: string; step: number; value: number }[]): Promise<void> {
    checkRunId(runId);
    const valid = parseInput(MetricPointsSchema, points, 'metric points');
    await this.db.transaction(async (tx) => {
      const rows = await tx.query<{ metrics: string }>(`SELECT metrics FROM runs WHERE id = ?${forUpdate(tx.dialect)}`, [runId]);
      if (rows.length === 0) throw runNotFound(runId);
      if (valid.length === 0) return;
      const at = now();
      await insertRows(tx, 'run_metrics', ['run_id', 'key', 'step', 'value', 'at'], valid.map((p) => [runId, p.key, p.step, p.value, at]));
      // The latest value of a key is the one logged last.
      const latest = JSON.parse(rows[0].metrics) as Record<string, number>;
      for (const p of valid) latest[p.key] = p.value;
      await tx.run('UPDATE runs SET metrics = ? WHERE id = ?', [json(latest), runId]);
    });
  }

  async metricHistory(runId: string, key?: string): Promise<MetricPoint[]> {
    const select = 'SELECT key, step, value, at FROM run_metrics WHERE run_id = ?';
    const rows =
      key === undefined
        ? await this.db.query<MetricRow>(`${select} ORDER BY key, step, id`, [runId])
        : await this.db.query<MetricRow>(`${select} AND key = ? ORDER BY step, id`, [runId, key]);
    if (rows.length === 0 && (await this.getRun(runId)) === null) throw runNotFound(runId);
    return rows.map(toMetricPoint);
  }

  async setRunArtifact(runId: string, name: string, uri: string): Promise<void> {
    if (typeof name !== 'string' || name.length === 0 || typeof uri !== 'string' || uri.length === 0) {
      throw errors.invalidArgument(`A run artifact needs a non-empty name and URI, got name ${JSON.stringify(name)} and URI ${JSON.stringify(uri)}`);
    }
    await this.db.transaction(async (tx) => {
      const rows = await tx.query<{ artifacts: string }>(`SELECT artifacts FROM runs WHERE id = ?${forUpdate(tx.dialect)}`, [runId]);
      if (rows.length === 0) throw runNotFound(runId);
      const artifacts = JSON.parse(rows[0].artifacts) as Record<string, string>;
      artifacts[name] = uri;
      await tx.run('UPDATE runs SET artifacts = ? WHERE id = ?', [json(artifacts), runId]);
    });
  }

  async endRun(runId: string, status: Exclude<RunStatus, 'running'>, error?: string): Promise<RunRecord> {
    if (!['finished', 'failed', 'killed'].includes(status)) {
      throw errors.invalidArgument(`A run ends as finished, failed or killed, not ${JSON.stringify(status)}`, { status });
    }
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?${forUpdate(tx.dialect)}`, [runId]);
      if (rows.length === 0) throw runNotFound(runId);
      const run = toRun(rows[0]);
      if (run.status !== 'running') {
        throw new AimassError('CONFLICT', `Run "${runId}" already ended as ${run.status} at ${run.endedAt}; a run ends once`, {
          runId,
          status: run.status,
        });
      }
      const ended: RunRecord = { ...run, status, endedAt: now(), error: error ?? null };
      await tx.run('UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?', [status, ended.endedAt, ended.error, runId]);
      return ended;
    });
  }

  async resumeRun(runId: string): Promise<RunRecord> {
    return this.db.transaction(async (tx) => {
      const rows = await tx.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?${forUpdate(tx.dialect)}`, [runId]);
      if (rows.length === 0) throw runNotFound(runId);
      const run = toRun(rows[0]);
      if (run.status === 'finished') {
        throw new AimassError('CONFLICT', `Run "${runId}" finished at ${run.endedAt}; only a killed, failed or still-running run resumes`, { runId, status: run.status });
      }
      await tx.run('UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE id = ?', ['running', null, null, runId]);
      return { ...run, status: 'running', endedAt: null, error: null };
    });
  }

  async searchRuns(q: RunQuery = {}): Promise<RunRecord[]> {
    const query = parseInput(RunQuerySchema, q, 'run query');
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.status !== undefined) {
      where.push('status = ?');
      params.push(query.status);
    }
    if (query.nameContains !== undefined) {
      // Ignores ASCII case only, in both dialects: SQLite's LOWER knows only ASCII, and so does PostgreSQL's
      // under the "C" collation the schema uses.
      where.push("LOWER(name) LIKE ? ESCAPE '!'");
      const needle = query.nameContains.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/[!%_]/g, '!$&');
      params.push(`%${needle}%`);
    }
    let order = 'started_at DESC, id DESC';
    if (query.orderBy !== undefined) {
      // The key's latest point, as runs.metrics keeps it; runs without the metric come last either way.
      order =
        '(SELECT m.value FROM run_metrics m WHERE m.run_id = runs.id AND m.key = ? ORDER BY m.id DESC LIMIT 1) ' +
        `${query.orderBy.descending === false ? 'ASC' : 'DESC'} NULLS LAST, ${order}`;
      params.push(query.orderBy.metric);
    }
    let sql = `SELECT ${RUN_COLUMNS} FROM runs${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order}`;
    if (query.limit !== undefined) {
      sql += ' LIMIT ?';
      params.push(query.limit);
    }
    return (await this.db.query<RunRow>(sql, params)).map(toRun);
  }

  // --- backups ------------------------------------------------------------------------------------------------

  async snapshot(): Promise<MetadataSnapshot> {
    return this.db.transaction(
      async (tx) => ({
        schemaVersion: SCHEMA_VERSION,
        takenAt: now(),
        models: (await tx.query<ModelRow>(`SELECT ${MODEL_COLUMNS} FROM models ORDER BY name`)).map(toModel),
        versions: (await tx.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM versions ORDER BY model, version`)).map(toVersion),
        aliases: (await tx.query<AliasRow>(`SELECT ${ALIAS_COLUMNS} FROM aliases ORDER BY model, alias`)).map(toAlias),
        aliasEvents: (await tx.query<AliasEventRow>(`SELECT ${ALIAS_EVENT_COLUMNS} FROM alias_events ORDER BY id`)).map(toAliasEvent),
        runs: (await tx.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs ORDER BY started_at, id`)).map(toRun),
        // In logging order, which restore keeps: it decides which point of a key counts as the latest.
        metrics: (await tx.query<MetricRow & { run_id: string }>('SELECT run_id, key, step, value, at FROM run_metrics ORDER BY id')).map((r) => ({
          runId: r.run_id,
          ...toMetricPoint(r),
        })),
      }),
      { readOnly: true },
    );
  }

  async restore(s: MetadataSnapshot): Promise<void> {
    const snap = parseInput(SnapshotSchema, s, 'metadata snapshot');
    // A snapshot holds the registry and run tables, which no migration since version 1 has changed, so one taken
    // at an older schema restores as it is. A migration that changes a snapshotted table must convert older
    // snapshots here. A newer snapshot may hold what this version cannot represent.
    if (snap.schemaVersion > SCHEMA_VERSION) {
      throw errors.invalidArgument(
        `The snapshot has schema version ${snap.schemaVersion}, newer than this AI Mass knows (${SCHEMA_VERSION}); restore it with the AI Mass that took it or a newer one`,
        { snapshotVersion: snap.schemaVersion, storeVersion: SCHEMA_VERSION },
      );
    }
    await this.db.transaction(async (tx) => {
      const [counts] = await tx.query<{ models: number; runs: number }>(
        'SELECT (SELECT COUNT(*) FROM models) AS models, (SELECT COUNT(*) FROM runs) AS runs',
      );
      if (Number(counts.models) > 0 || Number(counts.runs) > 0) {
        throw new AimassError(
          'CONFLICT',
          `Cannot restore into ${this.uri}: it already holds ${counts.models} model(s) and ${counts.runs} run(s); restore into a new, empty store`,
          { models: Number(counts.models), runs: Number(counts.runs) },
        );
      }
      const rows = <T>(items: T[], values: (item: T) => SqlValue[]) => items.map(values);
      await insertRows(tx, 'models', MODEL_COLUMN_LIST, rows(snap.models, (m) => [m.name, m.description, json(m.tags), m.createdAt, m.updatedAt, m.latestVersion]));
      await insertRows(tx, 'versions', VERSION_COLUMN_LIST, rows(snap.versions, (v) => versionValues(v as VersionRecord)));
      await insertRows(tx, 'aliases', ALIAS_COLUMN_LIST, rows(snap.aliases, (a) => [a.model, a.alias, a.version, a.updatedAt, a.updatedBy]));
      await insertRows(
        tx,
        'alias_events',
        ALIAS_EVENT_COLUMN_LIST,
        rows(snap.aliasEvents, (e) => [e.id, e.model, e.alias, e.from, e.to, e.actor, e.reason, e.at]),
      );
      const continueIds = afterExplicitIds(tx.dialect, 'alias_events');
      if (continueIds) await tx.query(continueIds);
      await insertRows(tx, 'runs', RUN_COLUMN_LIST, rows(snap.runs, (r) => runValues(r)));
      await insertRows(tx, 'run_metrics', ['run_id', 'key', 'step', 'value', 'at'], rows(snap.metrics, (p) => [p.runId, p.key, p.step, p.value, p.at]));
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private async requireModel(name: string): Promise<void> {
    if ((await this.getModel(name)) === null) throw modelNotFound(name);
  }
}

// --- rows and records ---------------------------------------------------------------------------------------------

const MODEL_COLUMN_LIST = ['name', 'description', 'tags', 'created_at', 'updated_at', 'latest_version'];
const VERSION_COLUMN_LIST = [
  'model',
  'version',
  'artifact_uri',
  'files',
  'size',
  'signature',
  'source',
  'framework',
  'params',
  'metrics',
  'dataset_hash',
  'run_id',
  'parent_version',
  'created_by',
  'created_at',
  'description',
  'tags',
];
const ALIAS_COLUMN_LIST = ['model', 'alias', 'version', 'updated_at', 'updated_by'];
const ALIAS_EVENT_COLUMN_LIST = ['id', 'model', 'alias', 'from_version', 'to_version', 'actor', 'reason', 'at'];
const RUN_COLUMN_LIST = ['id', 'name', 'status', 'params', 'metrics', 'artifacts', 'tags', 'started_at', 'ended_at', 'error'];

const MODEL_COLUMNS = MODEL_COLUMN_LIST.join(', ');
const VERSION_COLUMNS = VERSION_COLUMN_LIST.join(', ');
const ALIAS_COLUMNS = ALIAS_COLUMN_LIST.join(', ');
const ALIAS_EVENT_COLUMNS = ALIAS_EVENT_COLUMN_LIST.join(', ');
const RUN_COLUMNS = RUN_COLUMN_LIST.join(', ');

interface ModelRow {
  name: string;
  description: string;
  tags: string;
  created_at: string;
  updated_at: string;
  latest_version: number;
}

interface VersionRow {
  model: string;
  version: number;
  artifact_uri: string;
  files: string;
  size: number;
  signature: string;
  source: VersionRecord['source'];
  framework: string;
  params: string;
  metrics: string;
  dataset_hash: string | null;
  run_id: string | null;
  parent_version: number | null;
  created_by: string;
  created_at: string;
  description: string;
  tags: string;
}

interface AliasRow {
  model: string;
  alias: string;
  version: number;
  updated_at: string;
  updated_by: string;
}

interface AliasEventRow {
  id: number;
  model: string;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  reason: string;
  at: string;
}

interface RunRow {
  id: string;
  name: string;
  status: RunStatus;
  params: string;
  metrics: string;
  artifacts: string;
  tags: string;
  started_at: string;
  ended_at: string | null;
  error: string | null;
}

interface MetricRow {
  key: string;
  step: number;
  value: number;
  at: string;
}

function toModel(r: ModelRow): ModelRecord {
  return {
    name: r.name,
    description: r.description,
    tags: JSON.parse(r.tags),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    latestVersion: Number(r.latest_version),
  };
}

function toVersion(r: VersionRow): VersionRecord {
  return {
    model: r.model,
    version: Number(r.version),
    artifactUri: r.artifact_uri,
    files: JSON.parse(r.files),
    size: Number(r.size),
    signature: JSON.parse(r.signature),
    source: r.source,
    framework: r.framework,
    params: JSON.parse(r.params),
    metrics: JSON.parse(r.metrics),
    datasetHash: r.dataset_hash,
    runId: r.run_id,
    parentVersion: r.parent_version === null ? null : Number(r.parent_version),
    createdBy: r.created_by,
    createdAt: r.created_at,
    description: r.description,
    tags: JSON.parse(r.tags),
  };
}

function versionValues(v: VersionRecord): SqlValue[] {
  return [
    v.model,
    v.version,
    v.artifactUri,
    json(v.files),
    v.size,
    json(v.signature),
    v.source,
    v.framework,
    json(v.params),
    json(v.metrics),
    v.datasetHash,
    v.runId,
    v.parentVersion,
    v.createdBy,
    v.createdAt,
    v.description,
    json(v.tags),
  ];
}

function toAlias(r: AliasRow): AliasRecord {
  return { model: r.model, alias: r.alias, version: Number(r.version), updatedAt: r.updated_at, updatedBy: r.updated_by };
}

function toAliasEvent(r: AliasEventRow): AliasEvent {
  return {
    id: Number(r.id),
    model: r.model,
    alias: r.alias,
    from: r.from_version === null ? null : Number(r.from_version),
    to: r.to_version === null ? null : Number(r.to_version),
    actor: r.actor,
    reason: r.reason,
    at: r.at,
  };
}

function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    params: JSON.parse(r.params),
    metrics: JSON.parse(r.metrics),
    artifacts: JSON.parse(r.artifacts),
    tags: JSON.parse(r.tags),
    startedAt: r.started_at,
    endedAt: r.ended_at,
    error: r.error,
  };
}

function runValues(r: RunRecord): SqlValue[] {
  return [r.id, r.name, r.status, json(r.params), json(r.metrics), json(r.artifacts), json(r.tags), r.startedAt, r.endedAt, r.error];
}

function toMetricPoint(r: MetricRow): MetricPoint {
  return { key: r.key, step: Number(r.step), value: Number(r.value), at: r.at };
}

// --- helpers --------------------------------------------------------------------------------------------------

function now(): string {
  return new Date().toISOString();
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

/** Bumps the model's updated_at: checks that it exists and, on PostgreSQL, locks its row until commit. */
async function touchModel(tx: SqlDriver, name: string, at = now()): Promise<void> {
  const { changes } = await tx.run('UPDATE models SET updated_at = ? WHERE name = ?', [at, name]);
  if (changes === 0) throw modelNotFound(name);
}

async function versionExists(tx: SqlDriver, model: string, version: number): Promise<boolean> {
  return (await tx.query('SELECT 1 AS found FROM versions WHERE model = ? AND version = ?', [model, version])).length > 0;
}

/** Inserts rows in multi-row statements, few enough placeholders per statement for either database. */
async function insertRows(tx: SqlDriver, table: string, columns: readonly string[], rows: SqlValue[][]): Promise<void> {
  const perStatement = Math.max(1, Math.floor(4000 / columns.length));
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    await tx.run(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`, chunk.flat());
  }
}

function modelNotFound(model: string): AimassError {
  return errors.notFound('model', model, 'create it first, or check the name with listModels');
}

function versionNotFound(model: string, version: number, hint = 'list the versions that exist with listVersions'): AimassError {
  return new AimassError('NOT_FOUND', `Model "${model}" has no version ${version}; ${hint}`, { what: 'version', model, version });
}

function aliasNotFound(model: string, alias: string): AimassError {
  return new AimassError('NOT_FOUND', `Model "${model}" has no alias "${alias}"; list its aliases with listAliases`, { what: 'alias', model, alias });
}

function runNotFound(runId: string): AimassError {
  return errors.notFound('run', runId, 'check the run id');
}
