// npm run bench:registry — registry and artifact store throughput: registrations/s and alias lookups/s on
// SQLite and PostgreSQL, and write/read MB/s of a 256 MB artifact through file:// and s3:// (a real S3-protocol
// server in another process), with the peak RSS of this process while the artifacts stream. Prints one JSON line.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { Registry, actorName, readOnnxSignature } from '../src/registry/index.js';
import { type ArtifactStore, openArtifactStore, openMetadataStore, readVerified } from '../src/storage/index.js';
import { modelFolder } from '../test/support/onnx-model.js';
import { printResult, repoRoot, round } from './common.js';

const MB = 1024 * 1024;
const ARTIFACT_MB = 256;
const REGISTRATIONS = 200;
const LOOKUPS = 5000;
const PG = process.env.AIMASS_BENCH_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** 256 MB of varying bytes, generated chunk by chunk (never held in memory at once). */
function generated(totalMb: number): Readable {
  const chunk = Buffer.alloc(MB);
  let i = 0;
  return new Readable({
    read() {
      if (i === totalMb) return this.push(null);
      chunk.writeUInt32LE(i, (i * 4097) % (MB - 4));
      for (let j = 0; j < MB; j += 4096) chunk[j] = (i + j) & 0xff;
      i++;
      this.push(Buffer.from(chunk));
    },
  });
}

const sink = () =>
  new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

async function artifactThroughput(store: ArtifactStore): Promise<{ write: number; read: number }> {
  const key = `bench/artifact-${Date.now()}.bin`;
  let t = performance.now();
  const info = await store.put(key, generated(ARTIFACT_MB));
  const write = ARTIFACT_MB / ((performance.now() - t) / 1000);
  t = performance.now();
  await pipeline(await readVerified(store, key, info.sha256!), sink());
  const read = ARTIFACT_MB / ((performance.now() - t) / 1000);
  await store.delete(key);
  return { write, read };
}

// --- artifacts first, so the peak RSS is that of streaming, before ONNX Runtime is loaded --------------------
const work = await mkdtemp(join(tmpdir(), 'aimass-bench-registry-'));
const fileStore = openArtifactStore(pathToFileURL(join(work, 'artifacts')).href);
const file = await artifactThroughput(fileStore);

const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench', 's3-server-child.ts'), 'bench'], { stdio: ['pipe', 'pipe', 'inherit'] });
const [line] = (await once(child.stdout!, 'data')) as [Buffer];
const { endpoint } = JSON.parse(line.toString()) as { endpoint: string };
process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const s3Store = openArtifactStore(`s3://bench/artifacts?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true`);
const s3 = await artifactThroughput(s3Store);
await s3Store.close();
child.stdin!.end();
clearInterval(sampler);
const artifactPeakRssMb = peakRss / MB;

// --- registrations and lookups -------------------------------------------------------------------------
async function registryBench(metadataUri: string): Promise<{ registrations: number; lookups: number }> {
  const meta = await openMetadataStore(metadataUri);
  const registry = new Registry(meta, openArtifactStore(pathToFileURL(join(work, `artifacts-${meta.uri.split(':')[0]}`)).href), actorName());
  const dir = await modelFolder(join(work, 'model'));
  const signature = await readOnnxSignature(join(dir, 'model.onnx'));
  await registry.register('bench', dir, { signature });
  let t = performance.now();
  for (let i = 0; i < REGISTRATIONS; i++) await registry.register('bench', dir, { signature });
  const registrations = REGISTRATIONS / ((performance.now() - t) / 1000);
  await registry.setAlias('bench', 'production', 1);
  t = performance.now();
  for (let i = 0; i < LOOKUPS; i++) await registry.resolve('bench', 'production');
  const lookups = LOOKUPS / ((performance.now() - t) / 1000);
  await registry.close();
  return { registrations, lookups };
}

const sqlite = await registryBench(`sqlite:${join(work, 'aimass.db')}`);
const schema = `aimass_bench_${process.pid}`;
const postgres = await registryBench(`${PG}?schema=${schema}`);
{
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: PG });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
await fileStore.close();
await rm(work, { recursive: true, force: true });

printResult({
  bench: 'registry',
  registrations_per_s_sqlite: round(sqlite.registrations),
  registrations_per_s_postgres: round(postgres.registrations),
  alias_lookups_per_s_sqlite: round(sqlite.lookups),
  alias_lookups_per_s_postgres: round(postgres.lookups),
  artifact_mb: ARTIFACT_MB,
  file_write_mb_per_s: round(file.write),
  file_read_mb_per_s: round(file.read),
  s3_write_mb_per_s: round(s3.write),
  s3_read_mb_per_s: round(s3.read),
  artifact_peak_rss_mb: round(artifactPeakRssMb),
  registration_note: 'each registration uploads model.onnx + pipeline.json (file://) and commits one version',
});
