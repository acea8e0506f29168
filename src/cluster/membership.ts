/**
 * Node membership: the `Membership` interface (join, list, watch, drain) and its one implementation over any
 * `MembershipTable`.
 *
 * How it works, for every backend:
 *   - a joined node owns its record (`node.<id>`) and is its only writer: it rewrites it every heartbeat, carrying
 *     its load and state. A node that stops (crash, kill, lost network) stops rewriting it and the table drops it
 *     `ttlMs` later. `leave()` deletes it at once.
 *   - `drain(id)` writes a separate flag (`drain.<id>`); the node sees it through a watch (and, should the watch
 *     lag, at its next heartbeat), switches to `draining` and publishes that in its own record. Keeping the flag
 *     out of the record means no writer ever overwrites another's change, and the record's write time stays the
 *     node's own heartbeat.
 *   - health comes from the age of the record's last write: alive, late, gone. Watchers re-judge it on a ticker,
 *     since an expiring record is not announced by NATS, and re-read the whole table every ~half a late period
 *     (and after a reconnect), since a NATS watch can stall for seconds when its server goes away.
 *   - after a reconnect the table reports it, and every node heartbeats at once, re-creating a record (and the
 *     bucket) the server may have lost.
 *
 * Imports only core/ and this folder.
 */
import { AimassError, silentLogger, type Logger } from '../core/index.js';
import type { MembershipTable, TableEntry, TableWatch } from './membership-table.js';
import {
  initialRecord,
  parseRecord,
  resolveTiming,
  validateLoad,
  validateNodeId,
  viewOf,
  type MembershipTiming,
  type NodeHealth,
  type NodeLoad,
  type NodeRecord,
  type NodeSpec,
  type NodeState,
  type NodeView,
} from './node-record.js';

export type MembershipEvent =
  | { type: 'joined'; node: NodeView }
  /** The record changed other than by a plain heartbeat: load, state, capabilities. */
  | { type: 'updated'; node: NodeView; previous: NodeView }
  | { type: 'health'; node: NodeView; previous: NodeHealth }
  /** The node left (deleted its record), or went silent for longer than the TTL (`health` is then `gone`). */
  | { type: 'left'; node: NodeView };

export interface MembershipWatch {
  /** The live membership as this watch sees it, sorted by id. */
  members(): NodeView[];
  close(): Promise<void>;
}

/** This process's membership as one node: it heartbeats until `leave()`. */
export interface NodeHandle {
  readonly id: string;
  readonly state: NodeState;
  /** The record as last written. */
  readonly record: NodeRecord;
  /** Resolves once the node has been asked to drain (and its state is `draining`). */
  readonly drainRequested: Promise<void>;
  /** Called with each new state; returns an unsubscribe. */
  onStateChange(listener: (state: NodeState) => void): () => void;
  /** Publishes a new load now (and with every following heartbeat). */
  report(load: NodeLoad): Promise<void>;
  /** Writes the record now, outside the regular beat. */
  heartbeat(): Promise<void>;
  /** Announces `leaving`, then removes the record at once. */
  leave(): Promise<void>;
  /**
   * Stops heartbeating without removing the record, as if this process had died: the record expires after the
   * TTL. For handing a node over, and for tests of expiry.
   */
  detach(): void;
}

export interface Membership {
  /** Where membership lives, e.g. `nats://127.0.0.1:4222/aimass_nodes` or `memory:default`. */
  readonly uri: string;
  /** Timing in force (the TTL is the store's, once opened). */
  timing(): Promise<MembershipTiming>;
  /** Joins this process as a node. ALREADY_EXISTS when a live node has the same id. */
  join(spec: NodeSpec): Promise<NodeHandle>;
  /** The live membership, sorted by id, with health as of now. */
  list(): Promise<NodeView[]>;
  get(id: string): Promise<NodeView | null>;
  /** Asks a node to take no new work and finish what it runs. NOT_FOUND when no such node is live. */
  drain(id: string): Promise<void>;
  /** Emits `joined` for every current member before resolving, then every change. */
  watch(listener: (event: MembershipEvent) => void): Promise<MembershipWatch>;
  /** Leaves every node joined through this object, stops watches and closes the store. */
  close(): Promise<void>;
}

export interface TableMembershipOptions {
  /** Heartbeat interval, late threshold and TTL; the TTL is requested when the store is created. */
  timing?: Partial<MembershipTiming>;
  /** Reported by nodes that do not say. */
  version?: string;
  logger?: Logger;
}

const encoder = new TextEncoder();

export class TableMembership implements Membership {
  private readonly requested: MembershipTiming;
  private readonly explicitTtl: boolean;
  private opened: Promise<MembershipTiming> | undefined;
  private readonly nodes = new Set<NodeAgent>();
  private readonly watches = new Set<MembershipWatch>();
  private readonly version: string;
  private readonly logger: Logger;

  constructor(
    private readonly table: MembershipTable,
    options: TableMembershipOptions = {},
  ) {
    this.requested = resolveTiming(options.timing);
    this.explicitTtl = options.timing?.ttlMs !== undefined;
    this.version = options.version ?? '0.0.0';
    this.logger = options.logger ?? silentLogger;
  }

  get uri(): string {
    return this.table.uri;
  }

  timing(): Promise<MembershipTiming> {
    if (this.opened) return this.opened;
    const opening = this.table.open().then(({ ttlMs }) => {
      if (ttlMs === this.requested.ttlMs) return this.requested;
      if (this.explicitTtl) {
        throw new AimassError(
          'CONFLICT',
          `Membership store ${this.uri} already exists with a TTL of ${ttlMs} ms, not the ${this.requested.ttlMs} ms asked for; ask for ${ttlMs} ms or delete the store`,
          { uri: this.uri, ttlMs, requestedTtlMs: this.requested.ttlMs },
        );
      }
      // The store's TTL decides when records vanish; judge health by it.
      return resolveTiming({ heartbeatIntervalMs: Math.min(this.requested.heartbeatIntervalMs, ttlMs / 2), ttlMs });
    });
    this.opened = opening;
    opening.catch(() => {
      if (this.opened === opening) this.opened = undefined;
    });
    return opening;
  }

  async join(spec: NodeSpec): Promise<NodeHandle> {
    const timing = await this.timing();
    const record = initialRecord(spec, this.version);
    const bytes = encoder.encode(JSON.stringify(record));
    if (!(await this.table.create('node', record.id, bytes))) {
      // A record of a node that stopped is replaced; one that still heartbeats is a clash of ids.
      const existing = await this.table.get('node', record.id);
      if (existing && viewOf(parseRecord(existing.value) ?? record, Date.now() - existing.writtenAt, timing).health !== 'gone') {
        throw new AimassError('ALREADY_EXISTS', `A live node with id ${record.id} is already a member of ${this.uri}; give this node another id`, {
          id: record.id,
          uri: this.uri,
        });
      }
      await this.table.put('node', record.id, bytes);
    }
    // A fresh join is a fresh node: a drain flag left for an earlier process with this id does not apply.
    await this.table.delete('drain', record.id);
    const agent = new NodeAgent(this.table, record, timing, this.logger, () => this.nodes.delete(agent));
    this.nodes.add(agent);
    await agent.start();
    return agent;
  }

  async list(): Promise<NodeView[]> {
    const timing = await this.timing();
    const entries = await this.table.entries('node');
    const now = Date.now();
    const views: NodeView[] = [];
    for (const [id, entry] of entries) {
      const view = toView(id, entry, now, timing);
      if (view) views.push(view);
    }
    return views.sort(byId);
  }

  async get(id: string): Promise<NodeView | null> {
    validateNodeId(id);
    const timing = await this.timing();
    const entry = await this.table.get('node', id);
    return entry ? (toView(id, entry, Date.now(), timing) ?? null) : null;
  }

  async drain(id: string): Promise<void> {
    const node = await this.get(id);
    if (!node || node.health === 'gone') {
      throw new AimassError('NOT_FOUND', `No live node ${id} in ${this.uri}; \`aimass cluster status\` lists the nodes`, { id, uri: this.uri });
    }
    await this.table.put('drain', id, encoder.encode(JSON.stringify({ requestedAt: new Date().toISOString() })));
  }

  async watch(listener: (event: MembershipEvent) => void): Promise<MembershipWatch> {
    const timing = await this.timing();
    const members = new Map<string, { view: NodeView; writtenAt: number }>();
    const emit = (event: MembershipEvent) => {
      try {
        listener(event);
      } catch (e) {
        this.logger.error({ err: e }, 'membership watch listener failed');
      }
    };
    const apply = (id: string, entry: TableEntry | null) => {
      const known = members.get(id);
      if (!entry) {
        if (known) {
          members.delete(id);
          emit({ type: 'left', node: known.view });
        }
        return;
      }
      if (known && entry.writtenAt < known.writtenAt) return;
      const view = toView(id, entry, Date.now(), timing);
      // A stale record the store has not dropped yet is no member (and must not rejoin after being called gone).
      if (!view || (!known && view.health === 'gone')) return;
      members.set(id, { view, writtenAt: entry.writtenAt });
      if (!known) emit({ type: 'joined', node: view });
      else if (sameContent(known.view, view)) {
        if (known.view.health !== view.health) emit({ type: 'health', node: view, previous: known.view.health });
      } else emit({ type: 'updated', node: view, previous: known.view });
    };
    // Health changes with time alone; re-judge often enough to notice within a fraction of a heartbeat.
    const tick = () => {
      const now = Date.now();
      for (const [id, known] of members) {
        const view = viewOf(known.view, now - known.writtenAt, timing);
        const previous = known.view.health;
        known.view = view;
        if (view.health === previous) continue;
        emit({ type: 'health', node: view, previous });
        if (view.health === 'gone') {
          members.delete(id);
          emit({ type: 'left', node: view });
        }
      }
    };
    // A full re-read now and then, and after every reconnect: a watch can stall for a while when the server
    // serving it goes away (its consumer is only replaced after missed idle heartbeats), and a stalled watch
    // must not make live nodes look gone.
    const resync = async () => {
      const startedAt = Date.now();
      const entries = await this.table.entries('node');
      for (const [id, entry] of entries) apply(id, entry);
      // Only what was written before the read began can be missing from it because it is gone.
      for (const [id, known] of [...members]) {
        if (entries.has(id) || known.writtenAt >= startedAt) continue;
        if (known.view.state === 'leaving') {
          apply(id, null);
          continue;
        }
        // Vanished without leaving: the store expired it, a moment before the ticker would have called it gone.
        members.delete(id);
        const view: NodeView = { ...viewOf(known.view, Date.now() - known.writtenAt, timing), health: 'gone' };
        emit({ type: 'health', node: view, previous: known.view.health });
        emit({ type: 'left', node: view });
      }
    };
    await resync();
    const tableWatch: TableWatch = await this.table.watch('node', '*', apply);
    let resyncing = false;
    const safeResync = () => {
      if (resyncing) return;
      resyncing = true;
      resync()
        .catch((e) => this.logger.warn({ err: e }, 'membership re-read failed; trying again later'))
        .finally(() => {
          resyncing = false;
        });
    };
    // Often enough that a node heartbeating through a stalled watch never looks late.
    const resyncTimer = setInterval(safeResync, Math.max(timing.heartbeatIntervalMs, (timing.lateAfterMs - timing.heartbeatIntervalMs) / 2));
    resyncTimer.unref();
    const unsubscribeReconnect = this.table.onReconnect(safeResync);
    const ticker = setInterval(tick, Math.max(10, Math.min(timing.heartbeatIntervalMs, timing.lateAfterMs) / 4));
    ticker.unref();
    const watch: MembershipWatch = {
      members: () => [...members.values()].map((m) => m.view).sort(byId),
      close: async () => {
        clearInterval(ticker);
        clearInterval(resyncTimer);
        unsubscribeReconnect();
        this.watches.delete(watch);
        await tableWatch.close();
      },
    };
    this.watches.add(watch);
    return watch;
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes].map((n) => n.leave().catch((e) => this.logger.warn({ err: e, node: n.id }, 'leaving on close failed'))));
    await Promise.all([...this.watches].map((w) => w.close()));
    await this.table.close();
  }
}

/** A joined node: its heartbeat timer, its drain watch, and its record. */
class NodeAgent implements NodeHandle {
  readonly drainRequested: Promise<void>;
  private resolveDrain!: () => void;
  private current: NodeRecord;
  private timer: NodeJS.Timeout | undefined;
  private drainWatch: TableWatch | undefined;
  private unsubscribeReconnect: (() => void) | undefined;
  private readonly listeners = new Set<(state: NodeState) => void>();
  /** Heartbeats run one at a time; a beat asked for meanwhile runs right after. */
  private writing: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly table: MembershipTable,
    record: NodeRecord,
    private readonly timing: MembershipTiming,
    private readonly logger: Logger,
    private readonly onStop: () => void,
  ) {
    this.current = record;
    this.drainRequested = new Promise((resolve) => {
      this.resolveDrain = resolve;
    });
  }

  get id(): string {
    return this.current.id;
  }
  get state(): NodeState {
    return this.current.state;
  }
  get record(): NodeRecord {
    return structuredClone(this.current);
  }

  async start(): Promise<void> {
    this.drainWatch = await this.table.watch('drain', this.id, (_, entry) => {
      if (entry) this.enterDraining();
    });
    this.unsubscribeReconnect = this.table.onReconnect(() => {
      this.heartbeat().catch((e) => this.logger.warn({ err: e, node: this.id }, 'heartbeat after reconnect failed'));
    });
    this.timer = setInterval(() => {
      this.heartbeat().catch((e) => this.logger.warn({ err: e, node: this.id }, 'heartbeat failed; retrying at the next beat'));
    }, this.timing.heartbeatIntervalMs);
    this.timer.unref();
  }

  onStateChange(listener: (state: NodeState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async report(load: NodeLoad): Promise<void> {
    validateLoad(this.id, load);
    this.current = { ...this.current, load: { ...load } };
    await this.heartbeat();
  }

  heartbeat(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.writing) {
      this.again = true;
      return this.writing;
    }
    const run = async () => {
      try {
        // A beat asked for while one failed (say, after a reconnect) still runs: the failure may be stale.
        for (;;) {
          this.again = false;
          try {
            await this.beat();
          } catch (e) {
            if (!this.again || this.stopped) throw e;
          }
          if (!this.again || this.stopped) return;
        }
      } finally {
        this.writing = undefined;
      }
    };
    this.writing = run();
    return this.writing;
  }

  async leave(): Promise<void> {
    if (this.stopped) return;
    this.stop();
    await this.writing?.catch(() => undefined);
    this.setState('leaving');
    try {
      await this.table.put('node', this.id, this.encode());
    } catch (e) {
      // Best effort: the delete below is what matters, and the TTL removes the record if that fails too.
      this.logger.warn({ err: e, node: this.id }, 'announcing leaving failed');
    }
    await this.table.delete('node', this.id);
    await this.table.delete('drain', this.id).catch(() => undefined);
  }

  detach(): void {
    this.stop();
  }

  private stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribeReconnect?.();
    void this.drainWatch?.close().catch(() => undefined);
    this.onStop();
  }

  private async beat(): Promise<void> {
    // The flag is also read here, so a drain is seen within one beat even if the watch missed it (a reconnect).
    if (this.current.state === 'active' && (await this.table.get('drain', this.id))) this.enterDraining(false);
    if (this.stopped) return;
    this.current = { ...this.current, heartbeatAt: new Date().toISOString() };
    await this.table.put('node', this.id, this.encode());
  }

  private enterDraining(publish = true): void {
    if (this.stopped || this.current.state !== 'active') return;
    this.setState('draining');
    this.resolveDrain();
    // Publish at once so lists and watchers see `draining` without waiting for the next beat.
    if (publish) this.heartbeat().catch((e) => this.logger.warn({ err: e, node: this.id }, 'publishing draining failed'));
  }

  private setState(state: NodeState): void {
    if (this.current.state === state) return;
    this.current = { ...this.current, state };
    for (const listener of this.listeners) {
      try {
        listener(state);
      } catch (e) {
        this.logger.error({ err: e, node: this.id }, 'node state listener failed');
      }
    }
  }

  private encode(): Uint8Array {
    return encoder.encode(JSON.stringify(this.current));
  }
}

function toView(id: string, entry: TableEntry, now: number, timing: MembershipTiming): NodeView | undefined {
  const record = parseRecord(entry.value);
  if (!record || record.id !== id) return undefined;
  return viewOf(record, now - entry.writtenAt, timing);
}

/** Same record apart from the heartbeat time (and the health derived from it). */
function sameContent(a: NodeView, b: NodeView): boolean {
  const strip = ({ heartbeatAt: _h, health: _e, heartbeatAgeMs: _a, ...rest }: NodeView) => JSON.stringify(rest);
  return strip(a) === strip(b);
}

function byId(a: NodeView, b: NodeView): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
