// Pins `aimass models …` end to end through the real executable, on the embedded default stores (SQLite and
// file:// under a temporary AIMASS_HOME): import and register, list/show/versions as text and JSON, aliases moved
// with compare-and-set and their history, rollback, verified export, deletion, and how unknown names, bad input,
// a corrupt stored artifact and an unreachable or locked metadata database fail.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { ModelDetails } from '../registry/index.js';
import type { AliasEvent, AliasRecord, ModelRecord, VersionRecord } from '../storage/index.js';
import { type CliOutcome, aimass, assertFailed, jsonOf, stdoutOf } from '../../test/support/cli.js';
import { mlpOnnx, modelFolder } from '../../test/support/onnx-model.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-models');

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What `models show --json` prints. */
type Shown = ModelDetails & { aliasHistory: AliasEvent[] };
/** One entry of `models list --json`. */
type Listed = ModelRecord & { aliases: AliasRecord[] };

const SIGNATURE = {
  inputs: [{ name: 'features', dtype: 'float32', shape: ['N', 4] }],
  outputs: [
    { name: 'logits', dtype: 'float32', shape: ['N', 3] },
    { name: 'probabilities', dtype: 'float32', shape: ['N', 3] },
  ],
};

const moves = (events: AliasEvent[]) => events.map((e) => [e.alias, e.from, e.to, e.actor, e.reason]);

// The tests of this block run in order on one registry: each starts from where the one before left it.
describe('aimass models', () => {
  let env: Record<string, string>;
  const cli = (...args: string[]) => aimass(args, env);
  let onnxFile: string; // imported as version 1
  let folder: string; // registered as version 2
  let imported: CliOutcome;
  let registered: CliOutcome;

  before(async () => {
    const dir = await tempDir();
    env = { AIMASS_HOME: join(dir, 'home'), AIMASS_USER: 'tester' };
    onnxFile = join(dir, 'iris.onnx');
    await writeFile(onnxFile, mlpOnnx({ seed: 1 }));
    await writeFile(join(dir, 'labels.txt'), 'setosa\nversicolor\n\nvirginica\n');
    folder = await modelFolder(join(dir, 'retrained'), { seed: 2 });
    imported = await cli('models', 'import', 'iris', onnxFile, '--labels', join(dir, 'labels.txt'));
    registered = await cli('models', 'register', 'iris', folder, '--description', 'retrained');
  });

  test('import registers version 1 of an ONNX file and prints its signature; register adds version 2 from a folder', () => {
    assert.equal(stdoutOf(imported), `imported ${onnxFile} as iris version 1: inputs features float32[N,4]; outputs logits float32[N,3], probabilities float32[N,3]\n`);
    assert.match(stdoutOf(registered), /^registered iris version 2 \(2 files, \d+ B\)\n$/);
  });

  test('list, show and versions describe the model as text and, with --json, in full', async () => {
    const [list, listJson, show, showJson, versions, versionsJson] = await Promise.all([
      cli('models', 'list'),
      cli('models', 'list', '--json'),
      cli('models', 'show', 'iris'),
      cli('models', 'show', 'iris', '--json'),
      cli('models', 'versions', 'iris'),
      cli('models', 'versions', 'iris', '--json'),
    ]);
    assert.match(stdoutOf(list), /^NAME +LATEST +ALIASES +UPDATED\niris +2 +- +\S+\n$/);
    const listed = jsonOf<Listed[]>(listJson);
    assert.deepEqual(listed.map((m) => [m.name, m.latestVersion, m.aliases]), [['iris', 2, []]]);

    const original = await readFile(onnxFile);
    const retrained = await readFile(join(folder, 'model.onnx'));
    const pipeline = await readFile(join(folder, 'pipeline.json'));
    const d = jsonOf<Shown>(showJson);
    assert.equal(d.model.latestVersion, 2);
    assert.deepEqual(
      d.versions.map((v) => [v.version, v.source, v.framework, v.createdBy, v.description]),
      [
        [1, 'imported', 'onnx', 'tester', ''],
        [2, 'trained', 'aimass', 'tester', 'retrained'],
      ],
    );
    assert.deepEqual(d.versions[0].files.map((f) => f.path), ['meta.json', 'model.onnx', 'pipeline.json']);
    assert.deepEqual(d.versions[0].files[1], { path: 'model.onnx', size: original.length, sha256: sha256(original) });
    assert.deepEqual(d.versions[1].files, [
      { path: 'model.onnx', size: retrained.length, sha256: sha256(retrained) },
      { path: 'pipeline.json', size: pipeline.length, sha256: sha256(pipeline) },
    ]);
    assert.equal(d.versions[1].size, retrained.length + pipeline.length);
    for (const v of d.versions) {
      assert.deepEqual(v.signature, SIGNATURE);
      assert.ok(v.artifactUri.startsWith(`${pathToFileURL(join(env.AIMASS_HOME, 'artifacts', 'models', 'iris')).href}/`), v.artifactUri);
    }
    assert.deepEqual(d.aliases, []);
    assert.deepEqual(d.aliasHistory, []);
    assert.deepEqual(jsonOf<VersionRecord[]>(versionsJson), d.versions);

    assert.match(stdoutOf(show), /^model iris\n\nVERSION +ALIASES +SOURCE +SIZE +METRICS +CREATED +BY\n1 +- +imported +1\.\d KiB +- +\S+ +tester\n2 +- +trained +\d+ B +- +\S+ +tester\n/);
    assert.match(stdoutOf(show), /\nalias history:\n\(none\)\n$/);
    const text = stdoutOf(versions);
    assert.match(text, /^version 1 {2}\(imported, onnx, \S+ KiB, \S+ by tester\)\n/);
    assert.ok(text.includes(`\n    model.onnx  ${original.length} B  sha256 ${sha256(original)}\n`), text);
    assert.match(text, /^ {2}inputs: {2}features float32\[N, 4\]$/m);
    assert.match(text, /^ {2}outputs: logits float32\[N, 3\]; probabilities float32\[N, 3\]$/m);
    assert.match(text, /^ {2}lineage: run -, dataset -, parent -$/m);
  });

  test('alias points and moves with compare-and-set; a stale --expect is a CONFLICT naming the version the alias holds', async () => {
    assert.equal(stdoutOf(await cli('models', 'alias', 'iris', 'production', '1')), 'iris@production: (new) → 1\n');
    assert.equal(stdoutOf(await cli('models', 'alias', 'iris', 'production', '2', '--expect', '1', '--reason', 'r')), 'iris@production: 1 → 2\n');
    const stale = await cli('models', 'alias', 'iris', 'production', '1', '--expect', '1');
    assertFailed(stale, 1, /^error \[CONFLICT\]: Alias "production" of model "iris" points at version 2, but the move expected version 1; someone moved it meanwhile: read it again and decide\n/);
    assert.ok(stale.stderr.endsWith('\n  model: iris\n  alias: production\n  expected: 1\n  actual: 2\n'), stale.stderr);
    // (the alias history below shows that it did not move)
  });

  test('--expect none creates an alias only where there is none', async () => {
    assert.equal(stdoutOf(await cli('models', 'alias', 'iris', 'staging', '2', '--expect', 'none')), 'iris@staging: (new) → 2\n');
    const [again, absent] = await Promise.all([
      cli('models', 'alias', 'iris', 'staging', '1', '--expect', 'none'),
      cli('models', 'alias', 'iris', 'canary', '1', '--expect', '2'),
    ]);
    assertFailed(again, 1, /^error \[CONFLICT\]: Alias "staging" of model "iris" points at version 2, but the move expected it to be absent/);
    assertFailed(absent, 1, /^error \[CONFLICT\]: Alias "canary" of model "iris" does not exist, but the move expected version 2/);
  });

  test('an alias keeps its version from being deleted; --delete removes it; --history lists every move, oldest first', async () => {
    assertFailed(
      await cli('models', 'delete', 'iris', '--version', '2'),
      1,
      /^error \[CONFLICT\]: Version 2 of model "iris" is the target of aliases production, staging; move or delete them before deleting the version\n/,
    );
    assert.equal(stdoutOf(await cli('models', 'alias', 'iris', 'staging', '--delete', '--reason', 'not needed')), 'deleted alias staging of iris (was version 2)\n');
    const [all, production, text, deleteAgain] = await Promise.all([
      cli('models', 'alias', 'iris', '--history', '--json'),
      cli('models', 'alias', 'iris', 'production', '--history', '--json'),
      cli('models', 'alias', 'iris', '--history'),
      cli('models', 'alias', 'iris', 'staging', '--delete'),
    ]);
    const expected = [
      ['production', null, 1, 'tester', ''],
      ['production', 1, 2, 'tester', 'r'],
      ['staging', null, 2, 'tester', ''],
      ['staging', 2, null, 'tester', 'not needed'],
    ];
    assert.deepEqual(moves(jsonOf(all)), expected);
    assert.deepEqual(moves(jsonOf(production)), expected.slice(0, 2));
    const lines = stdoutOf(text).trimEnd().split('\n');
    assert.match(lines[0], /^WHEN +ALIAS +FROM +TO +BY +WHY$/);
    assert.match(lines[1], /^\S+ +production +- +1 +tester +-$/);
    assert.match(lines[4], /^\S+ +staging +2 +\(deleted\) +tester +not needed$/);
    assertFailed(deleteAgain, 1, /^error \[NOT_FOUND\]: model "iris" has no alias "staging"\n/);
  });

  test('rollback moves production back to the version it held before; with nothing before that, CONFLICT', async () => {
    assert.equal(stdoutOf(await cli('models', 'rollback', 'iris', '--reason', 'accuracy dropped')), 'rolled back iris@production: 2 → 1\n');
    const [again, show] = await Promise.all([cli('models', 'rollback', 'iris'), cli('models', 'show', 'iris', '--json')]);
    assertFailed(again, 1, /^error \[CONFLICT\]: alias "production" of "iris" has held no version before 1; there is nothing to roll back to\n/);
    const d = jsonOf<Shown>(show);
    assert.deepEqual(d.aliases.map((a) => [a.alias, a.version]), [['production', 1]]);
    assert.deepEqual(moves(d.aliasHistory.slice(-1)), [['production', 2, 1, 'tester', 'rollback: accuracy dropped']]);
  });

  test('export writes the files of NAME@production and NAME@latest, verified and identical to the originals', async () => {
    const out = await tempDir();
    const [production, latest] = await Promise.all([
      cli('models', 'export', 'iris@production', join(out, 'production')),
      cli('models', 'export', 'iris@latest', join(out, 'latest'), '--json'),
    ]);
    const names = ['meta.json', 'model.onnx', 'pipeline.json'];
    assert.equal(stdoutOf(production), `wrote version 1 of iris: ${names.map((f) => join(out, 'production', f)).join(', ')}\n`);
    assert.deepEqual(await readdir(join(out, 'production')), names);
    assert.ok((await readFile(join(out, 'production', 'model.onnx'))).equals(await readFile(onnxFile)));
    assert.deepEqual(JSON.parse(await readFile(join(out, 'production', 'pipeline.json'), 'utf8')), { labels: ['setosa', 'versicolor', 'virginica'] });
    const meta = JSON.parse(await readFile(join(out, 'production', 'meta.json'), 'utf8'));
    assert.deepEqual([meta.source, meta.importedFrom, meta.signature], ['imported', 'iris.onnx', SIGNATURE]);

    assert.deepEqual(jsonOf(latest), { model: 'iris', version: 2, files: [join(out, 'latest', 'model.onnx'), join(out, 'latest', 'pipeline.json')] });
    for (const f of ['model.onnx', 'pipeline.json']) {
      assert.ok((await readFile(join(out, 'latest', f))).equals(await readFile(join(folder, f))), `${f} is the registered file`);
    }
  });

  test('an unknown model, version or alias fails with NOT_FOUND naming it', async () => {
    const out = join(await tempDir(), 'never');
    const [model, version, alias, aliasTarget, rollback] = await Promise.all([
      cli('models', 'show', 'ghost'),
      cli('models', 'export', 'iris@7', out),
      cli('models', 'export', 'iris@canary', out),
      cli('models', 'alias', 'iris', 'production', '9'),
      cli('models', 'rollback', 'iris', '--alias', 'canary'),
    ]);
    assertFailed(model, 1, /^error \[NOT_FOUND\]: no registered model "ghost"; `aimass models list` shows the registered ones\n/);
    assert.ok(model.stderr.endsWith('\n  model: ghost\n'), model.stderr);
    assertFailed(version, 1, /^error \[NOT_FOUND\]: model "iris" has no version 7\n/);
    assertFailed(alias, 1, /^error \[NOT_FOUND\]: model "iris" has no alias "canary"\n/);
    assertFailed(aliasTarget, 1, /^error \[NOT_FOUND\]: model "iris" has no version 9\n/);
    assertFailed(rollback, 1, /^error \[NOT_FOUND\]: model "iris" has no alias "canary" to roll back\n/);
    assert.equal(existsSync(out), false, 'a failed export creates no folder');
  });

  test('bad input fails with INVALID_ARGUMENT and changes nothing', async () => {
    const dir = await tempDir();
    const notOnnx = join(dir, 'notes.onnx');
    await writeFile(notOnnx, 'not a model\n');
    await mkdir(join(dir, 'empty'));
    const [versionText, deleteVersionText, expectText, notModel, noModel] = await Promise.all([
      cli('models', 'alias', 'iris', 'production', 'abc'),
      cli('models', 'delete', 'iris', '--version', 'abc'),
      cli('models', 'alias', 'iris', 'production', '2', '--expect', 'abc'),
      cli('models', 'import', 'iris', notOnnx),
      cli('models', 'register', 'iris', join(dir, 'empty')),
    ]);
    assertFailed(versionText, 1, /^error \[INVALID_ARGUMENT\]: version must be a positive whole number, got "abc"\n$/);
    // --version of a command is its own option, not the program's (which would print the AI Mass version)
    assertFailed(deleteVersionText, 1, /^error \[INVALID_ARGUMENT\]: version must be a positive whole number, got "abc"\n$/);
    assertFailed(expectText, 1, /^error \[INVALID_ARGUMENT\]: --expect must be a positive whole number, got "abc"\n$/);
    assertFailed(notModel, 1, /^error \[INVALID_ARGUMENT\]: (.+) is not a model ONNX Runtime can load: /);
    assert.ok(notModel.stderr.startsWith(`error [INVALID_ARGUMENT]: ${notOnnx} is not a model`), notModel.stderr);
    assertFailed(noModel, 1, /^error \[INVALID_ARGUMENT\]: .*empty has no model\.onnx; a model version needs one\n/);
    // (the last test finds versions 1 and 2 only)
  });

  test('a stored artifact corrupted behind the registry’s back fails export with DATA_CORRUPT naming it, leaving no file', async () => {
    const v2 = jsonOf<VersionRecord[]>(await cli('models', 'versions', 'iris', '--json'))[1];
    const stored = join(fileURLToPath(v2.artifactUri), 'model.onnx');
    assert.ok(stored.startsWith(join(env.AIMASS_HOME, 'artifacts', 'models', 'iris') + sep), stored);
    const bytes = await readFile(stored);
    bytes[bytes.length >> 1] ^= 0xff; // one flipped byte, same size
    await writeFile(stored, bytes);
    const out = join(await tempDir(), 'export');
    const r = await cli('models', 'export', 'iris@2', out);
    assertFailed(r, 1, /^error \[DATA_CORRUPT\]: Artifact "(.+)" in (\S+) is corrupt: expected sha256 [0-9a-f]{64} but read sha256 [0-9a-f]{64} \(\d+ bytes\)\. It was not served/);
    assert.ok(r.stderr.includes(`Artifact "models/iris/${basename(fileURLToPath(v2.artifactUri))}/model.onnx"`), r.stderr);
    assert.deepEqual(existsSync(out) ? await readdir(out) : [], [], 'no file in the export folder, not even a temporary one');
  });

  test('delete --version deletes a version no alias points at, with its files; a whole model needs --yes', async () => {
    const [v1, v2, ...more] = jsonOf<VersionRecord[]>(await cli('models', 'versions', 'iris', '--json'));
    assert.deepEqual([v1.version, v2.version, more], [1, 2, []]);
    const [deleted, unconfirmed] = await Promise.all([cli('models', 'delete', 'iris', '--version', '2'), cli('models', 'delete', 'iris')]);
    assert.equal(stdoutOf(deleted), 'deleted version 2 of iris\n');
    assert.equal(existsSync(fileURLToPath(v2.artifactUri)), false, 'its files are gone');
    assertFailed(unconfirmed, 1, /^error \[INVALID_ARGUMENT\]: deleting model "iris" removes every version and its files; add --yes to confirm\n/);

    assert.equal(stdoutOf(await cli('models', 'delete', 'iris', '--yes')), 'deleted model iris\n');
    assertFailed(await cli('models', 'show', 'iris'), 1, /^error \[NOT_FOUND\]: no registered model "iris"/);
    assert.equal(existsSync(join(env.AIMASS_HOME, 'artifacts', 'models', 'iris')), false, 'no file of any version is left');
  });
});

describe('aimass models when the metadata database cannot be used', () => {
  test('an unreachable PostgreSQL fails with UNAVAILABLE, saying to check the server and retry, without a stack trace', async () => {
    const env = { AIMASS_HOME: await tempDir(), AIMASS_USER: 'tester', AIMASS_METADATA_URI: 'postgresql://postgres@127.0.0.1:1/test' };
    const r = await aimass(['models', 'list'], env);
    assertFailed(r, 1, /^error \[UNAVAILABLE\]: PostgreSQL at 127\.0\.0\.1:1\/test is unavailable \(ECONNREFUSED\); check that the server is up and reachable, then retry\n/);
    assert.equal(r.stderr.split('\n').slice(1).join('\n'), '  backend: postgres\n  retryable: true\n', 'details, and no stack trace');
  });

  test('while another connection holds the SQLite write lock, a write fails with UNAVAILABLE and a read still works', async () => {
    const dir = await tempDir();
    const env = { AIMASS_HOME: join(dir, 'home'), AIMASS_USER: 'tester' };
    await writeFile(join(dir, 'iris.onnx'), mlpOnnx());
    stdoutOf(await aimass(['models', 'import', 'iris', join(dir, 'iris.onnx')], env));
    const dbPath = join(env.AIMASS_HOME, 'aimass.db');
    const db = new Database(dbPath);
    let write: CliOutcome;
    let read: CliOutcome;
    try {
      db.exec('BEGIN IMMEDIATE');
      // the write waits out the busy timeout (5 s), then gives up
      [write, read] = await Promise.all([aimass(['models', 'alias', 'iris', 'production', '1'], env), aimass(['models', 'list', '--json'], env)]);
    } finally {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.close();
    }
    assertFailed(write, 1, /^error \[UNAVAILABLE\]: database is locked: another connection held a write transaction on (.+) for \d+ ms; retry the operation\n/);
    assert.ok(write.stderr.includes(` on ${dbPath} for `), write.stderr);
    assert.deepEqual(jsonOf<Listed[]>(read).map((m) => m.name), ['iris']);
    // the lock released, the same command succeeds
    assert.equal(stdoutOf(await aimass(['models', 'alias', 'iris', 'production', '1'], env)), 'iris@production: (new) → 1\n');
  });
});
