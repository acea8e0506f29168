/**
 * Versioned datasets: a prepared table written through an `ArtifactStore`, content-addressed. The rows become one
 * CSV file (header, then rows, written exactly as `write.ts` prints them, so equal tables give equal bytes);
 * its sha256 is the `datasetId`. Beside it go a manifest (schema, row count, per-column statistics — the same
 * as `profile()` — and the bad records of the source, counted by reason) and, when the source had bad records,
 * their quarantine file:
 *
 *   datasets/<id>/data.csv          the rows
 *   datasets/<id>/quarantine.jsonl  rejected records of the source (only when there were some)
 *   datasets/<id>/manifest.json     written last: a dataset without it is incomplete and invisible
 *
 * Writing streams the source once into a temporary file (hashing, profiling and quarantining on the way), so it
 * runs in bounded memory for any size; a dataset id that is already stored is not written again. Reading back
 * verifies the data against the id before a row is returned.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AimassError, parseWith } from '../core/index.js';
import { type ArtifactStore, getToFile, putFile, readAllVerified } from '../storage/index.js';
import { type DataFormat, type LoadOptions, type TableSource, loadTable, openTable } from './load.js';
import { type ColumnStats, Profiler, type RejectedSummary, RejectedCounter, schemaFromProfile } from './profile.js';
import { COLUMN_TYPES, type Row, type Schema, type Table } from './table.js';
import { type QuarantineEntry, QuarantineWriter, createTableWriter } from './write.js';

export const DATASET_FORMAT = 'aimass.dataset/v1';

export interface StoredFile {
  key: string;
  sha256: string;
  size: number;
}

export interface DatasetManifest {
  format: typeof DATASET_FORMAT;
  /** sha256 of the data file. */
  id: string;
  name?: string;
  createdAt: string;
  source?: { path: string; format: DataFormat };
  schema: Schema;
  rows: number;
  data: StoredFile & { format: 'csv' };
  columns: ColumnStats[];
  rejected: RejectedSummary & { quarantine?: StoredFile };
}

const SHA256 = /^[0-9a-f]{64}$/;

export const datasetKey = (id: string, file: 'data.csv' | 'manifest.json' | 'quarantine.jsonl') => `datasets/${id}/${file}`;

const STORED_FILE = z.object({ key: z.string(), sha256: z.string().regex(SHA256), size: z.number().int().min(0) });
const MANIFEST = z.object({
  format: z.literal(DATASET_FORMAT),
  id: z.string().regex(SHA256),
  name: z.string().optional(),
  createdAt: z.string(),
  source: z.object({ path: z.string(), format: z.enum(['csv', 'tsv', 'jsonl']) }).optional(),
  schema: z.array(z.object({ name: z.string(), type: z.enum(COLUMN_TYPES), nullable: z.boolean() })),
  rows: z.number().int().min(0),
  data: STORED_FILE.extend({ format: z.literal('csv') }),
  columns: z.array(z.looseObject({ name: z.string(), type: z.enum(COLUMN_TYPES), count: z.number(), nulls: z.number() })),
  rejected: z.object({ rows: z.number().int().min(0), byReason: z.record(z.string(), z.number()), first: z.array(z.string()), quarantine: STORED_FILE.optional() }),
});

export interface WriteDatasetOptions {
  name?: string;
  /** How to read the input when it is a path. */
  load?: LoadOptions;
}

export interface WrittenDataset {
  manifest: DatasetManifest;
  /** False when a dataset with this id was already stored (its manifest is returned as it is). */
  stored: boolean;
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'aimass-dataset-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes a table or a file (streamed) as a dataset version; its id is the sha256 of its data file. */
export async function writeDataset(store: ArtifactStore, input: string | TableSource | Table, o: WriteDatasetOptions = {}): Promise<WrittenDataset> {
  const source = typeof input === 'string' ? await openTable(input, o.load) : input;
  return withTempDir(async (dir) => {
    const dataPath = join(dir, 'data.csv');
    const quarantinePath = join(dir, 'quarantine.jsonl');
    const writer = await createTableWriter(dataPath, source.schema, { format: 'csv', hash: true });
    const quarantine = await QuarantineWriter.open(quarantinePath);
    const profiler = new Profiler(source.schema);
    const rejected = new RejectedCounter();
    if ('rows' in source) {
      for (const row of source.rows) profiler.add(row);
      for (let i = 0; i < source.rows.length; i += 1024) await writer.writeRows(source.rows.slice(i, i + 1024));
    } else {
      for await (const batch of source.batches()) {
        const rows: Row[] = [];
        const bad: QuarantineEntry[] = [];
        for (const r of batch) {
          if (r.kind === 'row') {
            profiler.add(r.row);
            rows.push(r.row);
          } else {
            rejected.add(r);
            bad.push({ line: r.line, reason: r.reason, message: r.message, row: r.raw });
          }
        }
        await writer.writeRows(rows);
        await quarantine.addAll(bad);
      }
    }
    const data = await writer.close();
    await quarantine.close();
    const id = data.sha256!;
    const existing = await store.head(datasetKey(id, 'manifest.json'));
    if (existing) return { manifest: await readDatasetManifest(store, id), stored: false };

    const stats = profiler.result();
    const dataInfo = await putFile(store, datasetKey(id, 'data.csv'), dataPath);
    const summary: DatasetManifest['rejected'] = rejected.result();
    if (quarantine.count) {
      const q = await putFile(store, datasetKey(id, 'quarantine.jsonl'), quarantinePath);
      summary.quarantine = { key: q.key, sha256: q.sha256!, size: q.size };
    }
    const manifest: DatasetManifest = {
      format: DATASET_FORMAT,
      id,
      ...(o.name === undefined ? {} : { name: o.name }),
      createdAt: new Date().toISOString(),
      ...('rows' in source ? {} : { source: { path: source.path, format: source.format } }),
      schema: schemaFromProfile(source.schema, stats),
      rows: stats.rows,
      data: { key: dataInfo.key, sha256: dataInfo.sha256 ?? id, size: dataInfo.size, format: 'csv' },
      columns: stats.columns,
      rejected: summary,
    };
    if (dataInfo.sha256 && dataInfo.sha256 !== id) {
      throw new AimassError('DATA_CORRUPT', `dataset ${id}: the store recorded sha256 ${dataInfo.sha256} for its data file; the write was damaged, try again`);
    }
    await store.put(datasetKey(id, 'manifest.json'), Buffer.from(JSON.stringify(manifest, null, 2)));
    return { manifest, stored: true };
  });
}

/** The full id of a stored dataset from its id or a unique prefix of at least 6 hex digits. */
export async function resolveDatasetId(store: ArtifactStore, ref: string): Promise<string> {
  const id = ref.toLowerCase();
  if (!/^[0-9a-f]{6,64}$/.test(id)) {
    throw new AimassError('INVALID_ARGUMENT', `"${ref}" is neither a file nor a dataset id (64 hex digits, or a unique prefix of at least 6)`, { ref });
  }
  const found = new Set<string>();
  for await (const info of store.list(`datasets/${id}`)) {
    const m = /^datasets\/([0-9a-f]{64})\/manifest\.json$/.exec(info.key);
    if (m) found.add(m[1]);
  }
  if (found.size === 1) return [...found][0];
  if (!found.size) throw new AimassError('NOT_FOUND', `no dataset "${ref}" in ${store.uri}; import one with \`aimass data import FILE\``, { ref });
  throw new AimassError('INVALID_ARGUMENT', `dataset id prefix "${ref}" matches ${found.size} datasets; give more digits`, { ref, matches: [...found].slice(0, 10) });
}

export async function readDatasetManifest(store: ArtifactStore, id: string): Promise<DatasetManifest> {
  const key = datasetKey(id, 'manifest.json');
  const info = await store.head(key);
  if (!info) throw new AimassError('NOT_FOUND', `no dataset "${id}" in ${store.uri}; import one with \`aimass data import FILE\``, { id });
  const stream = await store.get(key);
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new AimassError('DATA_CORRUPT', `the manifest of dataset ${id} is not valid JSON: ${(e as Error).message}`, { id, key });
  }
  const manifest = parseWith(MANIFEST, json, `manifest of dataset ${id}`) as DatasetManifest;
  if (manifest.id !== id) throw new AimassError('DATA_CORRUPT', `the manifest under ${key} names dataset ${manifest.id}`, { id, key });
  return manifest;
}

/** A stored dataset's rows, verified against its id before any is returned. */
export async function readDataset(store: ArtifactStore, id: string): Promise<{ manifest: DatasetManifest; table: Table }> {
  const manifest = await readDatasetManifest(store, id);
  return withTempDir(async (dir) => {
    const file = join(dir, 'data.csv');
    await getToFile(store, manifest.data.key, file, manifest.id);
    const { table, bad } = await loadTable(file, { format: 'csv', schema: manifest.schema });
    if (bad.length) {
      throw new AimassError('DATA_CORRUPT', `dataset ${id}: the data file does not match its manifest (line ${bad[0].line}: ${bad[0].message})`, { id });
    }
    return { manifest, table };
  });
}

/** A stored dataset's quarantine entries (the source's rejected records), verified; empty when it has none. */
export async function readDatasetQuarantine(store: ArtifactStore, id: string): Promise<unknown[]> {
  const q = (await readDatasetManifest(store, id)).rejected.quarantine;
  if (!q) return [];
  const text = (await readAllVerified(store, q.key, q.sha256)).toString('utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
}
