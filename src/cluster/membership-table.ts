/**
 * The tiny store a membership backend provides: keys in two families (`node` records, `drain` flags) that vanish
 * `ttlMs` after their last write, read, listed and watched. `TableMembership` (membership.ts) builds joins,
 * heartbeats, drain, health and watching once above it, so the NATS KV and in-process backends share that logic
 * and differ only here.
 *
 * Imports nothing of ours.
 */

export type KeyFamily = 'node' | 'drain';

export interface TableEntry {
  value: Uint8Array;
  /** When the value was written, in ms since the epoch, by the store's clock. */
  writtenAt: number;
}

export interface TableWatch {
  close(): Promise<void>;
}

export interface MembershipTable {
  /** Where the table lives, for messages (secrets redacted). */
  readonly uri: string;
  /**
   * Connects and creates the table if needed. Resolves to the TTL the table enforces: an existing table keeps the
   * TTL it was made with, which may differ from the one asked for.
   */
  open(): Promise<{ ttlMs: number }>;
  put(family: KeyFamily, id: string, value: Uint8Array): Promise<void>;
  /** Writes only when the key holds no value; resolves false when it does. */
  create(family: KeyFamily, id: string, value: Uint8Array): Promise<boolean>;
  get(family: KeyFamily, id: string): Promise<TableEntry | null>;
  /** Removes the key now; watchers see it (`entry` null). */
  delete(family: KeyFamily, id: string): Promise<void>;
  /** All live keys of a family, by id. */
  entries(family: KeyFamily): Promise<Map<string, TableEntry>>;
  /**
   * Calls `onChange` with the current value of every matching key, then with each later write and delete. Values
   * that expire by TTL may vanish without a call (NATS does not announce expiry), so readers judge age themselves.
   * `id` `*` matches every key of the family.
   */
  watch(family: KeyFamily, id: string, onChange: (id: string, entry: TableEntry | null) => void): Promise<TableWatch>;
  /** Called after the connection to the store came back, so writers re-put what they own. Returns an unsubscribe. */
  onReconnect(listener: () => void): () => void;
  close(): Promise<void>;
}
