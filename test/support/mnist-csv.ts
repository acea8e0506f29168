// Checks an exported MNIST CSV the way a consumer would read it: row count, a label 0..9 and 784 integer
// pixels 0..255 per row, rows not grouped by label. Shared by the data tests and the CLI tests.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

/** Asserts the file's shape and returns how many rows each digit has. */
export async function checkMnistCsv(path: string, rows: number): Promise<number[]> {
  const text = await readFile(path, 'utf8');
  assert.ok(text.endsWith('\n'), `${path} ends with a newline`);
  const lines = text.slice(0, -1).split('\n');
  assert.equal(lines.length, rows, `${path}: rows`);
  const perDigit = new Array<number>(10).fill(0);
  const row = /^\d(?:,(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){784}$/;
  lines.forEach((line, i) => {
    if (!row.test(line)) {
      const fields = line.split(',');
      const bad = fields.findIndex((f, j) => !row.test(j === 0 ? `${f}${',0'.repeat(784)}` : `0${',0'.repeat(783)},${f}`));
      assert.fail(`${path} line ${i + 1}: ${fields.length} fields (want 785)${bad >= 0 ? `, field ${bad + 1} "${fields[bad]}" is not an integer in range` : ''}`);
    }
    perDigit[line.charCodeAt(0) - 48]++;
  });
  const first = new Set(lines.slice(0, 30).map((l) => l.slice(0, l.indexOf(','))));
  assert.ok(first.size >= 5, `${path}: the first 30 rows hold only labels ${[...first]}; rows should be interleaved`);
  return perDigit;
}
