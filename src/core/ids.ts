/**
 * Identifiers and content hashes.
 *
 * Owns: the id format for runs, tasks, trials, versions and the like (`<prefix>-YYYYMMDD-HHMMSS-xxxxxx`, UTC), and
 * the sha256 used for artifacts and dataset versions. Ids sort by creation time as plain strings, so listings
 * need no extra timestamp column to come out in order; within one process they are strictly increasing.
 *
 * Imports only core/errors.
 */
import { createHash, randomInt } from 'node:crypto';
import { AimassError } from './errors.js';

const PREFIX_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const SUFFIX_SPACE = 0x1000000; // 6 hex digits

let lastStamp = '';
let lastSuffix = 0;

/**
 * A new id such as `run-20261129-154501-ab12cd`. The suffix is random, except that ids made in the same second by
 * this process count upward from the previous one (as ULIDs do), keeping them unique and ordered.
 */
export function newId(prefix: string, now: Date = new Date()): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new AimassError('INVALID_ARGUMENT', `Id prefix "${prefix}" is invalid: use lower-case letters and digits, e.g. "run" or "task"`, {
      prefix,
    });
  }
  const stamp = formatStamp(now);
  let suffix: number;
  if (stamp === lastStamp && lastSuffix < SUFFIX_SPACE - 1 - 256) {
    suffix = lastSuffix + 1 + randomInt(256);
  } else if (stamp === lastStamp) {
    // This process made ~65k ids in one second; a fresh random draw keeps going at a tiny risk of disorder.
    suffix = randomInt(SUFFIX_SPACE);
  } else {
    // Leave headroom so following ids in this second can count up without wrapping.
    suffix = randomInt(SUFFIX_SPACE / 2);
  }
  lastStamp = stamp;
  lastSuffix = suffix;
  return `${prefix}-${stamp}-${suffix.toString(16).padStart(6, '0')}`;
}

/** The creation time encoded in an id made by `newId` (to the second), or undefined if it is not one. */
export function idTime(id: string): Date | undefined {
  const match = /-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-[0-9a-f]{6}$/.exec(id);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** Hex sha256 of bytes or of a string's UTF-8 encoding. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function formatStamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${p(date.getUTCFullYear(), 4)}${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}` +
    `-${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}`
  );
}
