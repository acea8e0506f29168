/**
 * The membership table in a NATS JetStream KV bucket (`nats://host:4222[,host2:4222]/bucket[?replicas=3]`):
 * keys `node.<id>` and `drain.<id>`, one value each (history 1), file storage, `replicas` copies in a JetStream
 * cluster.
 *
 * Expiry: nats-server 2.9 (the one on these machines) has no per-message TTL (that came in 2.11 with
 * `allow_msg_ttl`), so the bucket's max age is the TTL: every write restarts a key's clock, a node's heartbeat
 * keeps its record, and a silent node's record is dropped by the server `ttlMs` after its last write. The server
 * does not announce that drop to watchers, so membership judges age from the server's write timestamp.
 *
 * Failures: a reconnect is reported to membership (nodes then heartbeat at once); a write that finds no bucket
 * (a server that lost its store) re-creates the bucket and writes again.
 *
 * Imports only core/ and this folder; the NATS client is loaded on first use.
 */
import type { KV, KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { silentLogger, type Logger } from '../core/index.js';
import type { KeyFamily, MembershipTable, TableEntry, TableWatch } from './membership-table.js';
import { connectNats, isUnreachable, natsFailure, parseNatsTarget, type NatsTarget } from './nats-connection.js';

export interface NatsKvTableOptions {
  /** TTL asked for when the bucket is created. */
  ttlMs: number;
  /** Copies in a JetStream cluster (1, 3 or 5); default the URI's `replicas` parameter, else 1. */
  replicas?: number;
  /** Use this connection instead of opening one (it is not closed by `close()`). */
  connection?: NatsConnection;
  connectTimeoutMs?: number;
  logger?: Logger;
}

export const DEFAULT_MEMBERSHIP_BUCKET = 'aimass_nodes';

export class NatsKvTable implements MembershipTable {
  readonly uri: string;
  readonly bucket: string;
  readonly replicas: number;
  private readonly target: NatsTarget;
  private nc: NatsConnection | undefined;
  private kv: Promise<KV> | undefined;
  private opening: Promise<{ ttlMs: number }> | undefined;
  private readonly reconnectListeners = new Set<() => void>();
  private readonly watches = new Set<TableWatch>();
  private closed = false;
  private readonly logger: Logger;

  constructor(
    uri: string,
    private readonly options: NatsKvTableOptions,
  ) {
    this.target = parseNatsTarget(uri);
    this.bucket = this.target.name || DEFAULT_MEMBERSHIP_BUCKET;
    this.uri = this.target.name ? this.target.uri : this.target.uri.replace(/(\?|$)/, `/${this.bucket}$1`);
    this.replicas = options.replicas ?? Number(this.target.params.get('replicas') ?? 1);
    this.logger = options.logger ?? silentLogger;
  }

  open(): Promise<{ ttlMs: number }> {
    if (this.opening) return this.opening;
    const opening = (async () => {
      this.nc = this.options.connection ?? (await connectNats(this.target, { connectTimeoutMs: this.options.connectTimeoutMs, name: 'aimass-membership' }));
      this.followStatus(this.nc);
      const kv = await this.bucketHandle();
      try {
        return { ttlMs: (await kv.status()).ttl };
      } catch (e) {
        throw natsFailure(e, this.target, `reading bucket ${this.bucket}`);
      }
    })();
    this.opening = opening;
    opening.catch(() => {
      if (this.opening === opening) this.opening = undefined;
    });
    return opening;
  }

  async put(family: KeyFamily, id: string, value: Uint8Array): Promise<void> {
    await this.write(`writing ${family}.${id}`, (kv) => kv.put(`${family}.${id}`, value));
  }

  async create(family: KeyFamily, id: string, value: Uint8Array): Promise<boolean> {
    try {
      await this.write(`creating ${family}.${id}`, (kv) => kv.create(`${family}.${id}`, value));
      return true;
    } catch (e) {
      if (isWrongLastSequence(e)) return false;
      throw e;
    }
  }

  async get(family: KeyFamily, id: string): Promise<TableEntry | null> {
    const kv = await this.ready();
    try {
      return toEntry(await kv.get(`${family}.${id}`));
    } catch (e) {
      throw natsFailure(e, this.target, `reading ${family}.${id}`);
    }
  }

  async delete(family: KeyFamily, id: string): Promise<void> {
    await this.write(`deleting ${family}.${id}`, (kv) => kv.delete(`${family}.${id}`));
  }

  async entries(family: KeyFamily): Promise<Map<string, TableEntry>> {
    const kv = await this.ready();
    const found = new Map<string, TableEntry>();
    try {
      // The stream's subject list, not `kv.keys()`: that makes an ephemeral consumer, which a 2.9 cluster may
      // place on a server that is down, and the listing then hangs until it times out.
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const jsm = await jetstreamManager(this.nc!);
      const prefix = `$KV.${this.bucket}.${family}.`;
      const info = await jsm.streams.info(`KV_${this.bucket}`, { subjects_filter: `${prefix}*` });
      const ids = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
      const entries = await Promise.all(ids.map((id) => kv.get(`${family}.${id}`)));
      ids.forEach((id, i) => {
        const entry = toEntry(entries[i]);
        if (entry) found.set(id, entry);
      });
    } catch (e) {
      throw natsFailure(e, this.target, `listing ${family} keys`);
    }
    return found;
  }

  async watch(family: KeyFamily, id: string, onChange: (id: string, entry: TableEntry | null) => void): Promise<TableWatch> {
    await this.ready();
    let stopped = false;
    let iterator: Awaited<ReturnType<KV['watch']>> | undefined;
    const follow = async (): Promise<void> => {
      while (!stopped && !this.closed) {
        try {
          iterator = await (await this.ready()).watch({ key: `${family}.${id}` });
          if (stopped) iterator.stop();
          for await (const entry of iterator) {
            onChange(entry.key.slice(family.length + 1), toEntry(entry));
          }
        } catch (e) {
          if (!stopped) this.logger.warn({ err: e, bucket: this.bucket }, 'membership watch failed; watching again');
        }
        // An ordered consumer ends only when its stream went away; wait a moment and watch the new one.
        if (!stopped && !this.closed) await new Promise((resolve) => setTimeout(resolve, 250));
      }
    };
    void follow();
    const watch: TableWatch = {
      close: async () => {
        stopped = true;
        this.watches.delete(watch);
        iterator?.stop();
      },
    };
    this.watches.add(watch);
    return watch;
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.close()));
    if (!this.options.connection) await this.nc?.close().catch(() => undefined);
  }

  private async ready(): Promise<KV> {
    await this.open();
    return this.bucketHandle();
  }

  /** The bucket, created with our settings if missing; `fresh` asks again (after the server lost it). */
  private bucketHandle(fresh = false): Promise<KV> {
    if (this.kv && !fresh) return this.kv;
    const nc = this.nc!;
    const handle = (async () => {
      const [{ Kvm }, { jetstream }] = await Promise.all([import('@nats-io/kv'), import('@nats-io/jetstream')]);
      // Creating a replicated stream takes a while in a cluster: the default timeout (5 s).
      // Reads and writes then use a short one: a request sent just before a server went away is never answered,
      // and it must fail well inside a TTL so the next heartbeat, on the new connection, still lands in time.
      const timeout = Math.min(5000, Math.max(500, Math.round(this.options.ttlMs / 2)));
      try {
        await new Kvm(nc).create(this.bucket, {
          ttl: this.options.ttlMs,
          history: 1,
          replicas: this.replicas,
          storage: 'file',
          description: 'AI Mass node membership: node.<id> records and drain.<id> flags',
        });
        return await new Kvm(jetstream(nc, { timeout })).open(this.bucket);
      } catch (e) {
        throw natsFailure(e, this.target, `opening bucket ${this.bucket}`);
      }
    })();
    this.kv = handle;
    handle.catch(() => {
      if (this.kv === handle) this.kv = undefined;
    });
    return handle;
  }

  private async write(doing: string, op: (kv: KV) => Promise<unknown>): Promise<void> {
    const kv = await this.ready();
    try {
      await op(kv);
    } catch (e) {
      if (isWrongLastSequence(e) || isUnreachable(e) || this.closed) throw wrapUnlessSequence(e, this.target, doing);
      // Most likely the bucket is gone (a server restarted without its store): make it again and retry once.
      this.logger.warn({ err: e, bucket: this.bucket }, `${doing} failed; re-creating the bucket and retrying`);
      try {
        await op(await this.bucketHandle(true));
      } catch (again) {
        throw wrapUnlessSequence(again, this.target, doing);
      }
    }
  }

  private followStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type !== 'reconnect') continue;
        for (const listener of this.reconnectListeners) listener();
      }
    })().catch(() => undefined);
  }
}

function toEntry(entry: KvEntry | null): TableEntry | null {
  if (!entry || entry.operation !== 'PUT') return null;
  return { value: entry.value, writtenAt: entry.created.getTime() };
}

function isWrongLastSequence(e: unknown): boolean {
  const err = e as { code?: unknown; message?: string };
  return err.code === 10071 || /wrong last sequence/i.test(err.message ?? '');
}

/** The wrong-last-sequence error stays as it is, for `create` to recognise; others become AimassErrors. */
function wrapUnlessSequence(e: unknown, target: NatsTarget, doing: string): unknown {
  return isWrongLastSequence(e) ? e : natsFailure(e, target, doing);
}
