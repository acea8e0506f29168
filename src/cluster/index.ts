/**
 * Public entry of `cluster/`: which nodes are members, what each can take and how loaded it is, and whether it is
 * alive. (Cluster dispatch itself, over a JetStream work-queue stream, is dispatch/'s JetStreamBroker.)
 *
 *   openMembership('memory:')                      the embedded default: this process is the one node
 *   openMembership('nats://h1:4222,h2:4222/aimass_nodes?replicas=3')   NATS JetStream KV, records with a TTL
 *
 * A worker `join`s with its capabilities, heartbeats its load, watches for `drain`, and `leave`s; a node that dies
 * vanishes when its TTL passes. The gateway and the scheduler `list()` or `watch()` the members.
 *
 * Imports only core/ (and the NATS client, loaded on first use).
 */
export {
  NODE_HEALTHS,
  NODE_KINDS,
  NODE_STATES,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_TTL_MS,
  healthOf,
  resolveTiming,
  type MembershipTiming,
  type NodeCapabilities,
  type NodeHealth,
  type NodeKind,
  type NodeLoad,
  type NodeRecord,
  type NodeSpec,
  type NodeState,
  type NodeView,
} from './node-record.js';
export { TableMembership, type Membership, type MembershipEvent, type MembershipWatch, type NodeHandle, type TableMembershipOptions } from './membership.js';
export type { KeyFamily, MembershipTable, TableEntry, TableWatch } from './membership-table.js';
export { MemoryTable } from './memory-table.js';
export { DEFAULT_MEMBERSHIP_BUCKET, NatsKvTable, type NatsKvTableOptions } from './nats-kv-table.js';
export { membershipBackends, openMembership, type MembershipOptions } from './open-membership.js';
export { connectNats, natsFailure, parseNatsTarget, type ConnectOptions, type NatsTarget } from './nats-connection.js';
