/**
 * The one error catalog of AI Mass.
 *
 * Owns: the stable error codes, the HTTP status and title of each, and `AimassError`, which carries a code, a
 * message that says what to do, and structured details. Errors travel as JSON (`toJSON` / `AimassError.fromJSON`)
 * so the API can send them and the CLI can rebuild and print them exactly.
 *
 * Imports nothing of ours.
 */

/** Every code AI Mass can fail with. Codes are stable: clients branch on them, so never rename one. */
export const ERROR_CATALOG = {
  INVALID_ARGUMENT: { status: 400, title: 'Invalid argument' },
  INVALID_SPEC: { status: 400, title: 'Invalid specification' },
  SHAPE_MISMATCH: { status: 400, title: 'Shape mismatch' },
  DATA_FORMAT: { status: 400, title: 'Malformed data' },
  UNSUPPORTED: { status: 400, title: 'Unsupported' },
  UNKNOWN_SCHEME: { status: 400, title: 'Unknown URI scheme' },
  UNAUTHENTICATED: { status: 401, title: 'Unauthenticated' },
  PERMISSION_DENIED: { status: 403, title: 'Permission denied' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  ALREADY_EXISTS: { status: 409, title: 'Already exists' },
  CONFLICT: { status: 409, title: 'Conflict' },
  /** A request body over the route's byte limit. */
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  /** A request body of a media type the route does not take. */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  TRAINING_DIVERGED: { status: 422, title: 'Training diverged' },
  RESOURCE_EXHAUSTED: { status: 429, title: 'Resource exhausted' },
  CANCELLED: { status: 499, title: 'Cancelled' },
  INTERNAL: { status: 500, title: 'Internal error' },
  /** Stored bytes no longer match their recorded sha256; they are never served. */
  DATA_CORRUPT: { status: 500, title: 'Stored data is corrupt' },
  UNAVAILABLE: { status: 503, title: 'Unavailable' },
  TIMEOUT: { status: 504, title: 'Timeout' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOG, value);
}

/** The wire form of an error, as the API sends it and the CLI prints it with `--json`. */
export interface AimassErrorJSON {
  error: {
    code: ErrorCode;
    status: number;
    title: string;
    message: string;
    details?: Record<string, unknown>;
  };
}

export class AimassError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AimassError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    if (details !== undefined) this.details = details;
  }

  get title(): string {
    return ERROR_CATALOG[this.code].title;
  }

  toJSON(): AimassErrorJSON {
    const error: AimassErrorJSON['error'] = {
      code: this.code,
      status: this.status,
      title: this.title,
      message: this.message,
    };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }

  /**
   * Rebuilds an error from its wire form. Accepts both `{ error: {...} }` and the bare inner object; anything
   * unrecognisable becomes INTERNAL rather than throwing, because this runs while reporting another failure.
   */
  static fromJSON(obj: unknown): AimassError {
    const inner = isRecord(obj) && isRecord(obj.error) ? obj.error : obj;
    if (!isRecord(inner)) {
      return new AimassError('INTERNAL', `Unrecognised error payload: ${safeStringify(obj)}`);
    }
    const code = isErrorCode(inner.code) ? inner.code : 'INTERNAL';
    const message = typeof inner.message === 'string' ? inner.message : `Unrecognised error payload: ${safeStringify(obj)}`;
    const details = isRecord(inner.details) ? inner.details : undefined;
    return new AimassError(code, message, details);
  }
}

export function isAimassError(e: unknown): e is AimassError {
  return e instanceof AimassError;
}

/**
 * Wraps anything thrown into an AimassError, keeping AimassErrors as they are. Unknown failures become INTERNAL
 * with the original as `cause`, so a top-level handler always has a code and a status to report.
 */
export function toAimassError(e: unknown): AimassError {
  if (isAimassError(e)) return e;
  if (e instanceof Error) {
    return new AimassError('INTERNAL', `${e.message} (unexpected ${e.name}; please report it with the steps that led here)`, undefined, {
      cause: e,
    });
  }
  return new AimassError('INTERNAL', `Unexpected failure: ${safeStringify(e)} (please report it with the steps that led here)`);
}

/** Short constructors for the codes raised most often; `new AimassError(code, message, details)` works for all. */
export const errors = {
  invalidArgument: (message: string, details?: Record<string, unknown>) => new AimassError('INVALID_ARGUMENT', message, details),
  /** A spec with one or more problems; each problem is one line saying what is wrong and where. */
  invalidSpec: (message: string, problems: string[], details?: Record<string, unknown>) =>
    new AimassError('INVALID_SPEC', message, { ...details, problems }),
  shapeMismatch: (layer: string, expected: readonly (number | string)[], actual: readonly (number | string)[], hint?: string) =>
    new AimassError(
      'SHAPE_MISMATCH',
      `Layer "${layer}" expects shape ${formatShape(expected)} but got ${formatShape(actual)}` +
        (hint ? `; ${hint}` : '; check the previous layer\'s output size or add a reshape/flatten'),
      { layer, expected: [...expected], actual: [...actual] },
    ),
  /** Malformed rows; `problems` are one per bad line, e.g. `line 12: expected 5 columns, got 4`. */
  dataFormat: (message: string, problems: string[], details?: Record<string, unknown>) =>
    new AimassError('DATA_FORMAT', message, { ...details, problems }),
  notFound: (what: string, id: string, hint?: string) =>
    new AimassError('NOT_FOUND', `${what} "${id}" was not found${hint ? `; ${hint}` : ''}`, { what, id }),
  alreadyExists: (what: string, id: string, hint?: string) =>
    new AimassError('ALREADY_EXISTS', `${what} "${id}" already exists${hint ? `; ${hint}` : '; choose another name or delete the existing one'}`, {
      what,
      id,
    }),
  unsupported: (message: string, details?: Record<string, unknown>) => new AimassError('UNSUPPORTED', message, details),
  internal: (message: string, details?: Record<string, unknown>) => new AimassError('INTERNAL', message, details),
};

function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(', ')}]`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function safeStringify(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 200 ? `${s.slice(0, 200)}…` : s;
  } catch {
    return String(v);
  }
}
