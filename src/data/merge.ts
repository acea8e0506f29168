/**
 * Merging base rows with context: a key join (inner or left) and an as-of join by time.
 *
 * Output rows follow the base table's order (and its source lines); its columns are the base's, then the
 * context's without its key columns (a name the base already has gets `suffix`, `_context` by default). Keys
 * compare by their text, so an id read as a number in one file and as text in another still joins; a row with a
 * missing key matches nothing.
 *
 * As-of: for each base row, the latest context row with the same key at or before the base row's time, if it
 * is at most `tolerance` earlier (in the time column's unit: milliseconds for timestamps), else nulls. Among
 * context rows with the same key and time, the last one in context order wins. Both sides are sorted by
 * (key, time) and walked with two pointers: O((n + m) log(n + m)), not O(n·m). The context's time column is
 * kept (suffixed), so each output row shows which context time it took.
 */
import { AimassError } from '../core/index.js';
import { type Cell, type Column, type Row, type Table, columnIndex, lineOf, typedColumnIndex } from './table.js';

export interface JoinOptions {
  /** Key column(s) of the base (and of the context, unless `contextOn` is given). */
  on: string | string[];
  contextOn?: string | string[];
  how?: 'inner' | 'left';
  suffix?: string;
}

const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);

/** The key of a row as text, or null when a key cell is missing. */
function keyOf(row: Row, idx: number[]): string | null {
  if (idx.length === 1) {
    const v = row[idx[0]];
    return v === null ? null : String(v);
  }
  let k = '';
  for (const j of idx) {
    const v = row[j];
    if (v === null) return null;
    k += `${String(v)}\u0000`;
  }
  return k;
}

/** Output schema and the context columns that go into it. */
function outputColumns(base: Table, context: Table, skip: Set<number>, suffix: string, nullable: boolean): { schema: Column[]; take: number[] } {
  const names = new Set(base.schema.map((c) => c.name));
  const schema: Column[] = base.schema.map((c) => ({ ...c }));
  const take: number[] = [];
  context.schema.forEach((c, j) => {
    if (skip.has(j)) return;
    let name = c.name;
    if (names.has(name)) name = `${name}${suffix}`;
    if (names.has(name)) throw new AimassError('INVALID_ARGUMENT', `context column "${c.name}" clashes with base column "${name}"; choose another suffix`);
    names.add(name);
    schema.push({ name, type: c.type, nullable: c.nullable || nullable });
    take.push(j);
  });
  return { schema, take };
}

function keyColumns(base: Table, context: Table, on: string | string[], contextOn?: string | string[]): { b: number[]; c: number[] } {
  const bn = list(on);
  const cn = list(contextOn ?? on);
  if (!bn.length || bn.length !== cn.length) throw new AimassError('INVALID_ARGUMENT', `join keys: the base has ${bn.length} and the context ${cn.length}; give the same number (at least one)`);
  return { b: bn.map((n) => columnIndex(base.schema, n)), c: cn.map((n) => columnIndex(context.schema, n)) };
}

/** Base rows (indices) that no context row matches, a missing key included: what an inner join leaves out. */
export function unmatchedRows(base: Table, context: Table, o: Pick<JoinOptions, 'on' | 'contextOn'>): number[] {
  const keys = keyColumns(base, context, o.on, o.contextOn);
  const present = new Set<string>();
  for (const row of context.rows) {
    const k = keyOf(row, keys.c);
    if (k !== null) present.add(k);
  }
  const out: number[] = [];
  base.rows.forEach((row, i) => {
    const k = keyOf(row, keys.b);
    if (k === null || !present.has(k)) out.push(i);
  });
  return out;
}

export function joinTables(base: Table, context: Table, o: JoinOptions): Table {
  const how = o.how ?? 'inner';
  if (how !== 'inner' && how !== 'left') throw new AimassError('INVALID_ARGUMENT', `unknown join "${String(how)}"; use inner or left`);
  const keys = keyColumns(base, context, o.on, o.contextOn);
  const { schema, take } = outputColumns(base, context, new Set(keys.c), o.suffix ?? '_context', how === 'left');
  const index = new Map<string, number[]>();
  context.rows.forEach((row, i) => {
    const k = keyOf(row, keys.c);
    if (k === null) return;
    let l = index.get(k);
    if (!l) index.set(k, (l = []));
    l.push(i);
  });
  const rows: Row[] = [];
  const lines: number[] = [];
  const nulls: Cell[] = take.map(() => null);
  base.rows.forEach((row, i) => {
    const k = keyOf(row, keys.b);
    const matches = k === null ? undefined : index.get(k);
    if (matches) {
      for (const m of matches) {
        rows.push(row.concat(take.map((j) => context.rows[m][j])));
        lines.push(lineOf(base, i));
      }
    } else if (how === 'left') {
      rows.push(row.concat(nulls));
      lines.push(lineOf(base, i));
    }
  });
  return { schema, rows, lines };
}

export interface AsofOptions {
  /** Key column(s); an empty list matches on time alone. */
  on: string | string[];
  contextOn?: string | string[];
  /** Time column of the base (a timestamp or number column). */
  time: string;
  /** Time column of the context (default: `time`). */
  contextTime?: string;
  /** How much earlier the context row may be, in the time column's unit (ms for timestamps); default unlimited. */
  tolerance?: number;
  /** Whether a context row at exactly the base row's time counts (default true). */
  allowExactMatches?: boolean;
  suffix?: string;
}

/** For each base row, the index of its as-of context row or -1. */
export function asofMatches(base: Table, context: Table, o: AsofOptions): Int32Array {
  const bk = list(o.on).map((n) => columnIndex(base.schema, n));
  const ck = list(o.contextOn ?? o.on).map((n) => columnIndex(context.schema, n));
  if (bk.length !== ck.length) throw new AimassError('INVALID_ARGUMENT', 'as-of join keys: give the same number of key columns for base and context');
  const bt = typedColumnIndex(base.schema, o.time, ['timestamp', 'number'], 'an as-of join');
  const ct = typedColumnIndex(context.schema, o.contextTime ?? o.time, ['timestamp', 'number'], 'an as-of join');
  const tolerance = o.tolerance ?? Infinity;
  if (!(tolerance >= 0)) throw new AimassError('INVALID_ARGUMENT', `the as-of tolerance must be 0 or more, got ${tolerance}`);
  const exact = o.allowExactMatches ?? true;

  const sides = [
    { t: base, k: bk, time: bt },
    { t: context, k: ck, time: ct },
  ].map(({ t, k, time }) => {
    const keys: (string | null)[] = t.rows.map((r) => (k.length ? keyOf(r, k) : ''));
    const times = t.rows.map((r) => r[time] as number | null);
    const order = t.rows.map((_, i) => i).filter((i) => keys[i] !== null && times[i] !== null);
    order.sort((a, b) => {
      const ka = keys[a]!;
      const kb = keys[b]!;
      if (ka !== kb) return ka < kb ? -1 : 1;
      return times[a]! - times[b]! || a - b;
    });
    return { keys, times, order };
  });
  const [B, C] = sides;
  const match = new Int32Array(base.rows.length).fill(-1);
  let c = 0;
  let cand = -1;
  for (const b of B.order) {
    const key = B.keys[b]!;
    const t = B.times[b]!;
    // advance past every context row that sorts at or before (key, t): the last one of the same key is the answer
    while (c < C.order.length) {
      const i = C.order[c];
      const k = C.keys[i]!;
      const ti = C.times[i]!;
      if (k < key || (k === key && (exact ? ti <= t : ti < t))) {
        cand = i;
        c++;
      } else break;
    }
    if (cand >= 0 && C.keys[cand] === key && t - C.times[cand]! <= tolerance) match[b] = cand;
  }
  return match;
}

export function asofJoin(base: Table, context: Table, o: AsofOptions): Table {
  const match = asofMatches(base, context, o);
  const skip = new Set(list(o.contextOn ?? o.on).map((n) => columnIndex(context.schema, n)));
  const { schema, take } = outputColumns(base, context, skip, o.suffix ?? '_context', true);
  const nulls: Cell[] = take.map(() => null);
  const rows = base.rows.map((row, i) => row.concat(match[i] < 0 ? nulls : take.map((j) => context.rows[match[i]][j])));
  return { schema, rows, lines: base.rows.map((_, i) => lineOf(base, i)) };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `5m`, `90s`, `1.5h`, `250ms`, `2d`, `1w` in milliseconds; a bare number is taken as it is. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m?.[2].toLowerCase() ?? '';
  if (!m || (unit && !(unit in DURATION_UNITS))) {
    throw new AimassError('INVALID_ARGUMENT', `"${text}" is not a duration; write a number with a unit: ${Object.keys(DURATION_UNITS).join(', ')} (e.g. 5m)`);
  }
  return Number(m[1]) * (unit ? DURATION_UNITS[unit] : 1);
}
