/**
 * Labels: maps that rename or merge classes, weak-supervision rules that vote a label or abstain, and class
 * balance statistics.
 *
 * A rule is bound to a schema once and then called per row: `keywordRule` (any keyword as a whole word in a text
 * column), `regexRule`, `thresholdRule` (a number column compared with a value). `applyRules` combines the votes
 * of all rules by majority: the label with the most votes wins; a tie for the most votes abstains (and is
 * counted as a tie), as does a row no rule voted on. Rules can also be written as JSON (`parseLabelRules`), which
 * is how the CLI reads them.
 */
import { z } from 'zod';
import { AimassError, parseWith } from '../core/index.js';
import { type Cell, type Row, type Schema, type Table, columnIndex, lineOf, typedColumnIndex } from './table.js';
import { type QuarantineEntry, quarantined } from './write.js';

// --- label maps ------------------------------------------------------------------------------------------------

/** Old label → new label. Several old labels with one new label merge those classes. */
export type LabelMap = Record<string, string>;

export interface RelabelOptions {
  /** A label that is neither a key nor a value of the map: keep it as it is, or drop the row (default). */
  onUnknown?: 'keep' | 'drop';
  /** A missing label: keep the row with a null label, or drop it (default). */
  onMissing?: 'keep' | 'drop';
}

export interface RelabelReport {
  rows: number;
  /** Rows whose label the map changed. */
  changed: number;
  /** Unknown labels and how many rows had each. */
  unknown: Record<string, number>;
  missing: number;
  dropped: number;
}

/**
 * The table with `column`'s labels mapped (the column becomes a string column). Labels already equal to a
 * value of the map are known and kept. Dropped rows go to the quarantine with reason `unknown-label` or
 * `missing-label`.
 */
export function relabel(table: Table, column: string, map: LabelMap, o: RelabelOptions = {}): { table: Table; report: RelabelReport; quarantine: QuarantineEntry[] } {
  const j = columnIndex(table.schema, column);
  const targets = new Set(Object.values(map));
  const report: RelabelReport = { rows: table.rows.length, changed: 0, unknown: {}, missing: 0, dropped: 0 };
  const rows: Row[] = [];
  const lines: number[] = [];
  const quarantine: QuarantineEntry[] = [];
  const known = Object.keys(map).concat([...targets]);
  table.rows.forEach((row, i) => {
    const line = lineOf(table, i);
    const v = row[j];
    let label: string | null = v === null ? null : String(v);
    if (label === null) {
      report.missing++;
      if ((o.onMissing ?? 'drop') === 'drop') {
        report.dropped++;
        quarantine.push(quarantined(table.schema, line, 'missing-label', `column "${column}": the label is empty`, row));
        return;
      }
    } else if (Object.hasOwn(map, label)) {
      if (map[label] !== label) report.changed++;
      label = map[label];
    } else if (!targets.has(label)) {
      report.unknown[label] = (report.unknown[label] ?? 0) + 1;
      if ((o.onUnknown ?? 'drop') === 'drop') {
        report.dropped++;
        const list = known.slice(0, 10).map((k) => `"${k}"`).join(', ') + (known.length > 10 ? ', …' : '');
        quarantine.push(quarantined(table.schema, line, 'unknown-label', `column "${column}": label "${label}" is not in the label map (known: ${list})`, row));
        return;
      }
    }
    const out = row.slice();
    out[j] = label;
    rows.push(out);
    lines.push(line);
  });
  const schema = table.schema.map((c, k) => (k === j ? { ...c, type: 'string' as const, nullable: rows.some((r) => r[j] === null) } : c));
  return { table: { schema, rows, lines }, report, quarantine };
}

// --- labelling rules -------------------------------------------------------------------------------------------

/** A vote: a label, or null to abstain. */
export type Vote = string | null;

export interface LabelingRule {
  readonly name: string;
  /** Checks the rule's columns against `schema` and returns the per-row vote. */
  bind(schema: Schema): (row: Row) => Vote;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface KeywordRuleOptions {
  name?: string;
  column: string;
  keywords: string[];
  label: string;
  caseSensitive?: boolean;
}

/** Votes `label` when any keyword appears as a whole word (not inside a longer word) in the text. */
export function keywordRule(o: KeywordRuleOptions): LabelingRule {
  if (!o.keywords.length) throw new AimassError('INVALID_ARGUMENT', `keyword rule for "${o.label}" has no keywords`);
  const alternatives = o.keywords.map(escapeRegex).join('|');
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternatives})(?![\\p{L}\\p{N}])`, o.caseSensitive ? 'u' : 'iu');
  return {
    name: o.name ?? `keyword:${o.label}`,
    bind(schema) {
      const j = typedColumnIndex(schema, o.column, ['string'], 'a keyword rule');
      return (row) => {
        const v = row[j];
        return typeof v === 'string' && re.test(v) ? o.label : null;
      };
    },
  };
}

export interface RegexRuleOptions {
  name?: string;
  column: string;
  pattern: string | RegExp;
  /** Flags when `pattern` is a string (e.g. "i"). */
  flags?: string;
  label: string;
}

/** Votes `label` when the pattern matches the column's text. */
export function regexRule(o: RegexRuleOptions): LabelingRule {
  let re: RegExp;
  try {
    re = typeof o.pattern === 'string' ? new RegExp(o.pattern, o.flags) : o.pattern;
  } catch (e) {
    throw new AimassError('INVALID_ARGUMENT', `regex rule for "${o.label}": ${(e as Error).message}`);
  }
  // a global or sticky regex keeps state between test() calls, which would make votes depend on row order
  if (re.global || re.sticky) re = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
  return {
    name: o.name ?? `regex:${o.label}`,
    bind(schema) {
      const j = columnIndex(schema, o.column);
      return (row) => {
        const v = row[j];
        return v !== null && re.test(String(v)) ? o.label : null;
      };
    },
  };
}

export const THRESHOLD_OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type ThresholdOp = (typeof THRESHOLD_OPS)[number];

export interface ThresholdRuleOptions {
  name?: string;
  column: string;
  op: ThresholdOp;
  value: number;
  label: string;
}

/** Votes `label` when the number column compares true with `value`; abstains on null. */
export function thresholdRule(o: ThresholdRuleOptions): LabelingRule {
  const cmp: Record<ThresholdOp, (a: number, b: number) => boolean> = {
    '>': (a, b) => a > b,
    '>=': (a, b) => a >= b,
    '<': (a, b) => a < b,
    '<=': (a, b) => a <= b,
    '==': (a, b) => a === b,
    '!=': (a, b) => a !== b,
  };
  const test = cmp[o.op];
  if (!test) throw new AimassError('INVALID_ARGUMENT', `unknown comparison "${o.op}"; use one of ${THRESHOLD_OPS.join(' ')}`);
  return {
    name: o.name ?? `threshold:${o.column}${o.op}${o.value}:${o.label}`,
    bind(schema) {
      const j = typedColumnIndex(schema, o.column, ['number', 'timestamp'], 'a threshold rule');
      return (row) => {
        const v = row[j];
        return typeof v === 'number' && test(v, o.value) ? o.label : null;
      };
    },
  };
}

export interface VoteReport {
  rows: number;
  labeled: number;
  /** Rows no rule voted on. */
  abstained: number;
  /** Rows where two or more labels tied for the most votes (they get no label). */
  ties: number;
  /** Rows where rules voted for different labels (ties included). */
  conflicts: number;
  /** Rows per resulting label. */
  byLabel: Record<string, number>;
  /** Per rule, how many rows it voted on. */
  votesByRule: Record<string, number>;
}

/** Each row's majority label (null on a tie or when every rule abstained), and the counts. */
export function applyRules(table: Table, rules: readonly LabelingRule[]): { labels: Vote[]; report: VoteReport } {
  if (!rules.length) throw new AimassError('INVALID_ARGUMENT', 'no labelling rules given');
  const names = rules.map((r) => r.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new AimassError('INVALID_ARGUMENT', `two labelling rules are named "${dup}"; give each a unique name`);
  const bound = rules.map((r) => r.bind(table.schema));
  const report: VoteReport = { rows: table.rows.length, labeled: 0, abstained: 0, ties: 0, conflicts: 0, byLabel: {}, votesByRule: Object.fromEntries(names.map((n) => [n, 0])) };
  const labels: Vote[] = table.rows.map((row) => {
    const votes = new Map<string, number>();
    bound.forEach((vote, k) => {
      const v = vote(row);
      if (v === null) return;
      report.votesByRule[names[k]]++;
      votes.set(v, (votes.get(v) ?? 0) + 1);
    });
    if (!votes.size) {
      report.abstained++;
      return null;
    }
    if (votes.size > 1) report.conflicts++;
    let best: string | null = null;
    let most = 0;
    let tie = false;
    for (const [label, n] of votes) {
      if (n > most) [best, most, tie] = [label, n, false];
      else if (n === most) tie = true;
    }
    if (tie) {
      report.ties++;
      return null;
    }
    report.labeled++;
    report.byLabel[best!] = (report.byLabel[best!] ?? 0) + 1;
    return best;
  });
  return { labels, report };
}

/** The table with a label column set from `labels` (added at the end, or replacing a column of that name). */
export function withLabelColumn(table: Table, column: string, labels: readonly Vote[]): Table {
  const j = table.schema.findIndex((c) => c.name === column);
  const col = { name: column, type: 'string' as const, nullable: labels.some((l) => l === null) };
  const schema = j < 0 ? [...table.schema, col] : table.schema.map((c, k) => (k === j ? col : c));
  const rows = table.rows.map((row, i) => {
    const out: Cell[] = row.slice();
    out[j < 0 ? row.length : j] = labels[i];
    return out;
  });
  return { ...table, schema, rows };
}

// --- rules as JSON ---------------------------------------------------------------------------------------------

const RULE_SPEC = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('keyword'), name: z.string().min(1).optional(), column: z.string().min(1), keywords: z.array(z.string().min(1)).min(1), label: z.string().min(1), caseSensitive: z.boolean().optional() }),
  z.strictObject({ type: z.literal('regex'), name: z.string().min(1).optional(), column: z.string().min(1), pattern: z.string().min(1), flags: z.string().regex(/^[imsu]*$/, 'use flags from i, m, s, u').optional(), label: z.string().min(1) }),
  z.strictObject({ type: z.literal('threshold'), name: z.string().min(1).optional(), column: z.string().min(1), op: z.enum(THRESHOLD_OPS), value: z.number(), label: z.string().min(1) }),
]);

export type LabelRuleSpec = z.infer<typeof RULE_SPEC>;

/** Rules from JSON (`[{"type": "keyword", "column": "text", "keywords": ["refund"], "label": "billing"}, …]`). */
export function parseLabelRules(json: unknown): LabelingRule[] {
  const specs = parseWith(z.array(RULE_SPEC).min(1), json, 'labelling rules');
  return specs.map((s) => (s.type === 'keyword' ? keywordRule(s) : s.type === 'regex' ? regexRule(s) : thresholdRule(s)));
}

// --- class balance -----------------------------------------------------------------------------------------------

export interface ClassBalance {
  total: number;
  /** Missing labels (not counted in total). */
  missing: number;
  /** Classes, most frequent first (ties by name). */
  classes: { label: string; count: number; fraction: number }[];
  /** Largest class count over smallest (1 when balanced; Infinity never, as every listed class has a row). */
  imbalanceRatio: number;
}

export function classBalance(labels: Iterable<Cell>): ClassBalance {
  const counts = new Map<string, number>();
  let missing = 0;
  let total = 0;
  for (const l of labels) {
    if (l === null) {
      missing++;
      continue;
    }
    total++;
    const k = String(l);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const classes = [...counts]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([label, count]) => ({ label, count, fraction: count / total }));
  const imbalanceRatio = classes.length ? classes[0].count / classes[classes.length - 1].count : 1;
  return { total, missing, classes, imbalanceRatio };
}
