// Pins the loaders `aimass train` reads through: CSV tables (label kinds, class names shared between files,
// feature columns) and image CSVs, and above all that malformed rows fail the load, each listed by line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError } from '../core/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type CsvTableOptions, classIndex, loadCsvTable, loadImageCsv } from './index.js';

const tempDir = useTempDirs('tabular');

async function csvFile(lines: string[], name = 'data.csv'): Promise<string> {
  const path = join(await tempDir(), name);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

const multiclass: CsvTableOptions = { label: 'label', kind: 'multiclass' };

/** Asserts a DATA_FORMAT failure and returns its problem lines. */
async function dataFormatProblems(load: Promise<unknown>, message: RegExp): Promise<string[]> {
  let problems: string[] = [];
  await assert.rejects(load, (e: unknown) => {
    assert.ok(e instanceof AimassError, String(e));
    assert.equal(e.code, 'DATA_FORMAT');
    assert.match(e.message, message);
    problems = e.details?.problems as string[];
    return true;
  });
  return problems;
}

// --- loadCsvTable ----------------------------------------------------------------------------------------------

test('multiclass string labels map to sorted class names; features keep header order around the label', async () => {
  const path = await csvFile(['a,label,b', '1,virginica,2', '3,setosa,4', '5,versicolor,6', '7,setosa,8']);
  const d = await loadCsvTable(path, multiclass);
  assert.equal(d.n, 4);
  assert.deepEqual(d.classNames, ['setosa', 'versicolor', 'virginica']);
  assert.deepEqual(d.labels, BigInt64Array.from([2n, 0n, 1n, 0n]));
  assert.equal(d.labelWidth, 1);
  assert.deepEqual(d.inputs, [Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])]);
  assert.deepEqual(d.sampleShapes, [[2]]);
  assert.deepEqual(d.featureNames, ['a', 'b']);
});

test('numeric class labels sort numerically, not as strings', async () => {
  const d = await loadCsvTable(await csvFile(['x,label', '0,10', '0,2', '0,1', '0,2', '0,-3']), multiclass);
  assert.deepEqual(d.classNames, ['-3', '1', '2', '10']);
  assert.deepEqual(d.labels, BigInt64Array.from([3n, 2n, 1n, 2n, 0n]));
});

test('header names and labels are trimmed, so " a" and "a" are one class', async () => {
  const d = await loadCsvTable(await csvFile(['x , label ', '1, a', '2,a ', '3,b']), multiclass);
  assert.deepEqual(d.featureNames, ['x']);
  assert.deepEqual(d.classNames, ['a', 'b']);
  assert.deepEqual(d.labels, BigInt64Array.from([0n, 0n, 1n]));
});

test('class names from the training file map a test file the same way; an unseen label fails', async () => {
  const train = await loadCsvTable(await csvFile(['x,label', '1,cat', '2,dog', '3,emu']), multiclass);
  const test_ = await loadCsvTable(await csvFile(['x,label', '4,emu', '5,cat', '6,emu']), { ...multiclass, classNames: train.classNames });
  assert.deepEqual(test_.classNames, ['cat', 'dog', 'emu']);
  assert.deepEqual(test_.labels, BigInt64Array.from([2n, 0n, 2n]));

  const unseen = await csvFile(['x,label', '4,emu', '5,yak', '6,cat']);
  const problems = await dataFormatProblems(loadCsvTable(unseen, { ...multiclass, classNames: train.classNames }), /1 malformed row/);
  assert.deepEqual(problems, ['line 3: label "yak" is not one of the classes of the training data ("cat", "dog", "emu")']);
});

test('binary labels become 0/1 floats in sorted order; a third distinct value fails on each row that has one', async () => {
  const d = await loadCsvTable(await csvFile(['x,y', '1,yes', '2,no', '3,yes']), { label: 'y', kind: 'binary' });
  assert.deepEqual(d.classNames, ['no', 'yes']);
  assert.deepEqual(d.labels, Float32Array.from([1, 0, 1]));

  const three = await csvFile(['x,y', '1,yes', '2,no', '3,maybe', '4,yes', '5,unsure']);
  const problems = await dataFormatProblems(loadCsvTable(three, { label: 'y', kind: 'binary' }), /2 malformed row/);
  assert.deepEqual(problems, [
    'line 4: label "maybe" is a third distinct value in a binary label column (already saw "yes", "no")',
    'line 6: label "unsure" is a third distinct value in a binary label column (already saw "yes", "no")',
  ]);
});

test('regression labels are floats, and a non-numeric one is a malformed row', async () => {
  const d = await loadCsvTable(await csvFile(['x,price', '1,2.5', '2,-1e3', '3,0']), { label: 'price', kind: 'regression' });
  assert.deepEqual(d.labels, Float32Array.from([2.5, -1000, 0]));
  assert.equal(d.classNames, undefined);

  const bad = await csvFile(['x,price', '1,2.5', '2,cheap', '3,']);
  const problems = await dataFormatProblems(loadCsvTable(bad, { label: 'price', kind: 'regression' }), /2 malformed row/);
  assert.deepEqual(problems, ['line 3: label "cheap" is not a number', 'line 4: the label is empty']);
});

test('a feature list picks those columns in its order; unknown ones and the label itself are rejected', async () => {
  const path = await csvFile(['a,b,c,label', '1,2,3,x', '4,5,6,y']);
  const d = await loadCsvTable(path, { ...multiclass, features: ['c', 'a'] });
  assert.deepEqual(d.inputs, [Float32Array.from([3, 1, 6, 4])]);
  assert.deepEqual(d.sampleShapes, [[2]]);
  assert.deepEqual(d.featureNames, ['c', 'a']);

  await dataFormatProblems(loadCsvTable(path, { ...multiclass, features: ['a', 'zz', 'yy'] }), /feature column\(s\) not in the header: zz, yy/);
  await assert.rejects(
    loadCsvTable(path, { ...multiclass, features: ['a', 'label'] }),
    (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT' && /label column "label" cannot also be a feature/.test(e.message),
  );
});

test('a missing label column fails naming the columns the header has', async () => {
  const path = await csvFile(['sepal_length,sepal_width,species', '1,2,a']);
  await dataFormatProblems(loadCsvTable(path, multiclass), /no label column "label"; the header has: sepal_length, sepal_width, species/);
});

test('malformed rows are never dropped: the load fails listing each with its line', async () => {
  const path = await csvFile([
    'a,b,label', //          1
    '1,2,x', //              2
    '3,4', //                3  too few fields
    '5,six,x', //            4  not a number
    '"7","8",y', //          5  quoted numbers are fine
    '9,,x', //               6  empty
    '10,11,"multi', //       7  a label spanning lines 7-8
    'line"', //              8
    '12,13,x,14', //         9  too many fields
    '', //                  10  blank lines are not rows
    ' ,Infinity,y', //      11  blank and infinite
    '1e2,0x10,y', //        12  fine
    'NaN,2,', //            13  NaN and an empty label
  ]);
  const problems = await dataFormatProblems(loadCsvTable(path, multiclass), /6 malformed row\(s\); fix or remove them and run again/);
  assert.deepEqual(problems, [
    'line 3: has 2 fields, the header has 3',
    'line 4: column "b": "six" is not a number',
    'line 6: column "b": "" is not a number',
    'line 9: has 4 fields, the header has 3',
    'line 11: column "a": " " is not a number; column "b": "Infinity" is not a number',
    'line 13: column "a": "NaN" is not a number; the label is empty',
  ]);
});

test('past 20 bad rows the list stops, and the message says how many there were', async () => {
  const rows = ['x,label'];
  for (let i = 0; i < 30; i++) rows.push(i % 4 === 1 ? `${i},a` : `bad${i},a`);
  const problems = await dataFormatProblems(loadCsvTable(await csvFile(rows), multiclass), /: 22 malformed row\(s\) \(first 20 listed\)/);
  assert.equal(problems.length, 20);
  assert.equal(problems[0], 'line 2: column "x": "bad0" is not a number');
  assert.equal(problems[19], 'line 28: column "x": "bad26" is not a number');
});

test('an empty file and a header without rows fail with DATA_FORMAT', async () => {
  await dataFormatProblems(loadCsvTable(await csvFile([]), multiclass), /is empty/);
  await dataFormatProblems(loadCsvTable(await csvFile(['x,label']), multiclass), /has a header but no rows/);
});

// --- loadImageCsv ----------------------------------------------------------------------------------------------

test('image rows are a label and pixels scaled by 1/255; a header row is skipped', async () => {
  const shape = [1, 2, 2];
  const rows = ['3,0,255,51,102', '1,255,255,0,0', '3,5,10,15,20'];
  for (const lines of [rows, ['label,p1,p2,p3,p4', ...rows]]) {
    const d = await loadImageCsv(await csvFile(lines), { shape });
    assert.equal(d.n, 3);
    assert.deepEqual(d.sampleShapes, [shape]);
    assert.deepEqual(d.classNames, ['1', '3']);
    assert.deepEqual(d.labels, BigInt64Array.from([1n, 0n, 1n]));
    const want = [0, 255, 51, 102, 255, 255, 0, 0, 5, 10, 15, 20].map((p) => p / 255);
    assert.equal(d.inputs[0].length, want.length);
    want.forEach((w, i) => assert.ok(Math.abs((d.inputs[0][i] as number) - w) < 1e-6, `pixel ${i}: ${d.inputs[0][i]} != ${w}`));
  }
});

test('image pixels keep their values with scale 1, and a test file maps labels by the given class names', async () => {
  const d = await loadImageCsv(await csvFile(['7,1,2', '9,3,4']), { shape: [2], scale: 1, classNames: ['5', '7', '9'] });
  assert.deepEqual(d.inputs, [Float32Array.from([1, 2, 3, 4])]);
  assert.deepEqual(d.labels, BigInt64Array.from([1n, 2n]));
  assert.deepEqual(d.classNames, ['5', '7', '9']);
});

test('image rows with the wrong pixel count or a non-numeric pixel are listed by line', async () => {
  const path = await csvFile([
    '0,1,2,3,4', //       1
    '1,1,2,3', //         2  3 pixels
    '2,1,x,3,y', //       3  pixel 2 (the first bad one)
    '', //                4
    '3,1,2,3,4,5', //     5  5 pixels
    '4,1,2,,4', //        6  empty pixel
    ',1,2,3,4', //        7  empty label
  ]);
  const problems = await dataFormatProblems(loadImageCsv(path, { shape: [4] }), /5 malformed row\(s\)/);
  assert.deepEqual(problems, [
    'line 2: has 4 fields, expected a label and 4 pixels (5)',
    'line 3: pixel 2 "x" is not a number',
    'line 5: has 6 fields, expected a label and 4 pixels (5)',
    'line 6: pixel 3 "" is not a number',
    'line 7: the label is empty',
  ]);
});

// --- classIndex ------------------------------------------------------------------------------------------------

test('classIndex sorts names (numerically when all are numbers) and marks labels outside given names with -1', () => {
  assert.deepEqual(classIndex(['b', 'a', 'b', 'c']), { ids: [1, 0, 1, 2], classNames: ['a', 'b', 'c'] });
  assert.deepEqual(classIndex(['10', '9', '1.5']), { ids: [2, 1, 0], classNames: ['1.5', '9', '10'] });
  assert.deepEqual(classIndex(['10', '9', 'x']).classNames, ['10', '9', 'x']);
  assert.deepEqual(classIndex(['z', 'q'], ['z', 'y']), { ids: [0, -1], classNames: ['z', 'y'] });
});

test('a binary 0/1 label column keeps its values even when only one of them appears', async () => {
  const dir = await tempDir();
  const path = join(dir, 'ones.csv');
  await writeFile(path, 'a,label\n1,1\n2,1\n');
  const d = await loadCsvTable(path, { label: 'label', kind: 'binary' });
  assert.deepEqual(Array.from(d.labels as Float32Array), [1, 1]);
  assert.deepEqual(d.classNames, ['0', '1']);
});
