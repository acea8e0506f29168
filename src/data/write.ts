/**
 * Writers for prepared data: tables as CSV, TSV or JSONL, streamed row by row with back-pressure (so writing
 * a large output holds one buffer, not the file), optionally hashed on the way for content-addressed datasets;
 * and the quarantine file that receives every row a preparation step drops, one JSON object per line:
 * `{"line": 12, "reason": "type", "message": "column \"age\": \"abc\" is not a number", "row": …}`.
 *
 * Text forms: null is an empty field (a one-column null row is written `""` so that readers do not skip it as
 * a blank line), booleans `true`/`false`, timestamps ISO 8601 in UTC, numbers as JavaScript prints them (which
 * reads back to the same double).
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { AimassError } from '../core/index.js';
import { type DataFormat, formatOf } from './load.js';
import { type Cell, type ColumnType, type Row, type Schema, formatTimestamp, rowToObject } from './table.js';

const FLUSH_AT = 1 << 18;

/** Buffered line output to a file; `close` resolves once everything is on disk. */
export class LineWriter {
  private stream: WriteStream;
  private buffer = '';
  private failure: Error | undefined;
  private readonly hash: Hash | undefined;
  bytes = 0;

  private constructor(
    readonly path: string,
    o: { hash?: boolean },
  ) {
    this.stream = createWriteStream(path);
    this.stream.on('error', (e) => (this.failure ??= e));
    if (o.hash) this.hash = createHash('sha256');
  }

  static async open(path: string, o: { hash?: boolean } = {}): Promise<LineWriter> {
    await mkdir(dirname(path), { recursive: true });
    return new LineWriter(path, o);
  }

  async write(line: string): Promise<void> {
    this.buffer += line + '\n';
    if (this.buffer.length >= FLUSH_AT) await this.flush();
  }

  /** Many lines with one await (a per-line await costs more than formatting the line). */
  async writeAll(lines: Iterable<string>): Promise<void> {
    for (const line of lines) {
      this.buffer += line + '\n';
      if (this.buffer.length >= FLUSH_AT) await this.flush();
    }
  }

  private async flush(): Promise<void> {
    this.check();
    if (!this.buffer) return;
    const chunk = Buffer.from(this.buffer, 'utf8');
    this.buffer = '';
    this.hash?.update(chunk);
    this.bytes += chunk.length;
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('error', done);
          resolve();
        };
        this.stream.on('drain', done).on('error', done);
      });
    }
    this.check();
  }

  private check(): void {
    if (this.failure) throw new AimassError('INTERNAL', `cannot write ${this.path}: ${this.failure.message}`, { path: this.path });
  }

  /** Flushes and closes; returns the size and (when hashing) the sha256 of everything written. */
  async close(): Promise<{ bytes: number; sha256?: string }> {
    await this.flush();
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    this.check();
    return { bytes: this.bytes, sha256: this.hash?.digest('hex') };
  }

  /** Stops writing and leaves the partial file for the caller to remove. */
  abort(): void {
    this.stream.destroy();
  }
}

function textOf(cell: Cell, type: ColumnType): string {
  if (cell === null) return '';
  if (type === 'timestamp' && typeof cell === 'number') return formatTimestamp(cell);
  return String(cell);
}

function quoteIfNeeded(s: string, delim: string): string {
  if (s.includes('"') || s.includes(delim) || s.includes('\n') || s.includes('\r')) return `"${s.replaceAll('"', '""')}"`;
  return s;
}

/** One CSV/TSV line for `row` (no newline). */
export function formatDelimitedRow(schema: Schema, row: Row, delim = ','): string {
  if (schema.length === 1 && row[0] === null) return '""';
  let out = '';
  for (let j = 0; j < schema.length; j++) {
    if (j) out += delim;
    const t = textOf(row[j], schema[j].type);
    out += schema[j].type === 'string' ? quoteIfNeeded(t, delim) : t;
  }
  return out;
}

export interface TableWriter {
  readonly path: string;
  readonly format: DataFormat;
  rows: number;
  write(row: Row): Promise<void>;
  writeRows(rows: readonly Row[]): Promise<void>;
  close(): Promise<{ rows: number; bytes: number; sha256?: string }>;
  abort(): void;
}

/** Opens `path` for rows of `schema` in `format` (by default from the extension) and writes the CSV/TSV header. */
export async function createTableWriter(path: string, schema: Schema, o: { format?: DataFormat; hash?: boolean } = {}): Promise<TableWriter> {
  const format = o.format ?? formatOf(path);
  const out = await LineWriter.open(path, { hash: o.hash });
  const delim = format === 'tsv' ? '\t' : ',';
  if (format !== 'jsonl') await out.write(schema.map((c) => quoteIfNeeded(c.name, delim)).join(delim));
  const line = (row: Row) => (format === 'jsonl' ? JSON.stringify(rowToObject(schema, row)) : formatDelimitedRow(schema, row, delim));
  const w: TableWriter = {
    path,
    format,
    rows: 0,
    async write(row) {
      w.rows++;
      await out.write(line(row));
    },
    async writeRows(rows) {
      w.rows += rows.length;
      await out.writeAll(rows.map(line));
    },
    async close() {
      return { rows: w.rows, ...(await out.close()) };
    },
    abort: () => out.abort(),
  };
  return w;
}

/** Writes a whole table; returns the row count and size. */
export async function writeTable(path: string, table: { schema: Schema; rows: Row[] }, o: { format?: DataFormat } = {}): Promise<{ rows: number; bytes: number }> {
  const w = await createTableWriter(path, table.schema, o);
  for (let i = 0; i < table.rows.length; i += 1024) await w.writeRows(table.rows.slice(i, i + 1024));
  return w.close();
}

// --- quarantine ------------------------------------------------------------------------------------------------

/** One dropped row: where it came from, why, and what it held (an object by column, or the raw record). */
export interface QuarantineEntry {
  /** The input file, when a step reads several (merge). */
  file?: string;
  line: number;
  reason: string;
  message?: string;
  row: unknown;
}

/** `<dir>/<name>.quarantine.jsonl` for output `<dir>/<name>.<ext>`: the quarantine sits next to the output. */
export function quarantinePathFor(output: string): string {
  const ext = extname(output);
  return join(dirname(output), `${basename(output, ext)}.quarantine.jsonl`);
}

export class QuarantineWriter {
  count = 0;
  private constructor(private readonly out: LineWriter) {}

  static async open(path: string): Promise<QuarantineWriter> {
    return new QuarantineWriter(await LineWriter.open(path));
  }

  get path(): string {
    return this.out.path;
  }

  async add(entry: QuarantineEntry): Promise<void> {
    this.count++;
    await this.out.write(JSON.stringify(entry));
  }

  async addAll(entries: readonly QuarantineEntry[]): Promise<void> {
    if (!entries.length) return;
    this.count += entries.length;
    await this.out.writeAll(entries.map((e) => JSON.stringify(e)));
  }

  async close(): Promise<{ bytes: number }> {
    return this.out.close();
  }
}

/** A typed row as a quarantine entry. */
export function quarantined(schema: Schema, line: number, reason: string, message: string | undefined, row: Row): QuarantineEntry {
  return message === undefined ? { line, reason, row: rowToObject(schema, row) } : { line, reason, message, row: rowToObject(schema, row) };
}
