/**
 * Artifact keys: the one rule every artifact store applies before it touches storage.
 *
 * A key is a relative path of `/`-separated segments, such as `models/m1/3/model.onnx`. The same key must mean
 * the same object on every backend (artifacts are copied between stores), so the rule is the strictest common
 * one: no way to climb out of the store's root (absolute paths, `.`/`..` segments, backslashes), nothing that
 * two backends would read differently (empty segments, control characters, unpaired UTF-16 surrogates), and
 * lengths that fit every backend (1024 bytes for the key, as S3; 255 bytes per segment, as POSIX file names and
 * HDFS path components). A first segment starting with `.` is reserved for a store's own bookkeeping (`.tmp/`
 * for writes in flight, `.sha256/` for digests), so no key can collide with it and `list` never shows it.
 *
 * Imports only core/.
 */
import { AimassError } from '../../core/index.js';

/** Longest key, in UTF-8 bytes (S3's limit, and far below any path limit of the other backends). */
export const MAX_KEY_BYTES = 1024;
/** Longest segment, in UTF-8 bytes (NAME_MAX on Linux and macOS, HDFS's default max component length). */
export const MAX_SEGMENT_BYTES = 255;

// C0 controls (NUL included), DEL and C1 controls: invisible in listings and mangled by some backends.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
// A lone surrogate has no UTF-8 form; two different keys would be stored under the same replacement bytes.
const LONE_SURROGATE = /\p{Cs}/u;
const DRIVE_LETTER = /^[a-zA-Z]:/;

/**
 * Why `key` is not a valid artifact key, or undefined when it is. Stores use `validateKey`; this form is for
 * skipping foreign objects (written by other tools) that no valid key could address.
 */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== 'string') return `a key is a string, got ${typeof key}`;
  if (key.length === 0) return 'it is empty';
  const common = pathTextProblem(key);
  if (common) return common;
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) return `it is longer than ${MAX_KEY_BYTES} bytes`;
  const segments = key.split('/');
  for (const segment of segments) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  if (segments[0].startsWith('.')) {
    return `its first segment "${segments[0]}" starts with "." (reserved for the store's own files such as .tmp/)`;
  }
  return undefined;
}

export function isValidKey(key: unknown): key is string {
  return keyProblem(key) === undefined;
}

/** Returns `key` when it is valid; otherwise throws INVALID_ARGUMENT naming it and saying what is wrong. */
export function validateKey(key: string): string {
  const problem = keyProblem(key);
  if (problem) throw invalid('key', key, problem);
  return key;
}

/**
 * Checks a `list` prefix. A prefix is a key cut anywhere: `models/m1/` and `models/m1/mod` are both fine, and ``
 * lists everything. Its complete segments (those followed by `/`) obey the key rules, so no prefix can point a
 * listing outside the store's root; the last, partial segment only has to be clean text.
 */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw invalid('prefix', String(prefix), `a prefix is a string, got ${typeof prefix}`);
  if (prefix.length === 0) return prefix;
  const problem = prefixProblem(prefix);
  if (problem) throw invalid('prefix', prefix, problem);
  return prefix;
}

/** The folder part of a valid prefix: its complete segments with the trailing `/` (`a/b/` for `a/b/c`), or ``. */
export function prefixFolder(prefix: string): string {
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}

function prefixProblem(prefix: string): string | undefined {
  const common = pathTextProblem(prefix);
  if (common) return common;
  if (Buffer.byteLength(prefix, 'utf8') > MAX_KEY_BYTES) return `it is longer than ${MAX_KEY_BYTES} bytes`;
  const complete = prefix.split('/').slice(0, -1);
  for (const segment of complete) {
    const problem = segmentProblem(segment);
    if (problem) return problem;
  }
  if (complete.length > 0 && complete[0].startsWith('.')) {
    return `its first segment "${complete[0]}" starts with "." (reserved for the store's own files such as .tmp/)`;
  }
  return undefined;
}

function pathTextProblem(text: string): string | undefined {
  if (text.startsWith('/')) return 'it is an absolute path (keys are relative to the store, e.g. "models/m1/model.onnx")';
  if (DRIVE_LETTER.test(text)) return 'it starts with a drive letter, which makes it an absolute path on Windows';
  if (text.includes('\\')) return 'it contains a backslash (use "/" between segments)';
  if (text.includes('\0')) return 'it contains a NUL character';
  if (CONTROL_CHARS.test(text)) return 'it contains a control character';
  if (LONE_SURROGATE.test(text)) return 'it contains an unpaired UTF-16 surrogate, which has no UTF-8 form';
  return undefined;
}

function segmentProblem(segment: string): string | undefined {
  if (segment.length === 0) return 'it has an empty segment (a leading, trailing or doubled "/")';
  if (segment === '.' || segment === '..') return `it has a "${segment}" segment (keys cannot leave or re-enter folders)`;
  if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) return `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  return undefined;
}

function invalid(what: 'key' | 'prefix', value: string, problem: string): AimassError {
  const shown = JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  return new AimassError(
    'INVALID_ARGUMENT',
    `Artifact ${what} ${shown} is invalid: ${problem}. Keys are relative paths of "/"-separated names, e.g. "models/m1/model.onnx"`,
    { [what]: value, problem },
  );
}
