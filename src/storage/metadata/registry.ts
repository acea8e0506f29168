// Metadata stores by URI scheme: `sqlite:` (embedded default, a file under AIMASS_HOME) and `postgresql://` /
// `postgres://` (cluster). A new backend is one file and one `register` line here.
import { SchemeRegistry } from '../../core/index.js';
import type { MetadataStore } from './metadata-store.js';
import { openPostgresDriver, redactPostgresUri } from './postgres-driver.js';
import { SqlMetadataStore } from './sql-metadata-store.js';
import { openSqliteDriver } from './sqlite-driver.js';

/** Each factory opens (and migrates) the store its URI names. */
export const metadataStores = new SchemeRegistry<Promise<MetadataStore>>('metadata store');

metadataStores.register('sqlite', async (uri) => SqlMetadataStore.open(await openSqliteDriver(uri), uri));
for (const scheme of ['postgresql', 'postgres']) {
  metadataStores.register(scheme, async (uri) => SqlMetadataStore.open(await openPostgresDriver(uri), redactPostgresUri(uri)));
}

/**
 * Opens the metadata store a URI names, e.g. `sqlite:/var/aimass/meta.db`, `sqlite::memory:` or
 * `postgresql://aimass@db:5432/aimass?schema=prod`. An unknown scheme fails with UNKNOWN_SCHEME listing the known
 * ones; an unreachable or locked database with UNAVAILABLE.
 */
export async function openMetadataStore(uri: string): Promise<MetadataStore> {
  return metadataStores.resolve(uri);
}
