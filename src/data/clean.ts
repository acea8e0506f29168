/**
 * Cleaning: invalid rows, exact and near duplicates, missing values and outliers, with nothing lost silently.
 * Every row that is dropped goes to the quarantine (`{line, reason, message, row}`) and every row that is dropped
 * or changed is counted in the `CleaningReport` by reason and by column, so `rowsIn = rowsOut + dropped` always.
 *
 * Each row meets the steps in this order, and the first that drops it gives the reason:
 *   1. invalid — a bad record of the file (ragged, type error, invalid UTF-8 or JSON), or a cell that does not
 *      fit its column's type in an in-memory table (`type`);
 *   2. `duplicate` — the same normalized row as an earlier kept one: cells by type (so `1.0` and `1` are equal),
 *      strings trimmed and in Unicode NFC, compared by a 64-bit fingerprint (see hashing.ts);
 *   3. `near-duplicate` — a text column whose text is nearly that of an earlier kept row (MinHash + LSH over
 *      character shingles of the normalized text, estimated Jaccard ≥ threshold; see near-duplicates.ts);
 *   4. missing values, per column: keep, drop the row (`missing`), or fill with a constant, the mean, the median
 *      or the mode (rows changed: `filled`);
 *   5. outliers in number columns, by z-score (|x − mean| > t·std) or IQR (outside [Q1 − k·IQR, Q3 + k·IQR]):
 *      drop (`outlier`) or clip to the bound (rows changed: `clipped`).
 *
 * Means, medians, modes and outlier bounds are fitted on the rows that pass steps 1–3 (and, for columns whose
 * missing values drop the row, that have those values), on their non-null values; for a file that is a first
 * streaming pass, then a second pass cleans. Medians and quartiles are exact up to 100,000 values per column and
 * estimated from a seeded uniform sample beyond.
 */
import { AimassError } from '../core/index.js';
import { FingerprintSet } from './hashing.js';
import { type BadRecord, type DataFormat, type LoadOptions, type TableSource, openTable } from './load.js';
import { NearDuplicateIndex } from './near-duplicates.js';
import { Moments, Reservoir, TopValues } from './sketches.js';
import { type Cell, type Row, type Schema, type Table, cellFits, cellToJson, coerce, columnIndex, lineOf, typedColumnIndex } from './table.js';
import { type QuarantineEntry, QuarantineWriter, createTableWriter, quarantinePathFor, quarantined } from './write.js';

export type MissingStrategy = 'keep' | 'drop' | 'mean' | 'median' | 'mode' | { constant: Cell };

export interface OutlierRule {
  method: 'zscore' | 'iqr';
  /** z-score: how many standard deviations from the mean; IQR: k, how many IQRs beyond the quartiles. */
  threshold: number;
  /** Number columns to check (default: every number column). */
  columns?: string[];
  /** Drop the row (default) or clip the value to the bound. */
  action?: 'drop' | 'clip';
}

export interface CleanOptions {
  /** Drop exact duplicate rows; `columns` compares only those. */
  dedupe?: boolean | { columns?: string[] };
  /** Drop rows whose text in `column` nearly duplicates an earlier row's. */
  nearDedupe?: { column: string; threshold?: number; shingle?: number };
  /** What to do with missing values (default keep); mean and median apply to number and timestamp columns, other columns take the mode. */
  missing?: MissingStrategy;
  /** Per-column strategies, overriding `missing`. */
  missingByColumn?: Record<string, MissingStrategy>;
  outliers?: OutlierRule;
  /** Seed of the sample behind medians and quartiles of very large columns. */
  seed?: number;
}

export type DropReason = BadRecord['reason'] | 'duplicate' | 'near-duplicate' | 'missing' | 'outlier';
export type ChangeReason = 'filled' | 'clipped';

export interface ColumnCleaning {
  /** Rows dropped for an invalid value in this column. */
  invalid: number;
  /** Rows dropped for a missing value in this column. */
  missingDropped: number;
  /** Missing values filled. */
  filled: number;
  /** Missing values left as they are (strategy keep). */
  nullsKept: number;
  /** Rows dropped for an outlier in this column. */
  outliers: number;
  /** Values clipped to an outlier bound. */
  clipped: number;
}

export interface CleaningReport {
  /** Records read, rows and bad records alike. */
  rowsIn: number;
  rowsOut: number;
  dropped: number;
  /** Rows kept with at least one value changed. */
  changed: number;
  droppedByReason: Partial<Record<DropReason, number>>;
  changedByReason: Partial<Record<ChangeReason, number>>;
  columns: Record<string, ColumnCleaning>;
  /** The fill used for each column that has one (strategy and value; null when the column had no values). */
  fills: Record<string, { strategy: string; value: Cell }>;
  outlierBounds: Record<string, { method: OutlierRule['method']; threshold: number; low: number; high: number }>;
  /** Files written by `cleanFile`. */
  output?: string;
  quarantine?: string;
}

type Resolved = { kind: 'keep' } | { kind: 'drop' } | { kind: 'fill'; stat: 'mean' | 'median' | 'mode' | 'constant'; value?: Cell };

type Outcome = { row: Row } | { entry: QuarantineEntry };

const describe = (s: MissingStrategy) => (typeof s === 'string' ? s : `constant`);

function resolveStrategy(schema: Schema, j: number, s: MissingStrategy, explicit: boolean): Resolved {
  const c = schema[j];
  if (typeof s === 'object' && s !== null && 'constant' in s) {
    const v = coerce(s.constant, c.type);
    if (!v.ok || v.cell === null) {
      const why = v.ok ? 'it is empty' : v.problem;
      throw new AimassError('INVALID_ARGUMENT', `cannot fill column "${c.name}" (${c.type}) with the constant ${JSON.stringify(s.constant)}: ${why}`, { column: c.name });
    }
    return { kind: 'fill', stat: 'constant', value: v.cell };
  }
  switch (s) {
    case 'keep':
    case 'drop':
      return { kind: s };
    case 'mean':
    case 'median':
      if (c.type === 'number' || c.type === 'timestamp') return { kind: 'fill', stat: s };
      if (explicit) throw new AimassError('INVALID_ARGUMENT', `cannot fill column "${c.name}" with its ${s}: it is a ${c.type} column; use mode or a constant`, { column: c.name });
      return { kind: 'fill', stat: 'mode' };
    case 'mode':
      return { kind: 'fill', stat: 'mode' };
    default:
      throw new AimassError('INVALID_ARGUMENT', `unknown missing-value strategy ${JSON.stringify(s)}; use keep, drop, mean, median, mode or { constant }`);
  }
}

const NON_ASCII = /[^\u0000-\u007f]/;

/** A string as compared for exact duplicates: trimmed, and in NFC when it has non-ASCII characters. */
function normalizeCell(v: string): string {
  const t = v.length && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32) ? v.trim() : v;
  return NON_ASCII.test(t) ? t.normalize('NFC') : t;
}

/**
 * The normalized text of a row for exact deduplication: each cell tagged with its type, strings prefixed by
 * their length so that no two different rows can give the same text.
 */
function rowKey(row: Row, cols: number[] | undefined): string {
  let key = '';
  const n = cols ? cols.length : row.length;
  for (let k = 0; k < n; k++) {
    const v = row[cols ? cols[k] : k];
    if (v === null) key += '~';
    else if (typeof v === 'string') {
      const t = normalizeCell(v);
      key += `s${t.length}:${t}`;
    } else key += typeof v === 'number' ? `n${v};` : v ? 'T' : 'F';
  }
  return key;
}

/** State of steps 2–3, fresh for each pass. */
class DuplicateFilter {
  private readonly seen: FingerprintSet | undefined;
  private readonly near: NearDuplicateIndex | undefined;

  constructor(
    private readonly plan: CleanPlan,
  ) {
    this.seen = plan.dedupe ? new FingerprintSet() : undefined;
    this.near = plan.near ? new NearDuplicateIndex(plan.near.options) : undefined;
  }

  /** Why the row is a duplicate, or undefined (and it is remembered). */
  check(line: number, row: Row): { reason: DropReason; message: string; columns?: string[] } | undefined {
    if (this.seen && !this.seen.add(rowKey(row, this.plan.dedupe!.columns))) {
      return { reason: 'duplicate', message: 'the same row (after normalization) as an earlier one' };
    }
    if (this.near) {
      const { column, j } = this.plan.near!;
      const text = row[j];
      if (typeof text === 'string') {
        const match = this.near.check(text, line);
        if (match) {
          return {
            reason: 'near-duplicate',
            message: `column "${column}" nearly duplicates line ${match.of} (estimated similarity ${match.similarity.toFixed(2)})`,
            columns: [column],
          };
        }
      }
    }
    return undefined;
  }
}

/** The options checked against the schema, and the statistics they need. */
class CleanPlan {
  readonly dedupe: { columns?: number[] } | undefined;
  readonly near: { column: string; j: number; options: { threshold?: number; shingle?: number } } | undefined;
  readonly missing: Resolved[];
  readonly outlierCols: number[];
  readonly outliers: OutlierRule | undefined;
  readonly strategyNames: string[];

  constructor(
    readonly schema: Schema,
    o: CleanOptions,
  ) {
    if (o.dedupe) {
      const cols = typeof o.dedupe === 'object' && o.dedupe.columns ? o.dedupe.columns.map((c) => columnIndex(schema, c)) : undefined;
      this.dedupe = { columns: cols };
    }
    if (o.nearDedupe) {
      const j = typedColumnIndex(schema, o.nearDedupe.column, ['string'], 'near-duplicate removal');
      this.near = { column: o.nearDedupe.column, j, options: { threshold: o.nearDedupe.threshold, shingle: o.nearDedupe.shingle } };
      new NearDuplicateIndex(this.near.options); // checks the options now, before any pass
    }
    for (const name of Object.keys(o.missingByColumn ?? {})) columnIndex(schema, name);
    this.missing = schema.map((c, j) => {
      const own = o.missingByColumn?.[c.name];
      return resolveStrategy(schema, j, own ?? o.missing ?? 'keep', own !== undefined);
    });
    this.strategyNames = schema.map((c) => describe(o.missingByColumn?.[c.name] ?? o.missing ?? 'keep'));
    if (o.outliers) {
      const r = o.outliers;
      if (r.method !== 'zscore' && r.method !== 'iqr') throw new AimassError('INVALID_ARGUMENT', `unknown outlier method "${String(r.method)}"; use zscore or iqr`);
      if (!(Number.isFinite(r.threshold) && r.threshold > 0)) throw new AimassError('INVALID_ARGUMENT', `the outlier threshold must be a positive number, got ${r.threshold}`);
      if (r.action !== undefined && r.action !== 'drop' && r.action !== 'clip') throw new AimassError('INVALID_ARGUMENT', `unknown outlier action "${String(r.action)}"; use drop or clip`);
      this.outliers = r;
      this.outlierCols = r.columns
        ? r.columns.map((c) => typedColumnIndex(schema, c, ['number'], 'outlier detection'))
        : schema.flatMap((c, j) => (c.type === 'number' ? [j] : []));
    } else this.outlierCols = [];
  }

  get needsFit(): boolean {
    return this.outlierCols.length > 0 || this.missing.some((m) => m.kind === 'fill' && m.stat !== 'constant');
  }
}

interface ColumnFit {
  moments?: Moments;
  sample?: Reservoir;
  top?: TopValues;
}

/** Runs the steps on rows and keeps the report; one instance per cleaning job. */
export class Cleaner {
  readonly report: CleaningReport;
  private readonly plan: CleanPlan;
  private fit: (ColumnFit | undefined)[] = [];
  private filter: DuplicateFilter;
  private bounds: ({ low: number; high: number } | undefined)[] = [];
  private fitted = false;

  constructor(
    readonly schema: Schema,
    o: CleanOptions = {},
  ) {
    this.plan = new CleanPlan(schema, o);
    this.report = {
      rowsIn: 0,
      rowsOut: 0,
      dropped: 0,
      changed: 0,
      droppedByReason: {},
      changedByReason: {},
      columns: Object.fromEntries(schema.map((c) => [c.name, { invalid: 0, missingDropped: 0, filled: 0, nullsKept: 0, outliers: 0, clipped: 0 }])),
      fills: {},
      outlierBounds: {},
    };
    const seed = o.seed ?? 1;
    const outlierSet = new Set(this.plan.outlierCols);
    this.fit = schema.map((_, j) => {
      const m = this.plan.missing[j];
      const stat = m.kind === 'fill' ? m.stat : undefined;
      const wantsMoments = stat === 'mean' || (outlierSet.has(j) && o.outliers?.method === 'zscore');
      const wantsSample = stat === 'median' || (outlierSet.has(j) && o.outliers?.method === 'iqr');
      if (!wantsMoments && !wantsSample && stat !== 'mode') return undefined;
      return { moments: wantsMoments ? new Moments() : undefined, sample: wantsSample ? new Reservoir(seed + j) : undefined, top: stat === 'mode' ? new TopValues() : undefined };
    });
    this.filter = new DuplicateFilter(this.plan);
    if (!this.plan.needsFit) this.endFit();
  }

  /** Whether `fitRow` must see the rows (a first pass) before `clean`. */
  get needsFit(): boolean {
    return this.plan.needsFit;
  }

  /** First pass: learns fills and bounds from a row that would survive steps 1–3. */
  fitRow(line: number, row: Row): void {
    if (this.invalid(row) || this.filter.check(line, row)) return;
    const missing = this.plan.missing;
    for (let j = 0; j < row.length; j++) if (row[j] === null && missing[j].kind === 'drop') return;
    for (let j = 0; j < row.length; j++) {
      const f = this.fit[j];
      const v = row[j];
      if (!f || v === null) continue;
      if (typeof v === 'number') {
        f.moments?.add(v);
        f.sample?.add(v);
      }
      f.top?.add(v);
    }
  }

  /** Ends the first pass: fixes fill values and outlier bounds, and resets the duplicate state for the second. */
  endFit(): void {
    if (this.fitted) return;
    this.fitted = true;
    const { schema, plan } = this;
    for (let j = 0; j < schema.length; j++) {
      const m = plan.missing[j];
      if (m.kind !== 'fill') continue;
      const f = this.fit[j];
      let value: Cell | undefined = m.value;
      if (m.stat === 'mean' && f?.moments?.count) value = f.moments.mean;
      if (m.stat === 'median' && f?.sample) value = f.sample.quantile(0.5);
      if (m.stat === 'mode') value = f?.top?.top(1)[0]?.value;
      if (typeof value === 'number' && Number.isNaN(value)) value = undefined;
      if (typeof value === 'number' && schema[j].type === 'timestamp') value = Math.round(value);
      m.value = value;
      this.report.fills[schema[j].name] = { strategy: m.stat, value: value === undefined ? null : cellToJson(value, schema[j].type) };
    }
    const rule = plan.outliers;
    for (const j of plan.outlierCols) {
      const f = this.fit[j]!;
      let b: { low: number; high: number } | undefined;
      if (rule!.method === 'zscore' && f.moments!.count) {
        const { mean, std } = f.moments!;
        b = { low: mean - rule!.threshold * std, high: mean + rule!.threshold * std };
      } else if (rule!.method === 'iqr' && !Number.isNaN(f.sample!.quantile(0.5))) {
        const q1 = f.sample!.quantile(0.25);
        const q3 = f.sample!.quantile(0.75);
        b = { low: q1 - rule!.threshold * (q3 - q1), high: q3 + rule!.threshold * (q3 - q1) };
      }
      this.bounds[j] = b;
      if (b) this.report.outlierBounds[schema[j].name] = { method: rule!.method, threshold: rule!.threshold, ...b };
    }
    this.filter = new DuplicateFilter(plan);
  }

  private invalid(row: Row): string | undefined {
    const { schema } = this;
    if (row.length !== schema.length) return `has ${row.length} values, the schema has ${schema.length} columns`;
    for (let j = 0; j < row.length; j++) {
      if (row[j] !== null && !cellFits(row[j], schema[j].type)) return `column "${schema[j].name}": ${JSON.stringify(row[j])} is not a valid ${schema[j].type}`;
    }
    return undefined;
  }

  /** Counts a dropped row and makes its quarantine entry (of the typed row, or of the raw record). */
  private drop(line: number, reason: DropReason, message: string, row: Row | null, raw?: unknown): { entry: QuarantineEntry } {
    const r = this.report;
    r.dropped++;
    r.droppedByReason[reason] = (r.droppedByReason[reason] ?? 0) + 1;
    return { entry: row ? quarantined(this.schema, line, reason, message, row) : { line, reason, message, row: raw } };
  }

  /** A bad record of the source file: counted and quarantined as it is. */
  reject(bad: BadRecord): QuarantineEntry {
    this.report.rowsIn++;
    for (const c of bad.columns ?? []) if (this.report.columns[c]) this.report.columns[c].invalid++;
    return this.drop(bad.line, bad.reason, bad.message, null, bad.raw).entry;
  }

  /** Second pass: the row as cleaned, or its quarantine entry. */
  clean(line: number, row: Row): Outcome {
    if (!this.fitted) throw new AimassError('INTERNAL', 'Cleaner.clean was called before endFit; fit the rows first');
    const { schema, plan, report } = this;
    report.rowsIn++;
    const invalid = this.invalid(row);
    if (invalid) {
      const j = schema.findIndex((c, k) => row[k] !== null && row[k] !== undefined && !cellFits(row[k], c.type));
      if (j >= 0) report.columns[schema[j].name].invalid++;
      return this.drop(line, row.length === schema.length ? 'type' : 'ragged', invalid, row.length === schema.length ? row : null, row);
    }
    const dup = this.filter.check(line, row);
    if (dup) return this.drop(line, dup.reason, dup.message, row);

    const dropCols: number[] = [];
    const starved: number[] = [];
    for (let j = 0; j < row.length; j++) {
      if (row[j] !== null) continue;
      const m = plan.missing[j];
      if (m.kind === 'drop') dropCols.push(j);
      else if (m.kind === 'fill' && m.value === undefined) starved.push(j);
    }
    if (dropCols.length || starved.length) {
      for (const j of [...dropCols, ...starved]) report.columns[schema[j].name].missingDropped++;
      const names = (js: number[]) => js.map((j) => `"${schema[j].name}"`).join(', ');
      const parts = [
        dropCols.length ? `missing value in column(s) ${names(dropCols)}` : '',
        starved.length ? `missing value in column(s) ${names(starved)}, which have no values to fill it from` : '',
      ];
      return this.drop(line, 'missing', parts.filter(Boolean).join('; '), row);
    }

    // values are changed on a copy, and counted only once the row is kept
    let out = row;
    const filledCols: number[] = [];
    const keptNulls: number[] = [];
    for (let j = 0; j < row.length; j++) {
      if (row[j] !== null) continue;
      const m = plan.missing[j];
      if (m.kind === 'fill') {
        if (out === row) out = row.slice();
        out[j] = m.value!;
        filledCols.push(j);
      } else keptNulls.push(j);
    }

    const clippedCols: number[] = [];
    if (plan.outliers) {
      const faults: string[] = [];
      const outlierCols: number[] = [];
      for (const j of plan.outlierCols) {
        const v = out[j];
        const b = this.bounds[j];
        if (typeof v !== 'number' || !b || (v >= b.low && v <= b.high)) continue;
        if (plan.outliers.action === 'clip') {
          if (out === row) out = row.slice();
          out[j] = v < b.low ? b.low : b.high;
          clippedCols.push(j);
        } else {
          outlierCols.push(j);
          faults.push(`column "${schema[j].name}": ${v} is outside [${round(b.low)}, ${round(b.high)}] (${plan.outliers.method} ${plan.outliers.threshold})`);
        }
      }
      if (outlierCols.length) {
        for (const j of outlierCols) report.columns[schema[j].name].outliers++;
        return this.drop(line, 'outlier', faults.join('; '), row);
      }
    }
    report.rowsOut++;
    for (const j of filledCols) report.columns[schema[j].name].filled++;
    for (const j of keptNulls) report.columns[schema[j].name].nullsKept++;
    for (const j of clippedCols) report.columns[schema[j].name].clipped++;
    if (filledCols.length || clippedCols.length) {
      report.changed++;
      if (filledCols.length) report.changedByReason.filled = (report.changedByReason.filled ?? 0) + 1;
      if (clippedCols.length) report.changedByReason.clipped = (report.changedByReason.clipped ?? 0) + 1;
    }
    return { row: out };
  }
}

const round = (x: number) => Number(x.toPrecision(6));

export interface CleanedTable {
  table: Table;
  report: CleaningReport;
  quarantine: QuarantineEntry[];
}

/** Cleans an in-memory table; kept rows keep their source lines. */
export function cleanTable(table: Table, o: CleanOptions = {}): CleanedTable {
  const cleaner = new Cleaner(table.schema, o);
  if (cleaner.needsFit) {
    table.rows.forEach((row, i) => cleaner.fitRow(lineOf(table, i), row));
    cleaner.endFit();
  }
  const rows: Row[] = [];
  const lines: number[] = [];
  const quarantine: QuarantineEntry[] = [];
  table.rows.forEach((row, i) => {
    const r = cleaner.clean(lineOf(table, i), row);
    if ('row' in r) {
      rows.push(r.row);
      lines.push(lineOf(table, i));
    } else quarantine.push(r.entry);
  });
  return { table: { schema: table.schema, rows, lines }, report: cleaner.report, quarantine };
}

export interface CleanFileOptions extends CleanOptions {
  /** How to read the input when it is a path. */
  load?: LoadOptions;
  /** Output format (default: from the output's extension). */
  format?: DataFormat;
  /** Quarantine file (default: `<output name>.quarantine.jsonl` next to the output). */
  quarantine?: string;
}

/**
 * Cleans a file into `output`, streaming: one pass when no statistics are needed, else two. Dropped rows and
 * the file's bad records go to the quarantine file, which is always written (empty when nothing was dropped).
 */
export async function cleanFile(input: string | TableSource, output: string, o: CleanFileOptions = {}): Promise<CleaningReport> {
  const source = typeof input === 'string' ? await openTable(input, o.load) : input;
  const cleaner = new Cleaner(source.schema, o);
  if (cleaner.needsFit) {
    for await (const batch of source.batches()) for (const r of batch) if (r.kind === 'row') cleaner.fitRow(r.line, r.row);
    cleaner.endFit();
  }
  const quarantinePath = o.quarantine ?? quarantinePathFor(output);
  const writer = await createTableWriter(output, source.schema, { format: o.format });
  const quarantine = await QuarantineWriter.open(quarantinePath);
  try {
    for await (const batch of source.batches()) {
      const kept: Row[] = [];
      const dropped: QuarantineEntry[] = [];
      for (const r of batch) {
        if (r.kind === 'bad') {
          dropped.push(cleaner.reject(r));
          continue;
        }
        const out = cleaner.clean(r.line, r.row);
        if ('row' in out) kept.push(out.row);
        else dropped.push(out.entry);
      }
      await writer.writeRows(kept);
      await quarantine.addAll(dropped);
    }
  } catch (e) {
    writer.abort();
    await quarantine.close().catch(() => {});
    throw e;
  }
  await writer.close();
  await quarantine.close();
  return { ...cleaner.report, output, quarantine: quarantinePath };
}
