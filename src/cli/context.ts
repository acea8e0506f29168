/**
 * What a CLI command gets to work with: where to write, which environment to read, and the shared global flags.
 * Commands take it as a parameter instead of touching `process`, so tests can run them in-process and capture
 * their output.
 */
import type { Writable } from 'node:stream';
import { loadConfig, type Config } from '../core/index.js';

export interface CliIo {
  stdout: Pick<Writable, 'write'>;
  stderr: Pick<Writable, 'write'>;
  env: Record<string, string | undefined>;
}

export interface CliContext extends CliIo {
  /** Reads and validates `AIMASS_*` from `env`; called by each command that needs it, so `--help` never fails on a bad env. */
  config(): Config;
}

export function createContext(io: Partial<CliIo> = {}): CliContext {
  const full: CliIo = { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, env: io.env ?? process.env };
  let cached: Config | undefined;
  return {
    ...full,
    config: () => (cached ??= loadConfig(full.env)),
  };
}

/** Global flags, readable from any command via `command.optsWithGlobals()`. */
export interface GlobalOptions {
  json?: boolean;
}
