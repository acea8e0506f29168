/**
 * Connecting to NATS for cluster work: `nats://[user:pass@]host:port[,host:port…]/name` URIs (several seed servers
 * for a NATS cluster), a connection that keeps reconnecting for as long as the process lives (a worker outlives
 * server restarts), and the mapping of NATS failures onto AI Mass error codes.
 *
 * Imports only core/.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { AimassError, isAimassError } from '../core/index.js';

export interface NatsTarget {
  /** `host:port` of each seed server. */
  servers: string[];
  /** The first path segment, e.g. a bucket or stream name; '' when absent. */
  name: string;
  auth: { user?: string; pass?: string; token?: string };
  /** The URI with secrets replaced by `***`. */
  uri: string;
  /** Query parameters, e.g. `replicas=3`. */
  params: URLSearchParams;
}

const DEFAULT_PORT = 4222;

/** Parses `nats://[cred@]h1[:p1][,h2[:p2]…][/name][?k=v]`; a user without a password is a token. */
export function parseNatsTarget(uri: string): NatsTarget {
  const match = /^nats:\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/([^?#]*))?(?:\?([^#]*))?$/i.exec(uri.trim());
  const safe = uri.replace(/\/\/([^@/]*)@/, '//***@');
  if (!match) throw new AimassError('INVALID_ARGUMENT', `"${safe}" is not a NATS URI; use nats://host:4222[,host2:4222]/name`, { uri: safe });
  const [, credentials, hosts, path = '', query = ''] = match;
  const servers = hosts.split(',').map((h) => h.trim());
  if (servers.some((h) => !/^[\w.-]+(?::\d{1,5})?$|^\[[0-9a-f:]+\](?::\d{1,5})?$/i.test(h))) {
    throw new AimassError('INVALID_ARGUMENT', `NATS URI "${safe}" has an invalid server list "${hosts}"; use host:port separated by commas`, { uri: safe });
  }
  const auth: NatsTarget['auth'] = {};
  let redacted = '';
  if (credentials !== undefined && credentials !== '') {
    const [user, pass] = credentials.split(':').map((part) => decodeURIComponent(part));
    if (pass === undefined || pass === '') auth.token = user;
    else Object.assign(auth, { user, pass });
    redacted = pass ? `${encodeURIComponent(user)}:***@` : '***@';
  }
  const name = decodeURIComponent(path).replace(/^\/+|\/+$/g, '');
  return {
    servers: servers.map((h) => (/:\d+$/.test(h) ? h : `${h}:${DEFAULT_PORT}`)),
    name,
    auth,
    uri: `nats://${redacted}${hosts}${name ? `/${name}` : ''}${query ? `?${query}` : ''}`,
    params: new URLSearchParams(query),
  };
}

export interface ConnectOptions {
  /** How long to wait for a server when first connecting, in ms (default 5000). */
  connectTimeoutMs?: number;
  /** Shown in the server's connection list. */
  name?: string;
}

/** A connection that reconnects forever, quickly (250 ms apart), to any of the seed servers or their peers. */
export async function connectNats(target: NatsTarget, options: ConnectOptions = {}): Promise<NatsConnection> {
  const { connect } = await import('@nats-io/transport-node');
  try {
    return await connect({
      servers: target.servers,
      timeout: options.connectTimeoutMs ?? 5000,
      name: options.name ?? 'aimass-cluster',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      ...target.auth,
    });
  } catch (e) {
    throw natsFailure(e, target, 'connecting');
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const UNREACHABLE_ERRORS = new Set(['ConnectionError', 'ClosedConnectionError', 'DrainingConnectionError', 'TimeoutError', 'RequestError']);

/** Whether a NATS failure means "not reachable right now" (worth retrying later) rather than a refusal. */
export function isUnreachable(e: unknown): boolean {
  if (isAimassError(e)) return e.code === 'UNAVAILABLE';
  const err = e as { name?: string; code?: string; cause?: { code?: string } };
  return UNREACHABLE_ERRORS.has(err.name ?? '') || [err.code, err.cause?.code].some((c) => c !== undefined && NETWORK_CODES.has(c));
}

export function natsFailure(e: unknown, target: Pick<NatsTarget, 'servers' | 'uri'>, doing: string): AimassError {
  if (isAimassError(e)) return e;
  const err = e as { name?: string; message?: string };
  const message = err.message ?? String(e);
  const name = err.name ?? '';
  const where = target.servers.join(',');
  const details = { uri: target.uri, operation: doing };
  if (isUnreachable(e)) {
    return new AimassError('UNAVAILABLE', `NATS ${where} is not reachable while ${doing} (${message}); check that it is running`, details, { cause: e });
  }
  if (name === 'NoRespondersError' || /no responders|jetstream.*not.*enabled/i.test(message)) {
    return new AimassError('UNAVAILABLE', `NATS ${where} did not answer JetStream requests while ${doing} (${message}); start nats-server with JetStream (-js)`, details, {
      cause: e,
    });
  }
  if (name === 'AuthorizationError' || name === 'UserAuthenticationExpiredError') {
    return new AimassError('UNAUTHENTICATED', `NATS ${where} rejected the credentials while ${doing} (${message})`, details, { cause: e });
  }
  if (name === 'PermissionViolationError') {
    return new AimassError('PERMISSION_DENIED', `NATS ${where} denied ${doing} (${message})`, details, { cause: e });
  }
  return new AimassError('INTERNAL', `NATS failed while ${doing} at ${target.uri}: ${name ? `${name}: ` : ''}${message}`, details, { cause: e });
}
