/**
 * Sending a version's file so that a corrupted one is never served, not even in part.
 *
 * A sha256 is known only once the last byte has been read, and by then a streamed response would already have
 * sent the bytes (and a 200) to the client. So every byte is verified before the first one goes out:
 * - files up to `bufferUpTo` bytes are read whole into memory, verified, then sent;
 * - larger files are copied, verified on the way, into a private temporary file, which is then streamed out and
 *   removed. Verifying in place and then streaming the stored object a second time would not do: the object
 *   could change between the two reads. The temporary copy is what was verified, and nothing else writes it.
 * A file whose bytes do not match its recorded sha256 fails with DATA_CORRUPT (500, JSON) and no file bytes.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FastifyReply } from 'fastify';
import { AimassError } from '../core/index.js';
import type { Registry } from '../registry/index.js';
import type { VersionRecord } from '../storage/index.js';

/** Files up to this size are verified in memory; larger ones through a temporary file. */
export const DEFAULT_BUFFER_UP_TO = 16 * 1024 * 1024;

const MEDIA_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.onnx': 'application/octet-stream',
};

export function mediaTypeOf(path: string): string {
  return MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export async function sendVerifiedFile(
  reply: FastifyReply,
  registry: Registry,
  version: VersionRecord,
  path: string,
  o: { bufferUpTo?: number } = {},
): Promise<FastifyReply> {
  const file = version.files.find((f) => f.path === path);
  if (!file) {
    throw new AimassError('NOT_FOUND', `version ${version.version} of "${version.model}" has no file "${path}" (it has ${version.files.map((f) => f.path).join(', ')})`, {
      model: version.model,
      version: version.version,
      path,
    });
  }
  if (file.size <= (o.bufferUpTo ?? DEFAULT_BUFFER_UP_TO)) {
    const bytes = await registry.readFile(version, file.path);
    return headers(reply, file.path, file.sha256, bytes.length).send(bytes);
  }
  const dir = await mkdtemp(join(tmpdir(), 'aimass-download-'));
  const copy = join(dir, 'file');
  try {
    await pipeline(await registry.openFile(version, file.path), createWriteStream(copy, { flags: 'wx' }));
    const { size } = await stat(copy);
    const stream = createReadStream(copy);
    // removed once sent, or once the client went away (Fastify destroys the stream then)
    stream.once('close', () => void rm(dir, { recursive: true, force: true }));
    return headers(reply, file.path, file.sha256, size).send(stream);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

function headers(reply: FastifyReply, path: string, sha256: string, size: number): FastifyReply {
  const name = path.split('/').pop() ?? path;
  return reply
    .type(mediaTypeOf(path))
    .header('content-length', size)
    .header('x-aimass-sha256', sha256)
    .header('content-disposition', `attachment; filename="${name.replace(/["\\\r\n]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`);
}
