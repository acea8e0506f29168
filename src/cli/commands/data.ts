/**
 * `aimass data …`: data preparation from the command line — import (a versioned dataset in the artifact store),
 * profile, clean, label, split and merge. Files are CSV, TSV or JSONL (by extension, or --format). Bad records
 * never stop a command: each is counted, named by line in the report and written to a quarantine file next to
 * the output (for import, stored with the dataset). Every command prints a short report, or JSON with --json.
 * import, profile and clean stream (bounded memory for any file size); label, split and merge hold the rows.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { AimassError } from '../../core/index.js';
import {
  type BadRecord,
  type CleaningReport,
  type ColumnStats,
  DATA_FORMATS,
  type DataFormat,
  type MissingStrategy,
  type OutlierRule,
  type QuarantineEntry,
  QuarantineWriter,
  type SplitIndices,
  type Table,
  type TableProfile,
  applyRules,
  asofJoin,
  asofMatches,
  classBalance,
  cleanFile,
  columnIndex,
  formatOf,
  groupSplit,
  joinTables,
  loadTable,
  openTable,
  parseDuration,
  parseLabelRules,
  profile,
  quarantinePathFor,
  quarantined,
  randomSplit,
  readDatasetManifest,
  relabel,
  resolveDatasetId,
  stratifiedSplit,
  timeSplit,
  unmatchedRows,
  withLabelColumn,
  writeDataset,
  writeTable,
} from '../../data/index.js';
import { openArtifactStore, type ArtifactStore } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { emit, formatBytes, table } from '../output.js';

const formatOption = () => new Option('--format <format>', 'input format (default: from the extension)').choices(DATA_FORMATS);
const inferOption = () => new Option('--infer-rows <n>', 'rows the column types are inferred from (later values that do not fit are rejected)').default('10000');

async function withStore<T>(context: CliContext, fn: (store: ArtifactStore) => Promise<T>): Promise<T> {
  const store = openArtifactStore(context.config().artifactUri);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function inputFile(path: string): string {
  const full = resolve(path);
  if (!existsSync(full)) throw new AimassError('NOT_FOUND', `no file ${path}`, { path });
  if (!statSync(full).isFile()) throw new AimassError('INVALID_ARGUMENT', `${path} is not a file`, { path });
  return full;
}

function share(text: string, name: string): number {
  const v = Number(text);
  if (!(text.trim() !== '' && v >= 0 && v < 1)) throw new AimassError('INVALID_ARGUMENT', `${name} must be a share from 0 to below 1 (e.g. 0.2), got "${text}"`);
  return v;
}

function wholeNumber(text: string, name: string, min = 0): number {
  const v = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(v) || v < min) throw new AimassError('INVALID_ARGUMENT', `${name} must be a whole number of at least ${min}, got "${text}"`);
  return v;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Reasons in the order a row meets them, so reports read the same every time. */
const REASON_ORDER = ['ragged', 'invalid-utf8', 'invalid-json', 'type', 'null', 'duplicate', 'near-duplicate', 'missing', 'outlier', 'filled', 'clipped'];
const rank = (r: string) => (REASON_ORDER.includes(r) ? REASON_ORDER.indexOf(r) : REASON_ORDER.length);

const counts = (byReason: Record<string, number | undefined>) =>
  Object.entries(byReason)
    .filter(([, n]) => n)
    .sort((a, b) => rank(a[0]) - rank(b[0]))
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');

const cell = (v: unknown) => (v === undefined ? '-' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(6)) : String(v));

function profileTable(columns: ColumnStats[]): string {
  return table(
    ['COLUMN', 'TYPE', 'COUNT', 'NULLS', 'MIN', 'MAX', 'MEAN', 'DISTINCT', 'TOP'],
    columns.map((c) => [
      c.name,
      c.type,
      c.count,
      c.nulls,
      cell(c.min),
      cell(c.max),
      cell(c.mean),
      c.distinct === undefined ? '-' : `${c.distinctExact ? '' : '~'}${c.distinct}`,
      c.top?.length ? c.top.slice(0, 3).map((t) => `${JSON.stringify(t.value)}×${t.count}`).join(' ') : '-',
    ]),
    '(no columns)',
  );
}

function rejectedLines(rejected: { rows: number; byReason: Record<string, number>; first: string[] } | undefined, where?: string): string[] {
  if (!rejected?.rows) return ['rejected: none'];
  return [`rejected: ${rejected.rows} row(s) (${counts(rejected.byReason)})${where ? `; quarantined in ${where}` : ''}`, ...rejected.first.slice(0, 10).map((l) => `  ${l}`)];
}

/** A quarantine for outputs that are written whole (split, merge, label); always created so its path exists. */
async function writeQuarantine(path: string, entries: QuarantineEntry[]): Promise<void> {
  const q = await QuarantineWriter.open(path);
  await q.addAll(entries);
  await q.close();
}

const badEntry = (b: BadRecord, file?: string): QuarantineEntry => ({ ...(file ? { file } : {}), line: b.line, reason: b.reason, message: b.message, row: b.raw });

function summarizeBad(bad: BadRecord[]): { rows: number; byReason: Record<string, number>; first: string[] } {
  const byReason: Record<string, number> = {};
  for (const b of bad) byReason[b.reason] = (byReason[b.reason] ?? 0) + 1;
  return { rows: bad.length, byReason, first: bad.slice(0, 20).map((b) => `line ${b.line}: ${b.message}`) };
}

// --- clean -------------------------------------------------------------------------------------------------------

function parseMissing(text: string): MissingStrategy {
  if (text.startsWith('constant:')) return { constant: text.slice('constant:'.length) };
  if (['keep', 'drop', 'mean', 'median', 'mode'].includes(text)) return text as MissingStrategy;
  throw new AimassError('INVALID_ARGUMENT', `--missing must be drop, mean, median, mode, keep or constant:VALUE, got "${text}"`);
}

function parseOutliers(text: string): Pick<OutlierRule, 'method' | 'threshold'> {
  const m = /^(zscore|iqr)(?::(.+))?$/.exec(text);
  if (!m) throw new AimassError('INVALID_ARGUMENT', `--outliers must be zscore[:T] or iqr[:K] (e.g. zscore:3, iqr:1.5), got "${text}"`);
  const method = m[1] as OutlierRule['method'];
  const threshold = m[2] === undefined ? (method === 'zscore' ? 3 : 1.5) : Number(m[2]);
  if (!(threshold > 0)) throw new AimassError('INVALID_ARGUMENT', `the ${method} threshold must be a positive number, got "${m[2]}"`);
  return { method, threshold };
}

function cleaningText(input: string, r: CleaningReport): string {
  const lines = [
    `cleaned ${input} → ${r.output}`,
    `rows: ${r.rowsIn} in, ${r.rowsOut} kept, ${r.dropped} dropped, ${r.changed} changed`,
  ];
  if (r.dropped) lines.push(`dropped: ${counts(r.droppedByReason)}`);
  if (r.changed) lines.push(`changed: ${counts(r.changedByReason)}`);
  const perColumn = Object.entries(r.columns)
    .map(([name, c]) => [name, counts({ invalid: c.invalid, 'missing (dropped)': c.missingDropped, filled: c.filled, 'nulls kept': c.nullsKept, outliers: c.outliers, clipped: c.clipped })])
    .filter(([, text]) => text);
  if (perColumn.length) lines.push('by column:', ...perColumn.map(([name, text]) => `  ${name}: ${text}`));
  for (const [name, f] of Object.entries(r.fills)) {
    if (!r.columns[name].filled && !r.columns[name].missingDropped) continue; // fitted, but this column had nothing missing
    lines.push(`fill ${name}: ${f.strategy} = ${f.value === null ? '(no values; rows dropped)' : JSON.stringify(f.value)}`);
  }
  for (const [name, b] of Object.entries(r.outlierBounds)) lines.push(`outlier bounds ${name}: [${cell(b.low)}, ${cell(b.high)}] (${b.method} ${b.threshold})`);
  lines.push(`quarantine: ${r.quarantine} (${r.dropped} row(s))`);
  return lines.join('\n');
}

// --- split -------------------------------------------------------------------------------------------------------

type SplitBy = { kind: 'random' } | { kind: 'stratified' | 'group' | 'time'; column: string };

function parseBy(text: string): SplitBy {
  if (text === 'random') return { kind: 'random' };
  const m = /^(stratified|group|time):(.+)$/.exec(text);
  if (!m) throw new AimassError('INVALID_ARGUMENT', `--by must be random, stratified:COLUMN, group:COLUMN or time:COLUMN, got "${text}"`);
  return { kind: m[1] as 'stratified' | 'group' | 'time', column: m[2] };
}

function splitIndices(t: Table, by: SplitBy, o: { test: number; val: number; seed: number }): SplitIndices {
  if (by.kind === 'random') return randomSplit(t.rows.length, o);
  const j = columnIndex(t.schema, by.column);
  const values = t.rows.map((r) => r[j]);
  if (by.kind === 'stratified') return stratifiedSplit(values, o);
  if (by.kind === 'group') return groupSplit(values, o);
  if (t.schema[j].type !== 'timestamp' && t.schema[j].type !== 'number') {
    throw new AimassError('INVALID_ARGUMENT', `column "${by.column}" is ${t.schema[j].type}; a time split needs a timestamp or number column`);
  }
  return timeSplit(values as (number | null)[], o);
}

const subset = (t: Table, idx: number[]): Table => ({ schema: t.schema, rows: idx.map((i) => t.rows[i]), lines: idx.map((i) => t.lines?.[i] ?? i + 1) });

// --- command tree ------------------------------------------------------------------------------------------------

export function registerDataCommand(program: Command, context: CliContext): void {
  const data = program.command('data').description('prepare data: import, profile, clean, label, split, merge (CSV, TSV, JSONL)');

  data
    .command('import')
    .description('store a file as a versioned dataset (content-addressed) in the artifact store')
    .argument('<file>')
    .addOption(formatOption())
    .addOption(inferOption())
    .option('--name <name>', 'a name recorded in the manifest')
    .action(async (file: string, o: { format?: DataFormat; name?: string; inferRows: string }, cmd: Command) => {
      const path = inputFile(file);
      const inferRows = wholeNumber(o.inferRows, '--infer-rows', 1);
      await withStore(context, async (store) => {
        const { manifest: m, stored } = await writeDataset(store, path, { name: o.name ?? basename(path, extname(path)), load: { format: o.format, inferRows } });
        const value = { id: m.id, name: m.name, rows: m.rows, columns: m.schema, size: m.data.size, stored, rejected: m.rejected, store: store.uri };
        emit(context, cmd, value, () =>
          [
            `dataset ${m.id}${stored ? '' : ' (already stored: same content)'}`,
            `name: ${m.name ?? '-'}`,
            `rows: ${m.rows}, columns: ${m.schema.length} (${m.schema.map((c) => `${c.name} ${c.type}`).join(', ')}), ${formatBytes(m.data.size)}`,
            ...rejectedLines(m.rejected, m.rejected.quarantine?.key),
          ].join('\n'),
        );
      });
    });

  data
    .command('profile')
    .description('column statistics of a file (streamed) or of a stored dataset (from its manifest)')
    .argument('<file-or-dataset-id>')
    .addOption(formatOption())
    .addOption(inferOption())
    .action(async (target: string, o: { format?: DataFormat; inferRows: string }, cmd: Command) => {
      if (existsSync(target)) {
        const path = inputFile(target);
        const p: TableProfile = await profile(await openTable(path, { format: o.format, inferRows: wholeNumber(o.inferRows, '--infer-rows', 1) }));
        emit(context, cmd, { file: path, ...p }, () => [`${path}: ${p.rows} row(s)`, profileTable(p.columns), ...rejectedLines(p.rejected)].join('\n'));
        return;
      }
      await withStore(context, async (store) => {
        const m = await readDatasetManifest(store, await resolveDatasetId(store, target));
        emit(context, cmd, { dataset: m.id, name: m.name, rows: m.rows, columns: m.columns, rejected: m.rejected }, () =>
          [`dataset ${m.id}${m.name ? ` (${m.name})` : ''}: ${m.rows} row(s)`, profileTable(m.columns), ...rejectedLines(m.rejected, m.rejected.quarantine?.key)].join('\n'),
        );
      });
    });

  data
    .command('clean')
    .description('remove invalid rows, duplicates and outliers, handle missing values; dropped rows are quarantined')
    .argument('<file>')
    .requiredOption('-o, --out <file>', 'cleaned output (.csv, .tsv or .jsonl); the quarantine goes next to it')
    .addOption(formatOption())
    .addOption(inferOption())
    .option('--dedupe', 'drop exact duplicate rows')
    .option('--near-dedupe <column>', 'drop rows whose text in COLUMN nearly duplicates an earlier row (MinHash)')
    .option('--near-threshold <j>', 'similarity (0..1] that counts as a near-duplicate', '0.8')
    .option('--missing <strategy>', 'drop | mean | median | mode | keep | constant:VALUE (mean/median: other columns take the mode)')
    .option('--fill <column=strategy>', 'a strategy for one column (repeatable), e.g. --fill age=median', collect)
    .option('--outliers <rule>', 'zscore[:T] or iqr[:K] over number columns, e.g. zscore:3, iqr:1.5')
    .option('--outlier-columns <list>', 'comma-separated number columns to check (default: all)')
    .option('--clip', 'clip outliers to the bound instead of dropping the row')
    .action(
      async (
        file: string,
        o: { out: string; format?: DataFormat; inferRows: string; dedupe?: boolean; nearDedupe?: string; nearThreshold: string; missing?: string; fill?: string[]; outliers?: string; outlierColumns?: string; clip?: boolean },
        cmd: Command,
      ) => {
        const path = inputFile(file);
        const threshold = Number(o.nearThreshold);
        const missingByColumn: Record<string, MissingStrategy> = {};
        for (const f of o.fill ?? []) {
          const eq = f.indexOf('=');
          if (eq <= 0) throw new AimassError('INVALID_ARGUMENT', `--fill takes COLUMN=STRATEGY, got "${f}"`);
          missingByColumn[f.slice(0, eq)] = parseMissing(f.slice(eq + 1));
        }
        const outliers: OutlierRule | undefined = o.outliers
          ? { ...parseOutliers(o.outliers), columns: o.outlierColumns?.split(',').map((s) => s.trim()).filter(Boolean), action: o.clip ? 'clip' : 'drop' }
          : undefined;
        const report = await cleanFile(path, resolve(o.out), {
          load: { format: o.format, inferRows: wholeNumber(o.inferRows, '--infer-rows', 1) },
          dedupe: o.dedupe,
          nearDedupe: o.nearDedupe ? { column: o.nearDedupe, threshold } : undefined,
          missing: o.missing ? parseMissing(o.missing) : undefined,
          missingByColumn,
          outliers,
        });
        emit(context, cmd, report, () => cleaningText(path, report));
      },
    );

  data
    .command('label')
    .description('map labels (rename or merge classes) or label rows by rules (majority vote); prints class balance')
    .argument('<file>')
    .requiredOption('-o, --out <file>', 'labelled output; the quarantine goes next to it')
    .requiredOption('--column <name>', 'the label column (mapped, or written by the rules)')
    .addOption(formatOption())
    .option('--map <pairs>', 'old=new pairs, comma-separated, e.g. cat=animal,dog=animal')
    .option('--rules <file>', 'JSON list of rules: {"type": "keyword"|"regex"|"threshold", "column", "label", …}')
    .option('--unknown <action>', 'labels not in the map: drop (quarantine) or keep', 'drop')
    .option('--drop-abstained', 'with --rules: quarantine rows no rule labelled (or tied)')
    .action(async (file: string, o: { out: string; column: string; format?: DataFormat; map?: string; rules?: string; unknown: string; dropAbstained?: boolean }, cmd: Command) => {
      if (!o.map === !o.rules) throw new AimassError('INVALID_ARGUMENT', 'give either --map or --rules');
      if (o.unknown !== 'drop' && o.unknown !== 'keep') throw new AimassError('INVALID_ARGUMENT', `--unknown must be drop or keep, got "${o.unknown}"`);
      const path = inputFile(file);
      const out = resolve(o.out);
      const { table: t, bad } = await loadTable(path, { format: o.format });
      const quarantine: QuarantineEntry[] = bad.map((b) => badEntry(b));
      let result: Table;
      let details: Record<string, unknown>;
      if (o.map) {
        const map: Record<string, string> = {};
        for (const pair of o.map.split(',')) {
          const eq = pair.indexOf('=');
          if (eq <= 0) throw new AimassError('INVALID_ARGUMENT', `--map takes old=new pairs, got "${pair}"`);
          map[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
        }
        const r = relabel(t, o.column, map, { onUnknown: o.unknown as 'drop' | 'keep' });
        quarantine.push(...r.quarantine);
        result = r.table;
        details = { relabel: r.report };
      } else {
        const rulesPath = inputFile(o.rules!);
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(rulesPath, 'utf8'));
        } catch (e) {
          throw new AimassError('INVALID_SPEC', `${o.rules} is not valid JSON: ${(e as Error).message}`, { problems: [(e as Error).message] });
        }
        const { labels, report } = applyRules(t, parseLabelRules(json));
        let labelled = withLabelColumn(t, o.column, labels);
        if (o.dropAbstained) {
          const keep: number[] = [];
          labels.forEach((l, i) => {
            if (l !== null) keep.push(i);
            else quarantine.push(quarantined(t.schema, t.lines?.[i] ?? i + 1, 'unlabelled', 'no rule voted a label, or the votes tied', t.rows[i]));
          });
          labelled = subset(labelled, keep);
        }
        result = labelled;
        details = { votes: report };
      }
      await writeTable(out, result);
      const qPath = quarantinePathFor(out);
      await writeQuarantine(qPath, quarantine);
      const balance = classBalance(result.rows.map((r) => r[columnIndex(result.schema, o.column)]));
      const value = { output: out, rows: result.rows.length, ...details, balance, rejected: summarizeBad(bad), quarantine: qPath, quarantined: quarantine.length };
      emit(context, cmd, value, () => {
        const lines = [`labelled ${path} → ${out}: ${result.rows.length} row(s)`];
        if ('relabel' in details) {
          const r = details.relabel as { changed: number; unknown: Record<string, number>; missing: number; dropped: number };
          lines.push(`relabelled: ${r.changed} changed, ${r.missing} missing label(s), unknown labels: ${counts(r.unknown) || 'none'}; ${r.dropped} dropped`);
        } else {
          const v = details.votes as { labeled: number; abstained: number; ties: number; conflicts: number; votesByRule: Record<string, number> };
          lines.push(`votes: ${v.labeled} labelled, ${v.abstained} abstained, ${v.ties} tie(s), ${v.conflicts} conflict(s)`);
          lines.push(`votes by rule: ${counts(v.votesByRule) || 'none'}`);
        }
        lines.push(
          `class balance: ${balance.classes.map((c) => `${c.label} ${c.count} (${(c.fraction * 100).toFixed(1)}%)`).join(', ') || '-'}${balance.missing ? `, no label ${balance.missing}` : ''}`,
          `imbalance ratio: ${balance.imbalanceRatio.toFixed(2)}`,
          ...rejectedLines(summarizeBad(bad)),
          `quarantine: ${qPath} (${quarantine.length} row(s))`,
        );
        return lines.join('\n');
      });
    });

  data
    .command('split')
    .description('split a file into train / validation / test files (seeded)')
    .argument('<file>')
    .requiredOption('-o, --out <dir>', 'folder for train/val/test files (same format as the input) and the quarantine')
    .addOption(formatOption())
    .option('--by <how>', 'random | stratified:COLUMN | group:COLUMN | time:COLUMN', 'random')
    .option('--test <share>', 'share of rows for test', '0.2')
    .option('--val <share>', 'share of rows for validation', '0')
    .option('--seed <n>', 'random seed', '42')
    .action(async (file: string, o: { out: string; format?: DataFormat; by: string; test: string; val: string; seed: string }, cmd: Command) => {
      const path = inputFile(file);
      const by = parseBy(o.by);
      const opts = { test: share(o.test, '--test'), val: share(o.val, '--val'), seed: wholeNumber(o.seed, '--seed') };
      const format = formatOf(path, o.format);
      const { table: t, bad } = await loadTable(path, { format });
      const s = splitIndices(t, by, opts);
      const dir = resolve(o.out);
      const files: Record<string, { path: string; rows: number }> = {};
      for (const part of ['train', 'val', 'test'] as const) {
        if (part !== 'train' && !s[part].length && !opts[part]) continue;
        const p = join(dir, `${part}.${format}`);
        await writeTable(p, subset(t, s[part]), { format });
        files[part] = { path: p, rows: s[part].length };
      }
      const column = by.kind === 'random' ? '' : by.column;
      const quarantine = [
        ...bad.map((b) => badEntry(b)),
        ...s.excluded.map((i) => quarantined(t.schema, t.lines![i], 'missing', `column "${column}" is empty, so the row has no ${by.kind === 'time' ? 'time' : by.kind === 'group' ? 'group' : 'class'} to split by`, t.rows[i])),
      ].sort((a, b) => a.line - b.line);
      const qPath = join(dir, 'quarantine.jsonl');
      await writeQuarantine(qPath, quarantine);
      const value = { by: o.by, seed: opts.seed, files, excluded: s.excluded.length, rejected: summarizeBad(bad), quarantine: qPath, quarantined: quarantine.length };
      emit(context, cmd, value, () =>
        [
          `split ${path} (${o.by}, seed ${opts.seed}):`,
          ...Object.entries(files).map(([part, f]) => `  ${part.padEnd(5)} ${String(f.rows).padStart(8)} row(s) → ${f.path}`),
          ...(s.excluded.length ? [`excluded: ${s.excluded.length} row(s) with an empty "${column}"`] : []),
          ...rejectedLines(summarizeBad(bad)),
          `quarantine: ${qPath} (${quarantine.length} row(s))`,
        ].join('\n'),
      );
    });

  data
    .command('merge')
    .description('join base rows with context by key (inner or left), or as of a time within a tolerance')
    .argument('<base>')
    .argument('<context>')
    .requiredOption('--on <keys>', 'key column(s), comma-separated')
    .requiredOption('-o, --out <file>', 'merged output; the quarantine goes next to it')
    .option('--how <how>', 'inner or left (key joins)', 'inner')
    .option('--asof <column>', 'as-of join on this time column (in both files)')
    .option('--tolerance <duration>', 'how much earlier the context row may be (e.g. 5m, 30s, 1h; a number for number columns)')
    .action(async (baseFile: string, contextFile: string, o: { on: string; out: string; how: string; asof?: string; tolerance?: string }, cmd: Command) => {
      const basePath = inputFile(baseFile);
      const contextPath = inputFile(contextFile);
      const out = resolve(o.out);
      const on = o.on.split(',').map((s) => s.trim()).filter(Boolean);
      if (o.tolerance && !o.asof) throw new AimassError('INVALID_ARGUMENT', '--tolerance only applies with --asof');
      const [base, ctx] = await Promise.all([loadTable(basePath), loadTable(contextPath)]);
      const quarantine: QuarantineEntry[] = [...base.bad.map((b) => badEntry(b, basePath)), ...ctx.bad.map((b) => badEntry(b, contextPath))];
      let merged: Table;
      let unmatched = 0;
      if (o.asof) {
        const j = columnIndex(base.table.schema, o.asof);
        const tolerance = o.tolerance === undefined ? undefined : base.table.schema[j].type === 'timestamp' ? parseDuration(o.tolerance) : Number(o.tolerance);
        if (tolerance !== undefined && !(tolerance >= 0)) throw new AimassError('INVALID_ARGUMENT', `--tolerance must be 0 or more, got "${o.tolerance}"`);
        const opts = { on, time: o.asof, tolerance };
        unmatched = asofMatches(base.table, ctx.table, opts).filter((m) => m < 0).length;
        merged = asofJoin(base.table, ctx.table, opts);
      } else {
        if (o.how !== 'inner' && o.how !== 'left') throw new AimassError('INVALID_ARGUMENT', `--how must be inner or left, got "${o.how}"`);
        const noMatch = unmatchedRows(base.table, ctx.table, { on });
        unmatched = noMatch.length;
        // base rows without a match: kept with nulls by a left join, quarantined by an inner one
        if (o.how === 'inner') {
          for (const i of noMatch) {
            quarantine.push({ file: basePath, ...quarantined(base.table.schema, base.table.lines![i], 'no-match', `no context row has this key (${on.join(', ')})`, base.table.rows[i]) });
          }
        }
        merged = joinTables(base.table, ctx.table, { on, how: o.how });
      }
      await writeTable(out, merged);
      const qPath = quarantinePathFor(out);
      await writeQuarantine(qPath, quarantine);
      const value = {
        output: out,
        rows: merged.rows.length,
        columns: merged.schema.map((c) => c.name),
        join: o.asof ? 'asof' : o.how,
        baseRows: base.table.rows.length,
        contextRows: ctx.table.rows.length,
        unmatched,
        rejected: { base: summarizeBad(base.bad), context: summarizeBad(ctx.bad) },
        quarantine: qPath,
        quarantined: quarantine.length,
      };
      emit(context, cmd, value, () =>
        [
          `merged ${basePath} (${base.table.rows.length} rows) with ${contextPath} (${ctx.table.rows.length} rows) → ${out}: ${merged.rows.length} row(s), ${merged.schema.length} column(s)`,
          o.asof
            ? `as-of on ${on.join(', ')} by ${o.asof}${o.tolerance ? ` within ${o.tolerance}` : ''}: ${unmatched} base row(s) without context (kept with empty context columns)`
            : `${o.how} join on ${on.join(', ')}: ${unmatched} base row(s) without a match${o.how === 'inner' ? ' (quarantined)' : ' (kept with empty context columns)'}`,
          ...rejectedLines(summarizeBad(base.bad)).map((l) => `base ${l}`),
          ...rejectedLines(summarizeBad(ctx.bad)).map((l) => `context ${l}`),
          `quarantine: ${qPath} (${quarantine.length} row(s))`,
        ].join('\n'),
      );
    });
}
