// The metadata store: the registry's and the run tracker's records (models, versions, aliases with their full
// history, runs with per-epoch metrics), on SQLite (embedded default) or PostgreSQL (cluster), one schema with
// migrations. Every method is atomic. Errors: NOT_FOUND / ALREADY_EXISTS / CONFLICT name the thing; a locked or
// unreachable database gives UNAVAILABLE (retryable), never a crash.

export interface ArtifactFile {
  /** Path inside the version's artifact folder, e.g. "model.onnx". */
  path: string;
  size: number;
  sha256: string;
}

export interface TensorSignature {
  name: string;
  dtype: string;
  /** Dimensions; symbolic ones as names ("N"). */
  shape: (number | string)[];
}

export interface ModelSignature {
  inputs: TensorSignature[];
  outputs: TensorSignature[];
}

export interface ModelRecord {
  name: string;
  description: string;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  /** Highest version number handed out so far (0 before the first). */
  latestVersion: number;
}

export type VersionSource = 'trained' | 'imported';

export interface NewVersion {
  model: string;
  /** Where the files live: artifact store URI + the version's folder key. */
  artifactUri: string;
  files: ArtifactFile[];
  signature: ModelSignature;
  source: VersionSource;
  /** Framework or producer, e.g. "aimass 0.1.0", "pytorch 2.1 (onnx export)". */
  framework: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  datasetHash?: string;
  runId?: string;
  parentVersion?: number;
  createdBy: string;
  description?: string;
  tags?: Record<string, string>;
}

export interface VersionRecord extends Required<Omit<NewVersion, 'datasetHash' | 'runId' | 'parentVersion'>> {
  version: number;
  /** Sum of the file sizes. */
  size: number;
  createdAt: string;
  datasetHash: string | null;
  runId: string | null;
  parentVersion: number | null;
}

export interface AliasRecord {
  model: string;
  alias: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
}

/** One move of an alias: from null = created, to null = deleted. */
export interface AliasEvent {
  id: number;
  model: string;
  alias: string;
  from: number | null;
  to: number | null;
  actor: string;
  reason: string;
  at: string;
}

export interface AliasMove {
  model: string;
  alias: string;
  /** New version, or null to delete the alias. */
  to: number | null;
  /**
   * Compare-and-set: the version the writer believes the alias holds now (null = believes it absent). When
   * given and stale, the move fails with CONFLICT naming the version it actually holds. Omit to move blindly.
   */
  expected?: number | null;
  actor: string;
  reason: string;
}

export type RunStatus = 'running' | 'finished' | 'failed' | 'killed';

export interface RunRecord {
  id: string;
  name: string;
  status: RunStatus;
  params: Record<string, unknown>;
  /** Latest value of each metric (e.g. test_accuracy). */
  metrics: Record<string, number>;
  /** Artifact URIs the run produced, by name ("model" -> file:///…/model.onnx). */
  artifacts: Record<string, string>;
  tags: Record<string, string>;
  startedAt: string;
  endedAt: string | null;
  error: string | null;
}

export interface MetricPoint {
  key: string;
  step: number;
  value: number;
  at: string;
}

export interface RunQuery {
  status?: RunStatus;
  /** Runs whose name contains this text. */
  nameContains?: string;
  /** Order by a metric (descending by default) or by start time (default, newest first). */
  orderBy?: { metric: string; descending?: boolean };
  limit?: number;
}

/** Everything in the store, for backups: restoring it into an empty store reproduces the store. */
export interface MetadataSnapshot {
  schemaVersion: number;
  takenAt: string;
  models: ModelRecord[];
  versions: VersionRecord[];
  aliases: AliasRecord[];
  aliasEvents: AliasEvent[];
  runs: RunRecord[];
  metrics: (MetricPoint & { runId: string })[];
}

export interface MetadataStore {
  readonly uri: string;

  createModel(m: { name: string; description?: string; tags?: Record<string, string> }): Promise<ModelRecord>;
  getModel(name: string): Promise<ModelRecord | null>;
  listModels(): Promise<ModelRecord[]>;
  /** Deletes the model, its versions, aliases and alias history. */
  deleteModel(name: string): Promise<void>;

  /** Creates the next version of an existing model; concurrent calls never get the same number. */
  createVersion(v: NewVersion): Promise<VersionRecord>;
  getVersion(model: string, version: number): Promise<VersionRecord | null>;
  listVersions(model: string): Promise<VersionRecord[]>;
  /** Deletes a version that no alias points at (CONFLICT naming the aliases otherwise). */
  deleteVersion(model: string, version: number): Promise<void>;

  /** Moves (or creates, or with to=null deletes) an alias and records the move; returns the event. */
  moveAlias(m: AliasMove): Promise<AliasEvent>;
  getAlias(model: string, alias: string): Promise<AliasRecord | null>;
  listAliases(model: string): Promise<AliasRecord[]>;
  /** Moves of one alias (or of all of a model's aliases), oldest first. */
  aliasHistory(model: string, alias?: string): Promise<AliasEvent[]>;

  createRun(r: { id: string; name: string; params: Record<string, unknown>; tags?: Record<string, string> }): Promise<RunRecord>;
  getRun(id: string): Promise<RunRecord | null>;
  /** Appends metric points and updates each key's latest value. */
  logMetrics(runId: string, points: { key: string; step: number; value: number }[]): Promise<void>;
  metricHistory(runId: string, key?: string): Promise<MetricPoint[]>;
  setRunArtifact(runId: string, name: string, uri: string): Promise<void>;
  /** Ends a run (finished/failed/killed) with an optional error message. */
  endRun(runId: string, status: Exclude<RunStatus, 'running'>, error?: string): Promise<RunRecord>;
  /** Marks a killed, failed or interrupted run as running again (its training resumed); CONFLICT if finished. */
  resumeRun(runId: string): Promise<RunRecord>;
  searchRuns(q?: RunQuery): Promise<RunRecord[]>;

  /** A consistent snapshot of everything (one read transaction). */
  snapshot(): Promise<MetadataSnapshot>;
  /** Loads a snapshot into an empty store (CONFLICT when the store is not empty). */
  restore(s: MetadataSnapshot): Promise<void>;

  close(): Promise<void>;
}
