// Child process of src/data/large-file.test.ts: profiles, cleans (two streaming passes) and imports one CSV
// while sampling its own RSS, then prints what it measured as JSON. Run under a small --max-old-space-size, so
// holding the file in memory would end it with an out-of-memory error instead of a number. With a third
// argument `load-whole` it loads the file into memory instead (the control: that must not fit).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { cleanFile, loadTable, openTable, profile, writeDataset } from '../../src/data/index.js';
import { FileArtifactStore } from '../../src/storage/index.js';

const [csv, outDir, mode] = process.argv.slice(2);
if (mode === 'load-whole') {
  const { table } = await loadTable(csv);
  process.stdout.write(JSON.stringify({ rows: table.rows.length }));
  process.exit(0);
}
const before = process.memoryUsage().rss;
let peak = before;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
const started = Date.now();

const source = await openTable(csv);
const stats = await profile(source);
const report = await cleanFile(source, join(outDir, 'clean.csv'), { dedupe: true, missing: 'mean', outliers: { method: 'zscore', threshold: 4 } });
const store = new FileArtifactStore(pathToFileURL(join(outDir, 'artifacts')).href);
const { manifest } = await writeDataset(store, source);

clearInterval(timer);
peak = Math.max(peak, process.memoryUsage().rss);
process.stdout.write(
  JSON.stringify({
    rows: stats.rows,
    rejected: stats.rejected?.rows,
    kept: report.rowsOut,
    dropped: report.droppedByReason,
    datasetRows: manifest.rows,
    rssGrowthMb: (peak - before) / 2 ** 20,
    ms: Date.now() - started,
  }),
);
