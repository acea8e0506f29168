/**
 * Public entry of `storage/metadata`: the MetadataStore interface (models, versions, aliases with their history,
 * runs with metric history, snapshots), its one SQL implementation, the SQLite and PostgreSQL drivers under it,
 * and `openMetadataStore(uri)`, which picks the backend by URI scheme.
 *
 * Imports only core/.
 */
export type {
  AliasEvent,
  AliasMove,
  AliasRecord,
  ArtifactFile,
  MetadataSnapshot,
  MetadataStore,
  MetricPoint,
  ModelRecord,
  ModelSignature,
  NewVersion,
  RunQuery,
  RunRecord,
  RunStatus,
  TensorSignature,
  VersionRecord,
  VersionSource,
} from './metadata-store.js';
export { metadataStores, openMetadataStore } from './registry.js';
export { SqlMetadataStore } from './sql-metadata-store.js';
export { migrate, SCHEMA_VERSION } from './schema.js';
export type { SqlDialect, SqlDriver, SqlValue, TransactionOptions } from './sql-driver.js';
export { openSqliteDriver, sqlitePathFromUri, type SqliteDriverOptions } from './sqlite-driver.js';
export { openPostgresDriver, redactPostgresUri, type PostgresDriverOptions } from './postgres-driver.js';
export { ALIAS_PATTERN, NAME_PATTERN } from './validation.js';
