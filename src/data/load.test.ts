// Pins the loaders and writers: typed rows with their lines from CSV, TSV and JSONL; every kind of bad record
// reported by line (ragged, type, null, invalid JSON, invalid UTF-8) without stopping the stream; schemas given,
// overridden or inferred from a sample; and tables written then read back unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError } from '../core/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type BadRecord, type Table, formatOf, loadTable, openTable, readLines, tableFromObjects, writeTable } from './index.js';

const tempDir = useTempDirs('data-load');

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, content);
  return path;
}

const summary = (bad: BadRecord[]) => bad.map((b) => `${b.line} ${b.reason}: ${b.message}`);

test('a CSV becomes typed rows with their line numbers; bad records are reported by line and the rest still load', async () => {
  const path = await file(
    'people.csv',
    [
      'id,name,age,joined,member', //             1
      '1,Ann,34,2024-01-02,true', //              2
      '2,"Bob, Jr.",,2024-02-03T10:00:00Z,false', // 3
      '3,Cy,abc,2024-03-01,true', //              4  type
      '4,Dee', //                                 5  ragged
      '', //                                      6  blank: skipped
      '5,"multi', //                              7  (a quoted newline)
      'line",40,2024-05-01,maybe', //             8
      '6,Eve,41,2024-05-02,false,extra', //       9  ragged
      '7,Fay,42,2024-02-30,true', //             10  type (no such date)
    ].join('\n') + '\n',
  );
  const { table, bad } = await loadTable(path, { columns: { age: 'number', joined: 'timestamp', member: 'boolean' } });
  assert.deepEqual(
    table.schema.map((c) => `${c.name}:${c.type}`),
    ['id:number', 'name:string', 'age:number', 'joined:timestamp', 'member:boolean'],
  );
  assert.deepEqual(table.rows, [
    [1, 'Ann', 34, Date.UTC(2024, 0, 2), true],
    [2, 'Bob, Jr.', null, Date.UTC(2024, 1, 3, 10), false],
  ]);
  assert.deepEqual(table.lines, [2, 3]);
  assert.deepEqual(summary(bad), [
    '4 type: column "age": "abc" is not a number',
    '5 ragged: has 2 field(s), the header has 5',
    '7 type: column "member": "maybe" is not true or false',
    '9 ragged: has 6 field(s), the header has 5',
    '10 type: column "joined": "2024-02-30" is not an ISO 8601 date or time (e.g. 2024-03-01T12:00:00Z)',
  ]);
  assert.deepEqual(bad[0].raw, ['3', 'Cy', 'abc', '2024-03-01', 'true']);
  assert.deepEqual(bad[0].columns, ['age']);
});

test('inference reads only the first inferRows records; later values that do not fit are type errors, not crashes', async () => {
  const path = await file('late.csv', 'x\n1\n2\n3\nfour\n5\n');
  const narrow = await loadTable(path, { inferRows: 3 });
  assert.equal(narrow.table.schema[0].type, 'number');
  assert.deepEqual(narrow.table.rows, [[1], [2], [3], [5]]);
  assert.deepEqual(summary(narrow.bad), ['5 type: column "x": "four" is not a number']);
  const wide = await loadTable(path);
  assert.equal(wide.table.schema[0].type, 'string');
  assert.equal(wide.bad.length, 0);
});

test('a TSV splits on tabs; invalid UTF-8 in a CSV field is reported naming the column', async () => {
  const tsv = await loadTable(await file('t.tsv', 'a\tb\n1,5\tx y\n'));
  assert.deepEqual(tsv.table.rows, [['1,5', 'x y']]);
  const bytes = Buffer.concat([Buffer.from('id,text\n1,ok\n2,bad '), Buffer.from([0xc3, 0x28]), Buffer.from('\n3,fine é\n')]);
  const { table, bad } = await loadTable(await file('u.csv', bytes));
  assert.deepEqual(table.rows, [
    [1, 'ok'],
    [3, 'fine é'],
  ]);
  assert.deepEqual(summary(bad), ['3 invalid-utf8: invalid UTF-8 (replaced by U+FFFD) in column(s) "text"']);
});

test('a given schema is enforced: types, and missing values in columns that may not be empty', async () => {
  const path = await file('s.csv', 'b,a\nx,1\n,2\ny,\n');
  const schema = [
    { name: 'a', type: 'number' as const, nullable: false },
    { name: 'b', type: 'string' as const, nullable: true },
  ];
  const { table, bad } = await loadTable(path, { schema });
  assert.deepEqual(table.schema.map((c) => c.name), ['b', 'a'], 'the file order is kept');
  assert.deepEqual(table.rows, [
    ['x', 1],
    [null, 2],
  ]);
  assert.deepEqual(summary(bad), ['4 null: column "a": the value is missing and the column may not be empty']);
  await assert.rejects(loadTable(path, { schema: [schema[0]] }), (e: unknown) => e instanceof AimassError && e.code === 'DATA_FORMAT' && /unexpected column\(s\) b/.test(e.message));
  await assert.rejects(loadTable(path, { columns: { zz: 'number' } }), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT' && /no column "zz"/.test(e.message));
});

test('a header may not name a column twice; an empty file has no header; headerless files get column_N names', async () => {
  await assert.rejects(openTable(await file('d.csv', 'a,b,a\n1,2,3\n')), /names column "a" twice/);
  await assert.rejects(openTable(await file('e.csv', '')), (e: unknown) => e instanceof AimassError && e.code === 'DATA_FORMAT' && /is empty/.test(e.message));
  const { table } = await loadTable(await file('h.csv', '1,x\n2,y\n'), { header: false });
  assert.deepEqual(table.schema.map((c) => c.name), ['column_1', 'column_2']);
  assert.deepEqual(table.rows, [
    [1, 'x'],
    [2, 'y'],
  ]);
  await assert.rejects(openTable(join(await tempDir(), 'missing.csv')), (e: unknown) => e instanceof AimassError && e.code === 'NOT_FOUND');
});

test('JSONL: one object per line; invalid JSON, non-objects, invalid UTF-8 and unknown keys are bad records by line', async () => {
  const lines = [
    '{"id": 1, "text": "hello", "score": 0.5, "at": "2024-01-01T00:00:00Z"}', // 1
    '{"id": 2, "text": "world", "score": null}', //                             2  missing at → null
    '{"id": 3, "text": "oops", ', //                                            3  invalid JSON
    '', //                                                                      4  blank
    '[1, 2]', //                                                                5  not an object
    '{"id": "four", "text": "x"}', //                                           6  type
  ].join('\n');
  const bytes = Buffer.concat([
    Buffer.from(`${lines}\n`),
    Buffer.from('{"id": 7, "text": "bad '),
    Buffer.from([0xff]),
    Buffer.from('"}\r\n{"id": 8, "text": "new key", "mood": "happy"}\r\n{"id": 9, "text": "last"}'),
  ]);
  const { table, bad } = await loadTable(await file('t.jsonl', bytes), { inferRows: 2 });
  assert.deepEqual(
    table.schema.map((c) => `${c.name}:${c.type}`),
    ['id:number', 'text:string', 'score:number', 'at:timestamp'],
  );
  assert.deepEqual(table.rows, [
    [1, 'hello', 0.5, Date.UTC(2024, 0, 1)],
    [2, 'world', null, null],
    [9, 'last', null, null],
  ]);
  assert.deepEqual(table.lines, [1, 2, 9]);
  const got = summary(bad);
  assert.equal(got.length, 5);
  assert.match(got[0], /^3 invalid-json: invalid JSON: /);
  assert.equal(got[1], '5 invalid-json: expected a JSON object, got an array');
  assert.equal(got[2], '6 type: column "id": "four" is not a number');
  assert.equal(got[3], '7 invalid-utf8: the line is not valid UTF-8');
  assert.match(got[4], /^8 ragged: has field\(s\) "mood" that the schema does not \(it was inferred from the first 2 lines/);
});

test('readLines: a literal U+FFFD is valid UTF-8; a BOM and CRLF are not part of the text; long lines span chunks', async () => {
  const long = 'x'.repeat(3 << 20);
  const path = await file('l.txt', `\uFEFFa \uFFFD b\r\n\n${long}\nend`);
  const got = [];
  for await (const l of readLines(path)) got.push({ ...l, text: l.text.length > 20 ? `${l.text.length} chars` : l.text });
  assert.deepEqual(got, [
    { line: 1, text: 'a \uFFFD b', validUtf8: true },
    { line: 3, text: `${long.length} chars`, validUtf8: true },
    { line: 4, text: 'end', validUtf8: true },
  ]);
});

test('formatOf goes by extension unless told', () => {
  assert.equal(formatOf('a/b.TSV'), 'tsv');
  assert.equal(formatOf('x.ndjson'), 'jsonl');
  assert.equal(formatOf('x.txt'), 'csv');
  assert.equal(formatOf('x.csv', 'jsonl'), 'jsonl');
  assert.throws(() => formatOf('x', 'parquet'), /unknown data format "parquet"/);
});

test('tables written as CSV, TSV and JSONL read back unchanged with the schema (quotes, newlines, nulls, one-column nulls)', async () => {
  const table: Table = tableFromObjects([
    { id: 1, text: 'plain', at: '2024-01-01T10:00:00.5Z', ok: true, x: 1.25 },
    { id: 2, text: 'has "quotes", commas\nand\ttabs', at: null, ok: false, x: -1e-7 },
    { id: 3, text: null, at: '1999-12-31T23:59:59Z', ok: null, x: null },
    { id: 4, text: '"leading quote', at: null, ok: true, x: 12345678901234 },
  ]);
  const dir = await tempDir();
  for (const ext of ['csv', 'tsv', 'jsonl']) {
    const path = join(dir, `t.${ext}`);
    await writeTable(path, table);
    const back = await loadTable(path, { schema: table.schema });
    assert.deepEqual(back.bad, [], ext);
    assert.deepEqual(back.table.rows, table.rows, ext);
  }
  const one = { schema: [{ name: 'v', type: 'number' as const, nullable: true }], rows: [[1], [null], [3]] };
  await writeTable(join(dir, 'one.csv'), one);
  assert.equal(await readFile(join(dir, 'one.csv'), 'utf8'), 'v\n1\n""\n3\n');
  assert.deepEqual((await loadTable(join(dir, 'one.csv'), { schema: one.schema })).table.rows, one.rows);
});
