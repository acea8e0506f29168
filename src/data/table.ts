/**
 * The record model of data preparation: a `Table` is a column schema plus rows, each row an array of cells in
 * schema order. Rows as small arrays (not objects) keep the column names once, in the schema, instead of once per
 * row, and are what the streaming loaders yield one at a time.
 *
 * Cells are `number | string | boolean | null`. A timestamp cell is a number, milliseconds since the Unix epoch
 * (UTC), so it sorts, compares and subtracts like a number; the schema says to print it as ISO 8601. Missing
 * values are always `null`: an empty CSV field, a JSON `null`, a missing JSON key and an empty string all read
 * as null, so "missing" means one thing everywhere.
 *
 * Type inference and coercion live here too, so CSV (text) and JSONL (typed JSON) read the same way.
 */
import { AimassError } from '../core/index.js';

export const COLUMN_TYPES = ['number', 'string', 'boolean', 'timestamp'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface Column {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

export type Schema = Column[];
export type Cell = number | string | boolean | null;
export type Row = Cell[];

export interface Table {
  schema: Schema;
  rows: Row[];
  /** Source line of each row (1-based), when the table was read from a file; quarantine entries cite it. */
  lines?: number[];
}

/** The source line of row `i`, or its 1-based position when the table has no source lines. */
export function lineOf(table: Table, i: number): number {
  return table.lines?.[i] ?? i + 1;
}

/** Index of column `name`; INVALID_ARGUMENT listing the columns when there is none. */
export function columnIndex(schema: Schema, name: string): number {
  const i = schema.findIndex((c) => c.name === name);
  if (i < 0) {
    throw new AimassError('INVALID_ARGUMENT', `no column "${name}"; the columns are: ${schema.map((c) => c.name).join(', ')}`, {
      column: name,
      columns: schema.map((c) => c.name),
    });
  }
  return i;
}

/** Index of column `name`, which must have one of `types`. */
export function typedColumnIndex(schema: Schema, name: string, types: readonly ColumnType[], purpose: string): number {
  const i = columnIndex(schema, name);
  if (!types.includes(schema[i].type)) {
    throw new AimassError('INVALID_ARGUMENT', `column "${name}" is ${schema[i].type}; ${purpose} needs a ${types.join(' or ')} column`, { column: name });
  }
  return i;
}

// --- text forms of cells -----------------------------------------------------------------------------------------

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n));

/**
 * A timestamp cell as ISO 8601 in UTC (`2024-03-01T12:00:00.000Z`), as `Date#toISOString` prints it for years
 * 0 to 9999 but without a Date per cell (writers print one per timestamp cell of every row).
 */
export function formatTimestamp(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  // Hinnant's civil_from_days
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y < 0 || y > 9999) return new Date(ms).toISOString();
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const mi = Math.floor(rest / 60_000);
  rest -= mi * 60_000;
  const sec = Math.floor(rest / 1000);
  const frac = rest - sec * 1000;
  return `${String(y).padStart(4, '0')}-${pad2(m)}-${pad2(d)}T${pad2(h)}:${pad2(mi)}:${pad2(sec)}.${pad3(frac)}Z`;
}

/** A cell as JSON-friendly value: timestamps become ISO strings, everything else stays. */
export function cellToJson(cell: Cell, type: ColumnType): Cell {
  return type === 'timestamp' && typeof cell === 'number' ? formatTimestamp(cell) : cell;
}

/** A row as an object keyed by column name (timestamps as ISO strings), for quarantine files and JSONL. */
export function rowToObject(schema: Schema, row: Row): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (let j = 0; j < schema.length; j++) out[schema[j].name] = cellToJson(row[j], schema[j].type);
  return out;
}

// --- parsing -----------------------------------------------------------------------------------------------------

/** A decimal number as written in data files: optional sign, digits with an optional point, optional exponent. */
function isDecimal(s: string): boolean {
  const n = s.length;
  let i = 0;
  if (i < n && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++; // + -
  let digits = 0;
  while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++, digits++;
  if (i < n && s.charCodeAt(i) === 46) {
    i++;
    while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++, digits++;
  }
  if (!digits) return false;
  if (i < n && (s.charCodeAt(i) === 101 || s.charCodeAt(i) === 69)) {
    i++;
    if (i < n && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++;
    const at = i;
    while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    if (i === at) return false;
  }
  return i === n;
}

/** The number a decimal field holds, or undefined. Surrounding spaces are allowed; hex, NaN and Infinity are not. */
export function parseNumber(s: string): number | undefined {
  const t = s.trim();
  if (!isDecimal(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Whether inference should call this field a number. Stricter than `parseNumber`: identifiers that only look
 * numeric stay text — leading zeros (`007`, zip codes) and integers too long for a double (card numbers, ids).
 */
function looksNumeric(s: string): boolean {
  const t = s.trim();
  if (parseNumber(t) === undefined) return false;
  const digits = t.replace(/^[+-]/, '');
  if (/^0\d/.test(digits)) return false;
  if (/^\d{16,}$/.test(digits)) return false;
  return true;
}

export function parseBoolean(s: string): boolean | undefined {
  const t = s.trim().toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : undefined;
}

/** The value of the `len` ASCII digits of `s` at `at`, or -1 if any is not a digit. */
function digitsAt(s: string, at: number, len: number): number {
  let v = 0;
  for (let i = at; i < at + len; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's days_from_civil), for any year. */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * An ISO 8601 date or date-time (`2024-03-01`, `2024-03-01T12:30`, `… 12:30:45.123`, with `Z` or `±hh:mm`) as
 * epoch milliseconds, or undefined. A time without a zone is UTC (never the machine's local zone, so the same
 * file reads the same everywhere); fractions beyond milliseconds are cut; dates that do not exist (02-30) are
 * refused. Parsed by hand: this runs once per timestamp cell of every file, and a regex plus a Date per cell
 * was the slowest step of loading.
 */
export function parseTimestamp(text: string): number | undefined {
  const s = text.length && (text.charCodeAt(0) <= 32 || text.charCodeAt(text.length - 1) <= 32) ? text.trim() : text;
  const n = s.length;
  if (n < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined; // YYYY-MM-DD
  const y = digitsAt(s, 0, 4);
  const mo = digitsAt(s, 5, 2);
  const d = digitsAt(s, 8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > (mo === 2 && isLeap(y) ? 29 : MONTH_DAYS[mo - 1])) return undefined;
  let t = daysFromCivil(y, mo, d) * 86_400_000;
  if (n === 10) return t;
  const sep = s.charCodeAt(10);
  if ((sep !== 84 && sep !== 32) || n < 16 || s.charCodeAt(13) !== 58) return undefined; // T or space, hh:mm
  const h = digitsAt(s, 11, 2);
  const mi = digitsAt(s, 14, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59) return undefined;
  t += (h * 60 + mi) * 60_000;
  let i = 16;
  if (i < n && s.charCodeAt(i) === 58) {
    const sec = i + 3 <= n ? digitsAt(s, i + 1, 2) : -1;
    if (sec < 0 || sec > 59) return undefined;
    t += sec * 1000;
    i += 3;
    if (i < n && s.charCodeAt(i) === 46) {
      let ms = 0;
      let digits = 0;
      for (i++; i < n; i++, digits++) {
        const c = s.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        if (digits < 3) ms = ms * 10 + c;
      }
      if (!digits) return undefined;
      for (let k = digits; k < 3; k++) ms *= 10;
      t += ms;
    }
  }
  if (i === n) return t;
  const z = s.charCodeAt(i);
  if (z === 90) return i + 1 === n ? t : undefined; // Z
  if (z !== 43 && z !== 45) return undefined;
  const colon = s.charCodeAt(i + 3) === 58 ? 1 : 0;
  if (n !== i + 5 + colon) return undefined;
  const oh = digitsAt(s, i + 1, 2);
  const om = digitsAt(s, i + 3 + colon, 2);
  if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
  return t - (z === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
}

/** Epoch milliseconds that `formatTimestamp` can print (years 0 to 9999). */
const MIN_TS = Date.parse('0000-01-01T00:00:00Z');
const MAX_TS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Why a raw value cannot be a cell of `type`, as a short phrase. */
export type Coerced = { ok: true; cell: Cell } | { ok: false; problem: string };

const shown = (v: unknown) => {
  const s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
};

/**
 * A raw value (a CSV field, or a JSON value) as a cell of `type`. Missing values (undefined, null, empty or blank
 * text) become null; text is converted; JSON numbers and booleans in a string column become their text, and JSON
 * objects their JSON. A JSON number in a timestamp column is epoch milliseconds.
 */
export function coerce(raw: unknown, type: ColumnType): Coerced {
  if (raw === undefined || raw === null) return { ok: true, cell: null };
  if (typeof raw === 'string' && raw.trim() === '') return { ok: true, cell: null };
  switch (type) {
    case 'string':
      if (typeof raw === 'string') return { ok: true, cell: raw };
      if (typeof raw === 'number' || typeof raw === 'boolean') return { ok: true, cell: String(raw) };
      return { ok: true, cell: JSON.stringify(raw) };
    case 'number': {
      if (typeof raw === 'number') return Number.isFinite(raw) ? { ok: true, cell: raw } : { ok: false, problem: `${raw} is not a finite number` };
      const v = typeof raw === 'string' ? parseNumber(raw) : undefined;
      return v === undefined ? { ok: false, problem: `${shown(raw)} is not a number` } : { ok: true, cell: v };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { ok: true, cell: raw };
      const v = typeof raw === 'string' ? parseBoolean(raw) : undefined;
      return v === undefined ? { ok: false, problem: `${shown(raw)} is not true or false` } : { ok: true, cell: v };
    }
    case 'timestamp': {
      const v = typeof raw === 'string' ? parseTimestamp(raw) : typeof raw === 'number' ? raw : undefined;
      if (v === undefined || !Number.isFinite(v) || v < MIN_TS || v > MAX_TS) {
        return { ok: false, problem: `${shown(raw)} is not an ISO 8601 date or time (e.g. 2024-03-01T12:00:00Z)` };
      }
      return { ok: true, cell: v };
    }
  }
}

/** Which types a column could still be, narrowed value by value. */
class TypeCandidates {
  boolean = true;
  number = true;
  timestamp = true;
  nulls = 0;
  values = 0;

  see(raw: unknown): void {
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
      this.nulls++;
      return;
    }
    this.values++;
    if (typeof raw === 'string') {
      if (this.boolean && parseBoolean(raw) === undefined) this.boolean = false;
      if (this.number && !looksNumeric(raw)) this.number = false;
      if (this.timestamp && parseTimestamp(raw) === undefined) this.timestamp = false;
    } else {
      if (typeof raw !== 'boolean') this.boolean = false;
      if (typeof raw !== 'number') this.number = false;
      // JSON numbers stay numbers: epoch milliseconds are only a timestamp when the schema says so
      this.timestamp = false;
    }
  }

  type(): ColumnType {
    if (!this.values) return 'string';
    return this.boolean ? 'boolean' : this.number ? 'number' : this.timestamp ? 'timestamp' : 'string';
  }
}

/**
 * The schema of sample rows (raw values in the order of `names`): per column the narrowest type every non-missing
 * value fits — boolean (`true`/`false`), number, timestamp (ISO 8601), else string — and nullable when a value is
 * missing. A column with no values at all is a nullable string.
 */
export function inferSchema(names: readonly string[], samples: Iterable<readonly unknown[]>): Schema {
  const candidates = names.map(() => new TypeCandidates());
  for (const row of samples) for (let j = 0; j < names.length; j++) candidates[j].see(row[j]);
  return names.map((name, j) => ({ name, type: candidates[j].type(), nullable: candidates[j].nulls > 0 || candidates[j].values === 0 }));
}

/** Rows of raw values as a table: the schema inferred (or given), each value coerced; INVALID_ARGUMENT on a bad value. */
export function tableFromObjects(objects: readonly Record<string, unknown>[], schema?: Schema): Table {
  const names = schema?.map((c) => c.name) ?? [...new Set(objects.flatMap((o) => Object.keys(o)))];
  const raw = objects.map((o) => names.map((n) => o[n]));
  const s = schema ?? inferSchema(names, raw);
  const rows = raw.map((r, i) =>
    r.map((v, j) => {
      const c = coerce(v, s[j].type);
      if (!c.ok) throw new AimassError('INVALID_ARGUMENT', `row ${i + 1}, column "${names[j]}": ${c.problem}`);
      return c.cell;
    }),
  );
  return { schema: s, rows };
}

/** Whether `cell` is a valid value of `type` (null aside); used to catch hand-built rows that break their schema. */
export function cellFits(cell: Cell, type: ColumnType): boolean {
  switch (type) {
    case 'string':
      return typeof cell === 'string';
    case 'boolean':
      return typeof cell === 'boolean';
    case 'number':
      return typeof cell === 'number' && Number.isFinite(cell);
    case 'timestamp':
      return typeof cell === 'number' && Number.isFinite(cell) && cell >= MIN_TS && cell <= MAX_TS;
  }
}
