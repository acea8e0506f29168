// Pins the run tracking of `aimass train` and the `aimass runs …` commands end to end through the real executable:
// a run trained with --register --alias is recorded (params, per-epoch metrics, artifacts) and its model version
// points back at it; runs list filters and orders, show details one run, compare puts runs side by side; a run
// that fails is recorded as failed with its error.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelDetails } from '../registry/index.js';
import type { AliasEvent, MetricPoint, RunRecord, VersionRecord } from '../storage/index.js';
import { type CliOutcome, aimass, assertFailed, jsonOf, stdoutOf } from '../../test/support/cli.js';
import { BLOBS_SPEC, blobRows, blobsCsv, writeBlobs } from '../../test/support/blobs-csv.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-runs');

interface TrainResult {
  runDir: string;
  runId: string;
  registered?: { model: string; version: number };
}

describe('aimass train run tracking and aimass runs', () => {
  let env: Record<string, string>;
  const cli = (...args: string[]) => aimass(args, env);
  let dataDir: string;
  let registered: TrainResult; // lr 0.05, registered as blobs v1 @staging
  let slower: TrainResult; // lr 0.01
  let failed: CliOutcome; // a bad row in its training data

  before(async () => {
    env = { AIMASS_HOME: join(await tempDir(), 'home'), AIMASS_USER: 'tester' };
    dataDir = await tempDir();
    const spec = await writeBlobs(dataDir);
    const slowerSpec = join(dataDir, 'slower.json');
    await writeFile(slowerSpec, JSON.stringify({ ...BLOBS_SPEC, optimizer: { type: 'adam', lr: 0.01 } }));
    const badDir = join(dataDir, 'bad');
    await mkdir(badDir);
    const rows = blobRows(240, 1);
    rows[5] = rows[5].replace(/^([^,]+),[^,]+/, '$1,x'); // line 7 of the file
    const badSpec = await writeBlobs(badDir, { trainCsv: blobsCsv(rows) });
    let first: CliOutcome;
    let second: CliOutcome;
    [first, second, failed] = await Promise.all([
      cli('train', '--spec', spec, '--register', 'blobs', '--alias', 'staging', '--no-progress', '--json'),
      cli('train', '--spec', slowerSpec, '--no-progress', '--json'),
      cli('train', '--spec', badSpec, '--no-progress'),
    ]);
    registered = jsonOf<TrainResult>(first);
    slower = jsonOf<TrainResult>(second);
  });

  test('train --register --alias prints the run id and the registered version, which points back at the run', async () => {
    assert.match(registered.runId, /^run-\d{8}-\d{6}-[0-9a-f]{6}$/);
    assert.deepEqual(registered.registered, { model: 'blobs', version: 1 });
    assert.equal(slower.registered, undefined);
    const [versions, show] = await Promise.all([cli('models', 'versions', 'blobs', '--json'), cli('models', 'show', 'blobs', '--json')]);
    const [v] = jsonOf<VersionRecord[]>(versions);
    assert.equal(v.runId, registered.runId);
    const data = createHash('sha256');
    for (const f of ['train.csv', 'test.csv']) data.update(await readFile(join(dataDir, f))).update('\0');
    assert.equal(v.datasetHash, data.digest('hex'), 'the hash of the training and test files');
    assert.equal(v.metrics.test_accuracy, 1);
    assert.equal((v.params as typeof BLOBS_SPEC).optimizer.lr, 0.05);
    const d = jsonOf<ModelDetails & { aliasHistory: AliasEvent[] }>(show);
    assert.deepEqual(d.aliases.map((a) => [a.alias, a.version]), [['staging', 1]]);
    assert.equal(d.aliasHistory[0].reason, `trained by run ${registered.runId}`);
  });

  test('runs list shows every run with its status and metrics, as text and JSON', async () => {
    const [text, json] = await Promise.all([cli('runs', 'list'), cli('runs', 'list', '--json')]);
    const runs = jsonOf<RunRecord[]>(json);
    assert.equal(runs.length, 3);
    const byId = new Map(runs.map((r) => [r.id, r]));
    for (const id of [registered.runId, slower.runId]) {
      const run = byId.get(id)!;
      assert.equal(run.status, 'finished');
      assert.equal(run.name, 'Blobs_v1');
      assert.ok(run.metrics.test_accuracy > 0.8, JSON.stringify(run.metrics));
      assert.ok(Number.isFinite(run.metrics.val_loss) && Number.isFinite(run.metrics.test_loss));
      assert.equal(run.error, null);
    }
    const lines = stdoutOf(text).trimEnd().split('\n');
    assert.match(lines[0], /^ID +NAME +STATUS +METRICS +STARTED$/);
    assert.equal(lines.length, 4);
    const row = lines.find((l) => l.startsWith(registered.runId));
    assert.match(row ?? '', /^run-\S+ +Blobs_v1 +finished +test_loss=\d\.\d{4} test_accuracy=1 val_loss=\d\.\d{4} +\S+$/);
  });

  test('a run whose data is bad is recorded as failed, with its error', async () => {
    assertFailed(failed, 1, /^error \[DATA_FORMAT\]: .*train\.csv: 1 malformed row\(s\)/);
    const [list, none] = await Promise.all([cli('runs', 'list', '--status', 'failed', '--json'), cli('runs', 'list', '--status', 'killed')]);
    const [run, ...more] = jsonOf<RunRecord[]>(list);
    assert.deepEqual(more, []);
    assert.equal(run.status, 'failed');
    assert.match(run.error ?? '', /train\.csv: 1 malformed row\(s\); fix or remove them and run again$/);
    assert.ok(run.endedAt && run.endedAt >= run.startedAt);
    assert.deepEqual(run.metrics, {});
    assert.equal(stdoutOf(none), 'no runs match\n');
    const text = stdoutOf(await cli('runs', 'show', run.id));
    assert.match(text, new RegExp(`^run ${run.id} \\(Blobs_v1\\): failed — .*train\\.csv: 1 malformed row\\(s\\)`));
  });

  test('--order-by sorts by a metric, highest first or, with a leading -, lowest first; runs without it last', async () => {
    const [highest, lowest, bad] = await Promise.all([
      cli('runs', 'list', '--order-by', 'test_accuracy', '--json'),
      cli('runs', 'list', '--order-by', '-test_loss', '--json'),
      cli('runs', 'list', '--status', 'done'),
    ]);
    const accuracy = jsonOf<RunRecord[]>(highest).map((r) => r.metrics.test_accuracy);
    assert.equal(accuracy.length, 3);
    assert.ok(accuracy[0] >= accuracy[1], `${accuracy}`);
    assert.equal(accuracy[2], undefined, 'the failed run has no test accuracy');
    const losses = jsonOf<RunRecord[]>(lowest);
    assert.deepEqual(losses.map((r) => r.id), [registered.runId, slower.runId, losses[2].id], 'lr 0.05 ends with the lower loss');
    assert.ok(losses[0].metrics.test_loss < losses[1].metrics.test_loss);
    assertFailed(bad, 1, /^error \[INVALID_ARGUMENT\]: --status must be one of running, finished, failed, killed, got "done"\n/);
  });

  test('runs show gives the params (the spec), the per-epoch history and the artifacts', async () => {
    const [json, text, missing] = await Promise.all([cli('runs', 'show', registered.runId, '--json'), cli('runs', 'show', registered.runId), cli('runs', 'show', 'run-nope')]);
    const run = jsonOf<RunRecord & { history: MetricPoint[] }>(json);
    assert.deepEqual(run.params, JSON.parse(await readFile(join(registered.runDir, 'spec.json'), 'utf8')), 'the spec as the run folder keeps it');
    assert.deepEqual([(run.params as typeof BLOBS_SPEC).optimizer.lr, run.params.epochs], [0.05, 3]);
    for (const key of ['train_loss', 'val_loss']) {
      const points = run.history.filter((p) => p.key === key);
      assert.deepEqual(points.map((p) => p.step), [1, 2, 3], key);
      for (const p of points) assert.ok(Number.isFinite(p.value) && p.value >= 0, `${key}@${p.step} = ${p.value}`);
    }
    assert.deepEqual(run.artifacts, { run_dir: pathToFileURL(registered.runDir).href, model: pathToFileURL(join(registered.runDir, 'model.onnx')).href });
    assert.deepEqual(run.tags, { runDir: basename(registered.runDir) });

    const shown = stdoutOf(text);
    assert.match(shown, new RegExp(`^run ${registered.runId} \\(Blobs_v1\\): finished\\nstarted \\S+, ended \\S+\\n`));
    assert.match(shown, /^optimizer\.lr +0\.05$/m);
    assert.match(shown, /^optimizer\.type +"adam"$/m);
    assert.match(shown, /^STEP +.*train_loss.*val_loss/m);
    assert.match(shown, /^3 +\d/m);
    assert.ok(shown.includes(`model    ${pathToFileURL(join(registered.runDir, 'model.onnx')).href}\n`), shown);
    assertFailed(missing, 1, /^error \[NOT_FOUND\]: no run "run-nope"; `aimass runs list` shows the runs\n/);
  });

  test('runs compare lists the params that differ, then every metric side by side', async () => {
    const ids = [registered.runId, slower.runId];
    const [json, text, one] = await Promise.all([cli('runs', 'compare', ...ids, '--json'), cli('runs', 'compare', ...ids), cli('runs', 'compare', ids[0])]);
    const c = jsonOf<{ runs: string[]; differingParams: Record<string, unknown[]>; metrics: Record<string, (number | null)[]> }>(json);
    assert.deepEqual(c.runs, ids);
    assert.deepEqual(c.differingParams, { 'optimizer.lr': [0.05, 0.01] });
    for (const key of ['test_accuracy', 'test_loss', 'val_loss', 'train_loss']) {
      assert.equal(c.metrics[key].length, 2, key);
      for (const v of c.metrics[key]) assert.equal(typeof v, 'number', key);
    }
    const lines = stdoutOf(text).split('\n');
    assert.match(lines[0], new RegExp(`^PARAM +${ids[0]} +${ids[1]}$`));
    assert.match(lines[1], /^optimizer\.lr +0\.05 +0\.01$/);
    assert.equal(lines[2], '');
    assert.match(lines[3], new RegExp(`^METRIC +${ids[0]} +${ids[1]}$`));
    assert.ok(lines.some((l) => /^test_accuracy +1\.0000 +\d\.\d{4}$/.test(l)), text.stdout);
    assertFailed(one, 1, /^error \[INVALID_ARGUMENT\]: give at least two run ids to compare\n/);
  });
});
