/**
 * Column statistics of a table or a streamed file — the same numbers a versioned dataset's manifest records:
 * per column count (non-null values), nulls; min, max, mean and standard deviation for numbers (min and max for
 * timestamps, as ISO strings); a distinct count (exact up to 10,000, then estimated) and the most frequent values
 * for strings and booleans. Memory is per column (see sketches.ts), never per row. Bad records of a file are
 * counted by reason, with the first few listed by line.
 */
import type { BadRecord, TableSource } from './load.js';
import { DistinctCounter, Moments, TopValues } from './sketches.js';
import { type Cell, type ColumnType, type Row, type Schema, type Table, formatTimestamp } from './table.js';

export interface ColumnStats {
  name: string;
  type: ColumnType;
  /** Non-null values. */
  count: number;
  nulls: number;
  /** Numbers: the value; timestamps: ISO 8601. Absent when the column has no values. */
  min?: number | string;
  max?: number | string;
  /** Numbers only. */
  mean?: number;
  std?: number;
  /** Strings and booleans: distinct non-null values (`distinctExact` false when estimated). */
  distinct?: number;
  distinctExact?: boolean;
  /** Strings and booleans: the most frequent values, most frequent first. */
  top?: { value: string | number | boolean; count: number }[];
  topExact?: boolean;
}

export interface RejectedSummary {
  rows: number;
  byReason: Record<string, number>;
  /** The first bad records, as `line N: message`. */
  first: string[];
}

export interface TableProfile {
  rows: number;
  columns: ColumnStats[];
  /** Records of the file that are not rows (only when profiling a file). */
  rejected?: RejectedSummary;
}

export const TOP_VALUES = 10;
const FIRST_PROBLEMS = 20;

/** Accumulates column statistics row by row. */
export class Profiler {
  rows = 0;
  private readonly nulls: number[];
  private readonly moments: Moments[];
  private readonly distinct: (DistinctCounter | undefined)[];
  private readonly tops: (TopValues | undefined)[];

  constructor(readonly schema: Schema) {
    const counted = (t: ColumnType) => t === 'string' || t === 'boolean';
    this.nulls = schema.map(() => 0);
    this.moments = schema.map(() => new Moments());
    this.distinct = schema.map((c) => (counted(c.type) ? new DistinctCounter() : undefined));
    this.tops = schema.map((c) => (counted(c.type) ? new TopValues() : undefined));
  }

  add(row: Row): void {
    this.rows++;
    for (let j = 0; j < this.schema.length; j++) {
      const v: Cell = row[j];
      if (v === null) {
        this.nulls[j]++;
        continue;
      }
      if (typeof v === 'number') this.moments[j].add(v);
      else this.moments[j].count++;
      this.distinct[j]?.add(String(v));
      this.tops[j]?.add(v);
    }
  }

  result(): TableProfile {
    return {
      rows: this.rows,
      columns: this.schema.map((c, j) => {
        const m = this.moments[j];
        const s: ColumnStats = { name: c.name, type: c.type, count: m.count, nulls: this.nulls[j] };
        if (c.type === 'number' && m.count) Object.assign(s, { min: m.min, max: m.max, mean: m.mean, std: m.std });
        if (c.type === 'timestamp' && m.count) Object.assign(s, { min: formatTimestamp(m.min), max: formatTimestamp(m.max) });
        const d = this.distinct[j];
        const t = this.tops[j];
        if (d && t) Object.assign(s, { distinct: d.estimate(), distinctExact: d.isExact, top: t.top(TOP_VALUES), topExact: t.isExact });
        return s;
      }),
    };
  }
}

/** Counts bad records by reason and keeps the first few messages. */
export class RejectedCounter {
  rows = 0;
  readonly byReason: Record<string, number> = {};
  readonly first: string[] = [];

  add(b: BadRecord): void {
    this.rows++;
    this.byReason[b.reason] = (this.byReason[b.reason] ?? 0) + 1;
    if (this.first.length < FIRST_PROBLEMS) this.first.push(`line ${b.line}: ${b.message}`);
  }

  result(): RejectedSummary {
    return { rows: this.rows, byReason: { ...this.byReason }, first: [...this.first] };
  }
}

/** Statistics of an in-memory table, or of a file streamed once (with its bad records counted). */
export async function profile(input: Table | TableSource): Promise<TableProfile> {
  const p = new Profiler(input.schema);
  if ('rows' in input) {
    for (const row of input.rows) p.add(row);
    return p.result();
  }
  const rejected = new RejectedCounter();
  for await (const batch of input.batches()) {
    for (const r of batch) {
      if (r.kind === 'row') p.add(r.row);
      else rejected.add(r);
    }
  }
  return { ...p.result(), rejected: rejected.result() };
}

/** The schema with `nullable` set from what the data holds (any null seen). */
export function schemaFromProfile(schema: Schema, stats: TableProfile): Schema {
  return schema.map((c, j) => ({ ...c, nullable: stats.columns[j].nulls > 0 }));
}
