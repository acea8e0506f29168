/**
 * Study storages by URI scheme: the metadata store's URI (`sqlite:…` on the embedded default, `postgresql://…` in
 * a cluster) opens a `SqlStudyStorage` on its own connection, which `close()` releases. A new backend is one
 * `register` line.
 *
 * Imports core, storage and ./sql-storage.
 */
import { SchemeRegistry } from '../core/index.js';
import { openPostgresDriver, openSqliteDriver, type SqlDriver } from '../storage/index.js';
import { SqlStudyStorage } from './sql-storage.js';
import type { StudyStorage } from './storage.js';

export interface OpenedStudyStorage {
  storage: StudyStorage;
  close(): Promise<void>;
}

export const studyStorages = new SchemeRegistry<Promise<OpenedStudyStorage>>('study storage');

async function overDriver(open: () => Promise<SqlDriver>): Promise<OpenedStudyStorage> {
  const driver = await open();
  try {
    return { storage: await SqlStudyStorage.open(driver), close: () => driver.close() };
  } catch (e) {
    await driver.close().catch(() => undefined);
    throw e;
  }
}

studyStorages.register('sqlite', (uri) => overDriver(() => openSqliteDriver(uri)));
for (const scheme of ['postgresql', 'postgres']) studyStorages.register(scheme, (uri) => overDriver(() => openPostgresDriver(uri)));

/** The study storage in the metadata store `uri` names; UNKNOWN_SCHEME lists the schemes that work. */
export function openStudyStorage(uri: string): Promise<OpenedStudyStorage> {
  return studyStorages.resolve(uri);
}
