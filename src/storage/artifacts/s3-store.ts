/**
 * `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1&forcePathStyle=true`: artifacts as objects
 * in an S3 bucket (AWS, MinIO, Ceph RGW, any S3-protocol server), through @aws-sdk/client-s3.
 *
 * Configuration: `endpoint` from the URI, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS itself;
 * `region` from the URI, else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1; `forcePathStyle` from the URI, else
 * on whenever a custom endpoint is set (what MinIO-style servers need); `maxAttempts` (SDK retries) from the URI.
 * Credentials come from the SDK's standard chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 * shared config files, instance roles) and never from the URI, which appears in logs and errors.
 *
 * Writes stream in bounded memory and are atomic:
 *   - a body smaller than one part (8 MiB) goes up in one PutObject with its sha256 as `x-amz-meta-sha256`;
 *   - a larger body goes up as a multipart upload (8 MiB parts, two in flight, three buffers reused, so 24 MiB) to a
 *     temporary key under `<prefix>/.tmp/`, then a server-side copy puts it under its key with its sha256 as
 *     metadata (S3 metadata cannot change after an upload, and the sha256 is known only at the end), then the
 *     temporary object is deleted. Readers never see a key without its sha256 or with partial bytes; a failed
 *     upload is aborted. Objects over 5 GiB are copied with UploadPartCopy (not supported by s3rver, so not
 *     exercised by the tests). A killed process can leave an incomplete multipart upload or a `.tmp/` object;
 *     a bucket lifecycle rule (AbortIncompleteMultipartUpload, expire `<prefix>/.tmp/`) cleans those.
 *   - parts grow (×2 every 1000 parts) so even multi-terabyte bodies stay under S3's 10 000-part limit.
 * The SDK's newer default request/response checksums are switched to WHEN_REQUIRED: many S3-compatible servers
 * reject or mishandle them, and nothing is lost, since every part body is a buffer whose SHA-256 is signed by
 * SigV4 and the artifact's own sha256 is checked on read by `readVerified`.
 *
 * `list` cannot return sha256 (ListObjectsV2 carries no metadata); `head` does.
 *
 * Imports only core/ and this folder; the AWS SDK is loaded on first use.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline as pipeStreams } from 'node:stream';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { AimassError, isAimassError } from '../../core/index.js';
import type { ArtifactStore, ObjectInfo } from './artifact-store.js';
import { artifactNotFound, hashingStream, toReadable } from './helpers.js';
import { isValidKey, keyProblem, validateKey, validatePrefix } from './keys.js';
import { TEMP_FOLDER } from './sidecar.js';

type S3Sdk = typeof import('@aws-sdk/client-s3');

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** S3's smallest allowed part (except the last). */
const MIN_PART_SIZE = 5 * MiB;
/** S3's largest allowed part, and the largest object CopyObject can copy in one request. */
const MAX_SINGLE_COPY = 5 * GiB;
/** Parts of a server-side multipart copy; 512 MiB × 10 000 parts covers S3's 5 TiB object limit. */
const COPY_PART_SIZE = 512 * MiB;

export interface S3StoreOptions {
  /** Multipart part size in bytes (default 8 MiB, at least 5 MiB); smaller bodies go up in one request. */
  partSize?: number;
  /** Parts uploaded at once (default 2); memory held by a put is about (partConcurrency + 1) × partSize. */
  partConcurrency?: number;
  /** Credentials to use instead of the SDK's standard chain (environment, config files, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const QUERY_PARAMS = ['endpoint', 'region', 'forcePathStyle', 'maxAttempts'];
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
const AUTH_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'CredentialsProviderError']);

export class S3ArtifactStore implements ArtifactStore {
  readonly uri: string;
  readonly bucket: string;
  /** Key prefix of the store inside the bucket, with a trailing `/` (or `` for the bucket's root). */
  readonly root: string;
  readonly endpoint: string | undefined;
  readonly region: string;
  private readonly forcePathStyle: boolean;
  private readonly maxAttempts: number | undefined;
  private readonly partSize: number;
  private readonly partConcurrency: number;
  private readonly credentials: S3StoreOptions['credentials'];
  private connection: Promise<{ sdk: S3Sdk; client: S3Client }> | undefined;

  constructor(uri: string, options: S3StoreOptions = {}) {
    this.uri = uri.trim();
    const url = parseS3Uri(this.uri);
    this.bucket = url.hostname;
    const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
    if (prefix !== '') {
      const problem = keyProblem(prefix);
      if (problem) throw new AimassError('INVALID_ARGUMENT', `S3 store URI "${uri}" has an invalid prefix "${prefix}": ${problem}`, { uri });
    }
    this.root = prefix === '' ? '' : `${prefix}/`;
    const query = url.searchParams;
    this.endpoint = query.get('endpoint') ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? undefined;
    if (this.endpoint !== undefined && !/^https?:\/\/[^/]/.test(this.endpoint)) {
      throw new AimassError('INVALID_ARGUMENT', `S3 endpoint "${this.endpoint}" is not an http(s) URL, e.g. http://127.0.0.1:9000`, { uri });
    }
    this.region = query.get('region') ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    this.forcePathStyle = parseBoolean(query.get('forcePathStyle'), 'forcePathStyle', uri) ?? this.endpoint !== undefined;
    const attempts = query.get('maxAttempts');
    this.maxAttempts = attempts === null ? undefined : parsePositiveInt(attempts, 'maxAttempts', uri);
    this.partSize = options.partSize ?? 8 * MiB;
    if (!(this.partSize >= MIN_PART_SIZE && this.partSize <= MAX_SINGLE_COPY)) {
      throw new AimassError('INVALID_ARGUMENT', `S3 part size ${this.partSize} is outside S3's limits (5 MiB to 5 GiB)`, { partSize: this.partSize });
    }
    this.partConcurrency = Math.max(1, Math.floor(options.partConcurrency ?? 2));
    this.credentials = options.credentials;
  }

  async put(key: string, source: Readable | Uint8Array): Promise<ObjectInfo> {
    validateKey(key);
    const input = toReadable(source);
    const hasher = hashingStream();
    // The callback form of pipeline passes a source error on to the hasher, whose iterator then throws it as is.
    const parts = new PartReader(pipeStreams(input, hasher, () => undefined)[Symbol.asyncIterator]());
    const buffers = new PartBuffers();
    try {
      const first = await parts.read(buffers.take(this.partSize));
      if (parts.done) {
        const { size, sha256 } = hasher.result();
        await this.call(`writing "${key}"`, (s3, sdk) =>
          s3.send(
            new sdk.PutObjectCommand({
              ...this.object(key),
              Body: first,
              ContentLength: size,
              ContentType: 'application/octet-stream',
              Metadata: { sha256 },
            }),
          ),
        );
        return { key, size, sha256 };
      }
      const temp = `${this.root}${TEMP_FOLDER}/${randomUUID()}`;
      await this.multipartUpload(temp, first, parts, buffers, key);
      const { size, sha256 } = hasher.result();
      try {
        await this.copyWithSha256(temp, this.root + key, size, sha256, key);
      } finally {
        await this.call('removing a temporary upload', (s3, sdk) => s3.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: temp }))).catch(
          () => undefined,
        );
      }
      return { key, size, sha256 };
    } catch (e) {
      input.destroy();
      throw e;
    }
  }

  async get(key: string): Promise<Readable> {
    validateKey(key);
    const response = await this.call(`reading "${key}"`, (s3, sdk) => s3.send(new sdk.GetObjectCommand(this.object(key))), key);
    // In Node the SDK's body is the HTTP response stream (an IncomingMessage), read with backpressure.
    return response.Body as Readable;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    try {
      const response = await this.call(`reading "${key}"`, (s3, sdk) => s3.send(new sdk.HeadObjectCommand(this.object(key))), key);
      const info: ObjectInfo = { key, size: response.ContentLength ?? 0 };
      const sha256 = response.Metadata?.sha256;
      if (sha256 !== undefined && /^[0-9a-f]{64}$/.test(sha256)) info.sha256 = sha256;
      if (response.LastModified) info.modifiedAt = response.LastModified;
      return info;
    } catch (e) {
      if (isAimassError(e) && e.code === 'NOT_FOUND' && e.details?.id === key) return null;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    validatePrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.call(`listing "${prefix}"`, (s3, sdk) =>
        s3.send(new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root + prefix, ContinuationToken: token })),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        const key = object.Key.slice(this.root.length);
        // Skips the store's own .tmp/ objects and anything written by other tools that no key could address.
        if (!isValidKey(key)) continue;
        const info: ObjectInfo = { key, size: object.Size ?? 0 };
        if (object.LastModified) info.modifiedAt = object.LastModified;
        yield info;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    await this.call(`deleting "${key}"`, (s3, sdk) => s3.send(new sdk.DeleteObjectCommand(this.object(key))));
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) (await connection.catch(() => undefined))?.client.destroy();
  }

  private object(key: string): { Bucket: string; Key: string } {
    return { Bucket: this.bucket, Key: this.root + key };
  }

  private connect(): Promise<{ sdk: S3Sdk; client: S3Client }> {
    this.connection ??= (async () => {
      const sdk = await import('@aws-sdk/client-s3');
      const client = new sdk.S3Client({
        region: this.region,
        forcePathStyle: this.forcePathStyle,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        ...(this.endpoint === undefined ? {} : { endpoint: this.endpoint }),
        ...(this.maxAttempts === undefined ? {} : { maxAttempts: this.maxAttempts }),
        ...(this.credentials === undefined ? {} : { credentials: this.credentials }),
      });
      return { sdk, client };
    })();
    return this.connection;
  }

  /** Runs one SDK call, mapping its failures to catalog errors; `key` turns a missing object into NOT_FOUND for it. */
  private async call<T>(doing: string, request: (s3: S3Client, sdk: S3Sdk) => Promise<T>, key?: string): Promise<T> {
    const { sdk, client } = await this.connect();
    try {
      return await request(client, sdk);
    } catch (e) {
      throw this.failure(e, doing, key);
    }
  }

  private async multipartUpload(target: string, first: Buffer, parts: PartReader, buffers: PartBuffers, key: string): Promise<void> {
    const upload = { Bucket: this.bucket, Key: target };
    const created = await this.call(`starting the upload of "${key}"`, (s3, sdk) =>
      s3.send(new sdk.CreateMultipartUploadCommand({ ...upload, ContentType: 'application/octet-stream' })),
    );
    const uploadId = created.UploadId!;
    const completed: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    const send = (body: Buffer, partNumber: number) => {
      const sent = this.call(`uploading part ${partNumber} of "${key}"`, (s3, sdk) =>
        s3.send(new sdk.UploadPartCommand({ ...upload, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length })),
      ).then((response) => {
        completed[partNumber - 1] = { ETag: response.ETag, PartNumber: partNumber };
        buffers.give(body);
      });
      const tracked: Promise<void> = sent.finally(() => inFlight.delete(tracked));
      tracked.catch(() => undefined); // awaited below; this only keeps an early failure from counting as unhandled
      inFlight.add(tracked);
    };
    try {
      let body = first;
      for (let partNumber = 1; ; partNumber++) {
        send(body, partNumber);
        if (parts.done) break;
        while (inFlight.size >= this.partConcurrency) await Promise.race(inFlight);
        body = await parts.read(buffers.take(partSizeFor(partNumber + 1, this.partSize)));
        if (body.length === 0) break;
      }
      await Promise.all(inFlight);
      await this.call(`completing the upload of "${key}"`, (s3, sdk) =>
        s3.send(new sdk.CompleteMultipartUploadCommand({ ...upload, UploadId: uploadId, MultipartUpload: { Parts: completed } })),
      );
    } catch (e) {
      await Promise.allSettled(inFlight);
      await this.call('aborting an upload', (s3, sdk) => s3.send(new sdk.AbortMultipartUploadCommand({ ...upload, UploadId: uploadId }))).catch(
        () => undefined,
      );
      throw e;
    }
  }

  /** Server-side copy of `from` to `to`, setting the sha256 metadata; the target appears whole or not at all. */
  private async copyWithSha256(from: string, to: string, size: number, sha256: string, key: string): Promise<void> {
    const copySource = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    const target = { Bucket: this.bucket, Key: to };
    const metadata = { ...target, ContentType: 'application/octet-stream', Metadata: { sha256 } };
    if (size <= MAX_SINGLE_COPY) {
      await this.call(`storing "${key}"`, (s3, sdk) =>
        s3.send(new sdk.CopyObjectCommand({ ...metadata, CopySource: copySource, MetadataDirective: 'REPLACE' })),
      );
      return;
    }
    const created = await this.call(`storing "${key}"`, (s3, sdk) => s3.send(new sdk.CreateMultipartUploadCommand(metadata)));
    const uploadId = created.UploadId!;
    try {
      const ranges: { partNumber: number; first: number; last: number }[] = [];
      for (let first = 0, partNumber = 1; first < size; first += COPY_PART_SIZE, partNumber++) {
        ranges.push({ partNumber, first, last: Math.min(size, first + COPY_PART_SIZE) - 1 });
      }
      const completed: CompletedPart[] = [];
      for (let i = 0; i < ranges.length; i += 4) {
        await Promise.all(
          ranges.slice(i, i + 4).map(async ({ partNumber, first, last }) => {
            const response = await this.call(`copying part ${partNumber} of "${key}"`, (s3, sdk) =>
              s3.send(
                new sdk.UploadPartCopyCommand({
                  ...target,
                  UploadId: uploadId,
                  PartNumber: partNumber,
                  CopySource: copySource,
                  CopySourceRange: `bytes=${first}-${last}`,
                }),
              ),
            );
            completed[partNumber - 1] = { ETag: response.CopyPartResult?.ETag, PartNumber: partNumber };
          }),
        );
      }
      await this.call(`storing "${key}"`, (s3, sdk) =>
        s3.send(new sdk.CompleteMultipartUploadCommand({ ...target, UploadId: uploadId, MultipartUpload: { Parts: completed } })),
      );
    } catch (e) {
      await this.call('aborting a copy', (s3, sdk) => s3.send(new sdk.AbortMultipartUploadCommand({ ...target, UploadId: uploadId }))).catch(
        () => undefined,
      );
      throw e;
    }
  }

  private failure(e: unknown, doing: string, key: string | undefined): AimassError {
    if (isAimassError(e)) return e;
    const err = e as { name?: string; code?: string; message?: string; cause?: { code?: string }; $metadata?: { httpStatusCode?: number } };
    const name = err.name ?? 'Error';
    const status = err.$metadata?.httpStatusCode;
    const network = err.code ?? err.cause?.code;
    const where = this.endpoint ?? `AWS S3 (${this.region})`;
    const details = { uri: this.uri, operation: doing, s3Error: name, status };
    if ((network !== undefined && NETWORK_CODES.has(network)) || name === 'TimeoutError') {
      return new AimassError(
        'UNAVAILABLE',
        `S3 endpoint ${where} is not reachable (${network ?? name}) while ${doing}; check that the server is running and the endpoint is right`,
        details,
        { cause: e },
      );
    }
    if (name === 'NoSuchBucket') {
      return new AimassError('NOT_FOUND', `S3 bucket "${this.bucket}" does not exist at ${where}; create it, or fix the store URI ${this.uri}`, details);
    }
    if (key !== undefined && (name === 'NoSuchKey' || name === 'NotFound' || status === 404)) return artifactNotFound(this.uri, key);
    if (AUTH_ERRORS.has(name)) {
      return new AimassError(
        'UNAUTHENTICATED',
        `S3 rejected the credentials (${name}) while ${doing}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an AWS profile) for ${where}`,
        details,
      );
    }
    if (name === 'AccessDenied' || status === 403) {
      const message = `S3 denied access to bucket "${this.bucket}" while ${doing}; grant the credentials access to ${this.uri}`;
      return new AimassError('PERMISSION_DENIED', message, details);
    }
    if ((status !== undefined && status >= 500) || name === 'SlowDown' || name === 'ServiceUnavailable') {
      return new AimassError('UNAVAILABLE', `S3 at ${where} failed while ${doing} (${name}${status ? `, HTTP ${status}` : ''}); try again`, details, {
        cause: e,
      });
    }
    return new AimassError('INTERNAL', `S3 at ${where} failed while ${doing}: ${name}: ${err.message ?? String(e)}`, details, { cause: e });
  }
}

/**
 * Reads an async iterator of chunks into part buffers of a requested size, so memory is the part buffers plus one
 * chunk. `done` is exact after each read: it peeks one chunk ahead.
 */
class PartReader {
  done = false;
  private pending: Buffer | undefined;

  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  /** Fills `part` (or as much of it as the stream has left) and returns the filled view. */
  async read(part: Buffer): Promise<Buffer> {
    let filled = 0;
    while (filled < part.length && !this.done) {
      const chunk = this.pending ?? (await this.next());
      this.pending = undefined;
      if (chunk === undefined) break;
      const n = Math.min(chunk.length, part.length - filled);
      chunk.copy(part, filled, 0, n);
      filled += n;
      if (n < chunk.length) this.pending = chunk.subarray(n);
    }
    if (this.pending === undefined && !this.done) this.pending = await this.next();
    return part.subarray(0, filled);
  }

  /** The next non-empty chunk, or undefined (and `done`) at the end. */
  private async next(): Promise<Buffer | undefined> {
    for (;;) {
      const result = await this.chunks.next();
      if (result.done) {
        this.done = true;
        return undefined;
      }
      if (result.value.length > 0) return result.value;
    }
  }
}

/**
 * Part buffers reused across the parts of one upload. Fresh 8 MiB buffers per part would be garbage that V8
 * collects only after tens of megabytes of churn; reusing (concurrency + 1) of them keeps memory flat.
 */
class PartBuffers {
  private readonly free: Buffer[] = [];

  take(size: number): Buffer {
    const reused = this.free.pop();
    return reused !== undefined && reused.length === size ? reused : Buffer.allocUnsafeSlow(size);
  }

  /** Returns the buffer behind `part` (a view from `PartReader.read`) once its upload is done with it. */
  give(part: Buffer): void {
    // take() allocates each buffer on its own ArrayBuffer, so the view's ArrayBuffer is exactly that buffer.
    this.free.push(Buffer.from(part.buffer));
  }
}

/** Part `n`'s size: the base size, doubled every 1000 parts (S3 allows 10 000), capped at 5 GiB. */
function partSizeFor(partNumber: number, base: number): number {
  return Math.min(MAX_SINGLE_COPY, base * 2 ** Math.floor((partNumber - 1) / 1000));
}

function parseS3Uri(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new AimassError('INVALID_ARGUMENT', `"${uri}" is not a valid S3 URI; use s3://bucket/prefix?endpoint=http://host:port`, { uri });
  }
  if (url.protocol !== 's3:' || url.hostname === '') {
    throw new AimassError('INVALID_ARGUMENT', `S3 store URI "${uri}" names no bucket; use s3://bucket/prefix`, { uri });
  }
  if (url.username !== '' || url.password !== '') {
    throw new AimassError(
      'INVALID_ARGUMENT',
      `S3 store URI "${uri}" carries credentials; remove them and set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY instead (URIs end up in logs)`,
      { uri: uri.replace(/\/\/[^@/]*@/, '//***@') },
    );
  }
  if (url.port !== '') {
    throw new AimassError('INVALID_ARGUMENT', `S3 store URI "${uri}" has a port; put the server in ?endpoint=http://host:port instead`, { uri });
  }
  for (const name of url.searchParams.keys()) {
    if (!QUERY_PARAMS.includes(name)) {
      throw new AimassError('INVALID_ARGUMENT', `S3 store URI "${uri}" has unknown parameter "${name}"; known: ${QUERY_PARAMS.join(', ')}`, { uri });
    }
  }
  return url;
}

function parseBoolean(value: string | null, name: string, uri: string): boolean | undefined {
  if (value === null) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new AimassError('INVALID_ARGUMENT', `S3 store URI "${uri}": ${name} must be true or false, got "${value}"`, { uri });
}

function parsePositiveInt(value: string, name: string, uri: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new AimassError('INVALID_ARGUMENT', `S3 store URI "${uri}": ${name} must be a positive integer, got "${value}"`, { uri });
  }
  return n;
}
