// The helpers written once above the ArtifactStore interface (helpers.ts), on file:// stores; the conformance
// suite runs them against every backend too.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { sha256Hex } from '../../core/index.js';
import { assertCode } from '../../../test/support/artifact-store-conformance.js';
import { useTempDirs } from '../../../test/support/temp-dirs.js';
import { copyObject, FileArtifactStore, getToFile, hashingStream, normalizeSha256, toReadable } from './index.js';

const tempDir = useTempDirs('artifact-helpers');

async function fileStore(): Promise<{ store: FileArtifactStore; root: string }> {
  const root = path.join(await tempDir(), 'store');
  return { store: new FileArtifactStore(pathToFileURL(root).href), root };
}

test('hashingStream passes bytes through and reports their size and sha256 at the end', async () => {
  const hasher = hashingStream();
  assert.throws(() => hasher.result(), /before the stream ended/);
  const out: Buffer[] = [];
  await pipeline(Readable.from([Buffer.from('hello '), 'world']), hasher, async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) out.push(chunk);
  });
  assert.equal(Buffer.concat(out).toString(), 'hello world');
  assert.deepEqual(hasher.result(), { size: 11, sha256: sha256Hex(Buffer.from('hello world')) });
});

test('hashingStream with an expected sha256 fails at its end with the error it is given', async () => {
  const failure = new Error('mismatch');
  const hasher = hashingStream({ expect: { sha256: sha256Hex(Buffer.from('other')), onMismatch: () => failure } });
  await assert.rejects(pipeline(Readable.from([Buffer.from('bytes')]), hasher, async (chunks) => {
    for await (const chunk of chunks) void chunk;
  }), (e) => e === failure);
});

test('toReadable stores only the viewed bytes of a Uint8Array', async () => {
  const backing = Buffer.from('0123456789');
  const chunks: Buffer[] = [];
  for await (const chunk of toReadable(new Uint8Array(backing.buffer, backing.byteOffset + 2, 5))) chunks.push(chunk as Buffer);
  assert.equal(Buffer.concat(chunks).toString(), '23456');
});

test('normalizeSha256 accepts 64 hex digits in any case and nothing else', () => {
  const sha = sha256Hex(Buffer.from('x'));
  assert.equal(normalizeSha256(sha.toUpperCase()), sha);
  for (const bad of ['', 'abc', `${sha}0`, `${sha.slice(0, 63)}g`]) {
    assert.throws(() => normalizeSha256(bad), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT');
  }
});

test('copyObject checks the sha256 the source store recorded, so a mismatch does not spread', async () => {
  const from = await fileStore();
  const to = await fileStore();
  const info = await from.store.put('m/model.onnx', Buffer.from('the real weights'));
  const copied = await copyObject(from.store, to.store, 'm/model.onnx');
  assert.equal(copied.sha256, info.sha256);

  // The record (still matching the file's size and time) now names other bytes than the file holds.
  const recordFile = path.join(from.root, '.sha256', 'm', 'model.onnx');
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as { sha256: string };
  const recorded = sha256Hex(Buffer.from('other weights'));
  await writeFile(recordFile, JSON.stringify({ ...record, sha256: recorded }));
  assert.equal((await from.store.head('m/model.onnx'))?.sha256, recorded);
  await assertCode(copyObject(from.store, to.store, 'm/model.onnx', { toKey: 'm/copy.onnx' }), 'DATA_CORRUPT', 'm/model.onnx', from.store.uri);
  assert.equal(await to.store.head('m/copy.onnx'), null);
  // An explicit sha256 takes precedence over the record.
  await copyObject(from.store, to.store, 'm/model.onnx', { toKey: 'm/copy.onnx', sha256: info.sha256! });
  assert.equal((await to.store.head('m/copy.onnx'))?.sha256, info.sha256);
});

test('getToFile without a sha256 downloads as is, replacing an existing file only when complete', async () => {
  const { store } = await fileStore();
  await store.put('a.txt', Buffer.from('new contents'));
  const dir = await tempDir();
  const target = path.join(dir, 'a.txt');
  await writeFile(target, 'old contents');
  const info = await getToFile(store, 'a.txt', target);
  assert.equal(info.sha256, sha256Hex(Buffer.from('new contents')));
  assert.equal(await readFile(target, 'utf8'), 'new contents');
  await assertCode(getToFile(store, 'missing.txt', path.join(dir, 'missing.txt')), 'NOT_FOUND', 'missing.txt');
  assert.deepEqual((await readdir(dir)).sort(), ['a.txt']);
});
