/**
 * Loaders for tabular and text files: CSV, TSV (through `readCsv`) and JSONL (one JSON object per line).
 *
 * `openTable` reads just enough to know the schema (the header and the first `inferRows` records), then
 * `records()` streams the whole file as typed rows with their line numbers — a few hundred records in memory at
 * a time (`batches()`, which the steps of data/ use: one await per batch instead of one per row), so a file of
 * any size goes through `import`, `profile` and `clean` in bounded memory. A record that cannot be
 * a row is never dropped silently and never stops the stream: it comes out as a `BadRecord` saying why, with its
 * line and its raw content, for the caller to count and quarantine.
 *
 * Bad records: `ragged` (wrong number of fields, or JSON keys the schema does not have), `type` (a value that is
 * not of its column's type), `null` (a missing value in a column declared not nullable), `invalid-json`,
 * `invalid-utf8`. In JSONL, invalid UTF-8 is exact: the line's bytes are checked. `readCsv` decodes with
 * replacement, so in CSV/TSV a U+FFFD replacement character in a field is reported as invalid UTF-8 (a literal
 * U+FFFD in a source file is itself the trace of an earlier lossy decode).
 */
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { AimassError } from '../core/index.js';
import { type CsvRecord, readCsv } from './csv.js';
import {
  type Cell,
  type Column,
  type ColumnType,
  COLUMN_TYPES,
  type Row,
  type Schema,
  type Table,
  cellFits,
  coerce,
  inferSchema,
  parseBoolean,
  parseNumber,
  parseTimestamp,
} from './table.js';

export const DATA_FORMATS = ['csv', 'tsv', 'jsonl'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export type BadReason = 'ragged' | 'type' | 'null' | 'invalid-json' | 'invalid-utf8';

export interface RowRecord {
  kind: 'row';
  line: number;
  row: Row;
}

export interface BadRecord {
  kind: 'bad';
  line: number;
  reason: BadReason;
  /** What is wrong, naming the column(s), e.g. `column "age": "abc" is not a number`. */
  message: string;
  /** The record as read: CSV fields, a JSON object, or the line's text. */
  raw: unknown;
  /** The columns at fault, when the fault is in particular values. */
  columns?: string[];
}

export type SourceRecord = RowRecord | BadRecord;

export interface LoadOptions {
  /** csv, tsv or jsonl; by default from the extension (.tsv → tsv, .jsonl/.ndjson → jsonl, else csv). */
  format?: DataFormat;
  /** The full schema, enforced (types and nullability); CSV headers must name exactly these columns. */
  schema?: Schema;
  /** Types for some columns; the others are inferred. Nulls are allowed unless `nullable: false`. */
  columns?: Record<string, ColumnType | { type: ColumnType; nullable?: boolean }>;
  /** How many records the schema is inferred from (default 10,000); later values that do not fit are bad records. */
  inferRows?: number;
  /** CSV/TSV: whether the first record names the columns (default true); without, columns are column_1, column_2, … */
  header?: boolean;
  /** CSV: the field delimiter (default `,`, or tab for tsv). */
  delimiter?: string;
}

/** A file opened for streaming: its schema is known, its records are read on each call of `records()`. */
export interface TableSource {
  readonly path: string;
  readonly format: DataFormat;
  readonly schema: Schema;
  /** Every record of the file in order, rows and bad records; each call reads the file again from the start. */
  records(): AsyncGenerator<SourceRecord>;
  /** The same records in arrays of up to `size` (default 512). */
  batches(size?: number): AsyncGenerator<SourceRecord[]>;
}

export const DEFAULT_BATCH = 512;

/** One pass over a file: its raw items (CSV records, JSONL lines) and the function that types each (null: skip). */
interface Pass<T> {
  items: AsyncGenerator<T>;
  convert: (item: T) => SourceRecord | null;
}

/**
 * A source whose every read is a fresh `Pass`. Batches are the primitive, filled straight from the raw items so
 * that batch readers pay one await per batch.
 */
function sourceOf<T>(path: string, format: DataFormat, schema: Schema, open: () => Pass<T>): TableSource {
  async function* batches(size = DEFAULT_BATCH): AsyncGenerator<SourceRecord[]> {
    let batch: SourceRecord[] = [];
    const { items, convert } = open();
    for await (const item of items) {
      const r = convert(item);
      if (r === null) continue;
      batch.push(r);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  return {
    path,
    format,
    schema,
    batches,
    async *records() {
      for await (const batch of batches()) yield* batch;
    },
  };
}

export const DEFAULT_INFER_ROWS = 10_000;

/** The format of `path` from its extension, unless given. */
export function formatOf(path: string, given?: string): DataFormat {
  if (given !== undefined) {
    if (!(DATA_FORMATS as readonly string[]).includes(given)) {
      throw new AimassError('INVALID_ARGUMENT', `unknown data format "${given}"; use one of ${DATA_FORMATS.join(', ')}`);
    }
    return given as DataFormat;
  }
  const ext = extname(path).toLowerCase();
  return ext === '.tsv' || ext === '.tab' ? 'tsv' : ext === '.jsonl' || ext === '.ndjson' ? 'jsonl' : 'csv';
}

export async function openTable(path: string, o: LoadOptions = {}): Promise<TableSource> {
  const format = formatOf(path, o.format);
  return format === 'jsonl' ? openJsonl(path, o) : openDelimited(path, format, o);
}

/** The whole file in memory as a table (rows with their lines) and its bad records. */
export async function loadTable(input: string | TableSource, o: LoadOptions = {}): Promise<{ table: Table; bad: BadRecord[] }> {
  const source = typeof input === 'string' ? await openTable(input, o) : input;
  const rows: Row[] = [];
  const lines: number[] = [];
  const bad: BadRecord[] = [];
  for await (const batch of source.batches()) {
    for (const r of batch) {
      if (r.kind === 'row') {
        rows.push(r.row);
        lines.push(r.line);
      } else bad.push(r);
    }
  }
  return { table: { schema: source.schema, rows, lines }, bad };
}

// --- schema resolution ---------------------------------------------------------------------------------------

interface Resolved {
  schema: Schema;
  /** Whether a null in a non-nullable column is a bad record (only for schemas the caller declared). */
  enforceNullable: boolean[];
}

function checkType(t: unknown, column: string): ColumnType {
  if (!(COLUMN_TYPES as readonly unknown[]).includes(t)) {
    throw new AimassError('INVALID_ARGUMENT', `column "${column}": unknown type "${String(t)}"; use one of ${COLUMN_TYPES.join(', ')}`);
  }
  return t as ColumnType;
}

/** The schema to read with: given, or inferred from the sample with the `columns` overrides applied. */
function resolveSchema(path: string, names: string[], sample: unknown[][], o: LoadOptions): Resolved {
  if (o.schema) {
    const want = o.schema.map((c) => c.name);
    const missing = want.filter((n) => !names.includes(n));
    const extra = names.filter((n) => !want.includes(n));
    if (missing.length || extra.length) {
      const parts = [missing.length ? `missing column(s) ${missing.join(', ')}` : '', extra.length ? `unexpected column(s) ${extra.join(', ')}` : ''];
      throw new AimassError('DATA_FORMAT', `${path} does not match the given schema: ${parts.filter(Boolean).join('; ')}`, { path });
    }
    const schema = o.schema.map((c) => ({ name: c.name, type: checkType(c.type, c.name), nullable: c.nullable }));
    // the file's column order wins, so rows line up with its fields
    const ordered = names.map((n) => schema.find((c) => c.name === n)!);
    return { schema: ordered, enforceNullable: ordered.map((c) => !c.nullable) };
  }
  const inferred = inferSchema(names, sample);
  const enforce = names.map(() => false);
  for (const [name, spec] of Object.entries(o.columns ?? {})) {
    const j = names.indexOf(name);
    if (j < 0) throw new AimassError('INVALID_ARGUMENT', `no column "${name}" in ${path}; its columns are: ${names.join(', ')}`, { path, column: name });
    const s = typeof spec === 'string' ? { type: spec } : spec;
    inferred[j] = { name, type: checkType(s.type, name), nullable: s.nullable ?? true };
    enforce[j] = s.nullable === false;
  }
  return { schema: inferred, enforceNullable: enforce };
}

/** Coerces raw values (in schema order) into a row, or says what is wrong with them. */
function typeRow(raw: readonly unknown[], r: Resolved, line: number, original: unknown): SourceRecord {
  const { schema, enforceNullable } = r;
  const row: Row = new Array(schema.length);
  let faults: string[] | undefined;
  let columns: string[] | undefined;
  let typeFault = false;
  for (let j = 0; j < schema.length; j++) {
    const fast = textCell(raw[j], schema[j].type);
    if (fast !== undefined && (fast !== null || !enforceNullable[j])) {
      row[j] = fast;
      continue;
    }
    const c = coerce(raw[j], schema[j].type);
    if (!c.ok) {
      (faults ??= []).push(`column "${schema[j].name}": ${c.problem}`);
      (columns ??= []).push(schema[j].name);
      typeFault = true;
    } else if (c.cell === null && enforceNullable[j]) {
      (faults ??= []).push(`column "${schema[j].name}": the value is missing and the column may not be empty`);
      (columns ??= []).push(schema[j].name);
    } else row[j] = c.cell;
  }
  if (faults) return { kind: 'bad', line, reason: typeFault ? 'type' : 'null', message: faults.join('; '), raw: original, columns };
  return { kind: 'row', line, row };
}

/** Blank text, checked without allocating in the common case of a value that starts with a visible character. */
const isBlank = (s: string) => s.length === 0 || (s.charCodeAt(0) <= 32 && s.trim() === '');

/**
 * `coerce` for the common case, without allocating a result per cell: the cell, or undefined when the value
 * needs the full path (not text, or not valid — `coerce` then says why).
 */
function textCell(raw: unknown, type: ColumnType): Cell | undefined {
  if (typeof raw !== 'string') return raw === null || raw === undefined ? null : undefined;
  if (isBlank(raw)) return null;
  switch (type) {
    case 'string':
      return raw;
    case 'number':
      return parseNumber(raw);
    case 'boolean':
      return parseBoolean(raw);
    case 'timestamp': {
      const t = parseTimestamp(raw);
      return t !== undefined && cellFits(t, 'timestamp') ? t : undefined;
    }
  }
}

// --- CSV / TSV -----------------------------------------------------------------------------------------------

function headerNames(path: string, fields: string[]): string[] {
  const names = fields.map((f, j) => f.trim() || `column_${j + 1}`);
  const dup = names.find((n, j) => names.indexOf(n) !== j);
  if (dup !== undefined) throw new AimassError('DATA_FORMAT', `${path}: line 1: the header names column "${dup}" twice; column names must be unique`, { path, line: 1 });
  return names;
}

/** Why a CSV record cannot be typed at all (before its values are looked at), or undefined. */
function csvShapeFault(fields: string[], names: string[]): BadRecord['reason'] | undefined {
  if (fields.length !== names.length) return 'ragged';
  for (const f of fields) if (f.includes('\uFFFD')) return 'invalid-utf8';
  return undefined;
}

async function openDelimited(path: string, format: 'csv' | 'tsv', o: LoadOptions): Promise<TableSource> {
  const delimiter = o.delimiter ?? (format === 'tsv' ? '\t' : ',');
  const hasHeader = o.header ?? true;
  const limit = o.inferRows ?? DEFAULT_INFER_ROWS;
  let names: string[] | undefined;
  const sample: string[][] = [];
  const it = readCsv(path, { delimiter });
  try {
    for await (const rec of it) {
      if (!names) {
        names = hasHeader ? headerNames(path, rec.fields) : rec.fields.map((_, j) => `column_${j + 1}`);
        if (hasHeader) continue;
      }
      if (!csvShapeFault(rec.fields, names)) sample.push(rec.fields);
      if (sample.length >= limit) break;
    }
  } finally {
    await it.return(undefined);
  }
  if (!names) throw new AimassError('DATA_FORMAT', `${path} is empty: expected a header row naming the columns`, { path });
  const resolved = resolveSchema(path, names, sample, o);
  const width = names.length;
  return sourceOf(path, format, resolved.schema, () => {
    let first = hasHeader;
    const convert = (rec: CsvRecord): SourceRecord | null => {
      if (first) {
        first = false;
        return null;
      }
      const fault = csvShapeFault(rec.fields, names!);
      if (fault === 'ragged') {
        return { kind: 'bad', line: rec.line, reason: fault, message: `has ${rec.fields.length} field(s), the header has ${width}`, raw: rec.fields };
      }
      if (fault === 'invalid-utf8') {
        const cols = names!.filter((_, j) => rec.fields[j].includes('\uFFFD'));
        const message = `invalid UTF-8 (replaced by U+FFFD) in column(s) ${cols.map((c) => `"${c}"`).join(', ')}`;
        return { kind: 'bad', line: rec.line, reason: fault, message, raw: rec.fields, columns: cols };
      }
      return typeRow(rec.fields, resolved, rec.line, rec.fields);
    };
    return { items: readCsv(path, { delimiter }), convert };
  });
}

// --- JSONL -------------------------------------------------------------------------------------------------------

interface TextLine {
  line: number;
  text: string;
  validUtf8: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The file's lines (without their \n or \r\n), skipping blank ones, each checked for valid UTF-8. */
export async function* readLines(path: string): AsyncGenerator<TextLine> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  let pending: Buffer[] = [];
  let line = 1;
  function* emit(bytes: Buffer): Generator<TextLine> {
    let end = bytes.length;
    if (end && bytes[end - 1] === 13) end--;
    let start = 0;
    if (line === 1 && end >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3; // BOM
    const body = bytes.subarray(start, end);
    const text = body.toString('utf8');
    const n = line++;
    if (text.trim() === '') return;
    // toString replaces bad bytes with U+FFFD; only then is the strict (slower) check needed
    let validUtf8 = true;
    if (text.includes('\uFFFD')) {
      try {
        strictUtf8.decode(body);
      } catch {
        validUtf8 = false;
      }
    }
    yield { line: n, text, validUtf8 };
  }
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(10, from); nl >= 0; nl = chunk.indexOf(10, from)) {
        const part = chunk.subarray(from, nl);
        const bytes = pending.length ? Buffer.concat([...pending, part]) : part;
        pending = [];
        yield* emit(bytes);
        from = nl + 1;
      }
      if (from < chunk.length) pending.push(chunk.subarray(from));
    }
  } catch (e) {
    if (e instanceof AimassError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new AimassError(code === 'ENOENT' ? 'NOT_FOUND' : 'DATA_FORMAT', `cannot read ${path}: ${(e as Error).message}`, { path });
  } finally {
    stream.destroy();
  }
  if (pending.length) yield* emit(Buffer.concat(pending));
}

type ParsedLine = { ok: true; object: Record<string, unknown> } | { ok: false; bad: BadRecord };

function parseJsonLine(l: TextLine): ParsedLine {
  if (!l.validUtf8) return { ok: false, bad: { kind: 'bad', line: l.line, reason: 'invalid-utf8', message: 'the line is not valid UTF-8', raw: l.text } };
  let value: unknown;
  try {
    value = JSON.parse(l.text);
  } catch (e) {
    return { ok: false, bad: { kind: 'bad', line: l.line, reason: 'invalid-json', message: `invalid JSON: ${(e as Error).message}`, raw: l.text } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const what = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    return { ok: false, bad: { kind: 'bad', line: l.line, reason: 'invalid-json', message: `expected a JSON object, got ${what}`, raw: l.text } };
  }
  return { ok: true, object: value as Record<string, unknown> };
}

async function openJsonl(path: string, o: LoadOptions): Promise<TableSource> {
  const limit = o.inferRows ?? DEFAULT_INFER_ROWS;
  const objects: Record<string, unknown>[] = [];
  const keys = new Set<string>();
  let anyLine = false;
  const it = readLines(path);
  try {
    for await (const l of it) {
      anyLine = true;
      const p = parseJsonLine(l);
      if (!p.ok) continue;
      objects.push(p.object);
      for (const k of Object.keys(p.object)) keys.add(k);
      if (objects.length >= limit) break;
    }
  } finally {
    await it.return(undefined);
  }
  if (!anyLine) throw new AimassError('DATA_FORMAT', `${path} is empty: expected one JSON object per line`, { path });
  const names = o.schema ? o.schema.map((c: Column) => c.name) : [...keys];
  const resolved = resolveSchema(
    path,
    names,
    objects.map((obj) => names.map((n) => obj[n])),
    o,
  );
  const known = new Set(resolved.schema.map((c) => c.name));
  const convert = (l: TextLine): SourceRecord => {
    const p = parseJsonLine(l);
    if (!p.ok) return p.bad;
    const unknown = Object.keys(p.object).filter((k) => !known.has(k));
    if (unknown.length) {
      return {
        kind: 'bad',
        line: l.line,
        reason: 'ragged',
        message: `has field(s) ${unknown.map((k) => `"${k}"`).join(', ')} that the schema does not${o.schema ? '' : ` (it was inferred from the first ${limit} lines; raise inferRows to see more)`}`,
        raw: p.object,
      };
    }
    return typeRow(
      resolved.schema.map((c) => p.object[c.name]),
      resolved,
      l.line,
      p.object,
    );
  };
  return sourceOf(path, 'jsonl', resolved.schema, () => ({ items: readLines(path), convert }));
}
