/**
 * File uploads: an `application/octet-stream` body is streamed to a fresh temporary folder (bounded memory for
 * any size, refused past a byte limit) and the route sees `request.body` as the path of that file. The folder is
 * removed when the response is done or the request aborted, also when validation refused the request before its
 * handler ran, so no upload outlives its request.
 *
 * Only routes with `config: { upload: true }` take a file; elsewhere such a body is refused before a byte of it
 * is written.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AimassError } from '../core/index.js';

export const UPLOAD_MEDIA_TYPE = 'application/octet-stream';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes an application/octet-stream body (spooled to a temporary file). */
    upload?: boolean;
  }
}

/** Temporary folder and file of each request's upload, until the request ends. */
const uploads = new WeakMap<FastifyRequest, { dir: string; file?: string }>();

/** Adds the octet-stream body parser and the clean-up hooks to `app` (an encapsulated plugin scope). */
export function acceptUploads(app: FastifyInstance, o: { maxBytes: number; fileName?: string }): void {
  app.addContentTypeParser(UPLOAD_MEDIA_TYPE, async (request: FastifyRequest, payload: Readable) => {
    if (!request.routeOptions.config.upload) {
      payload.resume();
      throw new AimassError('UNSUPPORTED_MEDIA_TYPE', `${request.method} ${request.routeOptions.url} takes no file; send application/json`);
    }
    const declared = Number(request.headers['content-length']);
    if (declared > o.maxBytes) {
      payload.resume(); // drained, not read, so the client gets the answer rather than a reset (see spool)
      throw tooLarge(o.maxBytes, declared);
    }
    const dir = await mkdtemp(join(tmpdir(), 'aimass-upload-'));
    const upload: { dir: string; file?: string } = { dir };
    uploads.set(request, upload);
    const file = join(dir, o.fileName ?? 'upload.bin');
    try {
      const size = await spool(payload, file, o.maxBytes);
      if (size === 0) throw new AimassError('INVALID_ARGUMENT', 'the request body is empty; send the file\'s bytes as the body');
    } catch (e) {
      await discardUpload(request);
      throw e;
    }
    upload.file = file;
    return file;
  });
  app.addHook('onResponse', async (request) => discardUpload(request));
  app.addHook('onRequestAbort', async (request) => discardUpload(request));
}

/**
 * The path of the file the request uploaded. Read from here, not from `request.body`: a body of another media
 * type (JSON holding a path, say) reaches the handler unspooled, and must not be taken for an upload.
 */
export function uploadedFile(request: FastifyRequest): string {
  const file = uploads.get(request)?.file;
  if (file === undefined) {
    throw new AimassError('UNSUPPORTED_MEDIA_TYPE', `${request.method} ${request.routeOptions.url} takes the file itself as the body, sent as ${UPLOAD_MEDIA_TYPE}`, {
      contentType: request.headers['content-type'] ?? null,
    });
  }
  return file;
}

/** Removes the request's upload now (idempotent; handlers call it once they are done with the file). */
export async function discardUpload(request: FastifyRequest): Promise<void> {
  const upload = uploads.get(request);
  if (upload === undefined) return;
  uploads.delete(request);
  await rm(upload.dir, { recursive: true, force: true });
}

function tooLarge(maxBytes: number, size?: number): AimassError {
  return new AimassError(
    'PAYLOAD_TOO_LARGE',
    `the upload is ${size === undefined ? 'larger than' : `${size} bytes, over`} the limit of ${maxBytes} bytes; the server's limit is set where it builds the API (maxUploadBytes)`,
    { maxBytes, ...(size === undefined ? {} : { size }) },
  );
}

/**
 * Writes `payload` to `file`, counting bytes. Past the limit it stops writing and lets the rest of the body
 * drain instead of destroying the request: destroying it would reset the connection before the client could
 * read the 413 (Fastify closes the connection after replying to a failed parse).
 */
function spool(payload: Readable, file: string, maxBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(file, { flags: 'wx' });
    let size = 0;
    let ended = false;
    let settled = false;
    const detach = () => {
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.off('error', fail);
      payload.off('close', onClose);
    };
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      detach();
      payload.resume();
      out.destroy();
      reject(e instanceof AimassError ? e : new AimassError('INVALID_ARGUMENT', `the upload was interrupted: ${(e as Error).message}`));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return fail(tooLarge(maxBytes));
      if (!out.write(chunk)) {
        payload.pause();
        out.once('drain', () => {
          if (!settled) payload.resume();
        });
      }
    };
    const onEnd = () => {
      ended = true;
      detach();
      out.end();
    };
    const onClose = () => {
      if (!ended) fail(new Error('the client closed the connection before the body ended'));
    };
    out.once('error', fail);
    // 'close' rather than 'finish': the file is closed, so the handler may rename or reopen it on any platform
    out.once('close', () => {
      if (settled) return;
      settled = true;
      resolve(size);
    });
    payload.on('data', onData);
    payload.once('end', onEnd);
    payload.once('error', fail);
    payload.once('close', onClose);
  });
}
