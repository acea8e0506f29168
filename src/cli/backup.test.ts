// Pins `aimass backup …` and `aimass storage gc` end to end through the real executable, on the embedded default
// stores: backups into $AIMASS_HOME/backups or any file:// target, listing them newest first, restoring one into a
// fresh AIMASS_HOME (models, runs and files as they were), refusing a non-empty one, pruning with --keep; and a
// registration SIGKILLed mid-upload, whose leftovers garbage collection finds and removes, every one.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { open, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BackupSummary, ModelDetails, RestoreReport } from '../registry/index.js';
import type { AliasEvent, RunRecord, VersionRecord } from '../storage/index.js';
import { aimass, assertFailed, jsonOf, spawnAimass, stdoutOf } from '../../test/support/cli.js';
import { writeBlobs } from '../../test/support/blobs-csv.js';
import { mlpOnnx, modelFolder } from '../../test/support/onnx-model.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-backup');

type Created = BackupSummary & { target: string; pruned: string[] };
type Shown = ModelDetails & { aliasHistory: AliasEvent[] };

/** Every regular file under `dir`, as paths relative to it (dot-folders included), sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** A version's artifact URI with the store's root cut off ("/models/iris/v-…"): where it lives inside the store. */
const inStore = (v: VersionRecord) => ({ ...v, artifactUri: v.artifactUri.slice(v.artifactUri.indexOf('/models/')) });

// The tests of this block run in order: each starts from the backups the one before left.
describe('aimass backup', () => {
  let home: string;
  let env: Record<string, string>;
  const cli = (...args: string[]) => aimass(args, env);
  let onnxFile: string;
  let first: Created; // into $AIMASS_HOME/backups
  let elsewhere: Created; // --to another folder
  let otherUri: string;

  before(async () => {
    const dir = await tempDir();
    home = join(dir, 'home');
    env = { AIMASS_HOME: home, AIMASS_USER: 'tester' };
    onnxFile = join(dir, 'iris.onnx');
    await writeFile(onnxFile, mlpOnnx({ seed: 1 }));
    const spec = await writeBlobs(await tempDir());
    // a registry with two models, three versions, aliases with history and a tracked run
    const [trained, imported] = await Promise.all([
      cli('train', '--spec', spec, '--register', 'blobs', '--alias', 'staging', '--no-progress', '--json'),
      cli('models', 'import', 'iris', onnxFile),
    ]);
    stdoutOf(trained);
    stdoutOf(imported);
    stdoutOf(await cli('models', 'register', 'iris', await modelFolder(join(dir, 'retrained'), { seed: 2 })));
    stdoutOf(await cli('models', 'alias', 'iris', 'production', '2'));
    otherUri = pathToFileURL(join(dir, 'other', 'backups')).href;
    const [created, createdElsewhere] = await Promise.all([cli('backup', 'create', '--json'), cli('backup', 'create', '--to', otherUri, '--json')]);
    first = jsonOf<Created>(created);
    elsewhere = jsonOf<Created>(createdElsewhere);
  });

  test('backup create takes everything into $AIMASS_HOME/backups, or into --to', async () => {
    assert.match(first.id, /^backup-\d{8}-\d{6}-[0-9a-f]{6}$/);
    assert.deepEqual([first.models, first.versions, first.runs, first.target, first.pruned], [2, 3, 1, pathToFileURL(join(home, 'backups')).href, []]);
    assert.ok(first.copied! > 0 && first.bytes > 0);
    assert.deepEqual([elsewhere.models, elsewhere.versions, elsewhere.runs, elsewhere.target, elsewhere.bytes], [2, 3, 1, otherUri, first.bytes]);
    assert.ok(existsSync(join(home, 'backups', 'backups', first.id, 'manifest.json')));
    assert.ok(existsSync(join(new URL(otherUri).pathname, 'backups', elsewhere.id, 'manifest.json')));
  });

  test('backup list shows the backups of a target, newest first; a second backup copies no blob again', async () => {
    const again = await cli('backup', 'create');
    assert.match(stdoutOf(again), /^backup (backup-\S+) in file:\/\/\S+: 2 models, 3 versions, 1 runs, \S+ \S+ \(0 new blobs\)\n$/);
    const second = /^backup (\S+)/.exec(again.stdout)![1];
    const [json, text, other] = await Promise.all([cli('backup', 'list', '--json'), cli('backup', 'list'), cli('backup', 'list', '--from', otherUri, '--json')]);
    const list = jsonOf<BackupSummary[]>(json);
    assert.deepEqual(list.map((b) => b.id), [second, first.id]);
    assert.ok(list[0].createdAt >= list[1].createdAt);
    assert.deepEqual(list[1], { id: first.id, createdAt: first.createdAt, models: 2, versions: 3, runs: 1, bytes: first.bytes });
    const lines = stdoutOf(text).trimEnd().split('\n');
    assert.match(lines[0], /^ID +CREATED +MODELS +VERSIONS +RUNS +SIZE$/);
    assert.match(lines[2], new RegExp(`^${first.id} +\\S+ +2 +3 +1 +\\S+ \\S+$`));
    assert.deepEqual(jsonOf<BackupSummary[]>(other).map((b) => b.id), [elsewhere.id]);
  });

  test('backup restore into a fresh AIMASS_HOME brings back the same models, runs and files', async () => {
    const fresh = { AIMASS_HOME: join(await tempDir(), 'home'), AIMASS_USER: 'tester' };
    const restored = await aimass(['backup', 'restore', first.id, '--from', pathToFileURL(join(home, 'backups')).href, '--json'], fresh);
    assert.deepEqual(jsonOf<RestoreReport>(restored), { id: first.id, models: 2, versions: 3, runs: 1, files: 9, bytes: first.bytes });

    const out = await tempDir();
    const [showA, showB, runsA, runsB, blobsA, blobsB, exported] = await Promise.all([
      cli('models', 'show', 'iris', '--json'),
      aimass(['models', 'show', 'iris', '--json'], fresh),
      cli('runs', 'list', '--json'),
      aimass(['runs', 'list', '--json'], fresh),
      cli('models', 'show', 'blobs', '--json'),
      aimass(['models', 'show', 'blobs', '--json'], fresh),
      aimass(['models', 'export', 'iris@1', join(out, 'iris')], fresh),
    ]);
    const comparable = (r: typeof showA) => {
      const d = jsonOf<Shown>(r);
      return { ...d, versions: d.versions.map(inStore) };
    };
    assert.deepEqual(comparable(showB), comparable(showA));
    assert.deepEqual(comparable(blobsB), comparable(blobsA));
    assert.deepEqual(jsonOf<RunRecord[]>(runsB), jsonOf<RunRecord[]>(runsA));
    stdoutOf(exported);
    assert.ok((await readFile(join(out, 'iris', 'model.onnx'))).equals(await readFile(onnxFile)), 'the exported model is the imported file');
    // the files were copied into the new home, not read from the old one
    const [v1] = comparable(showB).versions;
    assert.ok(existsSync(join(fresh.AIMASS_HOME, 'artifacts', ...v1.artifactUri.split('/').filter(Boolean), 'model.onnx')));

    const again = await aimass(['backup', 'restore', first.id, '--from', pathToFileURL(join(home, 'backups')).href], fresh);
    assertFailed(again, 1, /^error \[CONFLICT\]: the registry at sqlite:.* is not empty; restore backup "backup-\S+" into a fresh AIMASS_HOME or empty stores\n/);
  });

  test('backup create --keep N keeps the newest N backups and deletes the rest; --keep must be positive', async () => {
    const before_ = jsonOf<BackupSummary[]>(await cli('backup', 'list', '--json'));
    assert.equal(before_.length, 2);
    assertFailed(await cli('backup', 'create', '--keep', '0'), 1, /^error \[INVALID_ARGUMENT\]: --keep must be a positive whole number \(this backup counts\), got "0"\n/);
    const kept = jsonOf<Created>(await cli('backup', 'create', '--keep', '1', '--json'));
    assert.deepEqual(kept.pruned.sort(), before_.map((b) => b.id).sort());
    const [after, missing] = await Promise.all([cli('backup', 'list', '--json'), cli('backup', 'restore', first.id, '--json')]);
    assert.deepEqual(jsonOf<BackupSummary[]>(after).map((b) => b.id), [kept.id]);
    assert.equal(missing.code, 1);
    assert.equal(JSON.parse(missing.stderr).error.code, 'NOT_FOUND');
  });
});

describe('aimass storage gc after a registration killed midway', () => {
  test('the killed registration leaves no version; gc lists and deletes every object it left; the next registration is version 1', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const env = { AIMASS_HOME: join(dir, 'home'), AIMASS_USER: 'tester' };
    const cli = (...args: string[]) => aimass(args, env);
    const artifacts = join(env.AIMASS_HOME, 'artifacts');
    // model.onnx and pipeline.json upload first (files go in name order), then a large file, long enough to be killed in
    const folder = await modelFolder(join(dir, 'big'));
    const weights = await open(join(folder, 'weights.bin'), 'w');
    await weights.truncate(400 * 2 ** 20); // sparse: instant to make, still 400 MiB to read, hash and write
    await weights.close();

    const child = spawnAimass(['models', 'register', 'big', folder], env);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const uploading = async () => {
      const stored = await filesUnder(join(artifacts, 'models'));
      const temps = await filesUnder(join(artifacts, '.tmp'));
      return stored.some((f) => f.endsWith('/pipeline.json')) && temps.length > 0 && (await stat(join(artifacts, '.tmp', temps[0])).catch(() => null))?.size;
    };
    while (!(await uploading())) {
      assert.equal(child.exitCode, null, 'the registration ended before it could be killed; make weights.bin larger');
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const left = await filesUnder(artifacts);
    assert.ok(left.some((f) => f.startsWith('.tmp/')), `a half-written temporary file is left: ${left.join(', ')}`);

    const [versions, fresh, dryRun] = await Promise.all([
      cli('models', 'versions', 'big', '--json'),
      cli('storage', 'gc', '--dry-run'),
      cli('storage', 'gc', '--grace', '0s', '--dry-run', '--json'),
    ]);
    assert.deepEqual(jsonOf<VersionRecord[]>(versions), [], 'no version');
    assert.equal(stdoutOf(fresh), 'no unreferenced artifacts\n', 'the default grace (1h) spares objects this young');
    const report = jsonOf<{ orphans: { key: string; size: number }[]; bytes: number; deleted: boolean }>(dryRun);
    const keys = report.orphans.map((o) => o.key).sort();
    assert.equal(report.deleted, false);
    assert.equal(keys.length, 3, keys.join(', '));
    assert.match(keys[0], /^\.tmp\/[0-9a-f-]{36}\.tmp$/);
    assert.match(keys[1], /^models\/big\/v-[0-9a-f-]+\/model\.onnx$/);
    assert.match(keys[2], /^models\/big\/v-[0-9a-f-]+\/pipeline\.json$/);
    assert.ok(report.orphans.find((o) => o.key === keys[0])!.size > 0);
    assert.deepEqual(await filesUnder(artifacts), left, 'a dry run deletes nothing');

    const gc = jsonOf<{ orphans: { key: string }[]; deleted: boolean }>(await cli('storage', 'gc', '--grace', '0s', '--json'));
    assert.deepEqual([gc.orphans.map((o) => o.key).sort(), gc.deleted], [keys, true]);
    assert.deepEqual(await filesUnder(artifacts), [], 'no object, temporary file or checksum record is left');

    const small = await modelFolder(join(dir, 'small'));
    assert.equal(stdoutOf(await cli('models', 'register', 'big', small)).split(' (')[0], 'registered big version 1');
  });
});
