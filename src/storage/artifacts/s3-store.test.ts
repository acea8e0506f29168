// s3:// artifact store: the conformance suite against a real S3-protocol server (s3rver, in process), plus what is
// particular to S3: the sha256 as x-amz-meta-sha256, no leftovers of multipart uploads, configuration from the
// URI and the AWS_* environment, and how server and network failures map to error codes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { assertCode, runArtifactStoreConformance } from '../../../test/support/artifact-store-conformance.js';
import { freePort } from '../../../test/support/ports.js';
import { startS3Server, type TestS3Server } from '../../../test/support/s3-server.js';
import { openArtifactStore, S3ArtifactStore } from './index.js';

const BUCKET = 'artifacts';
let server: TestS3Server;
let raw: S3Client;

before(async () => {
  server = await startS3Server([BUCKET]);
  // The store takes credentials from the standard AWS variables, as in production.
  process.env.AWS_ACCESS_KEY_ID = server.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = server.secretAccessKey;
  raw = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
});
after(async () => {
  raw?.destroy();
  await server?.close();
});

let storeCount = 0;
/** A store on its own prefix of the shared bucket. */
function openStore(): S3ArtifactStore {
  return openArtifactStore(`s3://${BUCKET}/stores/${++storeCount}?endpoint=${server.endpoint}&region=us-east-1`) as S3ArtifactStore;
}

runArtifactStoreConformance('s3://', async () => {
  const store = openStore();
  return {
    store,
    corrupt: async (key) => {
      // Rewrite the object with one byte flipped, keeping its metadata (and so its recorded sha256).
      const object = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: store.root + key }));
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      bytes[10] ^= 0xff;
      await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: store.root + key, Body: bytes, Metadata: object.Metadata }));
    },
    cleanup: () => store.close(),
  };
});

describe('s3:// specifics', () => {
  it('keeps the sha256 as x-amz-meta-sha256 for single and multipart uploads, and leaves no temporary objects', async () => {
    const store = openStore();
    const small = await store.put('meta/small.bin', Buffer.alloc(1000, 1));
    const large = await store.put('meta/large.bin', Buffer.alloc(12 * 1024 * 1024 + 3, 2)); // two parts
    for (const info of [small, large]) {
      const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: store.root + info.key }));
      assert.equal(head.Metadata?.sha256, info.sha256);
      assert.equal(head.ContentLength, info.size);
    }
    const all = await raw.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: store.root }));
    assert.deepEqual(all.Contents?.map((o) => o.Key?.slice(store.root.length)).sort(), ['meta/large.bin', 'meta/small.bin']);
    await store.close();
  });

  it('stores at the bucket root when the URI has no prefix, and hides foreign keys it cannot address', async () => {
    const store = openArtifactStore(`s3://${BUCKET}?endpoint=${server.endpoint}`) as S3ArtifactStore;
    assert.equal(store.root, '');
    await store.put('root-level/x.bin', Buffer.from('x'));
    // A "folder marker" as S3 consoles create them: no valid key addresses it.
    await raw.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'root-level/folder/', Body: Buffer.alloc(0) }));
    const keys: string[] = [];
    for await (const info of store.list('root-level/')) keys.push(info.key);
    assert.deepEqual(keys, ['root-level/x.bin']);
    await store.close();
  });

  it('connection refused is UNAVAILABLE naming the endpoint', async () => {
    const port = await freePort(); // nothing listens on it
    const store = openArtifactStore(`s3://${BUCKET}?endpoint=http://127.0.0.1:${port}&maxAttempts=1`);
    await assertCode(store.head('a'), 'UNAVAILABLE', `127.0.0.1:${port}`, 'ECONNREFUSED');
    await assertCode(store.put('a', Buffer.from('x')), 'UNAVAILABLE', `127.0.0.1:${port}`);
    await store.close();
  });

  it('a missing bucket is NOT_FOUND naming it; wrong credentials are UNAUTHENTICATED', async () => {
    const missing = openArtifactStore(`s3://no-such-bucket/p?endpoint=${server.endpoint}`);
    await assertCode(missing.put('a', Buffer.from('x')), 'NOT_FOUND', 'no-such-bucket');
    await missing.close();

    // s3rver checks the access key id but not SigV4 signatures, so an unknown key stands for bad credentials.
    const wrong = new S3ArtifactStore(`s3://${BUCKET}/p?endpoint=${server.endpoint}`, {
      credentials: { accessKeyId: 'AKIANOSUCHKEY', secretAccessKey: 'whatever' },
    });
    await assertCode(wrong.put('a', Buffer.from('x')), 'UNAUTHENTICATED', 'AWS_ACCESS_KEY_ID');
    await wrong.close();
  });

  it('reads the endpoint from AWS_ENDPOINT_URL_S3 and the region from AWS_REGION', () => {
    const saved = { endpoint: process.env.AWS_ENDPOINT_URL_S3, region: process.env.AWS_REGION };
    try {
      process.env.AWS_ENDPOINT_URL_S3 = 'http://10.1.2.3:9000';
      process.env.AWS_REGION = 'eu-west-3';
      const store = openArtifactStore('s3://bucket/prefix/') as S3ArtifactStore;
      assert.deepEqual([store.endpoint, store.region, store.bucket, store.root], ['http://10.1.2.3:9000', 'eu-west-3', 'bucket', 'prefix/']);
      // The URI wins over the environment.
      const explicit = openArtifactStore('s3://bucket?endpoint=http://127.0.0.1:1&region=us-east-2') as S3ArtifactStore;
      assert.deepEqual([explicit.endpoint, explicit.region], ['http://127.0.0.1:1', 'us-east-2']);
    } finally {
      restoreEnv('AWS_ENDPOINT_URL_S3', saved.endpoint);
      restoreEnv('AWS_REGION', saved.region);
    }
  });

  it('rejects URIs with credentials, ports, unknown parameters or bad prefixes', () => {
    for (const uri of ['s3://AKIA:secret@bucket/p', 's3://bucket:9000/p', 's3://bucket/p?endpont=http://x', 's3://bucket/a//b', 's3:///p']) {
      assert.throws(() => openArtifactStore(uri), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT', uri);
    }
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
