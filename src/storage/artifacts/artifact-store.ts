// The artifact store interface: a flat namespace of immutable objects under string keys ("models/m/abc/model.onnx"),
// one implementation per URI scheme (file://, s3://, hdfs://, nats://). Implementations stay small; the helpers
// every caller needs (verified reads, files in and out, copying between stores) are written once in helpers.ts.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  /** Hex sha256 of the bytes, computed while writing; stores that cannot keep it return undefined from list. */
  sha256?: string;
  modifiedAt?: Date;
}

export interface ArtifactStore {
  /** The URI the store was opened with (`file:///var/aimass/artifacts`, `s3://bucket/prefix`, …). */
  readonly uri: string;
  /**
   * Writes `source` under `key`, streaming (bounded memory for any size) and atomically: until put resolves no
   * reader sees the key, and a failed or killed put leaves no object under it. Returns size and sha256 of what
   * was written. Overwrites an existing key (callers keep keys unique; versions are never overwritten).
   */
  put(key: string, source: Readable | Uint8Array): Promise<ObjectInfo>;
  /** The object's bytes as a stream; NOT_FOUND naming the key when absent. Use readVerified to check a sha256. */
  get(key: string): Promise<Readable>;
  /** Size (and sha256 when known) of an object, or null when absent. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, in no promised order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Removes an object; removing an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/**
 * Optional capability of stores that stage each put in a temporary area of their own (file://): a writer killed
 * mid-put leaves its half-written file there, where `list` never shows it, so garbage collection asks the store
 * for it instead.
 */
export interface TemporaryAreaStore {
  /**
   * Temporary files not written to for at least `olderThanMs` (a live put keeps its file fresh), as `.tmp/<name>`
   * keys; removed, unless `dryRun`.
   */
  sweepTemporary(o: { olderThanMs: number; dryRun?: boolean }): Promise<ObjectInfo[]>;
}

export function hasTemporaryArea(store: ArtifactStore): store is ArtifactStore & TemporaryAreaStore {
  return typeof (store as Partial<TemporaryAreaStore>).sweepTemporary === 'function';
}
