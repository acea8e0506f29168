/**
 * Shared output helpers for commands: JSON when --json is given, otherwise aligned text tables; flag parsing
 * every command shares.
 */
import type { Command } from 'commander';
import { AimassError } from '../core/index.js';
import type { CliContext, GlobalOptions } from './context.js';

export function isJson(command: Command): boolean {
  return Boolean((command.optsWithGlobals() as GlobalOptions).json);
}

/** Prints `value` as JSON, or `text()` when not in JSON mode. */
export function emit(context: CliContext, command: Command, value: unknown, text: () => string): void {
  context.stdout.write(isJson(command) ? `${JSON.stringify(value)}\n` : `${text()}\n`);
}

/** Left-aligned columns with a header row; empty tables say so. */
export function table(headers: string[], rows: (string | number)[][], empty = '(none)'): string {
  if (!rows.length) return empty;
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u++;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** A few metrics, the held-out ones (test_, then val_) first. */
export function formatMetrics(m: Record<string, number>, max = 3): string {
  const rank = (k: string) => (k.startsWith('test_') ? 0 : k.startsWith('val_') ? 1 : 2);
  const entries = Object.entries(m).sort((a, b) => rank(a[0]) - rank(b[0]));
  if (!entries.length) return '-';
  return entries
    .slice(0, max)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(' ');
}

/**
 * A whole-number flag value of at least `min`; anything else is INVALID_ARGUMENT naming the flag (and `orElse`,
 * the other values the flag takes, when the caller handles some itself).
 */
export function wholeNumber(text: string, flag: string, min: number, orElse?: string): number {
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new AimassError('INVALID_ARGUMENT', `${flag} must be a whole number ≥ ${min}${orElse ? ` or ${orElse}` : ''}, got "${text}"`);
  }
  return Number(text);
}
