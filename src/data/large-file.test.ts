// Pins bounded memory: import, profile and clean of a CSV whose rows need more heap than the operations are
// allowed. The brief asks for a 100–200 MB file; on the shared 2-CPU test machine the three operations (four
// streaming passes) over 100 MB took 25–50 s (they do pass within a 64 MB heap, RSS growth ~80 MB), so the file
// here is ~12 MB and the bound is enforced by a heap cap instead of size alone: the work runs in a child process
// whose V8 heap is capped at 48 MB, in which loading the same file whole (72 MB of heap) fails — checked too —
// and the child's RSS growth is asserted under a fixed bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../core/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('data-large');
const child = fileURLToPath(new URL('../../test/support/bounded-memory-data.ts', import.meta.url));
const TARGET_BYTES = 12 * 2 ** 20;
const HEAP_MB = 48;
const RSS_GROWTH_MB = 96;

/** Rows of ids, users, amounts (5% missing), timestamps, flags and notes; 1 in 1,000 duplicated, 1 in 5,000 ragged. */
async function generate(path: string): Promise<number> {
  const out = createWriteStream(path);
  const rng = new Rng(1);
  out.write('id,user,amount,at,flag,note\n');
  let bytes = 0;
  let rows = 0;
  while (bytes < TARGET_BYTES) {
    let chunk = '';
    for (let k = 0; k < 2000; k++, rows++) {
      const amount = rng.int(20) === 0 ? '' : (rng.next() * 1000).toFixed(2);
      const day = String(1 + rng.int(28)).padStart(2, '0');
      const line = `${rows},user${rng.int(50_000)},${amount},2024-01-${day}T${String(rng.int(24)).padStart(2, '0')}:00:00Z,${rng.int(2) ? 'true' : 'false'},note ${rng.int(1000)}\n`;
      chunk += line;
      if (rows % 1000 === 7) chunk += line;
      if (rows % 5000 === 11) chunk += `${rows},ragged\n`;
    }
    bytes += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return rows;
}

/** Runs `node --max-old-space-size=HEAP_MB --import tsx script ...args`. */
async function capped(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => (stdout += d));
  proc.stderr.on('data', (d) => (stderr += d));
  const [code] = (await once(proc, 'close')) as [number | null];
  return { code, stdout, stderr };
}

test(`import, profile and clean of a ~12 MB CSV run in a ${HEAP_MB} MB heap that cannot hold its rows`, async (t) => {
  const dir = await tempDir();
  const csv = join(dir, 'big.csv');
  const rows = await generate(csv);
  assert.ok((await stat(csv)).size >= TARGET_BYTES);
  const [streamed, whole] = await Promise.all([capped(child, [csv, dir]), capped(child, [csv, dir, 'load-whole'])]);
  assert.notEqual(whole.code, 0, 'loading the whole file should not fit in the heap; the cap proves nothing');
  assert.match(whole.stderr, /heap out of memory/i);
  const { code, stdout, stderr } = streamed;
  assert.equal(code, 0, `the child failed (out of memory?):\n${stderr.slice(-2000)}`);
  const m = JSON.parse(stdout) as { rows: number; rejected: number; kept: number; dropped: Record<string, number>; datasetRows: number; rssGrowthMb: number; ms: number };
  const duplicates = Math.floor((rows - 8) / 1000) + 1;
  assert.equal(m.rows, rows + duplicates);
  assert.equal(m.datasetRows, m.rows);
  assert.ok(m.rejected > 0 && m.dropped.ragged === m.rejected);
  assert.equal(m.dropped.duplicate, duplicates);
  assert.ok(m.rssGrowthMb < RSS_GROWTH_MB, `RSS grew by ${m.rssGrowthMb.toFixed(0)} MB`);
  t.diagnostic(`rows ${m.rows}, RSS growth ${m.rssGrowthMb.toFixed(0)} MB, ${m.ms} ms`);
});
