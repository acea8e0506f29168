// Pins versioned datasets through a real file:// artifact store: the id is the sha256 of the data file, equal
// content gives the same id (from CSV or JSONL), the manifest carries the schema, counts and the statistics of
// profile(), rejected records are stored with the dataset, reads are verified, and corruption is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AimassError } from '../core/index.js';
import { FileArtifactStore } from '../storage/index.js';
import { flipByte } from '../../test/support/corrupt.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { datasetKey, loadTable, profile, readDataset, readDatasetManifest, readDatasetQuarantine, resolveDatasetId, writeDataset } from './index.js';

const tempDir = useTempDirs('data-versioned');

async function setup() {
  const dir = await tempDir();
  const store = new FileArtifactStore(pathToFileURL(join(dir, 'artifacts')).href);
  const csv = join(dir, 'in.csv');
  await writeFile(csv, 'id,text,score,at\n1,hello,0.5,2024-01-01\n2,"a, b",,2024-01-02T03:04:05Z\n3,bad,x,2024-01-03\n4,world,2.5,2024-01-04\n5,short\n');
  return { dir, store, csv };
}

test('a file becomes a dataset whose id is the sha256 of its data; the manifest holds schema, counts and stats', async () => {
  const { store, csv, dir } = await setup();
  const { manifest, stored } = await writeDataset(store, csv, { name: 'demo' });
  assert.ok(stored);
  assert.match(manifest.id, /^[0-9a-f]{64}$/);
  const dataFile = join(dir, 'artifacts', datasetKey(manifest.id, 'data.csv'));
  const bytes = await readFile(dataFile);
  assert.equal(createHash('sha256').update(bytes).digest('hex'), manifest.id);
  assert.equal(bytes.toString(), 'id,text,score,at\n1,hello,0.5,2024-01-01T00:00:00.000Z\n2,"a, b",,2024-01-02T03:04:05.000Z\n3,bad,x,2024-01-03T00:00:00.000Z\n4,world,2.5,2024-01-04T00:00:00.000Z\n');
  assert.equal(manifest.name, 'demo');
  assert.equal(manifest.rows, 4);
  assert.deepEqual(manifest.schema, [
    { name: 'id', type: 'number', nullable: false },
    { name: 'text', type: 'string', nullable: false },
    { name: 'score', type: 'string', nullable: true }, // "x" in the sample makes it text
    { name: 'at', type: 'timestamp', nullable: false },
  ]);
  assert.deepEqual(manifest.rejected.byReason, { ragged: 1 });
  assert.deepEqual(manifest.rejected.first, ['line 6: has 2 field(s), the header has 4']);
  assert.deepEqual(await readDatasetQuarantine(store, manifest.id), [{ line: 6, reason: 'ragged', message: 'has 2 field(s), the header has 4', row: ['5', 'short'] }]);

  const { table } = await loadTable(csv);
  assert.deepEqual(manifest.columns, (await profile(table)).columns, 'the manifest statistics are those of profile()');
  assert.deepEqual(await readDatasetManifest(store, manifest.id), manifest);
});

test('reading back returns the same typed rows, verified; the same content (even from JSONL) is stored once', async () => {
  const { store, csv, dir } = await setup();
  const typed = { columns: { score: 'number' as const } };
  const first = await writeDataset(store, csv, { load: typed });
  assert.deepEqual(first.manifest.rejected.byReason, { type: 1, ragged: 1 });
  const back = await readDataset(store, first.manifest.id);
  const { table } = await loadTable(csv, typed);
  assert.deepEqual(back.table.rows, table.rows);
  assert.deepEqual(back.table.schema.map((c) => c.type), ['number', 'string', 'number', 'timestamp']);

  const again = await writeDataset(store, csv, { load: typed, name: 'other name' });
  assert.equal(again.stored, false);
  assert.equal(again.manifest.id, first.manifest.id);

  const jsonl = join(dir, 'same.jsonl');
  await writeFile(
    jsonl,
    table.rows.map((r) => JSON.stringify({ id: r[0], text: r[1], score: r[2], at: new Date(r[3] as number).toISOString() })).join('\n'),
  );
  assert.equal((await writeDataset(store, jsonl)).manifest.id, first.manifest.id);
  assert.equal((await writeDataset(store, table)).manifest.id, first.manifest.id, 'an in-memory table too');
});

test('ids resolve from unique prefixes; unknown ids are NOT_FOUND; a flipped byte is DATA_CORRUPT', async () => {
  const { store, csv, dir } = await setup();
  const { manifest } = await writeDataset(store, csv);
  assert.equal(await resolveDatasetId(store, manifest.id.slice(0, 8).toUpperCase()), manifest.id);
  await assert.rejects(resolveDatasetId(store, 'abc'), /neither a file nor a dataset id/);
  await assert.rejects(resolveDatasetId(store, manifest.id.startsWith('0') ? '1111111' : '0000000'), (e: unknown) => e instanceof AimassError && e.code === 'NOT_FOUND');
  await assert.rejects(readDataset(store, 'f'.repeat(64)), (e: unknown) => e instanceof AimassError && e.code === 'NOT_FOUND');
  await flipByte(join(dir, 'artifacts', datasetKey(manifest.id, 'data.csv')), 20);
  await assert.rejects(readDataset(store, manifest.id), (e: unknown) => e instanceof AimassError && e.code === 'DATA_CORRUPT');
});
