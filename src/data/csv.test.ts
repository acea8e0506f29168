// Pins readCsv: RFC 4180 quoting, line numbers that count newlines inside quoted fields, CRLF, TSV, blank lines,
// the errors, and (where streaming parsers break) records straddling the reader's 1 MiB chunks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError, Rng } from '../core/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type CsvOptions, type CsvRecord, readCsv } from './index.js';

const tempDir = useTempDirs('csv');

/** The reader's chunk size (highWaterMark in csv.ts), in bytes. */
const CHUNK = 1 << 20;

async function fileWith(name: string, content: string | Buffer): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, content);
  return path;
}

async function records(path: string, o?: CsvOptions): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of readCsv(path, o)) out.push(r);
  return out;
}

async function parse(content: string, name = 'data.csv'): Promise<[number, string[]][]> {
  return (await records(await fileWith(name, content))).map((r) => [r.line, r.fields]);
}

function isDataFormat(pattern: RegExp) {
  return (e: unknown) => e instanceof AimassError && e.code === 'DATA_FORMAT' && pattern.test(e.message);
}

test('plain rows become records numbered by line', async () => {
  assert.deepEqual(await parse('a,b,c\n1,2,3\n4,5,6\n'), [
    [1, ['a', 'b', 'c']],
    [2, ['1', '2', '3']],
    [3, ['4', '5', '6']],
  ]);
});

test('quoted fields hold delimiters, doubled quotes and newlines; later line numbers count those newlines', async () => {
  const text = 'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,"three\r\nlines\nhere"\n5,x\n';
  assert.deepEqual(await parse(text), [
    [1, ['id', 'text']],
    [2, ['1', 'a, b']],
    [3, ['2', 'say "hi"']],
    [4, ['3', 'two\nlines']],
    [6, ['4', 'three\r\nlines\nhere']],
    [9, ['5', 'x']],
  ]);
});

test('a quoted field may be empty, all quotes, or followed by more fields', async () => {
  assert.deepEqual(await parse('"",x\n"""",""""""\n"a""",b\n'), [
    [1, ['', 'x']],
    [2, ['"', '""']],
    [3, ['a"', 'b']],
  ]);
});

test('CRLF line endings leave no \\r in the last field, with or without a final newline', async () => {
  const want: [number, string[]][] = [
    [1, ['a', 'b']],
    [2, ['1', '2']],
    [3, ['3', '"4"']],
  ];
  assert.deepEqual(await parse('a,b\r\n1,2\r\n3,"""4"""\r\n'), want);
  assert.deepEqual(await parse('a,b\r\n1,2\r\n3,"""4"""'), want);
  assert.deepEqual(await parse('a,b\r\n1,2\r\n3,"""4"""\r'), want);
  assert.deepEqual(await parse('a,b\r\n1,2\r\n3,x'), [...want.slice(0, 2), [3, ['3', 'x']]]);
  assert.deepEqual(await parse('a,b\r\n1,2\r\n3,x\r'), [...want.slice(0, 2), [3, ['3', 'x']]]);
});

test('a carriage return inside a quoted field at the end of a row is kept', async () => {
  assert.deepEqual(await parse('a,"b\r"\r\nc,d\n'), [
    [1, ['a', 'b\r']],
    [2, ['c', 'd']],
  ]);
});

test('empty fields are kept, including leading, trailing and all-empty rows', async () => {
  assert.deepEqual(await parse('a,,c\n,b,\n,,\n,\r\n'), [
    [1, ['a', '', 'c']],
    [2, ['', 'b', '']],
    [3, ['', '', '']],
    [4, ['', '']],
  ]);
});

test('a .tsv file is split on tabs, where commas are ordinary characters', async () => {
  assert.deepEqual(await parse('a\tb,c\t"d\te"\n1\t\t3\n', 'data.tsv'), [
    [1, ['a', 'b,c', 'd\te']],
    [2, ['1', '', '3']],
  ]);
});

test('the delimiter option overrides the extension', async () => {
  const path = await fileWith('semi.csv', 'a;b,c;"d;e"\n');
  assert.deepEqual((await records(path, { delimiter: ';' })).map((r) => r.fields), [['a', 'b,c', 'd;e']]);
});

test('blank lines are skipped but still counted', async () => {
  assert.deepEqual(await parse('\na,b\n\n\r\n1,2\n\n\n3,4\n\n'), [
    [2, ['a', 'b']],
    [5, ['1', '2']],
    [8, ['3', '4']],
  ]);
});

test('a byte order mark before the first field is not part of it', async () => {
  assert.deepEqual(await parse('\uFEFF"label",x\n1,2\n'), [
    [1, ['label', 'x']],
    [2, ['1', '2']],
  ]);
  assert.deepEqual(await parse('\uFEFFlabel,x\n'), [[1, ['label', 'x']]]);
});

test('a quote left open fails with DATA_FORMAT naming the line where its record starts', async () => {
  const path = await fileWith('open.csv', 'a,b\n1,2\n3,"never closed\n4,5\n6,7\n');
  await assert.rejects(records(path), (e: unknown) => {
    assert.ok(e instanceof AimassError);
    assert.equal(e.code, 'DATA_FORMAT');
    assert.match(e.message, /line 3: a quoted field is never closed/);
    assert.equal(e.details?.line, 3);
    return true;
  });
});

test('a character right after a closing quote fails with DATA_FORMAT naming its line', async () => {
  await assert.rejects(records(await fileWith('junk.csv', 'a,b\n"x"y,z\n')), isDataFormat(/line 2: unexpected character after a closing quote/));
  // the line is where the junk is, not where the record started
  await assert.rejects(records(await fileWith('junk2.csv', 'a,b\n"x\ny" ,z\n')), isDataFormat(/line 3: unexpected character/));
});

test('a missing file fails with NOT_FOUND', async () => {
  const path = join(await tempDir(), 'nope.csv');
  await assert.rejects(records(path), (e: unknown) => e instanceof AimassError && e.code === 'NOT_FOUND' && e.message.includes(path));
});

// --- chunk boundaries ------------------------------------------------------------------------------------------

interface Generated {
  text: string;
  want: CsvRecord[];
}

/** One field as written and as it should read back. */
type Piece = [raw: string, value: string];

const TRICKY: Piece[] = [
  ['plain', 'plain'],
  ['', ''],
  ['""', ''],
  ['"a""b,c"', 'a"b,c'],
  ['""""', '"'],
  ['"""x"""', '"x"'],
  ['"line1\r\nline2"', 'line1\r\nline2'],
  ['"x\ny\n"', 'x\ny\n'],
  ['"é€😀,"', 'é€😀,'],
  ['naïve', 'naïve'],
];

/** Rows of 2..8 fields drawn from TRICKY and runs of varying length, ending in CRLF or LF, to at least `bytes`. */
function generate(bytes: number, seed: number): Generated {
  const rng = new Rng(seed);
  const parts: string[] = [];
  const want: CsvRecord[] = [];
  let size = 0;
  let line = 1;
  while (size < bytes) {
    const n = 2 + rng.int(7);
    const raws: string[] = [];
    const values: string[] = [];
    for (let i = 0; i < n; i++) {
      let piece: Piece;
      if (rng.int(3) === 0) {
        const run = 'v'.repeat(rng.int(50)) + String(rng.int(1000));
        piece = [run, run];
      } else piece = TRICKY[rng.int(TRICKY.length)];
      raws.push(piece[0]);
      values.push(piece[1]);
    }
    const row = `${raws.join(',')}${rng.int(4) === 0 ? '\n' : '\r\n'}`;
    parts.push(row);
    want.push({ line, fields: values });
    size += Buffer.byteLength(row);
    line += row.split('\n').length - 1;
  }
  return { text: parts.join(''), want };
}

function assertRecords(got: CsvRecord[], want: CsvRecord[], what: string): void {
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    assert.deepEqual(got[i], want[i], `${what}: record ${i} differs`);
  }
  assert.equal(got.length, want.length, `${what}: record count`);
}

test('a > 2 MiB file with quoted fields, doubled quotes and CRLFs everywhere reads back exactly', async () => {
  const { text, want } = generate(2.5 * CHUNK, 42);
  assert.ok(Buffer.byteLength(text) > 2 * CHUNK);
  const got = await records(await fileWith('big.csv', text));
  assertRecords(got, want, 'big.csv');
});

test('every byte offset of tricky records may fall on a chunk boundary', async () => {
  // A padding record pushes the boundary at 1 MiB to offset k of the tricky tail, for every k in it: inside a
  // doubled quote, between \r and \n (after a quoted and an unquoted field), inside a multi-byte character, …
  const tail = '"a""b,c",x\r\n"q\r\nr","""",\r\nu,"é€😀"\r\n"""\t","z"\r\nlast,\n';
  const tailRecords: string[][] = [
    ['a"b,c', 'x'],
    ['q\r\nr', '"', ''],
    ['u', 'é€😀'],
    ['"\t', 'z'],
    ['last', ''],
  ];
  const tailBytes = Buffer.from(tail);
  const dir = await tempDir();
  for (let k = 0; k <= tailBytes.length; k++) {
    const pad = Buffer.alloc(CHUNK - k, 'p');
    pad[pad.length - 2] = 13; // \r
    pad[pad.length - 1] = 10; // \n
    const path = join(dir, `shift-${k}.csv`);
    await writeFile(path, Buffer.concat([pad, tailBytes]));
    const got = await records(path);
    const want: CsvRecord[] = [{ line: 1, fields: ['p'.repeat(CHUNK - k - 2)] }, ...tailRecords.map((fields) => ({ line: 0, fields }))];
    // lines: the padding is line 1; the tail's second record holds one newline
    [2, 3, 5, 6, 7].forEach((line, i) => (want[i + 1].line = line));
    assertRecords(got, want, `boundary at tail offset ${k}`);
  }
});
