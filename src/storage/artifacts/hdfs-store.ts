/**
 * `hdfs://[user@]namenode:9870/root/path` (or `webhdfs://…`): artifacts as files in HDFS, over the WebHDFS REST
 * API (v1) of the namenode's HTTP port, with undici. Targets Hadoop 2.x and 3.x: the port is the namenode's HTTP
 * port, 9870 on Hadoop 3 (the default here) and 50070 on Hadoop 2, not the RPC port (8020) of native hdfs:// URIs.
 *
 * Operations used: CREATE (the namenode answers 307 with a datanode URL, and the bytes are PUT there, streamed
 * with chunked encoding), OPEN (also redirected to a datanode), GETFILESTATUS, LISTSTATUS (walked recursively),
 * MKDIRS, DELETE, and RENAME with `renameoptions=OVERWRITE` (HDFS's rename2, which replaces the destination
 * atomically; plain RENAME refuses an existing destination). Authentication is Hadoop's "simple" mode: every
 * request carries `user.name` = the URI's user, else HADOOP_USER_NAME, else the OS user. Kerberos (SPNEGO),
 * delegation tokens, HTTPS and HttpFS-specific behaviour are not supported.
 *
 * Layout under the root (as the file:// store): a put CREATEs `.tmp/<uuid>` (an HDFS file is visible while being
 * written, so bytes never go to the key directly), then RENAMEs it onto the key; a failed put deletes the
 * temporary file, and a killed one leaves it in `.tmp/` only. The sha256 is recorded in `.sha256/<key>` (see
 * sidecar.ts; HDFS has xattrs, but they are not part of this set of operations) and reported by `head`; `list`
 * does not read the records (one more request per object), so its sha256 is undefined. HDFS path components
 * cannot contain ":", so such keys are rejected here.
 *
 * Imports only core/ and this folder; undici is loaded on first use.
 */
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { pipeline as pipeStreams, Readable } from 'node:stream';
import type { Agent, Dispatcher } from 'undici';
import { AimassError, isAimassError } from '../../core/index.js';
import type { ArtifactStore, ObjectInfo } from './artifact-store.js';
import { artifactNotFound, hashingStream, toReadable } from './helpers.js';
import { isValidKey, keyProblem, prefixFolder, validateKey, validatePrefix } from './keys.js';
import { encodeSha256Record, SHA256_FOLDER, sha256FromRecord, TEMP_FOLDER } from './sidecar.js';

export interface HdfsStoreOptions {
  /** HDFS user sent as `user.name`; default: the URI's user, else HADOOP_USER_NAME, else the OS user. */
  user?: string;
}

/** One entry of GETFILESTATUS / LISTSTATUS, as WebHDFS sends it (fields this store reads). */
interface FileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  modificationTime: number;
}

type Response = Dispatcher.ResponseData;

const DEFAULT_PORT = '9870';
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
/** Hadoop exception names (RemoteException.exception) and what they mean here. */
const REMOTE_EXCEPTIONS: Record<string, AimassError['code']> = {
  FileNotFoundException: 'NOT_FOUND',
  AccessControlException: 'PERMISSION_DENIED',
  SecurityException: 'PERMISSION_DENIED',
  AuthorizationException: 'PERMISSION_DENIED',
  FileAlreadyExistsException: 'CONFLICT',
  ParentNotDirectoryException: 'CONFLICT',
  PathIsNotEmptyDirectoryException: 'CONFLICT',
  SafeModeException: 'UNAVAILABLE',
  StandbyException: 'UNAVAILABLE',
  RetriableException: 'UNAVAILABLE',
  IllegalArgumentException: 'INVALID_ARGUMENT',
  InvalidPathException: 'INVALID_ARGUMENT',
  UnsupportedOperationException: 'UNSUPPORTED',
};

export class HdfsArtifactStore implements ArtifactStore {
  readonly uri: string;
  /** Base URL of the namenode's HTTP server, e.g. `http://namenode:9870`. */
  readonly namenode: string;
  /** Absolute HDFS path of the store's root folder, without a trailing `/`. */
  readonly root: string;
  readonly user: string;
  private client: Promise<{ request: typeof import('undici').request; agent: Agent }> | undefined;

  constructor(uri: string, options: HdfsStoreOptions = {}) {
    this.uri = uri.trim();
    let url: URL;
    try {
      url = new URL(this.uri);
    } catch {
      throw new AimassError('INVALID_ARGUMENT', `"${uri}" is not a valid HDFS URI; use hdfs://namenode:9870/path/to/artifacts`, { uri });
    }
    if ((url.protocol !== 'hdfs:' && url.protocol !== 'webhdfs:') || url.hostname === '') {
      throw new AimassError('INVALID_ARGUMENT', `HDFS store URI "${uri}" needs a namenode, e.g. hdfs://namenode:9870/aimass/artifacts`, { uri });
    }
    if (url.password !== '' || [...url.searchParams.keys()].length > 0) {
      throw new AimassError('INVALID_ARGUMENT', `HDFS store URI "${uri}" may name a user but has no password or parameters`, { uri });
    }
    const root = decodeURIComponent(url.pathname).replace(/\/+$/, '');
    const rootProblem = root === '' ? 'it is the file-system root' : keyProblem(root.slice(1)) ?? (root.includes(':') ? 'it contains ":"' : undefined);
    if (rootProblem) {
      throw new AimassError('INVALID_ARGUMENT', `HDFS store URI "${uri}" needs a folder such as /aimass/artifacts after the namenode (${rootProblem})`, {
        uri,
      });
    }
    this.root = root;
    this.namenode = `http://${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}:${url.port || DEFAULT_PORT}`;
    this.user = options.user ?? (decodeURIComponent(url.username) || process.env.HADOOP_USER_NAME || userInfo().username);
  }

  async put(key: string, source: Readable | Uint8Array): Promise<ObjectInfo> {
    this.checkKey(key);
    const input = toReadable(source);
    const hashed = pipeStreams(input, hashingStream(), () => undefined);
    // Errors of the source itself are caught here, as they are; a failed upload only stops (returns) this generator.
    let sourceError: unknown;
    const body = async function* () {
      try {
        for await (const chunk of hashed) yield chunk as Buffer;
      } catch (e) {
        sourceError = e;
        throw e;
      }
    };
    const temp = `${this.root}/${TEMP_FOLDER}/${randomUUID()}`;
    try {
      await this.create(temp, Readable.from(body(), { objectMode: false }), `writing "${key}"`);
      const { size, sha256 } = hashed.result();
      const written = await this.status(temp, `writing "${key}"`);
      if (!written || written.length !== size) {
        const kept = written?.length ?? 'no';
        throw new AimassError('INTERNAL', `HDFS kept ${kept} bytes of the ${size} sent for "${key}" in ${this.uri}`, { uri: this.uri, key });
      }
      // The record first: once the object is visible, its sha256 is too.
      await this.writeRecord(key, encodeSha256Record(sha256, size, written.modificationTime));
      await this.moveIntoPlace(temp, this.objectPath(key), key);
      return { key, size, sha256, modifiedAt: new Date(written.modificationTime) };
    } catch (e) {
      // Decided before the teardown below, which makes the source's iteration fail too (premature close).
      const failure = sourceError ?? e;
      input.destroy();
      await this.remove(temp).catch(() => undefined);
      throw failure;
    }
  }

  async get(key: string): Promise<Readable> {
    this.checkKey(key);
    try {
      return await this.open(this.objectPath(key), `reading "${key}"`);
    } catch (e) {
      throw isRemote(e, 'FileNotFoundException') ? artifactNotFound(this.uri, key) : e;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    this.checkKey(key);
    const status = await this.status(this.objectPath(key), `reading "${key}"`);
    if (!status || status.type !== 'FILE') return null;
    const info: ObjectInfo = { key, size: status.length, modifiedAt: new Date(status.modificationTime) };
    const record = await this.readSmall(this.recordPath(key), `reading the sha256 of "${key}"`);
    const sha256 = record === undefined ? undefined : sha256FromRecord(record, { size: status.length, modifiedMs: status.modificationTime });
    if (sha256 !== undefined) info.sha256 = sha256;
    return info;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    const folder = prefixFolder(prefix);
    yield* this.walk(folder === '' ? this.root : `${this.root}/${folder.slice(0, -1)}`, folder, prefix);
  }

  async delete(key: string): Promise<void> {
    this.checkKey(key);
    const doing = `deleting "${key}"`;
    // A key that is a folder of other keys is not an object; HDFS would delete it if it were empty.
    const status = await this.status(this.objectPath(key), doing);
    if (status?.type === 'DIRECTORY') return;
    if (status) await this.remove(this.objectPath(key), doing);
    // Also when the object is absent: a put that died between its two renames can leave a record behind.
    await this.remove(this.recordPath(key), doing);
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await (await client?.catch(() => undefined))?.agent.close();
  }

  private checkKey(key: string): void {
    validateKey(key);
    if (key.includes(':')) {
      throw new AimassError('INVALID_ARGUMENT', `Artifact key "${key}" is invalid for HDFS: HDFS path names cannot contain ":"`, {
        key,
        problem: 'colon',
      });
    }
  }

  private objectPath(key: string): string {
    return `${this.root}/${key}`;
  }

  private recordPath(key: string): string {
    return `${this.root}/${SHA256_FOLDER}/${key}`;
  }

  private async *walk(dir: string, keyPrefix: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const entries = await this.listStatus(dir, `listing "${prefix}"`);
    entries.sort((a, b) => (a.pathSuffix < b.pathSuffix ? -1 : a.pathSuffix > b.pathSuffix ? 1 : 0));
    for (const entry of entries) {
      // LISTSTATUS of a file returns the file itself with an empty pathSuffix: `dir` is not a folder.
      if (entry.pathSuffix === '') return;
      if (keyPrefix === '' && entry.pathSuffix.startsWith('.')) continue; // the store's own .tmp/ and .sha256/
      const key = keyPrefix + entry.pathSuffix;
      if (entry.type === 'DIRECTORY') {
        const folder = `${key}/`;
        if (folder.startsWith(prefix) || prefix.startsWith(folder)) yield* this.walk(`${dir}/${entry.pathSuffix}`, folder, prefix);
      } else if (entry.type === 'FILE' && key.startsWith(prefix) && isValidKey(key)) {
        yield { key, size: entry.length, modifiedAt: new Date(entry.modificationTime) };
      }
    }
  }

  private async writeRecord(key: string, text: string): Promise<void> {
    const temp = `${this.root}/${TEMP_FOLDER}/${randomUUID()}.sha256`;
    try {
      await this.create(temp, Buffer.from(text), `recording the sha256 of "${key}"`);
      await this.moveIntoPlace(temp, this.recordPath(key), key);
    } catch (e) {
      await this.remove(temp).catch(() => undefined);
      throw e;
    }
  }

  private async moveIntoPlace(temp: string, target: string, key: string): Promise<void> {
    const doing = `storing "${key}"`;
    try {
      await this.expectBoolean(await this.call('PUT', target.slice(0, target.lastIndexOf('/')), 'MKDIRS', {}, doing), doing, 'MKDIRS');
      const response = await this.call('PUT', temp, 'RENAME', { destination: target, renameoptions: 'OVERWRITE' }, doing);
      if (response.statusCode !== 200) throw await this.remoteError(response, doing);
      // rename2 answers with an empty body; {"boolean": false} would mean the server ignored renameoptions.
      const text = await response.body.text();
      if (text.trim() !== '' && (JSON.parse(text) as { boolean?: boolean }).boolean === false) {
        throw new AimassError('INTERNAL', `HDFS refused to rename ${temp} to ${target} while ${doing} in ${this.uri}`, { uri: this.uri, key });
      }
    } catch (e) {
      // The usual reason: the key's path is taken by a folder (keys below it), or a folder on it is a file.
      const conflict = isAimassError(e) && e.code !== 'UNAVAILABLE' ? await this.pathConflict(target, doing) : undefined;
      if (conflict) {
        throw new AimassError(
          'CONFLICT',
          `Cannot write artifact "${key}" in ${this.uri}: ${conflict}. HDFS keeps keys as paths, so "a" and "a/b" cannot both exist`,
          { uri: this.uri, key },
        );
      }
      throw e;
    }
  }

  /** Why `target` cannot become a file, if the reason is the tree's shape (a folder there, or a file above it). */
  private async pathConflict(target: string, doing: string): Promise<string | undefined> {
    if ((await this.status(target, doing).catch(() => null))?.type === 'DIRECTORY') return 'other keys are stored below it';
    for (let dir = target.slice(0, target.lastIndexOf('/')); dir.length > this.root.length; dir = dir.slice(0, dir.lastIndexOf('/'))) {
      const above = await this.status(dir, doing).catch(() => null);
      if (above?.type === 'FILE') return `"${dir.slice(dir.lastIndexOf('/') + 1)}" above it is itself an artifact`;
      if (above) return undefined;
    }
    return undefined;
  }

  /** CREATE in WebHDFS's two steps: the namenode names a datanode (307), the bytes go to the datanode. */
  private async create(path: string, body: Buffer | Readable, doing: string): Promise<void> {
    const redirect = await this.call('PUT', path, 'CREATE', { overwrite: 'false' }, doing);
    const location = await this.redirectTarget(redirect, doing);
    const { request, agent } = await this.undici();
    let response: Response;
    try {
      response = await request(location, { method: 'PUT', body, dispatcher: agent, headers: { 'content-type': 'application/octet-stream' } });
    } catch (e) {
      throw this.networkFailure(e, location, doing);
    }
    if (response.statusCode !== 201) throw await this.remoteError(response, doing);
    await response.body.dump();
  }

  private async open(path: string, doing: string): Promise<Readable> {
    const location = await this.redirectTarget(await this.call('GET', path, 'OPEN', {}, doing), doing);
    const { request, agent } = await this.undici();
    let response: Response;
    try {
      response = await request(location, { method: 'GET', dispatcher: agent });
    } catch (e) {
      throw this.networkFailure(e, location, doing);
    }
    if (response.statusCode !== 200) throw await this.remoteError(response, doing);
    return response.body;
  }

  /** A small file's text, or undefined when it does not exist. */
  private async readSmall(path: string, doing: string): Promise<string | undefined> {
    try {
      const body = await this.open(path, doing);
      let text = '';
      for await (const chunk of body) text += (chunk as Buffer).toString('utf8');
      return text;
    } catch (e) {
      if (isRemote(e, 'FileNotFoundException')) return undefined;
      throw e;
    }
  }

  private async status(path: string, doing: string): Promise<FileStatus | null> {
    const response = await this.call('GET', path, 'GETFILESTATUS', {}, doing);
    if (response.statusCode === 200) return ((await response.body.json()) as { FileStatus: FileStatus }).FileStatus;
    const error = await this.remoteError(response, doing);
    if (isRemote(error, 'FileNotFoundException')) return null;
    throw error;
  }

  private async listStatus(path: string, doing: string): Promise<FileStatus[]> {
    const response = await this.call('GET', path, 'LISTSTATUS', {}, doing);
    if (response.statusCode === 200) return ((await response.body.json()) as { FileStatuses: { FileStatus: FileStatus[] } }).FileStatuses.FileStatus;
    const error = await this.remoteError(response, doing);
    if (isRemote(error, 'FileNotFoundException')) return [];
    throw error;
  }

  private async remove(path: string, doing = 'removing a temporary file'): Promise<void> {
    await this.expectBoolean(await this.call('DELETE', path, 'DELETE', { recursive: 'false' }, doing), doing);
  }

  /** Reads a `{"boolean": …}` answer; with `mustBeTrue`, false is an error naming that operation. */
  private async expectBoolean(response: Response, doing: string, mustBeTrue?: string): Promise<boolean> {
    if (response.statusCode !== 200) throw await this.remoteError(response, doing);
    const answer = ((await response.body.json()) as { boolean?: boolean }).boolean === true;
    if (mustBeTrue && !answer) {
      throw new AimassError('INTERNAL', `HDFS ${mustBeTrue} returned false while ${doing} in ${this.uri}`, { uri: this.uri, operation: doing });
    }
    return answer;
  }

  private async redirectTarget(response: Response, doing: string): Promise<string> {
    const location = response.headers.location;
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      await response.body.dump();
      return location;
    }
    if (response.statusCode < 300) {
      await response.body.dump();
      throw new AimassError(
        'UNSUPPORTED',
        `${this.namenode} answered ${doing} without redirecting to a datanode; is it a WebHDFS namenode (not HttpFS or a proxy)?`,
        { uri: this.uri },
      );
    }
    throw await this.remoteError(response, doing);
  }

  /** One request to the namenode: `<namenode>/webhdfs/v1<path>?op=…&user.name=…`. */
  private async call(method: 'GET' | 'PUT' | 'DELETE', path: string, op: string, params: Record<string, string>, doing: string): Promise<Response> {
    const query = new URLSearchParams({ op, 'user.name': this.user, ...params });
    const url = `${this.namenode}/webhdfs/v1${path.split('/').map(encodeURIComponent).join('/')}?${query}`;
    const { request, agent } = await this.undici();
    try {
      return await request(url, { method, dispatcher: agent });
    } catch (e) {
      throw this.networkFailure(e, this.namenode, doing);
    }
  }

  private undici(): Promise<{ request: typeof import('undici').request; agent: Agent }> {
    this.client ??= import('undici').then(({ Agent, request }) => ({ request, agent: new Agent({ keepAliveTimeout: 10_000 }) }));
    return this.client;
  }

  /** The catalog error for a non-success answer, from WebHDFS's RemoteException JSON when there is one. */
  private async remoteError(response: Response, doing: string): Promise<AimassError> {
    const text = await response.body.text().catch(() => '');
    let remote: { exception?: string; javaClassName?: string; message?: string } | undefined;
    try {
      remote = (JSON.parse(text) as { RemoteException?: typeof remote }).RemoteException;
    } catch {
      remote = undefined;
    }
    const exception = remote?.exception ?? '';
    const status = response.statusCode;
    const byStatus = status === 401 ? 'UNAUTHENTICATED' : status === 403 ? 'PERMISSION_DENIED' : status >= 500 ? 'UNAVAILABLE' : 'INTERNAL';
    const code: AimassError['code'] = REMOTE_EXCEPTIONS[exception] ?? byStatus;
    const reason = remote ? `${exception}: ${remote.message ?? ''}` : `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    return new AimassError(code, `HDFS failed while ${doing} in ${this.uri} (${reason})`, { uri: this.uri, operation: doing, status, exception });
  }

  private networkFailure(e: unknown, where: string, doing: string): AimassError {
    if (isAimassError(e)) return e;
    const err = e as { code?: string; message?: string; cause?: { code?: string }; errors?: { code?: string }[] };
    const codes = [err.code, err.cause?.code, ...(err.errors ?? []).map((x) => x.code)].filter((c): c is string => c !== undefined);
    if (codes.some((c) => NETWORK_CODES.has(c) || c.startsWith('UND_ERR_CONNECT') || c === 'UND_ERR_SOCKET' || c.endsWith('_TIMEOUT'))) {
      const message = `HDFS node ${originOf(where)} is not reachable (${codes[0]}) while ${doing}; check that it is running`;
      return new AimassError('UNAVAILABLE', message, { uri: this.uri, operation: doing }, { cause: e });
    }
    const message = `HDFS request to ${originOf(where)} failed while ${doing}: ${err.message ?? String(e)}`;
    return new AimassError('INTERNAL', message, { uri: this.uri }, { cause: e });
  }
}

function isRemote(e: unknown, exception: string): boolean {
  return isAimassError(e) && e.details?.exception === exception;
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}
