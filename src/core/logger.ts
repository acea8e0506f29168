/**
 * Structured logging.
 *
 * Owns: how loggers are made. Logs are JSON lines on stderr, never stdout, so a CLI command's stdout carries only
 * its result and can be piped. Other modules take a `Logger` as a parameter and use `silentLogger` in tests.
 *
 * Imports only core/config (for the level type).
 */
import pino from 'pino';
import type { LogLevel } from './config.js';

export type Logger = pino.Logger;

export interface LoggerOptions {
  level?: LogLevel;
  /** Component name, shown as `name` on every line (e.g. `cli`, `serve`, `worker-3`). */
  name?: string;
  /** Where lines go; stderr when omitted. Tests pass a stream to capture output. */
  destination?: pino.DestinationStream;
}

let stderrDestination: pino.DestinationStream | undefined;

/**
 * One shared synchronous stderr stream: synchronous so the last lines before `process.exit` are not lost, shared
 * so many loggers do not each open a buffer on fd 2.
 */
function stderr(): pino.DestinationStream {
  stderrDestination ??= pino.destination({ dest: 2, sync: true });
  return stderrDestination;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const loggerOptions: pino.LoggerOptions = { level: options.level ?? 'info' };
  if (options.name !== undefined) loggerOptions.name = options.name;
  return pino(loggerOptions, options.destination ?? stderr());
}

/** A logger that drops everything; for tests and for library calls whose caller passed none. */
export const silentLogger: Logger = pino({ level: 'silent' });
