/**
 * A registry of backends keyed by URI scheme, one registry per kind of backend.
 *
 * Owns: parsing a store URI into its scheme and picking the factory registered for it. `storage/` keeps one
 * registry for artifact stores (`file://`, `s3://`, `hdfs://`, `nats://`) and one for metadata stores (`sqlite:`,
 * `postgresql://`); adding a backend is one file plus one `register` line. An unknown scheme fails with the list
 * of known ones, so a typo explains itself.
 *
 * Imports only core/errors.
 */
import { AimassError } from './errors.js';

/** Builds a backend from the full URI it was resolved from (the factory parses what it needs). */
export type SchemeFactory<T> = (uri: string, parsed: ParsedUri) => T;

export interface ParsedUri {
  /** Lower-case scheme without the colon, e.g. `file`, `s3`, `sqlite`, `postgresql`. */
  scheme: string;
  /** Everything after `scheme:` (and after `//` when present), e.g. `bucket/prefix` for `s3://bucket/prefix`. */
  rest: string;
  /** Whether the URI had the `//` authority marker (`s3://b` yes, `sqlite:/tmp/x.db` no). */
  hasAuthority: boolean;
}

const SCHEME_PATTERN = /^([a-zA-Z][a-zA-Z0-9+.-]*):(\/\/)?(.*)$/s;

/**
 * Splits a URI into scheme and remainder. Returns undefined for a string without a scheme, and for Windows drive
 * paths like `C:\data`, which look like one-letter schemes.
 */
export function parseUri(uri: string): ParsedUri | undefined {
  const match = SCHEME_PATTERN.exec(uri.trim());
  if (!match) return undefined;
  const [, scheme, slashes, rest] = match;
  if (scheme.length === 1 && !slashes) return undefined;
  return { scheme: scheme.toLowerCase(), rest, hasAuthority: slashes === '//' };
}

export class SchemeRegistry<T> {
  private readonly factories = new Map<string, SchemeFactory<T>>();

  /** @param kind what this registry builds, used in messages, e.g. `artifact store`. */
  constructor(readonly kind: string) {}

  /**
   * Registers a factory for one scheme (with or without a trailing `:` / `://`). Registering a scheme twice is a
   * programming error and throws ALREADY_EXISTS, so two backends never silently shadow each other.
   */
  register(scheme: string, factory: SchemeFactory<T>): this {
    const key = normalizeScheme(scheme);
    if (!/^[a-z][a-z0-9+.-]*$/.test(key)) {
      throw new AimassError('INVALID_ARGUMENT', `Cannot register ${this.kind} scheme "${scheme}": a scheme is a letter followed by letters, digits, "+", "-" or "."`, {
        kind: this.kind,
        scheme,
      });
    }
    if (this.factories.has(key)) {
      throw new AimassError('ALREADY_EXISTS', `A ${this.kind} for scheme "${key}" is already registered; register each scheme once`, {
        kind: this.kind,
        scheme: key,
      });
    }
    this.factories.set(key, factory);
    return this;
  }

  has(scheme: string): boolean {
    return this.factories.has(normalizeScheme(scheme));
  }

  /** Known schemes, sorted, for messages and `--help`. */
  schemes(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** Builds the backend for `uri`, or throws UNKNOWN_SCHEME listing the schemes that would work. */
  resolve(uri: string): T {
    const parsed = parseUri(uri);
    const known = this.schemes();
    const knownText = known.length > 0 ? known.map((s) => `${s}:`).join(', ') : '(none registered)';
    if (!parsed) {
      throw new AimassError('UNKNOWN_SCHEME', `${capitalize(this.kind)} URI "${uri}" has no scheme; prefix it with one of: ${knownText}`, {
        kind: this.kind,
        uri,
        known,
      });
    }
    const factory = this.factories.get(parsed.scheme);
    if (!factory) {
      throw new AimassError('UNKNOWN_SCHEME', `No ${this.kind} for scheme "${parsed.scheme}:" in "${uri}"; use one of: ${knownText}`, {
        kind: this.kind,
        uri,
        scheme: parsed.scheme,
        known,
      });
    }
    return factory(uri, parsed);
  }
}

function normalizeScheme(scheme: string): string {
  return scheme.trim().toLowerCase().replace(/:(\/\/)?$/, '');
}

function capitalize(s: string): string {
  return s.length === 0 ? s : s[0].toUpperCase() + s.slice(1);
}
