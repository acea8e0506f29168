// Pins `aimass data …` end to end through the real executable under a temporary AIMASS_HOME: import into the
// embedded file:// store and profile by id (and id prefix); profile, clean, label, split and merge of files with
// bad input (ragged rows, invalid UTF-8, type errors, empty values, unknown labels) — each reported by line,
// counted and quarantined, never a crash — as text and as JSON; and clear failures for bad arguments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CliOutcome, aimass } from '../../test/support/cli.js';
import { runCli } from './index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-data');

function ok(r: CliOutcome): string {
  assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);
  return r.stdout;
}

const json = <T>(r: CliOutcome) => JSON.parse(ok(r)) as T;

async function lines(path: string): Promise<{ line: number; reason: string; message?: string; row: unknown; file?: string }[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/** A CSV with every kind of bad row, and the environment of a fresh AIMASS_HOME. */
async function setup() {
  const dir = await tempDir();
  const env = { AIMASS_HOME: join(dir, 'home') };
  const csv = join(dir, 'people.csv');
  await writeFile(
    csv,
    Buffer.concat([
      Buffer.from(
        [
          'id,name,age,city,joined', //                 1
          '1,Ann,30,Oslo,2024-01-01', //                2
          '2,Bob,,Rome,2024-01-02', //                  3  missing age
          '3,Cy,41,Oslo,2024-01-03', //                 4
          '4,Dee,39', //                                5  ragged
          '1,Ann,30,Oslo,2024-01-01', //                6  duplicate
          '5,Eve,35,Rome,2024-01-05', //                7
          '6,Fay,thirty,Rome,2024-01-06', //            8  type error (age is a number column by inference? no: see below)
          '7,Gus,300,Oslo,2024-01-07', //               9  outlier
          '8,Hal,33,,2024-01-08', //                   10  missing city
        ].join('\n') + '\n',
      ),
      Buffer.from('9,Iv'),
      Buffer.from([0xff]),
      Buffer.from('n,36,Rome,2024-01-09\n'), //        11  invalid UTF-8
    ]),
  );
  return { dir, env, csv };
}

test('import stores a versioned dataset (bad rows quarantined with it); profile reads it back by id and prefix', async () => {
  const { env, csv } = await setup();
  const imported = json<{ id: string; rows: number; columns: { name: string; type: string }[]; stored: boolean; rejected: { rows: number; byReason: Record<string, number> } }>(
    await aimass(['data', 'import', csv, '--name', 'people', '--json'], env),
  );
  assert.match(imported.id, /^[0-9a-f]{64}$/);
  assert.equal(imported.stored, true);
  // "thirty" makes age a string column when inferred; the ragged row and the invalid UTF-8 are rejected
  assert.deepEqual(imported.rejected.byReason, { ragged: 1, 'invalid-utf8': 1 });
  assert.equal(imported.rows, 8);
  const stored = await readdir(join(env.AIMASS_HOME, 'artifacts', 'datasets', imported.id));
  assert.deepEqual(stored.sort(), ['data.csv', 'manifest.json', 'quarantine.jsonl']);

  const [text, byPrefix, again] = await Promise.all([
    aimass(['data', 'profile', imported.id], env),
    aimass(['data', 'profile', imported.id.slice(0, 10), '--json'], env),
    aimass(['data', 'import', csv, '--json'], env),
  ]);
  const shown = ok(text);
  assert.match(shown, new RegExp(`^dataset ${imported.id} \\(people\\): 8 row\\(s\\)`));
  assert.match(shown, /COLUMN\s+TYPE\s+COUNT\s+NULLS/);
  assert.match(shown, /rejected: 2 row\(s\) \(ragged 1, invalid-utf8 1\)/);
  assert.match(shown, /line 5: has 3 field\(s\), the header has 5/);
  assert.match(shown, /line 11: invalid UTF-8 \(replaced by U\+FFFD\) in column\(s\) "name"/);
  const p = json<{ dataset: string; rows: number; columns: { name: string; nulls: number }[] }>(byPrefix);
  assert.equal(p.dataset, imported.id);
  assert.deepEqual(p.columns.map((c) => [c.name, c.nulls]), [
    ['id', 0],
    ['name', 0],
    ['age', 1],
    ['city', 1],
    ['joined', 0],
  ]);
  assert.equal(json<{ id: string; stored: boolean }>(again).stored, false, 'the same content is stored once');
});

test('profile of a file streams it; clean reports every dropped and changed row and quarantines each', async () => {
  const { dir, csv } = await setup();
  const out = join(dir, 'clean.csv');
  const [profiled, cleanedText] = await Promise.all([
    aimass(['data', 'profile', csv, '--json']),
    aimass(['data', 'clean', csv, '--out', out, '--dedupe', '--missing', 'drop']),
  ]);
  const p = json<{ rows: number; rejected: { rows: number; first: string[] } }>(profiled);
  assert.equal(p.rows, 8);
  assert.equal(p.rejected.rows, 2);
  const text = ok(cleanedText);
  assert.match(text, /rows: 10 in, 5 kept, 5 dropped, 0 changed/);
  assert.match(text, /dropped: ragged 1, invalid-utf8 1, duplicate 1, missing 2\n/);
  assert.match(text, /age: missing \(dropped\) 1/);
  assert.match(text, new RegExp(`quarantine: ${join(dir, 'clean.quarantine.jsonl').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(5 row\\(s\\)\\)`));
  const q = await lines(join(dir, 'clean.quarantine.jsonl'));
  assert.deepEqual(q.map((e) => [e.line, e.reason]), [
    [3, 'missing'],
    [5, 'ragged'],
    [6, 'duplicate'],
    [10, 'missing'],
    [11, 'invalid-utf8'],
  ]);

  // with the age column typed by a fill strategy's need: "thirty" stays text, so fill by mode and drop outliers by IQR on id
  const out2 = join(dir, 'clean2.jsonl');
  const r = json<{ rowsIn: number; rowsOut: number; dropped: number; changed: number; droppedByReason: Record<string, number>; columns: Record<string, { filled: number }>; quarantine: string }>(
    await aimass(['data', 'clean', csv, '--out', out2, '--missing', 'mode', '--outliers', 'iqr:1.5', '--json']),
  );
  assert.equal(r.rowsIn, r.rowsOut + r.dropped);
  assert.equal(r.columns.city.filled, 1);
  assert.equal(r.columns.age.filled, 1);
  assert.equal(r.changed, 2);
  assert.equal(r.quarantine, join(dir, 'clean2.quarantine.jsonl'));
  const written = (await readFile(out2, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(written.length, r.rowsOut);
  assert.ok(written.every((row) => row.city !== null && row.age !== null));
});

test('split writes train/val/test files, quarantining rows without a class; merge joins by key and as of a time', async () => {
  const { dir, env } = await setup();
  const rows = ['id,label,user,at'];
  for (let i = 0; i < 200; i++) rows.push(`${i},${i % 4 === 0 ? 'spam' : 'ham'},u${i % 20},2024-01-01T00:${String(Math.floor(i / 4)).padStart(2, '0')}:00Z`);
  rows.push('200,,u1,2024-01-01T01:00:00Z', '201,ham');
  const data = join(dir, 'msgs.csv');
  await writeFile(data, rows.join('\n'));
  const splitDir = join(dir, 'split');
  const s = json<{ files: Record<string, { path: string; rows: number }>; excluded: number; quarantined: number }>(
    await aimass(['data', 'split', data, '--out', splitDir, '--by', 'stratified:label', '--test', '0.2', '--val', '0.1', '--seed', '3', '--json'], env),
  );
  assert.deepEqual(Object.fromEntries(Object.entries(s.files).map(([k, v]) => [k, v.rows])), { train: 140, val: 20, test: 40 });
  assert.equal(s.excluded, 1);
  assert.deepEqual((await lines(join(splitDir, 'quarantine.jsonl'))).map((e) => [e.line, e.reason]), [
    [202, 'missing'],
    [203, 'ragged'],
  ]);
  const testRows = (await readFile(join(splitDir, 'test.csv'), 'utf8')).trim().split('\n').slice(1);
  assert.equal(testRows.filter((r) => r.includes(',spam,')).length, 10, 'the class shares are kept');

  const groups = json<{ files: Record<string, { path: string }> }>(await aimass(['data', 'split', data, '--out', join(dir, 'g'), '--by', 'group:user', '--json'], env));
  const users = async (f: string) => new Set((await readFile(f, 'utf8')).trim().split('\n').slice(1).map((r) => r.split(',')[2]));
  const [train, test_] = await Promise.all([users(groups.files.train.path), users(groups.files.test.path)]);
  assert.ok([...test_].every((u) => !train.has(u)), 'no user in both');

  const quotes = join(dir, 'quotes.csv');
  await writeFile(quotes, 'user,at,level\nu1,2024-01-01T00:00:00Z,1\nu1,2024-01-01T00:03:00Z,2\nu2,2024-01-01T00:00:00Z,5\nu9,2024-01-01T00:00:00Z,9\n');
  const merged = join(dir, 'merged.csv');
  const m = json<{ rows: number; unmatched: number; columns: string[] }>(
    await aimass(['data', 'merge', data, quotes, '--on', 'user', '--asof', 'at', '--tolerance', '5m', '--out', merged, '--json'], env),
  );
  assert.equal(m.rows, 201);
  assert.deepEqual(m.columns, ['id', 'label', 'user', 'at', 'at_context', 'level']);
  const out = (await readFile(merged, 'utf8')).trim().split('\n');
  assert.equal(out[2], '1,ham,u1,2024-01-01T00:00:00.000Z,2024-01-01T00:00:00.000Z,1');
  assert.equal(out[82], '81,ham,u1,2024-01-01T00:20:00.000Z,,', 'the last u1 quote is 17 minutes earlier: beyond 5m');

  const inner = join(dir, 'inner.csv');
  const text = ok(await aimass(['data', 'merge', data, quotes, '--on', 'user', '--out', inner], env));
  assert.match(text, /inner join on user: 170 base row\(s\) without a match \(quarantined\)/); // users u1, u2 and u9 have quotes
  const q = await lines(join(dir, 'inner.quarantine.jsonl'));
  assert.equal(q.filter((e) => e.reason === 'no-match').length, 170);
  assert.equal(q.filter((e) => e.reason === 'ragged').length, 1);
});

test('label maps classes (unknown labels quarantined by line) or applies voting rules, and prints the class balance', async () => {
  const { dir } = await setup();
  const data = join(dir, 'pets.csv');
  await writeFile(data, 'id,text,kind\n1,my cat sleeps,cat\n2,dog barks,dog\n3,a fish,goldfish\n4,refund please,\n5,the cat and the dog,kitten\n');
  const out = join(dir, 'pets.out.csv');
  const text = ok(await aimass(['data', 'label', data, '--column', 'kind', '--map', 'cat=animal,kitten=animal,dog=animal', '--out', out]));
  assert.match(text, /relabelled: 3 changed, 1 missing label\(s\), unknown labels: goldfish 1; 2 dropped/);
  assert.match(text, /class balance: animal 3 \(100\.0%\)/);
  assert.deepEqual((await lines(join(dir, 'pets.out.quarantine.jsonl'))).map((e) => [e.line, e.reason, e.message]), [
    [4, 'unknown-label', 'column "kind": label "goldfish" is not in the label map (known: "cat", "kitten", "dog", "animal")'],
    [5, 'missing-label', 'column "kind": the label is empty'],
  ]);

  const rules = join(dir, 'rules.json');
  await writeFile(
    rules,
    JSON.stringify([
      { type: 'keyword', column: 'text', keywords: ['cat', 'kitten'], label: 'cat' },
      { type: 'keyword', column: 'text', keywords: ['dog', 'puppy'], label: 'dog' },
      { type: 'regex', column: 'text', pattern: 'barks?', label: 'dog' },
    ]),
  );
  const voted = json<{ votes: { labeled: number; abstained: number; ties: number }; balance: { classes: { label: string; count: number }[] } }>(
    await aimass(['data', 'label', data, '--column', 'guess', '--rules', rules, '--out', join(dir, 'guess.csv'), '--json']),
  );
  assert.deepEqual(voted.votes, { rows: 5, labeled: 2, abstained: 2, ties: 1, conflicts: 1, byLabel: { cat: 1, dog: 1 }, votesByRule: { 'keyword:cat': 2, 'keyword:dog': 2, 'regex:dog': 1 } });
  assert.deepEqual(voted.balance.classes.map((c) => [c.label, c.count]), [
    ['cat', 1],
    ['dog', 1],
  ]);

  await writeFile(rules, JSON.stringify([{ type: 'keyword', column: 'text', label: 'x' }]));
  const bad = await aimass(['data', 'label', data, '--column', 'g', '--rules', rules, '--out', join(dir, 'g.csv')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error \[INVALID_SPEC\]: the labelling rules have|^error \[INVALID_SPEC\]: the labelling rules has/);
  assert.match(bad.stderr, /\[0\]\.keywords/);
});

/** Runs the CLI in this process (no child start-up) with captured output. */
async function inProcess(args: string[], env: Record<string, string>): Promise<CliOutcome> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => ((stdout += s), true) }, stderr: { write: (s: string) => ((stderr += s), true) }, env };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

test('bad arguments and missing inputs fail with clear messages, not stack traces (in process)', async () => {
  const { dir, csv, env } = await setup();
  const cases: [string[], number, RegExp][] = [
    [['data', 'profile', join(dir, 'nope.csv')], 1, /^error \[INVALID_ARGUMENT\]: ".*nope\.csv" is neither a file nor a dataset id/],
    [['data', 'profile', 'abcdef012345'], 1, /^error \[NOT_FOUND\]: no dataset "abcdef012345"/],
    [['data', 'clean', csv, '--out', join(dir, 'o.csv'), '--missing', 'average'], 1, /--missing must be drop, mean, median, mode, keep or constant:VALUE/],
    [['data', 'clean', csv, '--out', join(dir, 'o.csv'), '--outliers', 'zscore:-1'], 1, /threshold must be a positive number/],
    [['data', 'clean', csv, '--out', join(dir, 'o.csv'), '--near-dedupe', 'nope'], 1, /no column "nope"; the columns are: id, name, age, city, joined/],
    [['data', 'clean', csv, '--out', join(dir, 'o.csv'), '--fill', 'age=constant:n/a', '--missing', 'constant:0'], 1, /cannot fill column "name" \(string\)|cannot fill column "joined"/],
    [['data', 'split', csv, '--out', dir, '--test', '1.5'], 1, /--test must be a share from 0 to below 1/],
    [['data', 'split', csv, '--out', dir, '--by', 'time:name'], 1, /column "name" is string; a time split needs a timestamp or number column/],
    [['data', 'merge', csv, csv, '--on', 'id', '--tolerance', '5m', '--out', join(dir, 'm.csv')], 1, /--tolerance only applies with --asof/],
    [['data', 'import', join(dir, 'missing.csv')], 1, /^error \[NOT_FOUND\]: no file/],
    [['data', 'import', csv, '--format', 'xml'], 2, /argument 'xml' is invalid/i],
  ];
  const results: CliOutcome[] = [];
  for (const [args] of cases) results.push(await inProcess(args, env));
  results.forEach((r, i) => {
    const [args, code, pattern] = cases[i];
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
