/**
 * `nats://[user:pass@]host:4222/bucket[/prefix]`: artifacts in a NATS JetStream object store (@nats-io/obj), one
 * bucket per store, created on first use (file storage, one replica; create it yourself with
 * `nats object add` for other settings). A user without a password in the URI is sent as a token.
 *
 * How the object store works, and what this store adds:
 *   - put streams the body in 128 KiB chunks, each published and acknowledged before the next is read, then
 *     publishes the object's metadata (name, size, digest) in one message; only that last message makes the
 *     object visible, so a failed put leaves nothing (the library purges the chunks it sent; a killed one leaves
 *     invisible chunks until the bucket is compacted) and an overwrite switches atomically.
 *   - the metadata's `digest` is the SHA-256 of the bytes, computed by the same put; `head`, `list` and `put`
 *     report it as the artifact's sha256 (hex). Nothing else is stored: the object store API takes metadata
 *     before the bytes are read, so a separate sha256 field could only be added by a second, non-atomic update,
 *     and it would always equal the digest.
 *   - object names are passed to nats.js as UTF-8 bytes (see `toNatsName`), so any valid key works.
 *   - get reads chunk after chunk on demand (JetStream direct get), so a slow reader holds one chunk, not the
 *     object; the library's own get pushes all chunks at once without backpressure. It checks size and digest at
 *     the end and fails with DATA_CORRUPT when the stored chunks do not match.
 *
 * Imports only core/ and this folder; the NATS client is loaded on first use.
 */
import { createHash } from 'node:crypto';
import { pipeline as pipeStreams, Readable } from 'node:stream';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ObjectInfo as NatsObjectInfo, ObjectStore } from '@nats-io/obj';
import { AimassError, isAimassError } from '../../core/index.js';
import type { ArtifactStore, ObjectInfo } from './artifact-store.js';
import { artifactNotFound, corruptArtifactError, hashingStream, toReadable } from './helpers.js';
import { isValidKey, keyProblem, validateKey, validatePrefix } from './keys.js';

export interface NatsStoreOptions {
  /** How long to wait for the server when connecting, in ms (default 5000). */
  connectTimeoutMs?: number;
}

interface Connection {
  nc: NatsConnection;
  jsm: JetStreamManager;
  os: ObjectStore;
  /** The JetStream stream behind the bucket. */
  stream: string;
}

const DEFAULT_PORT = 4222;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
/** nats.js errors that mean the server cannot be talked to right now. */
const UNREACHABLE_ERRORS = new Set(['ConnectionError', 'ClosedConnectionError', 'DrainingConnectionError', 'TimeoutError']);

export class NatsArtifactStore implements ArtifactStore {
  /** The URI with any password replaced by `***`. */
  readonly uri: string;
  /** `host:port` of the server. */
  readonly server: string;
  readonly bucket: string;
  /** Object-name prefix of the store inside the bucket, with a trailing `/` (or ``). */
  readonly root: string;
  private readonly auth: { user?: string; pass?: string; token?: string };
  private readonly connectTimeoutMs: number;
  private connection: Promise<Connection> | undefined;

  constructor(uri: string, options: NatsStoreOptions = {}) {
    const url = parseNatsUri(uri.trim());
    this.server = `${url.hostname}:${url.port || DEFAULT_PORT}`;
    const [bucket, ...rest] = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '').split('/');
    if (!/^[-\w]+$/.test(bucket)) {
      throw new AimassError(
        'INVALID_ARGUMENT',
        `NATS store URI "${redact(url)}" needs a bucket name of letters, digits, "-" and "_" after the server, e.g. nats://127.0.0.1:4222/artifacts`,
        { uri: redact(url) },
      );
    }
    this.bucket = bucket;
    const prefix = rest.join('/');
    if (prefix !== '' && keyProblem(prefix)) {
      throw new AimassError('INVALID_ARGUMENT', `NATS store URI "${redact(url)}" has an invalid prefix "${prefix}": ${keyProblem(prefix)}`, {
        uri: redact(url),
      });
    }
    this.root = prefix === '' ? '' : `${prefix}/`;
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    this.auth = user === '' ? {} : pass === '' ? { token: user } : { user, pass };
    this.uri = redact(url);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
  }

  async put(key: string, source: Readable | Uint8Array): Promise<ObjectInfo> {
    validateKey(key);
    const input = toReadable(source);
    const hasher = hashingStream();
    const chunks = pipeStreams(input, hasher, () => undefined)[Symbol.asyncIterator]();
    let sourceError: unknown;
    // The object store reads a web stream; pulling from the Node stream only when it asks keeps the backpressure.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value as Buffer);
        } catch (e) {
          sourceError = e;
          controller.error(e);
        }
      },
      cancel() {
        input.destroy();
      },
    });
    try {
      const { os } = await this.connect();
      const stored = await os.put({ name: toNatsName(this.root + key) }, body);
      const { size, sha256 } = hasher.result();
      if (stored.size !== size || sha256FromDigest(stored.digest) !== sha256) {
        const message = `NATS stored "${key}" with size ${stored.size} and digest ${stored.digest}, but ${size} bytes with sha256 ${sha256} were sent`;
        throw new AimassError('INTERNAL', message, { uri: this.uri, key });
      }
      return { key, size, sha256, modifiedAt: new Date(stored.mtime) };
    } catch (e) {
      // Decided before the teardown below, which makes the source's iteration fail too (premature close).
      const failure = sourceError ?? this.failure(e, `writing "${key}"`);
      input.destroy();
      throw failure;
    }
  }

  async get(key: string): Promise<Readable> {
    validateKey(key);
    const connection = await this.connect();
    const info = await this.info(connection, key);
    if (!info) throw artifactNotFound(this.uri, key);
    if (info.options?.link) {
      throw new AimassError('UNSUPPORTED', `"${key}" in ${this.uri} is a NATS object link; AI Mass reads only plain objects`, { uri: this.uri, key });
    }
    return Readable.from(this.chunks(connection, info, key), { objectMode: false });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    const info = await this.info(await this.connect(), key);
    return info ? this.describe(key, info) : null;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const { os } = await this.connect();
    let entries: NatsObjectInfo[];
    try {
      entries = await os.list();
    } catch (e) {
      throw this.failure(e, `listing "${prefix}"`);
    }
    const wanted = this.root + prefix;
    const found = entries
      .map((entry) => ({ name: fromNatsName(entry.name), entry }))
      .filter(({ name, entry }) => !entry.deleted && name.startsWith(wanted))
      .map(({ name, entry }) => ({ key: name.slice(this.root.length), entry }))
      .filter(({ key }) => isValidKey(key))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { key, entry } of found) yield this.describe(key, entry);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    const { os } = await this.connect();
    try {
      await os.delete(toNatsName(this.root + key));
    } catch (e) {
      throw this.failure(e, `deleting "${key}"`);
    }
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    const open = await connection?.catch(() => undefined);
    await open?.nc.close();
  }

  private connect(): Promise<Connection> {
    if (this.connection) return this.connection;
    const connecting = (async (): Promise<Connection> => {
      const [{ connect }, { jetstreamManager }, { Objm, setSha256Backend }] = await Promise.all([
        import('@nats-io/transport-node'),
        import('@nats-io/jetstream'),
        import('@nats-io/obj'),
      ]);
      // The library hashes with a pure-JS SHA-256 by default; Node's is several times faster on large objects.
      setSha256Backend('native');
      let nc: NatsConnection;
      try {
        nc = await connect({ servers: this.server, timeout: this.connectTimeoutMs, name: 'aimass-artifacts', ...this.auth });
      } catch (e) {
        throw this.failure(e, 'connecting');
      }
      try {
        const os = await new Objm(nc).create(this.bucket);
        const jsm = await jetstreamManager(nc);
        return { nc, jsm, os, stream: `OBJ_${this.bucket}` };
      } catch (e) {
        await nc.close().catch(() => undefined);
        throw this.failure(e, `opening bucket "${this.bucket}"`);
      }
    })();
    this.connection = connecting;
    // A failed connection is not cached: the next call tries again.
    connecting.catch(() => {
      if (this.connection === connecting) this.connection = undefined;
    });
    return connecting;
  }

  private async info(connection: Connection, key: string): Promise<NatsObjectInfo | null> {
    try {
      const info = await connection.os.info(toNatsName(this.root + key));
      return info && !info.deleted ? info : null;
    } catch (e) {
      throw this.failure(e, `reading "${key}"`);
    }
  }

  private describe(key: string, info: NatsObjectInfo): ObjectInfo {
    const result: ObjectInfo = { key, size: info.size, modifiedAt: new Date(info.mtime) };
    const sha256 = sha256FromDigest(info.digest);
    if (sha256 !== undefined) result.sha256 = sha256;
    return result;
  }

  /** The object's chunks in order, one request each, checked against its size and digest at the end. */
  private async *chunks(connection: Connection, info: NatsObjectInfo, key: string): AsyncGenerator<Buffer> {
    const expected = sha256FromDigest(info.digest);
    const subject = `$O.${this.bucket}.C.${info.nuid}`;
    const hash = createHash('sha256');
    let size = 0;
    let sequence = 0;
    for (let chunk = 0; chunk < info.chunks; chunk++) {
      const query = { seq: sequence + 1, next_by_subj: subject };
      let message;
      try {
        // Direct gets may be answered by a replica that lags; the stream leader has the final word.
        message =
          (await connection.jsm.direct.getMessage(connection.stream, query)) ?? (await connection.jsm.streams.getMessage(connection.stream, query));
      } catch (e) {
        throw this.failure(e, `reading "${key}"`);
      }
      if (!message) {
        const now = await this.info(connection, key);
        if (!now || now.nuid !== info.nuid) {
          throw new AimassError('CONFLICT', `Artifact "${key}" in ${this.uri} was deleted or overwritten while being read; read it again`, {
            uri: this.uri,
            key,
          });
        }
        throw corruptArtifactError(this.uri, key, expected ?? info.digest, `only ${chunk} of ${info.chunks} chunks (${size} bytes)`);
      }
      sequence = message.seq;
      hash.update(message.data);
      size += message.data.length;
      yield Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
    }
    const actual = { size, sha256: hash.digest('hex') };
    if (actual.size !== info.size || actual.sha256 !== expected) {
      throw corruptArtifactError(this.uri, key, expected ?? info.digest, actual);
    }
  }

  private failure(e: unknown, doing: string): AimassError {
    if (isAimassError(e)) return e;
    const err = e as { name?: string; code?: string; message?: string; cause?: { code?: string } };
    const message = err.message ?? String(e);
    const name = err.name ?? '';
    const details = { uri: this.uri, operation: doing };
    const networkCode = [err.code, err.cause?.code].find((c) => c !== undefined && NETWORK_CODES.has(c));
    if (networkCode !== undefined || UNREACHABLE_ERRORS.has(name)) {
      return new AimassError('UNAVAILABLE', `NATS server ${this.server} is not reachable while ${doing} (${message}); check that it is running`, details, {
        cause: e,
      });
    }
    if (name === 'NoRespondersError' || /jetstream.*not.*enabled/i.test(message)) {
      return new AimassError(
        'UNAVAILABLE',
        `NATS server ${this.server} did not answer JetStream requests while ${doing} (${message}); start nats-server with JetStream enabled (-js)`,
        details,
        { cause: e },
      );
    }
    if (name === 'AuthorizationError' || name === 'UserAuthenticationExpiredError') {
      return new AimassError('UNAUTHENTICATED', `NATS server ${this.server} rejected the credentials while ${doing} (${message})`, details, { cause: e });
    }
    if (name === 'PermissionViolationError') {
      return new AimassError('PERMISSION_DENIED', `NATS server ${this.server} denied ${doing} (${message})`, details, { cause: e });
    }
    return new AimassError('INTERNAL', `NATS failed while ${doing} in ${this.uri}: ${name ? `${name}: ` : ''}${message}`, details, { cause: e });
  }
}

/**
 * The name handed to nats.js for an object name: its UTF-8 bytes, one character per byte. nats.js turns names into
 * subjects with `btoa`, which rejects characters beyond Latin-1 and encodes Latin-1 ones as single bytes; given
 * the bytes, it computes the same subject (base64url of the UTF-8 name) as the Go client and the `nats` CLI, so
 * those find our objects by their real names. (Their listings show non-ASCII names as Latin-1 text, since the
 * metadata's name field holds these characters.)
 */
export function toNatsName(name: string): string {
  return Buffer.from(name, 'utf8').toString('latin1');
}

/** The inverse of `toNatsName`; names written by other clients with characters beyond Latin-1 pass as they are. */
export function fromNatsName(name: string): string {
  if (/[^\u0000-\u00ff]/.test(name)) return name;
  const decoded = Buffer.from(name, 'latin1').toString('utf8');
  return toNatsName(decoded) === name ? decoded : name;
}

/** Hex sha256 from an object-store digest (`SHA-256=` + base64url of the 32 bytes), or undefined. */
export function sha256FromDigest(digest: string | undefined): string | undefined {
  if (!digest || !digest.toUpperCase().startsWith('SHA-256=')) return undefined;
  const bytes = Buffer.from(digest.slice('SHA-256='.length).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  return bytes.length === 32 ? bytes.toString('hex') : undefined;
}

function parseNatsUri(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AimassError('INVALID_ARGUMENT', `"${uri.replace(/:[^:@/]*@/, ':***@')}" is not a valid NATS URI; use nats://host:4222/bucket`, {});
  }
  if (url.protocol !== 'nats:' || url.hostname === '') {
    throw new AimassError('INVALID_ARGUMENT', `NATS store URI "${redact(url)}" needs a server, e.g. nats://127.0.0.1:4222/artifacts`, { uri: redact(url) });
  }
  if ([...url.searchParams.keys()].length > 0) {
    throw new AimassError('INVALID_ARGUMENT', `NATS store URI "${redact(url)}" has parameters; none are supported`, { uri: redact(url) });
  }
  return url;
}

/** The URI without secrets: a password becomes `***`, and so does a user given alone (a token). */
function redact(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  if (url.password !== '') copy.password = '***';
  else copy.username = '***';
  return copy.href;
}
