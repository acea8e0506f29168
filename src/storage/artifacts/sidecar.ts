/**
 * The sha256 record kept beside an object by stores whose storage has no metadata of its own (`file://`,
 * `hdfs://`): a small JSON file under `<root>/.sha256/<key>` holding the digest together with the size and
 * modification time of the object file it describes.
 *
 * The object and its record are renamed into place one after the other, so a crash between the two renames, or
 * an edit of the object behind the store's back, can leave a record that describes other bytes. Matching size and
 * modification time catch that: a record that does not match is ignored and `head` reports the sha256 as
 * unknown, never a stale one. (Whoever needs certainty reads with `readVerified` and the sha256 from the
 * registry, which does not depend on this record at all.)
 *
 * Imports nothing of ours.
 */

/** Folder under a store's root that holds the records; reserved by the key rules (leading "."). */
export const SHA256_FOLDER = '.sha256';
/** Folder under a store's root for writes in flight; reserved by the key rules (leading "."). */
export const TEMP_FOLDER = '.tmp';

interface Sha256Record {
  sha256: string;
  size: number;
  /** Modification time of the object file, in the store's own resolution (ms, possibly fractional). */
  modifiedMs: number;
}

export function encodeSha256Record(sha256: string, size: number, modifiedMs: number): string {
  const record: Sha256Record = { sha256, size, modifiedMs };
  return `${JSON.stringify(record)}\n`;
}

/** The sha256 in `text` if it describes an object of this size and modification time, else undefined. */
export function sha256FromRecord(text: string, object: { size: number; modifiedMs: number }): string | undefined {
  let record: Partial<Sha256Record>;
  try {
    record = JSON.parse(text) as Partial<Sha256Record>;
  } catch {
    return undefined;
  }
  if (typeof record.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(record.sha256)) return undefined;
  if (record.size !== object.size || record.modifiedMs !== object.modifiedMs) return undefined;
  return record.sha256;
}
