/**
 * `file:///abs/root`: artifacts as plain files under a local (or shared, e.g. NFS) folder; the embedded default.
 *
 * Layout under the root:
 *   <key>                 the object's bytes, at the key's path (`models/m1/model.onnx`)
 *   .tmp/<uuid>.tmp       writes in flight: a put streams here, fsyncs, then renames into place, so a put that
 *                         fails or is killed leaves at most a temporary file, never a partial object. Temporary
 *                         files older than a day (left by killed processes) are removed by the next put, and
 *                         `sweepTemporary` (garbage collection) removes them sooner.
 *   .sha256/<key>         the sha256 recorded by put (see sidecar.ts), so `head` and `list` report it without
 *                         re-reading the object; a record that no longer matches the file is ignored.
 * Both dot-folders are reserved by the key rules and never listed.
 *
 * Because keys are paths, `a` and `a/b` cannot both exist here (CONFLICT), unlike in S3 or NATS.
 *
 * Imports only core/ and this folder.
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { AimassError } from '../../core/index.js';
import type { ArtifactStore, ObjectInfo, TemporaryAreaStore } from './artifact-store.js';
import { artifactNotFound, fileError, hashingStream, toReadable, writeStreamToTempFile } from './helpers.js';
import { isValidKey, prefixFolder, validateKey, validatePrefix } from './keys.js';
import { encodeSha256Record, SHA256_FOLDER, sha256FromRecord, TEMP_FOLDER } from './sidecar.js';

/** Temporary files older than this are from writers that died; the next put removes them. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

export class FileArtifactStore implements ArtifactStore, TemporaryAreaStore {
  readonly uri: string;
  /** Absolute path of the root folder. */
  readonly root: string;
  private sweptTemps = false;

  constructor(uri: string) {
    this.uri = uri.trim();
    this.root = rootFromUri(this.uri);
  }

  async put(key: string, source: Readable | Uint8Array): Promise<ObjectInfo> {
    validateKey(key);
    const input = toReadable(source);
    const tempDir = path.join(this.root, TEMP_FOLDER);
    try {
      await mkdir(tempDir, { recursive: true });
    } catch (e) {
      input.destroy();
      throw fileError(e, tempDir, 'create the folder');
    }
    this.sweepStaleTemps();

    const hasher = hashingStream();
    const temp = await writeStreamToTempFile(input, tempDir, { hasher });
    try {
      const { size, sha256 } = hasher.result();
      const written = await stat(temp).catch((e: unknown) => {
        throw fileError(e, temp, 'read');
      });
      // The record first: once the object is visible, its sha256 is too.
      await this.writeRecord(key, encodeSha256Record(sha256, size, written.mtimeMs), tempDir);
      const target = this.objectPath(key);
      await moveIntoPlace(temp, target, key, this.uri);
      await syncFolder(path.dirname(target));
      return { key, size, sha256, modifiedAt: written.mtime };
    } finally {
      await rm(temp, { force: true });
    }
  }

  async get(key: string): Promise<Readable> {
    validateKey(key);
    const file = this.objectPath(key);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (e) {
      if (isMissing(e)) throw artifactNotFound(this.uri, key);
      throw fileError(e, file, 'read');
    }
    // Opening a folder succeeds on Linux; a folder is not an object.
    const info = await handle.stat().catch(async (e: unknown) => {
      await handle.close();
      throw fileError(e, file, 'read');
    });
    if (!info.isFile()) {
      await handle.close();
      throw artifactNotFound(this.uri, key);
    }
    return handle.createReadStream();
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    return this.describe(key);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const folder = prefixFolder(prefix);
    yield* this.walk(path.join(this.root, ...folder.split('/').filter(Boolean)), folder, prefix);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    const file = this.objectPath(key);
    const record = this.recordPath(key);
    const info = await lstat(file).catch((e: unknown) => {
      if (isMissing(e)) return undefined;
      throw fileError(e, file, 'delete');
    });
    // A key that is a folder of other keys is not an object: nothing to delete.
    if (info?.isDirectory()) return;
    if (info) {
      await unlink(file).catch((e: unknown) => {
        if (!isMissing(e)) throw fileError(e, file, 'delete');
      });
    }
    // Also when the object is absent: a put that died between its two renames can leave a record behind.
    await unlink(record).catch((e: unknown) => {
      if (!isMissing(e)) throw fileError(e, record, 'delete');
    });
    // Keep the tree free of empty folders so that browsing the root shows only what exists.
    await pruneEmptyFolders(path.dirname(file), this.root);
    await pruneEmptyFolders(path.dirname(record), path.join(this.root, SHA256_FOLDER));
  }

  async close(): Promise<void> {
    // Nothing to release: every operation opens and closes its own files.
  }

  private objectPath(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  private recordPath(key: string): string {
    return path.join(this.root, SHA256_FOLDER, ...key.split('/'));
  }

  private async describe(key: string): Promise<ObjectInfo | null> {
    const file = this.objectPath(key);
    let info;
    try {
      info = await stat(file);
    } catch (e) {
      if (isMissing(e)) return null;
      throw fileError(e, file, 'read');
    }
    if (!info.isFile()) return null;
    const result: ObjectInfo = { key, size: info.size, modifiedAt: info.mtime };
    const record = await readFile(this.recordPath(key), 'utf8').catch(() => undefined);
    const sha256 = record === undefined ? undefined : sha256FromRecord(record, { size: info.size, modifiedMs: info.mtimeMs });
    if (sha256 !== undefined) result.sha256 = sha256;
    return result;
  }

  private async writeRecord(key: string, text: string, tempDir: string): Promise<void> {
    const temp = path.join(tempDir, `${randomUUID()}.sha256.tmp`);
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(text);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await moveIntoPlace(temp, this.recordPath(key), key, this.uri);
    } catch (e) {
      await rm(temp, { force: true });
      throw e instanceof AimassError ? e : fileError(e, temp, 'write');
    }
  }

  private async *walk(dir: string, keyPrefix: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isMissing(e)) return;
      throw fileError(e, dir, 'list');
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      // The root's dot-folders are the store's own (.tmp, .sha256); no key can start with a dot.
      if (keyPrefix === '' && entry.name.startsWith('.')) continue;
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) {
        const folder = `${key}/`;
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) yield* this.walk(path.join(dir, entry.name), folder, prefix);
      } else if (entry.isFile() && key.startsWith(prefix) && isValidKey(key)) {
        const info = await this.describe(key);
        if (info) yield info; // unless deleted since readdir
      }
    }
  }

  async sweepTemporary(o: { olderThanMs: number; dryRun?: boolean }): Promise<ObjectInfo[]> {
    const tempDir = path.join(this.root, TEMP_FOLDER);
    const cutoff = Date.now() - o.olderThanMs;
    const names = await readdir(tempDir).catch((e: unknown) => {
      if (isMissing(e)) return [];
      throw fileError(e, tempDir, 'list');
    });
    const swept: ObjectInfo[] = [];
    for (const name of names.sort()) {
      const file = path.join(tempDir, name);
      const info = await stat(file).catch(() => undefined);
      if (!info || info.mtimeMs > cutoff) continue;
      if (!o.dryRun) await rm(file, { force: true, recursive: true });
      swept.push({ key: `${TEMP_FOLDER}/${name}`, size: info.size, modifiedAt: info.mtime });
    }
    return swept;
  }

  /** Removes temporary files left by writers that died, once per store, without delaying the put. */
  private sweepStaleTemps(): void {
    if (this.sweptTemps) return;
    this.sweptTemps = true;
    this.sweepTemporary({ olderThanMs: STALE_TEMP_MS }).catch(() => undefined);
  }
}

function rootFromUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AimassError('INVALID_ARGUMENT', `"${uri}" is not a valid file:// URI; use file:///absolute/path/to/artifacts`, { uri });
  }
  if (url.protocol !== 'file:') {
    throw new AimassError('INVALID_ARGUMENT', `"${uri}" is not a file:// URI`, { uri });
  }
  if (url.host !== '' && url.host !== 'localhost') {
    throw new AimassError(
      'INVALID_ARGUMENT',
      `File store URI "${uri}" names host "${url.host}"; a file:// URI needs an absolute path after the third slash, e.g. file:///var/aimass/artifacts`,
      { uri },
    );
  }
  const root = path.resolve(fileURLToPath(url));
  if (path.dirname(root) === root) {
    throw new AimassError('INVALID_ARGUMENT', `File store URI "${uri}" points at the file-system root; give a folder, e.g. file:///var/aimass/artifacts`, {
      uri,
    });
  }
  return root;
}

/**
 * Renames a finished temporary file onto `target`, creating its folders. A concurrent delete may prune a folder
 * between the mkdir and the rename, hence the retries.
 */
async function moveIntoPlace(temp: string, target: string, key: string, uri: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(path.dirname(target), { recursive: true });
      await rename(temp, target);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && attempt < 5) continue;
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EPERM') {
        const conflict = await pathConflict(target);
        if (conflict) {
          throw new AimassError(
            'CONFLICT',
            `Cannot write artifact "${key}" in ${uri}: ${conflict}. A file:// store keeps keys as paths, so "a" and "a/b" cannot both exist`,
            { key, uri },
          );
        }
      }
      throw fileError(e, target, 'write');
    }
  }
}

/** Why `target` cannot become a file, if the reason is the tree's shape (a folder there, or a file above it). */
async function pathConflict(target: string): Promise<string | undefined> {
  const here = await stat(target).catch(() => undefined);
  if (here?.isDirectory()) return 'other keys are stored below it';
  for (let dir = path.dirname(target); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const above = await stat(dir).catch(() => undefined);
    if (above && !above.isDirectory()) return `"${path.basename(dir)}" above it is itself an artifact`;
    if (above) return undefined;
  }
  return undefined;
}

async function pruneEmptyFolders(from: string, stopAt: string): Promise<void> {
  for (let dir = from; dir.startsWith(stopAt + path.sep); dir = path.dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty (or already gone, or in use by a concurrent put): stop climbing
    }
  }
}

/** fsync a folder so that a rename into it survives a crash; not every platform can, which is fine. */
async function syncFolder(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open folders; some file systems refuse fsync on them.
  }
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
