/**
 * The in-process membership table, for the embedded default (one node: this process) and for tests: a map whose
 * values expire `ttlMs` after their last write, as NATS KV records do. Tables are shared by name within the
 * process, so everything that opens `memory:default` sees the same nodes.
 *
 * Like NATS, it does not announce expiry to watchers (membership judges age itself); writes and deletes are
 * announced asynchronously, as a network store would.
 *
 * Imports nothing of ours.
 */
import type { KeyFamily, MembershipTable, TableEntry, TableWatch } from './membership-table.js';

interface Stored extends TableEntry {
  expiry: NodeJS.Timeout;
}

interface Watcher {
  family: KeyFamily;
  id: string;
  onChange: (id: string, entry: TableEntry | null) => void;
}

/** The data behind all `MemoryTable`s of one name in this process. */
class SharedTable {
  readonly values = new Map<string, Stored>();
  readonly watchers = new Set<Watcher>();

  constructor(readonly ttlMs: number) {}

  write(family: KeyFamily, id: string, value: Uint8Array): void {
    const key = `${family}.${id}`;
    clearTimeout(this.values.get(key)?.expiry);
    const expiry = setTimeout(() => this.values.delete(key), this.ttlMs);
    expiry.unref();
    const entry = { value: Uint8Array.from(value), writtenAt: Date.now() };
    this.values.set(key, { ...entry, expiry });
    this.announce(family, id, entry);
  }

  remove(family: KeyFamily, id: string): void {
    const key = `${family}.${id}`;
    const stored = this.values.get(key);
    if (!stored) return;
    clearTimeout(stored.expiry);
    this.values.delete(key);
    this.announce(family, id, null);
  }

  read(family: KeyFamily, id: string): TableEntry | null {
    const stored = this.values.get(`${family}.${id}`);
    return stored ? { value: Uint8Array.from(stored.value), writtenAt: stored.writtenAt } : null;
  }

  private announce(family: KeyFamily, id: string, entry: TableEntry | null): void {
    for (const watcher of this.watchers) {
      if (watcher.family === family && (watcher.id === '*' || watcher.id === id)) {
        queueMicrotask(() => {
          if (this.watchers.has(watcher)) watcher.onChange(id, entry && { value: Uint8Array.from(entry.value), writtenAt: entry.writtenAt });
        });
      }
    }
  }
}

const tables = new Map<string, SharedTable>();

export class MemoryTable implements MembershipTable {
  readonly uri: string;
  private readonly shared: SharedTable;

  /** The first opener of a name sets its TTL; later openers share it. */
  constructor(name: string, ttlMs: number) {
    this.uri = `memory:${name}`;
    let shared = tables.get(name);
    if (!shared) {
      shared = new SharedTable(ttlMs);
      tables.set(name, shared);
    }
    this.shared = shared;
  }

  async open(): Promise<{ ttlMs: number }> {
    return { ttlMs: this.shared.ttlMs };
  }

  async put(family: KeyFamily, id: string, value: Uint8Array): Promise<void> {
    this.shared.write(family, id, value);
  }

  async create(family: KeyFamily, id: string, value: Uint8Array): Promise<boolean> {
    if (this.shared.read(family, id)) return false;
    this.shared.write(family, id, value);
    return true;
  }

  async get(family: KeyFamily, id: string): Promise<TableEntry | null> {
    return this.shared.read(family, id);
  }

  async delete(family: KeyFamily, id: string): Promise<void> {
    this.shared.remove(family, id);
  }

  async entries(family: KeyFamily): Promise<Map<string, TableEntry>> {
    const found = new Map<string, TableEntry>();
    const prefix = `${family}.`;
    for (const key of this.shared.values.keys()) {
      if (!key.startsWith(prefix)) continue;
      const id = key.slice(prefix.length);
      const entry = this.shared.read(family, id);
      if (entry) found.set(id, entry);
    }
    return found;
  }

  async watch(family: KeyFamily, id: string, onChange: (id: string, entry: TableEntry | null) => void): Promise<TableWatch> {
    const watcher: Watcher = { family, id, onChange };
    this.shared.watchers.add(watcher);
    // Current values first, as a NATS KV watch delivers them.
    const current = id === '*' ? await this.entries(family) : new Map([[id, this.shared.read(family, id)]]);
    for (const [key, entry] of current) if (entry) onChange(key, entry);
    return {
      close: async () => {
        this.shared.watchers.delete(watcher);
      },
    };
  }

  onReconnect(): () => void {
    // Nothing to reconnect to.
    return () => undefined;
  }

  async close(): Promise<void> {}
}
