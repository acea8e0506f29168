// Artifact stores by URI scheme: each scheme opens its backend (without connecting), unknown ones list the known.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { artifactStores, FileArtifactStore, HdfsArtifactStore, NatsArtifactStore, openArtifactStore, S3ArtifactStore } from './index.js';

test('each scheme opens its backend, synchronously and without connecting', () => {
  const cases: [string, new (...args: never[]) => unknown][] = [
    ['file:///var/aimass/artifacts', FileArtifactStore],
    ['s3://bucket/prefix?endpoint=http://127.0.0.1:1', S3ArtifactStore],
    ['hdfs://namenode:9870/aimass', HdfsArtifactStore],
    ['webhdfs://namenode:9870/aimass', HdfsArtifactStore],
    ['nats://127.0.0.1:1/artifacts', NatsArtifactStore],
    ['S3://bucket', S3ArtifactStore],
  ];
  for (const [uri, backend] of cases) {
    const store = openArtifactStore(uri);
    assert.ok(store instanceof backend, uri);
    assert.equal(store.uri, uri);
  }
  assert.deepEqual(artifactStores.schemes(), ['file', 'hdfs', 'nats', 's3', 'webhdfs']);
});

test('an unknown or missing scheme is UNKNOWN_SCHEME listing the known ones', () => {
  for (const uri of ['gs://bucket/x', '/var/aimass/artifacts', 'artifacts']) {
    assert.throws(
      () => openArtifactStore(uri),
      (e: unknown) => {
        const err = e as { code?: string; message: string };
        assert.equal(err.code, 'UNKNOWN_SCHEME');
        for (const scheme of ['file:', 'hdfs:', 'nats:', 's3:', 'webhdfs:']) assert.ok(err.message.includes(scheme), err.message);
        return true;
      },
      uri,
    );
  }
});
