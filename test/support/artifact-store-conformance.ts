// The one conformance suite for `ArtifactStore`: every backend's test file calls `runArtifactStoreConformance`
// with a way to open a fresh store on a real server (a temp folder, s3rver, nats-server, the WebHDFS test server),
// so all backends are held to exactly the same behaviour. Backend-specific behaviour (URI parsing, how each maps
// its server's errors) is tested beside the backend.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isAimassError, sha256Hex, type AimassError, type ErrorCode } from '../../src/core/index.js';
import {
  copyObject,
  getToFile,
  putFile,
  readAllVerified,
  readVerified,
  type ArtifactStore,
  type ObjectInfo,
} from '../../src/storage/artifacts/index.js';

export interface ArtifactStoreHarness {
  store: ArtifactStore;
  /**
   * Changes some stored bytes of `key` behind the store's back (edits the file, overwrites the object with a raw
   * client, …), keeping its length, as disk rot or a stray tool would.
   */
  corrupt(key: string): Promise<void>;
  /** Closes the store and removes everything the harness created. */
  cleanup(): Promise<void>;
}

export interface ConformanceOptions {
  /**
   * Why the backing service cannot be used (e.g. `NATS not reachable at 127.0.0.1:4222`), when it cannot. The
   * suite then fails with this reason when `CI` is set, and otherwise skips with it, printed.
   */
  unavailable?: string;
}

const MiB = 1024 * 1024;
/** Streamed size for the bounded-memory test; big enough that holding it whole would break the bound. */
const LARGE_SIZE = 64 * MiB;
/** Allowed RSS growth while streaming LARGE_SIZE in and out (part buffers, socket buffers, allocator slack). */
const RSS_GROWTH_LIMIT = 100 * MiB;

export function runArtifactStoreConformance(name: string, open: () => Promise<ArtifactStoreHarness>, options: ConformanceOptions = {}): void {
  describe(`${name} artifact store (conformance)`, () => {
    if (options.unavailable !== undefined) {
      const reason = options.unavailable;
      it('needs its service', (t) => {
        if (process.env.CI) assert.fail(`${reason} (CI is set, so this is a failure rather than a skip)`);
        t.skip(reason);
      });
      return;
    }

    let harness: ArtifactStoreHarness;
    let store: ArtifactStore;
    before(async () => {
      harness = await open();
      store = harness.store;
    });
    after(async () => {
      await harness?.cleanup();
    });

    // First, so that the baseline is not inflated by memory earlier tests left with the allocator.
    it(`streams ${LARGE_SIZE / MiB} MiB in and out with bounded memory (RSS growth < ${RSS_GROWTH_LIMIT / MiB} MiB)`, async () => {
      const key = 'large/generated.bin';
      const digest = generatedDigest(LARGE_SIZE);
      // Warm up first: loading a client library and opening connections is not streaming memory.
      await store.put('large/warm-up.bin', payload(1000, 0));
      await readAll(await store.get('large/warm-up.bin'));
      await store.delete('large/warm-up.bin');
      collectGarbage();
      const baseline = process.memoryUsage.rss();
      let peak = baseline;
      const sample = () => {
        peak = Math.max(peak, process.memoryUsage.rss());
      };
      const timer = setInterval(sample, 5);
      try {
        const info = await store.put(key, generatedStream(LARGE_SIZE, sample));
        assert.deepEqual({ size: info.size, sha256: info.sha256 }, { size: LARGE_SIZE, sha256: digest });
        let read = 0;
        for await (const chunk of await readVerified(store, key, digest)) {
          read += (chunk as Buffer).length;
          sample();
        }
        assert.equal(read, LARGE_SIZE);
      } finally {
        clearInterval(timer);
      }
      sample();
      const growth = peak - baseline;
      assert.ok(growth < RSS_GROWTH_LIMIT, `RSS grew by ${(growth / MiB).toFixed(1)} MiB while streaming ${LARGE_SIZE / MiB} MiB`);
      console.log(`${name}: RSS grew by ${(growth / MiB).toFixed(1)} MiB while streaming ${LARGE_SIZE / MiB} MiB in and out`);
      await store.delete(key);
    });

    it('put returns key, size and sha256 of the bytes, and get returns them', async () => {
      const data = payload(200_000, 1);
      const info = await store.put('roundtrip/bytes.bin', data);
      assert.equal(info.key, 'roundtrip/bytes.bin');
      assert.equal(info.size, data.length);
      assert.equal(info.sha256, sha256Hex(data));
      assert.deepEqual(await readAll(await store.get('roundtrip/bytes.bin')), data);
    });

    it('puts from a stream of many chunks, including empty ones, and from a Uint8Array view', async () => {
      const chunks = [payload(1, 2), Buffer.alloc(0), payload(70_000, 3), payload(130_000, 4), Buffer.alloc(0), payload(5, 5)];
      const whole = Buffer.concat(chunks);
      const info = await store.put('roundtrip/stream.bin', Readable.from(chunks));
      assert.deepEqual({ size: info.size, sha256: info.sha256 }, { size: whole.length, sha256: sha256Hex(whole) });
      assert.deepEqual(await readAll(await store.get('roundtrip/stream.bin')), whole);

      // A view into a larger buffer: only the viewed bytes are stored.
      const backing = payload(1000, 6);
      const view = new Uint8Array(backing.buffer, backing.byteOffset + 100, 300);
      const viewInfo = await store.put('roundtrip/view.bin', view);
      assert.equal(viewInfo.size, 300);
      assert.deepEqual(await readAll(await store.get('roundtrip/view.bin')), Buffer.from(backing.subarray(100, 400)));
    });

    it('stores an empty object', async () => {
      const info = await store.put('roundtrip/empty', new Uint8Array(0));
      assert.deepEqual({ size: info.size, sha256: info.sha256 }, { size: 0, sha256: sha256Hex(Buffer.alloc(0)) });
      assert.equal((await readAll(await store.get('roundtrip/empty'))).length, 0);
      const head = await store.head('roundtrip/empty');
      assert.equal(head?.size, 0);
    });

    it('head reports size and sha256 of a stored object and null for an absent one', async () => {
      const data = payload(1234, 7);
      const info = await store.put('head/a.bin', data);
      const head = await store.head('head/a.bin');
      assert.ok(head);
      assert.equal(head.key, 'head/a.bin');
      assert.equal(head.size, 1234);
      assert.equal(head.sha256, info.sha256);
      assert.equal(await store.head('head/absent.bin'), null);
      // A "folder" of other keys is not an object.
      assert.equal(await store.head('head'), null);
    });

    it('an absent key is NOT_FOUND naming the key', async () => {
      await assertCode(store.get('absent/nothing.bin'), 'NOT_FOUND', 'absent/nothing.bin');
      await assertCode(readVerified(store, 'absent/nothing.bin', sha256Hex(Buffer.alloc(0))), 'NOT_FOUND', 'absent/nothing.bin');
    });

    it('overwrites a key', async () => {
      await store.put('overwrite/a', payload(5000, 8));
      const second = payload(3000, 9);
      const info = await store.put('overwrite/a', second);
      assert.deepEqual(await readAll(await store.get('overwrite/a')), second);
      const head = await store.head('overwrite/a');
      assert.deepEqual({ size: head?.size, sha256: head?.sha256 }, { size: 3000, sha256: info.sha256 });
      assert.deepEqual(await keys(store, 'overwrite/'), ['overwrite/a']);
    });

    it('delete removes an object; deleting an absent key is not an error', async () => {
      await store.put('delete/a', payload(10, 10));
      await store.put('delete/b', payload(10, 11));
      await store.delete('delete/a');
      assert.equal(await store.head('delete/a'), null);
      await assertCode(store.get('delete/a'), 'NOT_FOUND', 'delete/a');
      assert.deepEqual(await keys(store, 'delete/'), ['delete/b']);
      await store.delete('delete/a');
      await store.delete('delete/never/existed');
      // A "folder" of other keys is not an object: deleting it deletes nothing.
      await store.put('delete/folder/inner', payload(5, 19));
      await store.delete('delete/folder');
      assert.equal((await store.head('delete/folder/inner'))?.size, 5);
      // The key can be written again after a delete.
      await store.put('delete/a', payload(20, 12));
      assert.equal((await store.head('delete/a'))?.size, 20);
    });

    it('lists by prefix: folder prefixes, partial names, nothing, everything', async () => {
      const sizes: Record<string, number> = { 'list/a/1': 1, 'list/a/2': 2, 'list/ab': 3, 'list/b/c/d': 4, 'list/b/c/e.bin': 5 };
      const puts: Record<string, ObjectInfo> = {};
      for (const [key, size] of Object.entries(sizes)) puts[key] = await store.put(key, payload(size, size));

      assert.deepEqual(await keys(store, 'list/a/'), ['list/a/1', 'list/a/2']);
      assert.deepEqual(await keys(store, 'list/a'), ['list/a/1', 'list/a/2', 'list/ab']);
      assert.deepEqual(await keys(store, 'list/b/c/'), ['list/b/c/d', 'list/b/c/e.bin']);
      assert.deepEqual(await keys(store, 'list/b/c/e'), ['list/b/c/e.bin']);
      assert.deepEqual(await keys(store, 'list/'), Object.keys(sizes).sort());
      assert.deepEqual(await keys(store, 'list/zzz'), []);
      assert.deepEqual(await keys(store, 'no-such-prefix/'), []);

      const listed = await collect(store.list('list/'));
      for (const info of listed) {
        assert.equal(info.size, sizes[info.key], `size of ${info.key}`);
        if (info.sha256 !== undefined) assert.equal(info.sha256, puts[info.key].sha256, `sha256 of ${info.key}`);
      }

      // Everything: includes ours, and never the store's own bookkeeping (.tmp/, .sha256/, …).
      const all = await keys(store, '');
      for (const key of Object.keys(sizes)) assert.ok(all.includes(key), `list('') includes ${key}`);
      for (const key of all) assert.ok(!key.startsWith('.'), `list('') shows internal entry ${key}`);
    });

    it('artifact keys cannot escape their root', async () => {
      const before = await keys(store, '');
      const badKeys = [
        '',
        '/etc/passwd',
        '../outside',
        'a/../../outside',
        'a/..',
        './a',
        'a/./b',
        '.',
        '..',
        'a//b',
        'a/',
        '..\\outside',
        'a\\b',
        'C:/Windows/system32',
        'a\0b',
        'a\nb',
        'a\u0007b',
        '.tmp/sneaky',
        '.sha256/sneaky',
        'a'.repeat(1025),
        `${'b'.repeat(256)}/c`,
        'bad\ud800surrogate',
      ];
      for (const key of badKeys) {
        const shown = JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key);
        await assertCode(store.put(key, payload(3, 13)), 'INVALID_ARGUMENT', shown);
        await assertCode(store.get(key), 'INVALID_ARGUMENT', shown);
        await assertCode(store.head(key), 'INVALID_ARGUMENT', shown);
        await assertCode(store.delete(key), 'INVALID_ARGUMENT', shown);
      }
      for (const prefix of ['../', '/abs', 'a/../', 'a//', '.tmp/']) {
        await assertCode(collect(store.list(prefix)), 'INVALID_ARGUMENT', JSON.stringify(prefix));
      }
      assert.deepEqual(await keys(store, ''), before, 'rejected keys wrote nothing');
      // The longest valid key still works.
      const longest = `long/${'k'.repeat(200)}/${'l'.repeat(200)}/${'m'.repeat(200)}/${'n'.repeat(200)}/${'o'.repeat(1024 - 5 - 4 * 201)}`;
      assert.equal(Buffer.byteLength(longest), 1024);
      await store.put(longest, payload(4, 14));
      assert.equal((await store.head(longest))?.size, 4);
    });

    it('keys may hold spaces, unicode and URL-special characters', async () => {
      const key = 'odd/names with spaces/ünïcødé 模型/100%?#&+=;@.bin';
      const data = payload(77, 15);
      await store.put(key, data);
      assert.deepEqual(await readAll(await store.get(key)), data);
      assert.deepEqual(await keys(store, 'odd/'), [key]);
    });

    it('readVerified passes good bytes and fails DATA_CORRUPT, naming store and key, on tampered bytes', async () => {
      const key = 'verify/model.onnx';
      const data = payload(300_000, 16);
      const info = await store.put(key, data);
      assert.deepEqual(await readAllVerified(store, key, info.sha256!), data);
      assert.deepEqual(await readAll(await readVerified(store, key, info.sha256!.toUpperCase())), data);

      // Expecting other bytes than were stored is caught the same way.
      await assertCode(readAllVerified(store, key, sha256Hex(Buffer.from('something else'))), 'DATA_CORRUPT', store.uri, key);
      await assertCode(readVerified(store, key, 'not-a-sha'), 'INVALID_ARGUMENT', 'not-a-sha');

      await harness.corrupt(key);
      await assertCode(readAllVerified(store, key, info.sha256!), 'DATA_CORRUPT', store.uri, key);
      // Streaming consumers see the same error at the end of the stream.
      const stream = await readVerified(store, key, info.sha256!);
      await assertCode(readAll(stream), 'DATA_CORRUPT', key);

      // getToFile never leaves a corrupt (or partial) file behind.
      const dir = await mkdtemp(path.join(tmpdir(), 'aimass-conformance-'));
      try {
        const target = path.join(dir, 'sub', 'model.onnx');
        await assertCode(getToFile(store, key, target, info.sha256!), 'DATA_CORRUPT', key);
        assert.deepEqual(await readdir(path.join(dir, 'sub')), [], 'no file and no temporary file left');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      // Nor does copying propagate the corruption: the copy fails and writes nothing.
      await assertCode(copyObject(store, store, key, { toKey: 'verify/copy.onnx', sha256: info.sha256! }), 'DATA_CORRUPT', key);
      assert.equal(await store.head('verify/copy.onnx'), null);
    });

    it('putFile, getToFile and copyObject move artifacts between files and stores', async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'aimass-conformance-'));
      try {
        const data = payload(150_000, 17);
        const source = path.join(dir, 'in.bin');
        await writeFile(source, data);
        const info = await putFile(store, 'files/in.bin', source);
        assert.equal(info.sha256, sha256Hex(data));
        await assertCode(putFile(store, 'files/x', path.join(dir, 'missing.bin')), 'NOT_FOUND', 'missing.bin');

        const copied = await copyObject(store, store, 'files/in.bin', { toKey: 'files/copy.bin' });
        assert.deepEqual({ size: copied.size, sha256: copied.sha256 }, { size: info.size, sha256: info.sha256 });

        const target = path.join(dir, 'out', 'deep', 'copy.bin');
        const got = await getToFile(store, 'files/copy.bin', target, info.sha256);
        assert.equal(got.sha256, info.sha256);
        assert.deepEqual(await readFile(target), data);
        assert.deepEqual(await readdir(path.dirname(target)), ['copy.bin'], 'no temporary file left');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('concurrent puts of different keys all land intact', async () => {
      const datas = Array.from({ length: 12 }, (_, i) => payload(50_000 + i * 37_000, 100 + i));
      const infos = await Promise.all(datas.map((d, i) => store.put(`concurrent/${i}.bin`, i % 2 ? d : Readable.from(chunksOf(d, 16_384)))));
      infos.forEach((info, i) => assert.equal(info.sha256, sha256Hex(datas[i])));
      const back = await Promise.all(datas.map((_, i) => store.get(`concurrent/${i}.bin`).then(readAll)));
      back.forEach((b, i) => assert.ok(b.equals(datas[i]), `concurrent/${i}.bin`));
      assert.equal((await keys(store, 'concurrent/')).length, datas.length);
    });

    for (const failAfter of [100_000, 10 * MiB]) {
      it(`a put whose source fails after ${failAfter} bytes rejects with that error and leaves no object`, async () => {
        const failure = new Error(`source failed after ${failAfter} bytes`);
        const key = `interrupted/${failAfter}.bin`;
        await assert.rejects(store.put(key, failingSource(failAfter, failure)), (e) => {
          assert.equal(e, failure, `rejects with the source's own error, got ${String(e)}`);
          return true;
        });
        assert.equal(await store.head(key), null);
        await assertCode(store.get(key), 'NOT_FOUND', key);
        assert.deepEqual(await keys(store, 'interrupted/'), []);

        // Over an existing object, the old bytes stay.
        const old = payload(999, 18);
        await store.put(key, old);
        await assert.rejects(store.put(key, failingSource(failAfter, failure)));
        assert.deepEqual(await readAll(await store.get(key)), old);
        await store.delete(key);
      });
    }

  });
}

// --- data and helpers ------------------------------------------------------------------------------------------

/** Deterministic pseudo-random bytes, different for each seed. */
function payload(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function* chunksOf(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const GENERATED_BLOCK = randomBytes(MiB);

/** Block `i` of the generated data: the shared random block stamped with its index, fresh each time. */
function generatedBlock(i: number, size: number): Buffer {
  const block = Buffer.from(GENERATED_BLOCK.subarray(0, size));
  block.writeUInt32LE(i, 0);
  return block;
}

function generatedDigest(total: number): string {
  const hash = createHash('sha256');
  for (let i = 0, done = 0; done < total; i++, done += MiB) hash.update(generatedBlock(i, Math.min(MiB, total - done)));
  return hash.digest('hex');
}

/** `total` bytes produced on demand, so the test itself never holds them. */
function generatedStream(total: number, onChunk: () => void): Readable {
  let i = 0;
  let done = 0;
  return new Readable({
    read() {
      onChunk();
      if (done >= total) {
        this.push(null);
        return;
      }
      const size = Math.min(MiB, total - done);
      done += size;
      this.push(generatedBlock(i++, size));
    },
  });
}

function failingSource(bytesBeforeFailure: number, failure: Error): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytesBeforeFailure) {
        this.destroy(failure);
        return;
      }
      const size = Math.min(64 * 1024, bytesBeforeFailure - sent);
      sent += size;
      this.push(payload(size, sent));
    },
  });
}

let gc: (() => void) | undefined;
function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function keys(store: ArtifactStore, prefix: string): Promise<string[]> {
  return (await collect(store.list(prefix))).map((i) => i.key).sort();
}

/** Asserts that `promise` rejects with an AimassError of `code` whose message contains every one of `mentions`. */
export async function assertCode(promise: Promise<unknown>, code: ErrorCode, ...mentions: string[]): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isAimassError(e), `expected AimassError ${code}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    const err = e as AimassError;
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    for (const m of mentions) assert.ok(err.message.includes(m), `message ${JSON.stringify(err.message)} should mention ${JSON.stringify(m)}`);
    return true;
  });
}
