// Pins `aimass train` and `aimass datasets` end to end through the real executable, on a tiny generated CSV
// data set: the run folder and what it holds, --json, --resume, --out, and how bad specs, bad data and bad
// usage fail (exit code, error code, one problem per line, no run folder left behind).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { BLOBS_SPEC, blobRows, blobsCsv, writeBlobs } from '../../test/support/blobs-csv.js';
import { type CliOutcome, aimass } from '../../test/support/cli.js';
import { checkMnistCsv } from '../../test/support/mnist-csv.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-train');

const csv = blobsCsv;
const SPEC = BLOBS_SPEC;

/** A folder holding train.csv, test.csv and spec.json (data paths relative to it); returns the spec's path. */
async function dataFolder(spec: object = SPEC, trainCsv?: string): Promise<string> {
  return writeBlobs(await tempDir(), { spec, trainCsv });
}

const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

function assertFailed(r: CliOutcome, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr:\n${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stdout, '');
}

describe('aimass train on a CSV spec', () => {
  let specPath: string;
  let home: string;
  let jsonRun: CliOutcome;
  let textRun: CliOutcome;
  let textOut: string;

  before(async () => {
    specPath = await dataFolder();
    home = join(await tempDir(), 'home');
    textOut = join(await tempDir(), 'text-run');
    // two independent runs, started together to keep the suite fast
    [jsonRun, textRun] = await Promise.all([
      aimass(['train', '--spec', specPath, '--json'], { AIMASS_HOME: home }),
      aimass(['train', '--spec', specPath, '--out', textOut], { AIMASS_HOME: home }),
    ]);
  });

  test('--json prints one JSON object with the run folder, the model and the test accuracy', () => {
    assert.equal(jsonRun.code, 0, jsonRun.stderr);
    assert.equal(jsonRun.stdout.split('\n').length, 2, 'one line and its newline');
    const r = JSON.parse(jsonRun.stdout);
    assert.equal(r.model, join(r.runDir, 'model.onnx'));
    assert.equal(r.epochs, 3);
    assert.equal(r.test.n, 60);
    assert.ok(r.test.accuracy > 0.8, `test accuracy ${r.test.accuracy}`);
    // progress goes to stderr, one line per epoch
    assert.match(jsonRun.stderr, /^data: 192 train, 48 validation, 60 test rows/m);
    assert.match(jsonRun.stderr, /^epoch 3\/3: loss \d+\.\d{4} acc \d\.\d{4} \| val_loss \d+\.\d{4} val_acc/m);
  });

  test('without --out the run folder goes under $AIMASS_HOME/runs, named from the spec', () => {
    const { runDir } = JSON.parse(jsonRun.stdout);
    assert.ok(runDir.startsWith(join(home, 'runs') + sep), runDir);
    assert.match(basename(runDir), /^blobs-v1-\d{8}-\d{6}-[0-9a-f]{6}$/);
  });

  test('the run folder holds the model, metrics with validation loss, a checkpoint, the spec and its metadata', async () => {
    const { runDir } = JSON.parse(jsonRun.stdout);
    for (const f of ['model.onnx', 'metrics.json', 'checkpoint.json', 'spec.json', 'meta.json', 'pipeline.json']) {
      assert.ok((await stat(join(runDir, f))).size > 0, `${f} is written`);
    }
    const metrics = await readJson(join(runDir, 'metrics.json'));
    assert.deepEqual(metrics.history.map((h: { epoch: number }) => h.epoch), [1, 2, 3]);
    for (const h of metrics.history) assert.ok(Number.isFinite(h.val_loss) && Number.isFinite(h.val_accuracy), JSON.stringify(h));
    assert.ok(metrics.test.accuracy > 0.8);
    assert.equal((await readJson(join(runDir, 'checkpoint.json'))).epoch, 3);
    const spec = await readJson(join(runDir, 'spec.json'));
    assert.equal(spec.data.train, join(specPath, '..', 'train.csv'), 'data paths are stored absolute');
    assert.equal(spec.epochs, 3);
    assert.equal((await readJson(join(runDir, 'meta.json'))).format, 'aimass-model/1');
    const pipeline = await readJson(join(runDir, 'pipeline.json'));
    assert.deepEqual(pipeline, {
      format: 'aimass-pipeline/1',
      input: { kind: 'table', tensor: 'features', columns: ['f1', 'f2', 'f3', 'f4'] },
      output: { tensor: 'probabilities', kind: 'probabilities', labels: ['blue', 'green', 'red'] },
    });
  });

  test('without --json stdout shows the model path and the test accuracy; --out names the run folder', () => {
    assert.equal(textRun.code, 0, textRun.stderr);
    assert.match(textRun.stdout, /^model: (.+)\ntest: accuracy (\d\.\d{4}), loss \d+\.\d{4} \(60 rows\)\nrun: run-[0-9a-f-]+\n$/);
    const [, model, accuracy] = /^model: (.+)\ntest: accuracy (\d\.\d{4})/.exec(textRun.stdout)!;
    assert.equal(model, join(textOut, 'model.onnx'));
    assert.ok(Number(accuracy) > 0.8, accuracy);
    assert.equal(existsSync(join(home, 'runs', basename(textOut))), false);
  });

  test('--resume of a finished run trains no more epochs, re-exports the same model and succeeds', async () => {
    const { runDir, test: firstTest } = JSON.parse(jsonRun.stdout);
    const model = await readFile(join(runDir, 'model.onnx'));
    const checkpoint = await readFile(join(runDir, 'checkpoint.json'), 'utf8');
    const r = await aimass(['train', '--resume', runDir, '--json'], { AIMASS_HOME: home });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /all 3 epochs are done already; exporting the model and testing it again/);
    assert.doesNotMatch(r.stderr, /^epoch /m);
    const again = JSON.parse(r.stdout);
    assert.equal(again.runDir, runDir);
    assert.equal(again.epochs, 3);
    assert.deepEqual(again.test, firstTest);
    assert.ok((await readFile(join(runDir, 'model.onnx'))).equals(model), 'model.onnx is unchanged');
    assert.equal(await readFile(join(runDir, 'checkpoint.json'), 'utf8'), checkpoint);
    assert.equal((await readJson(join(runDir, 'metrics.json'))).history.length, 3);
  });

  test('--out pointing at an existing run fails with ALREADY_EXISTS, suggesting --resume', async () => {
    const { runDir } = JSON.parse(jsonRun.stdout);
    const before_ = await readFile(join(runDir, 'checkpoint.json'), 'utf8');
    const r = await aimass(['train', '--spec', specPath, '--out', runDir], { AIMASS_HOME: home });
    assertFailed(r, 1, /^error \[ALREADY_EXISTS\]: .* already holds a run; use --resume /);
    assert.ok(r.stderr.includes(`--resume ${runDir}`));
    assert.equal(await readFile(join(runDir, 'checkpoint.json'), 'utf8'), before_);
  });

  test('--resume cannot be combined with --spec or --out, and needs a checkpoint', async () => {
    const { runDir } = JSON.parse(jsonRun.stdout);
    const empty = await tempDir();
    const [withSpec, withOut, noCheckpoint] = await Promise.all([
      aimass(['train', '--resume', runDir, '--spec', specPath], { AIMASS_HOME: home }),
      aimass(['train', '--resume', runDir, '--out', empty], { AIMASS_HOME: home }),
      aimass(['train', '--resume', empty], { AIMASS_HOME: home }),
    ]);
    assertFailed(withSpec, 2, /^error \[INVALID_ARGUMENT\]: option '--resume <dir>' cannot be used with option '-s, --spec <file>'/);
    assertFailed(withOut, 2, /^error \[INVALID_ARGUMENT\]: option '--resume <dir>' cannot be used with option '-o, --out <dir>'/);
    assertFailed(noCheckpoint, 1, /^error \[NOT_FOUND\]: .* has no checkpoint to resume from/);
  });
});

describe('aimass train failures', () => {
  test('a bad spec lists every problem, bad fields and missing data files alike, and creates no run folder', async () => {
    const bad = { ...SPEC, colour: 'red', epochs: 0, data: { ...SPEC.data, test: 'missing.csv' } };
    const specPath = await dataFolder(bad);
    const home = join(await tempDir(), 'home');
    const out = join(await tempDir(), 'never');
    const [r, withOut] = await Promise.all([
      aimass(['train', '--spec', specPath], { AIMASS_HOME: home }),
      aimass(['train', '--spec', specPath, '--out', out], { AIMASS_HOME: home }),
    ]);
    assertFailed(r, 1, /^error \[INVALID_SPEC\]: the training spec has 3 problem\(s\); fix each one listed and run again\n/);
    const problems = r.stderr.split('\n').filter((l) => l.startsWith('  - '));
    assert.equal(problems.length, 3, r.stderr);
    assert.match(problems[0], /^ {2}- epochs: .*expected number to be >0/);
    assert.equal(problems[1], '  - colour: unknown field');
    assert.equal(problems[2], `  - data.test: file not found: ${join(specPath, '..', 'missing.csv')}`);
    assert.ok(r.stderr.includes(`  spec: ${specPath}\n`));
    assertFailed(withOut, 1, /^error \[INVALID_SPEC\]/);
    assert.equal(existsSync(home), false, 'nothing under AIMASS_HOME');
    assert.equal(existsSync(out), false, 'no --out folder');
  });

  test('a malformed CSV row fails with DATA_FORMAT naming its line, and creates no run folder', async () => {
    const rows = blobRows(240, 1);
    rows[5] = rows[5].replace(/^([^,]+),[^,]+/, '$1,x'); // file line 7: header, then rows[0] is line 2
    const specPath = await dataFolder(SPEC, csv(rows));
    const home = join(await tempDir(), 'home');
    const r = await aimass(['train', '--spec', specPath], { AIMASS_HOME: home });
    assertFailed(r, 1, /^error \[DATA_FORMAT\]: .*train\.csv: 1 malformed row\(s\); fix or remove them and run again\n {2}- line 7: column "f2": "x" is not a number\n/);
    assert.equal(existsSync(join(home, 'runs')) && (await readdir(join(home, 'runs'))).length > 0, false);
  });

  test('train without --spec or --resume is a usage error; --help describes the options', async () => {
    const home = await tempDir();
    const [none, missingSpec, help] = await Promise.all([
      aimass(['train'], { AIMASS_HOME: home }),
      aimass(['train', '--spec', 'nowhere.json', '--threads', '0'], { AIMASS_HOME: home }),
      aimass(['train', '--help'], { AIMASS_HOME: home }),
    ]);
    assertFailed(none, 2, /^error \[INVALID_ARGUMENT\]: give --spec <file> to start a run, or --resume <dir> to continue one/);
    assertFailed(missingSpec, 1, /^error \[NOT_FOUND\]: training spec not found: .*nowhere\.json/);
    assert.equal(help.code, 0, help.stderr);
    for (const flag of ['--spec <file>', '--resume <dir>', '--out <dir>', '--threads <n>', 'Data paths are relative to the spec file']) {
      assert.ok(help.stdout.includes(flag), `help mentions ${flag}`);
    }
  });

  test('--threads must be a positive integer', async () => {
    const specPath = await dataFolder();
    const out = join(await tempDir(), 'run');
    const r = await aimass(['train', '--spec', specPath, '--out', out, '--threads', 'two'], { AIMASS_HOME: await tempDir() });
    assertFailed(r, 1, /^error \[INVALID_ARGUMENT\]: --threads must be a positive integer, got "two"/);
    assert.equal(existsSync(out), false);
  });
});

describe('aimass datasets', () => {
  test('export mnist --out writes the training and test CSVs', async () => {
    const out = join(await tempDir(), 'data');
    await mkdir(out);
    const r = await aimass(['datasets', 'export', 'mnist', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const train = join(out, 'mnist_train.csv');
    const test_ = join(out, 'mnist_test.csv');
    assert.equal(r.stdout, `wrote ${train} (8004 rows) and ${test_} (1996 rows)\n`);
    await checkMnistCsv(train, 8004);
    await checkMnistCsv(test_, 1996);
  });

  test('an unknown data set fails with NOT_FOUND, naming the known ones', async () => {
    const out = join(await tempDir(), 'data');
    const r = await aimass(['datasets', 'export', 'imagenet', '--out', out]);
    assertFailed(r, 1, /^error \[NOT_FOUND\]: no reference data set "imagenet"; known: mnist, spam-assassin, road-signs\n/);
    assert.equal(existsSync(out), false);
    // the generator's options are not silently ignored by a shipped data set
    const flagged = await aimass(['datasets', 'export', 'mnist', '--out', out, '--count', '5']);
    assertFailed(flagged, 1, /^error \[INVALID_ARGUMENT\]: --count applies to road-signs .*not to mnist/);
    assert.equal(existsSync(out), false);
  });
});
