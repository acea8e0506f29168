/**
 * Membership backends by URI scheme, one line each:
 *
 *   memory:[name]                                  in this process (the embedded default), shared by name
 *   nats://host:4222[,host2:4222][/bucket][?replicas=3]   NATS JetStream KV (nats-kv-table.ts), bucket aimass_nodes
 *
 * Opening connects nothing; the first call does.
 *
 * Imports only core/ and this folder.
 */
import { SchemeRegistry, type Logger } from '../core/index.js';
import { TableMembership, type Membership } from './membership.js';
import { MemoryTable } from './memory-table.js';
import { NatsKvTable } from './nats-kv-table.js';
import { resolveTiming, type MembershipTiming } from './node-record.js';
import type { NatsConnection } from '@nats-io/transport-node';

export interface MembershipOptions {
  timing?: Partial<MembershipTiming>;
  /** Version nodes report when their spec has none. */
  version?: string;
  logger?: Logger;
  /** nats:// only: use this connection (not closed by `close()`). */
  connection?: NatsConnection;
  /** nats:// only: bucket replicas, overriding the URI's `replicas`. */
  replicas?: number;
}

type MembershipFactory = (options: MembershipOptions) => Membership;

export const membershipBackends = new SchemeRegistry<MembershipFactory>('membership backend')
  .register('memory', (uri, parsed) => (options) => {
    const table = new MemoryTable(parsed.rest.replace(/^\/+/, '') || 'default', resolveTiming(options.timing).ttlMs);
    return new TableMembership(table, options);
  })
  .register('nats', (uri) => (options) => {
    const table = new NatsKvTable(uri, {
      ttlMs: resolveTiming(options.timing).ttlMs,
      replicas: options.replicas,
      connection: options.connection,
      logger: options.logger,
    });
    return new TableMembership(table, options);
  });

/** The membership for `uri`; UNKNOWN_SCHEME listing the known schemes when none matches. */
export function openMembership(uri: string, options: MembershipOptions = {}): Membership {
  return membershipBackends.resolve(uri)(options);
}
