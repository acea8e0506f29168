/**
 * Artifact stores by URI scheme: one registry, one line per backend (as MLflow's artifact repository registry).
 *
 *   file:///abs/root                               FileArtifactStore  (file-store.ts)
 *   s3://bucket/prefix?endpoint=…&region=…         S3ArtifactStore    (s3-store.ts)
 *   hdfs://namenode:9870/root  (also webhdfs://)   HdfsArtifactStore  (hdfs-store.ts, WebHDFS REST)
 *   nats://host:4222/bucket                        NatsArtifactStore  (nats-store.ts, JetStream object store)
 *
 * Opening is synchronous and cheap: it checks the URI and connects nothing. Each backend loads its client library
 * (AWS SDK, NATS, undici) and connects on first use, so a process that only uses file:// pays for none of them.
 *
 * Imports only core/ and this folder.
 */
import { SchemeRegistry } from '../../core/index.js';
import type { ArtifactStore } from './artifact-store.js';
import { FileArtifactStore } from './file-store.js';
import { HdfsArtifactStore } from './hdfs-store.js';
import { NatsArtifactStore } from './nats-store.js';
import { S3ArtifactStore } from './s3-store.js';

export const artifactStores = new SchemeRegistry<ArtifactStore>('artifact store')
  .register('file', (uri) => new FileArtifactStore(uri))
  .register('s3', (uri) => new S3ArtifactStore(uri))
  .register('hdfs', (uri) => new HdfsArtifactStore(uri))
  .register('webhdfs', (uri) => new HdfsArtifactStore(uri))
  .register('nats', (uri) => new NatsArtifactStore(uri));

/** The artifact store for `uri`; UNKNOWN_SCHEME listing the known schemes when none matches. */
export function openArtifactStore(uri: string): ArtifactStore {
  return artifactStores.resolve(uri);
}
