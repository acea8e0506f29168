// nats:// artifact store: the conformance suite against the real nats-server with JetStream (127.0.0.1:4222, or
// AIMASS_TEST_NATS_URL), in a bucket of its own that is destroyed afterwards, plus what is particular to NATS:
// the sha256 is the object store's own digest, corrupt chunks are caught by get itself, and connection failures.
// Without a reachable server the tests skip, printing why; with CI set they fail instead.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { assertCode, runArtifactStoreConformance } from '../../../test/support/artifact-store-conformance.js';
import { NatsArtifactStore, openArtifactStore } from './index.js';
import { sha256FromDigest, toNatsName } from './nats-store.js';

const SERVER = process.env.AIMASS_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const BUCKET = `aimass-test-${process.pid}-${Date.now().toString(36)}`;

/** Why NATS with JetStream cannot be used, or undefined when it can. */
async function probe(): Promise<string | undefined> {
  try {
    const nc = await connect({ servers: new URL(SERVER).host, timeout: 2000 });
    try {
      await (await jetstreamManager(nc)).getAccountInfo();
    } finally {
      await nc.close();
    }
    return undefined;
  } catch (e) {
    return `NATS with JetStream not reachable at ${SERVER} (${(e as Error).message}); start nats-server -js or set AIMASS_TEST_NATS_URL`;
  }
}

const unavailable = await probe();

/** A raw connection to the same bucket, to reach behind the store's back. */
let raw: { nc: NatsConnection; jsm: JetStreamManager; os: ObjectStore } | undefined;
async function rawBucket(): Promise<NonNullable<typeof raw>> {
  if (!raw) {
    const nc = await connect({ servers: new URL(SERVER).host });
    raw = { nc, jsm: await jetstreamManager(nc), os: await new Objm(nc).create(BUCKET) };
  }
  return raw;
}

after(async () => {
  if (unavailable) return;
  const { jsm, nc } = await rawBucket();
  await jsm.streams.delete(`OBJ_${BUCKET}`).catch(() => undefined);
  await nc.close();
});

runArtifactStoreConformance(
  'nats://',
  async () => {
    const store = openArtifactStore(`${SERVER}/${BUCKET}/conformance`) as NatsArtifactStore;
    return { store, corrupt: (key) => corruptChunk(store.root + key), cleanup: () => store.close() };
  },
  { unavailable },
);

describe('nats:// specifics', { skip: unavailable }, () => {
  let store: NatsArtifactStore;
  before(() => {
    store = openArtifactStore(`${SERVER}/${BUCKET}/specifics`) as NatsArtifactStore;
  });
  after(() => store?.close());

  it('names objects <prefix>/<key> in the bucket and reports the object store digest as the sha256', async () => {
    const info = await store.put('models/m.onnx', Buffer.alloc(300_000, 3));
    const stored = await (await rawBucket()).os.info('specifics/models/m.onnx');
    assert.ok(stored);
    assert.equal(sha256FromDigest(stored.digest), info.sha256);
    assert.equal(stored.size, 300_000);
  });

  it('names objects so that other NATS clients find them by their UTF-8 names', async () => {
    await store.put('unicode/模型 ü.bin', Buffer.from('x'));
    // The subject of the metadata is base64url of the UTF-8 name, as the Go client and the nats CLI compute it.
    const padded = Buffer.from('specifics/unicode/模型 ü.bin', 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    const subject = `$O.${BUCKET}.M.${padded}`;
    const { jsm } = await rawBucket();
    const meta = await jsm.streams.getMessage(`OBJ_${BUCKET}`, { last_by_subj: subject });
    assert.ok(meta, subject);
    const keys: string[] = [];
    for await (const info of store.list('unicode/')) keys.push(info.key);
    assert.deepEqual(keys, ['unicode/模型 ü.bin']);
  });

  it('get itself fails DATA_CORRUPT when the stored chunks no longer match the digest', async () => {
    await store.put('corrupt/a.bin', Buffer.alloc(400_000, 4));
    await corruptChunk('specifics/corrupt/a.bin');
    const body = await store.get('corrupt/a.bin');
    await assertCode(
      (async () => {
        for await (const chunk of body) void chunk;
      })(),
      'DATA_CORRUPT',
      'corrupt/a.bin',
      store.uri,
    );
  });

  it('an unreachable server is UNAVAILABLE naming it', async () => {
    const down = openArtifactStore('nats://127.0.0.1:1/artifacts');
    await assertCode(down.head('a'), 'UNAVAILABLE', '127.0.0.1:1');
    await down.close();
  });

  it('parses and redacts URIs', () => {
    const withPassword = new NatsArtifactStore('nats://alice:s3cret@nats.example:4333/models/prod');
    assert.deepEqual([withPassword.server, withPassword.bucket, withPassword.root], ['nats.example:4333', 'models', 'prod/']);
    assert.ok(!withPassword.uri.includes('s3cret'), withPassword.uri);
    assert.ok(!new NatsArtifactStore('nats://tok3n@nats.example/b').uri.includes('tok3n'));
    assert.equal(new NatsArtifactStore('nats://nats.example/b').server, 'nats.example:4222');
    for (const uri of ['nats://127.0.0.1:4222', 'nats://127.0.0.1:4222/bad.bucket', 'nats://h/b?x=1', 'nats:///b']) {
      assert.throws(() => openArtifactStore(uri), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT', uri);
    }
  });
});

/**
 * Replaces the object's first chunk with a copy that has one byte flipped, appended at the end of the stream, as
 * a buggy or malicious writer could: the chunks no longer hash to the recorded digest.
 */
async function corruptChunk(name: string): Promise<void> {
  const { nc, jsm, os } = await rawBucket();
  const info = await os.info(toNatsName(name));
  assert.ok(info, `object ${name} exists`);
  const subject = `$O.${BUCKET}.C.${info.nuid}`;
  const query = { seq: 1, next_by_subj: subject };
  const first = await jsm.streams.getMessage(`OBJ_${BUCKET}`, query);
  assert.ok(first, `first chunk of ${name}`);
  const tampered = Uint8Array.from(first.data);
  tampered[10] ^= 0xff;
  await jsm.streams.deleteMessage(`OBJ_${BUCKET}`, first.seq);
  await jetstream(nc).publish(subject, tampered);
}
