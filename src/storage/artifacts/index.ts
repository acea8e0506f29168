/**
 * Public entry of `storage/artifacts/`: the artifact store interface, its backends by URI scheme, the key rules,
 * and the helpers written once above the interface (verified reads, files in and out, copies between stores).
 *
 * Owns: where artifact bytes live and that they come back intact. Knows nothing of what the bytes mean (models,
 * datasets); the registry records each artifact's key and sha256 in the metadata store.
 *
 * Imports only core/.
 */
export { hasTemporaryArea, type ArtifactStore, type ObjectInfo, type TemporaryAreaStore } from './artifact-store.js';
export { artifactStores, openArtifactStore } from './registry.js';
export { FileArtifactStore } from './file-store.js';
export { S3ArtifactStore, type S3StoreOptions } from './s3-store.js';
export { HdfsArtifactStore, type HdfsStoreOptions } from './hdfs-store.js';
export { NatsArtifactStore, type NatsStoreOptions } from './nats-store.js';
export { MAX_KEY_BYTES, MAX_SEGMENT_BYTES, isValidKey, keyProblem, prefixFolder, validateKey, validatePrefix } from './keys.js';
export {
  HashingStream,
  artifactNotFound,
  copyObject,
  corruptArtifactError,
  getToFile,
  hashingStream,
  normalizeSha256,
  putFile,
  readAllVerified,
  readVerified,
  toReadable,
  writeStreamToTempFile,
  type CopyObjectOptions,
  type HashResult,
  type HashingStreamOptions,
} from './helpers.js';
