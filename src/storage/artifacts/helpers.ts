/**
 * What every caller of an artifact store needs, written once above the `ArtifactStore` interface: verified reads
 * (a corrupted artifact is never served as good), files in and out, copies between stores, and the streaming
 * hash that implementations use to report size and sha256 without holding the bytes.
 *
 * Everything here streams, so a 2 GB model moves through the same bounded buffers as a 2 kB one.
 *
 * Imports only core/ and the interface.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline as pipeStreams, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AimassError, errors } from '../../core/index.js';
import type { ArtifactStore, ObjectInfo } from './artifact-store.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;

export interface HashResult {
  size: number;
  /** Lower-case hex sha256. */
  sha256: string;
}

export interface HashingStreamOptions {
  /**
   * When set, the stream fails at its end (instead of finishing) if the bytes that went through hash to anything
   * else; `onMismatch` builds the error. Until the end the bytes flow on unchecked, so a reader must treat the
   * stream's error as "discard everything received" (`getToFile` does).
   */
  expect?: { sha256: string; onMismatch: (actual: HashResult) => Error };
}

/** A pass-through stream that counts and hashes what flows through it. See `hashingStream`. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private digest: string | undefined;

  constructor(private readonly options: HashingStreamOptions = {}) {
    super();
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes;
  }

  /** Size and sha256 of everything that went through; only once the stream has ended. */
  result(): HashResult {
    if (this.digest === undefined) {
      throw new AimassError('INTERNAL', 'HashingStream.result() was called before the stream ended; wait for its end first');
    }
    return { size: this.bytes, sha256: this.digest };
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digest = this.hash.digest('hex');
    const expect = this.options.expect;
    if (expect && expect.sha256 !== this.digest) {
      callback(expect.onMismatch({ size: this.bytes, sha256: this.digest }));
      return;
    }
    callback();
  }
}

/**
 * A pass-through stream that computes size and sha256 while bytes stream through it (for implementations:
 * `pipeline(source, hasher, upload)`, then `hasher.result()`).
 */
export function hashingStream(options: HashingStreamOptions = {}): HashingStream {
  return new HashingStream(options);
}

/** The bytes of a `put` source as a stream; a Uint8Array becomes one chunk (without copying it). */
export function toReadable(source: Readable | Uint8Array): Readable {
  if (source instanceof Uint8Array) {
    return Readable.from([Buffer.from(source.buffer, source.byteOffset, source.byteLength)], { objectMode: false });
  }
  return source;
}

/** Checks that `sha256` is 64 hex digits and returns it in lower case; INVALID_ARGUMENT otherwise. */
export function normalizeSha256(sha256: string): string {
  const lower = typeof sha256 === 'string' ? sha256.toLowerCase() : '';
  if (!SHA256_HEX.test(lower)) {
    throw new AimassError('INVALID_ARGUMENT', `"${String(sha256)}" is not a sha256; expected 64 hexadecimal digits`, { sha256 });
  }
  return lower;
}

/** The DATA_CORRUPT error for `key` of `store`; shared so every path reports corruption the same way. */
export function corruptArtifactError(storeUri: string, key: string, expected: string, actual: HashResult | string): AimassError {
  const actualText = typeof actual === 'string' ? actual : `sha256 ${actual.sha256} (${actual.size} bytes)`;
  return new AimassError(
    'DATA_CORRUPT',
    `Artifact "${key}" in ${storeUri} is corrupt: expected sha256 ${expected} but read ${actualText}. ` +
      'It was not served; restore it from a backup or upload it again.',
    { uri: storeUri, key, expected, actual: typeof actual === 'string' ? actual : actual.sha256 },
  );
}

/**
 * The object's bytes as a stream that fails with DATA_CORRUPT (naming the store URI and key) at its end when they
 * do not hash to `sha256`. Absent keys fail here with NOT_FOUND, before any byte flows.
 */
export async function readVerified(store: ArtifactStore, key: string, sha256: string): Promise<Readable> {
  const expected = normalizeSha256(sha256);
  const body = await store.get(key);
  const verifier = hashingStream({
    expect: { sha256: expected, onMismatch: (actual) => corruptArtifactError(store.uri, key, expected, actual) },
  });
  // The callback form destroys every stream with the first error, so the returned end reports it to its reader,
  // and a reader that gives up early releases the store's stream.
  return pipelineStreams(body, verifier);
}

/** The whole object in memory, verified against `sha256`; for small artifacts (metadata, vocabularies). */
export async function readAllVerified(store: ArtifactStore, key: string, sha256: string): Promise<Buffer> {
  const stream = await readVerified(store, key, sha256);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Uploads a local file under `key`; NOT_FOUND naming the file when it does not exist. */
export async function putFile(store: ArtifactStore, key: string, file: string): Promise<ObjectInfo> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw fileError(e, file, 'read');
  }
  // The stream owns the handle from here and closes it when done or destroyed.
  return store.put(key, handle.createReadStream());
}

/**
 * Downloads `key` to the local `file` (creating its folder), verified against `sha256` when given. The bytes go to
 * a temporary file beside `file`, which is renamed into place only once complete (and verified), so `file` is
 * never left half-written or corrupt; the temporary file is removed on failure. Returns size and sha256 of what
 * was written.
 */
export async function getToFile(store: ArtifactStore, key: string, file: string, sha256?: string): Promise<ObjectInfo> {
  const body = sha256 === undefined ? await store.get(key) : await readVerified(store, key, sha256);
  const target = path.resolve(file);
  try {
    await mkdir(path.dirname(target), { recursive: true });
  } catch (e) {
    body.destroy();
    throw fileError(e, path.dirname(target), 'create the folder');
  }
  const hasher = hashingStream();
  // Named after the target (shortened, so the name stays within file-name limits) to explain a leftover.
  const prefix = `.${path.basename(target).slice(0, 64)}.`;
  const temp = await writeStreamToTempFile(body, path.dirname(target), { prefix, hasher });
  try {
    await rename(temp, target);
  } catch (e) {
    await rm(temp, { force: true });
    throw fileError(e, target, 'write');
  }
  return { key, ...hasher.result() };
}

export interface CopyObjectOptions {
  /** Key in the destination store (default: the same key). */
  toKey?: string;
  /** Expected sha256; when omitted, the source's recorded sha256 (from `head`) is checked if it has one. */
  sha256?: string;
}

/**
 * Streams `key` from one store into another (or into the same store under `toKey`). The bytes are checked against
 * the expected sha256 on the way, so a corrupt source fails the copy with DATA_CORRUPT and, puts being atomic,
 * leaves nothing at the destination.
 */
export async function copyObject(from: ArtifactStore, to: ArtifactStore, key: string, options: CopyObjectOptions = {}): Promise<ObjectInfo> {
  const expected = options.sha256 ?? (await from.head(key))?.sha256;
  const body = expected === undefined ? await from.get(key) : await readVerified(from, key, expected);
  return to.put(options.toKey ?? key, body);
}

/**
 * Writes a stream (through `hasher`, when given) to a fresh temporary file `<dir>/<prefix><uuid>.tmp`, fsyncs it
 * and returns its path. On any failure the temporary file is removed and the first error is rethrown as it is (a
 * failing source's own error, not a wrapper). For implementations that stage a file and rename it into place.
 */
export async function writeStreamToTempFile(source: Readable, dir: string, options: { prefix?: string; hasher?: HashingStream } = {}): Promise<string> {
  const temp = path.join(dir, `${options.prefix ?? ''}${randomUUID()}.tmp`);
  let handle;
  try {
    handle = await open(temp, 'wx');
  } catch (e) {
    source.destroy();
    throw fileError(e, temp, 'create');
  }
  try {
    // Written through the handle itself rather than a write stream: the file must be fsynced before it is closed,
    // and a FileHandle's close() waits forever for a write stream that does not close it.
    const sink = async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) {
        for (let offset = 0; offset < chunk.length; ) offset += (await handle.write(chunk, offset)).bytesWritten;
      }
    };
    await (options.hasher ? pipeline(source, options.hasher, sink) : pipeline(source, sink));
    // Durable before it becomes visible: a crash after the rename must not expose a file with holes.
    await handle.sync();
  } catch (e) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw e;
  }
  await handle.close();
  return temp;
}

/** NOT_FOUND for an absent key, naming the key and the store. */
export function artifactNotFound(storeUri: string, key: string): AimassError {
  return new AimassError('NOT_FOUND', `Artifact "${key}" was not found in ${storeUri}`, { what: 'Artifact', id: key, uri: storeUri });
}

/** `source` piped into `next`, returning `next`; an error in either destroys both, so it reaches the reader. */
function pipelineStreams<T extends Transform>(source: Readable, next: T): T {
  // The callback form keeps errors on the streams themselves (the returned stream emits them), so the callback
  // has nothing left to do; a reader that stops early destroys `next`, which destroys `source` too.
  pipeStreams(source, next, () => undefined);
  return next;
}

/** Maps a local file-system error to a catalog error naming the file. */
export function fileError(e: unknown, file: string, action: string): AimassError {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return errors.notFound('File', file);
  if (code === 'EACCES' || code === 'EPERM') {
    return new AimassError('PERMISSION_DENIED', `Cannot ${action} "${file}": permission denied`, { file, code });
  }
  if (code === 'ENOSPC') return new AimassError('RESOURCE_EXHAUSTED', `Cannot ${action} "${file}": no space left on the device`, { file, code });
  return new AimassError('INTERNAL', `Cannot ${action} "${file}": ${(e as Error)?.message ?? String(e)}`, { file, code }, { cause: e });
}
