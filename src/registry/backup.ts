// Backups of the whole registry: a consistent metadata snapshot plus every artifact, into any artifact store
// (file://, s3://, hdfs://, nats://). Artifacts are stored once by content (blobs/<sha256>), so a backup copies
// only what the target does not hold yet. Restore verifies every checksum before anything is written, then
// puts the files back at their keys and loads the snapshot into an empty metadata store.
import { AimassError, newId } from '../core/index.js';
import { type ArtifactStore, type MetadataSnapshot, readAllVerified, readVerified } from '../storage/index.js';
import { type Registry, prefixOf } from './registry.js';

export interface BackupManifest {
  format: 'aimass-backup/1';
  id: string;
  createdAt: string;
  createdBy: string;
  models: number;
  versions: number;
  runs: number;
  /** Every artifact of every version: where it goes back to and the blob holding it. */
  files: { key: string; sha256: string; size: number }[];
  bytes: number;
  snapshot: MetadataSnapshot;
}

export interface BackupSummary {
  id: string;
  createdAt: string;
  models: number;
  versions: number;
  runs: number;
  bytes: number;
  /** Blobs this backup had to copy (the rest were already in the target). */
  copied?: number;
}

const manifestKey = (id: string) => `backups/${id}/manifest.json`;
const blobKey = (sha256: string) => `blobs/${sha256}`;

export async function createBackup(registry: Registry, target: ArtifactStore): Promise<BackupSummary> {
  const snapshot = await registry.meta.snapshot();
  const files: BackupManifest['files'] = [];
  for (const v of snapshot.versions) for (const f of v.files) files.push({ key: `${prefixOf(v)}/${f.path}`, sha256: f.sha256, size: f.size });
  let copied = 0;
  for (const f of files) {
    const blob = blobKey(f.sha256);
    if (await target.head(blob)) continue;
    // read verified: a corrupted artifact must not become a backup
    const info = await target.put(blob, await readVerified(registry.artifacts, f.key, f.sha256));
    if (info.sha256 !== f.sha256) throw new AimassError('DATA_CORRUPT', `backup copy of ${f.key} arrived with sha256 ${info.sha256}, expected ${f.sha256}`);
    copied++;
  }
  const id = newId('backup');
  const manifest: BackupManifest = {
    format: 'aimass-backup/1',
    id,
    createdAt: new Date().toISOString(),
    createdBy: registry.actor,
    models: snapshot.models.length,
    versions: snapshot.versions.length,
    runs: snapshot.runs.length,
    files,
    bytes: files.reduce((a, f) => a + f.size, 0),
    snapshot,
  };
  // the manifest last: a backup is listed only once everything it names is in place
  await target.put(manifestKey(id), Buffer.from(JSON.stringify(manifest)));
  return { ...summary(manifest), copied };
}

function summary(m: BackupManifest): BackupSummary {
  return { id: m.id, createdAt: m.createdAt, models: m.models, versions: m.versions, runs: m.runs, bytes: m.bytes };
}

async function readManifest(target: ArtifactStore, id: string): Promise<BackupManifest> {
  const info = await target.head(manifestKey(id));
  if (!info) throw new AimassError('NOT_FOUND', `no backup "${id}" in ${target.uri}; \`aimass backup list\` shows the backups there`, { id });
  const chunks: Buffer[] = [];
  for await (const c of await target.get(manifestKey(id))) chunks.push(c as Buffer);
  const m = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BackupManifest;
  if (m.format !== 'aimass-backup/1') throw new AimassError('DATA_FORMAT', `backup "${id}" has an unknown format ${m.format}`);
  return m;
}

/** Backups in a target, newest first. */
export async function listBackups(target: ArtifactStore): Promise<BackupSummary[]> {
  const ids: string[] = [];
  for await (const o of target.list('backups/')) {
    const m = /^backups\/([^/]+)\/manifest\.json$/.exec(o.key);
    if (m) ids.push(m[1]);
  }
  const out: BackupSummary[] = [];
  for (const id of ids) out.push(summary(await readManifest(target, id)));
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : b.id.localeCompare(a.id)));
}

export interface RestoreReport {
  id: string;
  models: number;
  versions: number;
  runs: number;
  files: number;
  bytes: number;
}

/**
 * Restores a backup into the registry's stores, which must hold no models or runs. Every blob is verified
 * against its sha256 first; nothing is written if one fails.
 */
export async function restoreBackup(registry: Registry, target: ArtifactStore, id: string): Promise<RestoreReport> {
  const m = await readManifest(target, id);
  if ((await registry.meta.listModels()).length || (await registry.meta.searchRuns({ limit: 1 })).length) {
    throw new AimassError('CONFLICT', `the registry at ${registry.meta.uri} is not empty; restore backup "${id}" into a fresh AIMASS_HOME or empty stores`);
  }
  const unique = new Map(m.files.map((f) => [f.sha256, f]));
  for (const f of unique.values()) await readAllVerified(target, blobKey(f.sha256), f.sha256);
  for (const f of m.files) await copyObjectAs(target, blobKey(f.sha256), registry.artifacts, f.key, f.sha256);
  await registry.meta.restore(m.snapshot);
  return { id, models: m.models, versions: m.versions, runs: m.runs, files: m.files.length, bytes: m.bytes };
}

async function copyObjectAs(from: ArtifactStore, fromKey: string, to: ArtifactStore, toKey: string, sha256: string): Promise<void> {
  const info = await to.put(toKey, await readVerified(from, fromKey, sha256));
  if (info.sha256 !== sha256) throw new AimassError('DATA_CORRUPT', `restored ${toKey} has sha256 ${info.sha256}, expected ${sha256}`);
}

/** Deletes the oldest backups beyond `keep`, and blobs no remaining backup names. Returns the deleted ids. */
export async function pruneBackups(target: ArtifactStore, keep: number): Promise<string[]> {
  const all = await listBackups(target);
  const drop = all.slice(keep);
  if (!drop.length) return [];
  const kept = new Set<string>();
  for (const b of all.slice(0, keep)) for (const f of (await readManifest(target, b.id)).files) kept.add(f.sha256);
  for (const b of drop) {
    const m = await readManifest(target, b.id);
    await target.delete(manifestKey(b.id));
    for (const f of m.files) if (!kept.has(f.sha256)) await target.delete(blobKey(f.sha256));
  }
  return drop.map((b) => b.id);
}

/** Backs up every `everyMs`, keeping the newest `keep`; errors go to `onError` and the schedule goes on. */
export class BackupScheduler {
  private timer?: NodeJS.Timeout;
  private running: Promise<void> | null = null;

  constructor(
    private readonly registry: Registry,
    private readonly target: ArtifactStore,
    private readonly everyMs: number,
    private readonly keep: number,
    private readonly onDone: (s: BackupSummary, pruned: string[]) => void = () => {},
    private readonly onError: (e: unknown) => void = () => {},
  ) {
    if (!(everyMs >= 1000)) throw new AimassError('INVALID_ARGUMENT', `backup interval must be at least 1 s, got ${everyMs} ms`);
    if (!(Number.isInteger(keep) && keep >= 1)) throw new AimassError('INVALID_ARGUMENT', `backup retention must be a positive count, got ${keep}`);
  }

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.everyMs);
    this.timer.unref();
  }

  /** One backup now (skipped when one is already running). */
  runOnce(): Promise<void> {
    this.running ??= (async () => {
      try {
        const s = await createBackup(this.registry, this.target);
        this.onDone(s, await pruneBackups(this.target, this.keep));
      } catch (e) {
        this.onError(e);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

/** Parses "6h", "30m", "45s", "1d" into milliseconds. */
export function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new AimassError('INVALID_ARGUMENT', `"${text}" is not an interval; write e.g. 30m, 6h or 1d`);
  return Number(m[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

