/**
 * What a node is: the record a worker process publishes about itself (identity, declared capabilities, current
 * load, lifecycle state, timestamps), how a record is checked when read back, and how its health follows from the
 * age of its last heartbeat. Shared by every membership backend.
 *
 * Imports only core/.
 */
import { hostname } from 'node:os';
import { AimassError, newId } from '../core/index.js';

/** A node's lifecycle, set by the node itself: `draining` once asked to take no new work, `leaving` on the way out. */
export const NODE_STATES = ['active', 'draining', 'leaving'] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** From the heartbeat's age: `alive` within `lateAfterMs`, `late` until `ttlMs`, then `gone` (about to vanish). */
export const NODE_HEALTHS = ['alive', 'late', 'gone'] as const;
export type NodeHealth = (typeof NODE_HEALTHS)[number];

/** What kind of task a node takes; `any` takes both. */
export const NODE_KINDS = ['image', 'text', 'any'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

export interface NodeCapabilities {
  cpuThreads: number;
  memoryMb: number;
  kinds: NodeKind[];
  /** Free-form placement labels, e.g. `{ gpu: 'none', zone: 'rack-2' }` (node affinity). */
  labels: Record<string, string>;
}

export interface NodeLoad {
  runningTasks: number;
  freeCpuThreads: number;
  freeMemoryMb: number;
}

/** What a node publishes about itself, as stored (JSON) by every backend. */
export interface NodeRecord {
  id: string;
  host: string;
  pid: number;
  capabilities: NodeCapabilities;
  load: NodeLoad;
  state: NodeState;
  /** ISO 8601, the node's clock. */
  startedAt: string;
  /** ISO 8601, the node's clock, at its last heartbeat. */
  heartbeatAt: string;
  /** AI Mass version the node runs. */
  version: string;
}

/** A record as seen by a reader, with its health at the moment it was read. */
export interface NodeView extends NodeRecord {
  health: NodeHealth;
  /**
   * Milliseconds since the record was last written, by the store's clock where it has one (the NATS server stamps
   * each message), so nodes with skewed clocks are judged alike.
   */
  heartbeatAgeMs: number;
}

/** What a process says about itself when it joins; everything but the capabilities has a default. */
export interface NodeSpec {
  /** Letters, digits, `-` and `_`; default a fresh `node-…` id. */
  id?: string;
  host?: string;
  pid?: number;
  capabilities: Partial<NodeCapabilities> & Pick<NodeCapabilities, 'cpuThreads' | 'memoryMb'>;
  /** Default: nothing running, everything free. */
  load?: NodeLoad;
  version?: string;
}

/** How often nodes heartbeat, and when a silent one is late and then gone. */
export interface MembershipTiming {
  heartbeatIntervalMs: number;
  /** A node whose last heartbeat is older than this is `late`. */
  lateAfterMs: number;
  /** A node whose last heartbeat is older than this is `gone`, and its record is removed. */
  ttlMs: number;
}

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 2000;
export const DEFAULT_TTL_MS = 10_000;

/** Fills in `lateAfterMs` (2.5 heartbeats) and checks that a node gets at least two heartbeats into its TTL. */
export function resolveTiming(partial: Partial<MembershipTiming> = {}): MembershipTiming {
  const heartbeatIntervalMs = partial.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const ttlMs = partial.ttlMs ?? Math.max(DEFAULT_TTL_MS, 5 * heartbeatIntervalMs);
  const lateAfterMs = partial.lateAfterMs ?? Math.min(Math.round(2.5 * heartbeatIntervalMs), ttlMs);
  for (const [name, value] of Object.entries({ heartbeatIntervalMs, ttlMs, lateAfterMs })) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new AimassError('INVALID_ARGUMENT', `Membership ${name} must be a positive number of milliseconds, got ${value}`, { [name]: value });
    }
  }
  if (ttlMs < 2 * heartbeatIntervalMs || lateAfterMs > ttlMs) {
    throw new AimassError(
      'INVALID_ARGUMENT',
      `Membership timing needs heartbeatIntervalMs * 2 <= ttlMs and lateAfterMs <= ttlMs (got interval ${heartbeatIntervalMs}, late ${lateAfterMs}, ttl ${ttlMs}); otherwise one lost heartbeat drops a live node`,
      { heartbeatIntervalMs, lateAfterMs, ttlMs },
    );
  }
  return { heartbeatIntervalMs, lateAfterMs, ttlMs };
}

export function healthOf(ageMs: number, timing: MembershipTiming): NodeHealth {
  if (ageMs <= timing.lateAfterMs) return 'alive';
  return ageMs <= timing.ttlMs ? 'late' : 'gone';
}

const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function validateNodeId(id: string): void {
  if (typeof id !== 'string' || !NODE_ID_PATTERN.test(id)) {
    throw new AimassError('INVALID_ARGUMENT', `Node id ${JSON.stringify(id)} is invalid: use 1 to 128 letters, digits, "-" and "_"`, { id });
  }
}

/** The first record of a joining node, from its spec and defaults taken from this process. */
export function initialRecord(spec: NodeSpec, version: string, now: Date = new Date()): NodeRecord {
  const id = spec.id ?? newId('node', now);
  validateNodeId(id);
  const { cpuThreads, memoryMb } = spec.capabilities;
  const kinds = spec.capabilities.kinds ?? ['any'];
  const labels = spec.capabilities.labels ?? {};
  if (!isCount(cpuThreads) || cpuThreads < 1 || !isCount(memoryMb)) {
    throw new AimassError('INVALID_ARGUMENT', `Node ${id} must declare cpuThreads >= 1 and memoryMb >= 0 as whole numbers`, { id, cpuThreads, memoryMb });
  }
  if (kinds.length === 0 || !kinds.every((k) => (NODE_KINDS as readonly string[]).includes(k))) {
    throw new AimassError('INVALID_ARGUMENT', `Node ${id} kinds must be a non-empty list of ${NODE_KINDS.join(', ')}`, { id, kinds });
  }
  const load = spec.load ?? { runningTasks: 0, freeCpuThreads: cpuThreads, freeMemoryMb: memoryMb };
  validateLoad(id, load);
  const at = now.toISOString();
  return {
    id,
    host: spec.host ?? hostname(),
    pid: spec.pid ?? process.pid,
    capabilities: { cpuThreads, memoryMb, kinds: [...kinds], labels: { ...labels } },
    load: { ...load },
    state: 'active',
    startedAt: at,
    heartbeatAt: at,
    version: spec.version ?? version,
  };
}

export function validateLoad(id: string, load: NodeLoad): void {
  if (!isCount(load.runningTasks) || !isCount(load.freeCpuThreads) || !isCount(load.freeMemoryMb)) {
    throw new AimassError('INVALID_ARGUMENT', `Node ${id} load must be whole numbers >= 0 (runningTasks, freeCpuThreads, freeMemoryMb)`, { id, load });
  }
}

/** Parses a stored record, or returns undefined for anything that is not one (another tool's key, an old format). */
export function parseRecord(bytes: Uint8Array | string): NodeRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  const r = value as Partial<NodeRecord> | null;
  if (
    !r ||
    typeof r.id !== 'string' ||
    !NODE_ID_PATTERN.test(r.id) ||
    typeof r.host !== 'string' ||
    typeof r.pid !== 'number' ||
    typeof r.capabilities !== 'object' ||
    r.capabilities === null ||
    typeof r.load !== 'object' ||
    r.load === null ||
    !(NODE_STATES as readonly string[]).includes(r.state as string) ||
    typeof r.startedAt !== 'string' ||
    typeof r.heartbeatAt !== 'string' ||
    typeof r.version !== 'string'
  ) {
    return undefined;
  }
  return r as NodeRecord;
}

export function viewOf(record: NodeRecord, ageMs: number, timing: MembershipTiming): NodeView {
  const heartbeatAgeMs = Math.max(0, Math.round(ageMs));
  return { ...record, health: healthOf(heartbeatAgeMs, timing), heartbeatAgeMs };
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}
