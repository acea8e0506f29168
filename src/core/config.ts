/**
 * Process configuration from the environment.
 *
 * Owns: the `AIMASS_*` variables, their defaults and validation, and where files live under `AIMASS_HOME`.
 * Config is read once at the edge (CLI, server entry) and passed down; library code never reads `process.env`.
 *
 * Imports only core/errors.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AimassError } from './errors.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** Root folder for everything AI Mass writes in embedded mode (metadata DB, artifacts, runs). Absolute. */
  home: string;
  logLevel: LogLevel;
  /** Intra-op threads for ONNX Runtime and the size of local worker pools. */
  threads: number;
  /** HTTP port of `aimass serve`. */
  port: number;
  /** Interface `aimass serve` binds to. */
  host: string;
  /** Metadata store URI (`sqlite:<path>` or `postgresql://…`). */
  metadataUri: string;
  /** Artifact store URI (`file://<path>`, `s3://…`, `hdfs://…`, `nats://…`). */
  artifactUri: string;
  /** NATS server for cluster mode; unset means embedded (in-process) dispatch. */
  natsUrl?: string;
}

type Env = Record<string, string | undefined>;

/** One entry per variable: its schema, and a sentence describing a valid value for the error message. */
const VARIABLES = {
  AIMASS_HOME: { schema: z.string().min(1), expect: 'a folder path' },
  AIMASS_LOG_LEVEL: { schema: z.enum(LOG_LEVELS), expect: `one of ${LOG_LEVELS.join(', ')}` },
  AIMASS_THREADS: { schema: z.coerce.number().int().min(1).max(1024), expect: 'a whole number from 1 to 1024' },
  AIMASS_PORT: { schema: z.coerce.number().int().min(0).max(65535), expect: 'a whole number from 0 to 65535' },
  AIMASS_HOST: { schema: z.string().min(1), expect: 'a host name or IP address, e.g. 127.0.0.1' },
  AIMASS_METADATA_URI: {
    schema: z.string().regex(/^[a-z][a-z0-9+.-]*:/i),
    expect: 'a URI with a scheme, e.g. sqlite:/path/aimass.db or postgresql://user@host/db',
  },
  AIMASS_ARTIFACT_URI: {
    schema: z.string().regex(/^[a-z][a-z0-9+.-]*:/i),
    expect: 'a URI with a scheme, e.g. file:///path/artifacts or s3://bucket/prefix',
  },
  AIMASS_NATS_URL: { schema: z.string().regex(/^(nats|tls|wss?):\/\//i), expect: 'a NATS URL, e.g. nats://127.0.0.1:4222' },
} as const;

type VariableName = keyof typeof VARIABLES;

/**
 * Reads and validates the `AIMASS_*` variables. Empty strings count as unset. Every bad variable is reported at
 * once, by name, in `details.problems`, so a user fixes their environment in one go.
 */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const variables: string[] = [];

  function read<N extends VariableName>(name: N): z.output<(typeof VARIABLES)[N]['schema']> | undefined {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return undefined;
    const spec = VARIABLES[name];
    const parsed = spec.schema.safeParse(raw.trim());
    if (!parsed.success) {
      problems.push(`${name}=${JSON.stringify(raw)} is invalid: expected ${spec.expect}`);
      variables.push(name);
      return undefined;
    }
    return parsed.data as z.output<(typeof VARIABLES)[N]['schema']>;
  }

  const home = path.resolve(read('AIMASS_HOME') ?? './.aimass');
  const config: Config = {
    home,
    logLevel: read('AIMASS_LOG_LEVEL') ?? 'info',
    threads: read('AIMASS_THREADS') ?? defaultThreads(),
    port: read('AIMASS_PORT') ?? 8080,
    host: read('AIMASS_HOST') ?? '127.0.0.1',
    metadataUri: read('AIMASS_METADATA_URI') ?? `sqlite:${path.join(home, 'aimass.db')}`,
    artifactUri: read('AIMASS_ARTIFACT_URI') ?? `file://${path.join(home, 'artifacts')}`,
  };
  const natsUrl = read('AIMASS_NATS_URL');
  if (natsUrl !== undefined) config.natsUrl = natsUrl;

  if (problems.length > 0) {
    const subject = variables.length === 1 ? `environment variable ${variables[0]}` : `environment variables ${variables.join(', ')}`;
    throw new AimassError('INVALID_ARGUMENT', `Invalid ${subject}; fix or unset ${variables.length === 1 ? 'it' : 'them'} and retry`, {
      variables,
      problems,
    });
  }
  return config;
}

/** An absolute path inside `AIMASS_HOME`, e.g. `homePath(config, 'runs', runId)`. */
export function homePath(config: Pick<Config, 'home'>, ...parts: string[]): string {
  return path.join(config.home, ...parts);
}

function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : Math.max(1, os.cpus().length);
}
