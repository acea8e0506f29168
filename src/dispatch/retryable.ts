// Which failure codes are worth another attempt. Kept free of imports: pool children load it at start-up, and
// every module they load makes a fresh child slower to start.

/** Codes that say the request itself is wrong: running it again cannot help. */
const PERMANENT_CODES = new Set([
  'INVALID_ARGUMENT',
  'INVALID_SPEC',
  'SHAPE_MISMATCH',
  'DATA_FORMAT',
  'UNSUPPORTED',
  'UNKNOWN_SCHEME',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'TRAINING_DIVERGED',
  'CANCELLED',
]);

/** Whether a handler failure with this code is worth another attempt (when the error does not say itself). */
export function isRetryableCode(code: string): boolean {
  return !PERMANENT_CODES.has(code);
}
