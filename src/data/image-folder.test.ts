// Pins image classification data sets from a folder of class sub-folders and from a file,label manifest:
// labels and sorted class names, pixels in file order, and above all that each bad image (undecodable,
// truncated, empty, of the wrong size, with an unknown or no label, missing) is reported by name, counted by
// reason and quarantined while the good ones load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError } from '../core/index.js';
import { put, truncatedJpeg, writeSolid, type Rgb } from '../../test/support/images.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type ImageIssue, type ImageLoadReport, IMAGE_ISSUE_REASONS, formatImageReport, loadImageFolder, loadImageManifest } from './index.js';

const tempDir = useTempDirs('image-folder');

/** The RGB floats (0..255 scale, rounded) of sample i's top-left pixel. */
function topLeft(data: Float32Array, shape: number[], i: number): number[] {
  const [c, h, w] = shape;
  return Array.from({ length: c }, (_, k) => Math.round(data[i * c * h * w + k * h * w] * 255));
}

/** Folder of solid 4×4 PNGs: { 'cat/1.png': [r, g, b], … }. */
async function folderOf(files: Record<string, Rgb>, size = 4): Promise<string> {
  const root = await tempDir();
  for (const [rel, rgb] of Object.entries(files)) await writeSolid(join(root, rel), size, size, rgb);
  return root;
}

const counts = (report: ImageLoadReport) => Object.fromEntries(Object.entries(report.byReason).filter(([, n]) => n > 0));

test('labels come from the sub-folder names; class names are sorted; samples are in file order', async () => {
  const root = await folderOf({
    'dog/1.png': [0, 0, 30],
    'cat/2.png': [0, 20, 0],
    'cat/1.png': [0, 10, 0],
    'bird/a.png': [5, 0, 0],
    'cat/kittens/k.png': [0, 99, 0],
  });
  const { dataset, files, report } = await loadImageFolder(root);
  assert.deepEqual(dataset.classNames, ['bird', 'cat', 'dog']);
  assert.deepEqual(files, ['bird/a.png', 'cat/1.png', 'cat/2.png', 'cat/kittens/k.png', 'dog/1.png']);
  assert.deepEqual(dataset.labels, BigInt64Array.from([0n, 1n, 1n, 1n, 2n]));
  assert.equal(dataset.n, 5);
  assert.equal(dataset.labelWidth, 1);
  assert.deepEqual(dataset.sampleShapes, [[3, 4, 4]]);
  assert.equal(dataset.inputs[0].length, 5 * 3 * 4 * 4);
  const colours = [0, 1, 2, 3, 4].map((i) => topLeft(dataset.inputs[0] as Float32Array, [3, 4, 4], i));
  assert.deepEqual(colours, [
    [5, 0, 0],
    [0, 10, 0],
    [0, 20, 0],
    [0, 99, 0],
    [0, 0, 30],
  ]);
  assert.deepEqual(report, { candidates: 5, loaded: 5, rejected: 0, byReason: report.byReason, issues: [], skipped: 0 });
  assert.deepEqual(counts(report), {});
});

test('numeric folder names sort as numbers; given class names fix the order', async () => {
  const root = await folderOf({ '10/a.png': [1, 1, 1], '2/a.png': [2, 2, 2], '1/a.png': [3, 3, 3] });
  const { dataset } = await loadImageFolder(root);
  assert.deepEqual(dataset.classNames, ['1', '2', '10']);
  assert.deepEqual(dataset.labels, BigInt64Array.from([0n, 2n, 1n])); // files: 1/a, 10/a, 2/a

  const given = await loadImageFolder(root, { classNames: ['10', '2', '1', '7'] });
  assert.deepEqual(given.dataset.classNames, ['10', '2', '1', '7']);
  assert.deepEqual(given.dataset.labels, BigInt64Array.from([2n, 0n, 1n]));
});

test('without a size, the first image sets it and the others are resized; channels: 1 gives one plane', async () => {
  const root = await tempDir();
  await writeSolid(join(root, 'a/1.png'), 6, 3, [255, 255, 255]);
  await writeSolid(join(root, 'b/1.png'), 12, 12, [0, 0, 0]);
  const { dataset } = await loadImageFolder(root, { channels: 1 });
  assert.deepEqual(dataset.sampleShapes, [[1, 3, 6]]);
  assert.deepEqual([...dataset.inputs[0]], [...new Array(18).fill(1), ...new Array(18).fill(0)]);

  const sized = await loadImageFolder(root, { size: { width: 2, height: 5 } });
  assert.deepEqual(sized.dataset.sampleShapes, [[3, 5, 2]]);
});

test('other files are skipped and counted, hidden ones ignored; an image outside a class folder has no label', async () => {
  const root = await folderOf({ 'cat/1.png': [1, 2, 3], 'stray.png': [9, 9, 9] });
  await put(join(root, 'README.md'), '# photos\n');
  await put(join(root, 'cat', 'notes.txt'), 'fluffy');
  await put(join(root, '.DS_Store'), 'x');
  await put(join(root, 'cat', '.thumb.png'), 'x');
  const { dataset, report } = await loadImageFolder(root);
  assert.equal(dataset.n, 1);
  assert.equal(report.skipped, 2);
  assert.deepEqual(counts(report), { 'no-label': 1 });
  assert.equal(report.issues[0].file, 'stray.png');
  assert.match(report.issues[0].message, /^stray\.png: is not inside a class folder/);
});

test('a symbolic link to a class folder is followed', async () => {
  const elsewhere = await folderOf({ 'x.png': [7, 7, 7] });
  const root = await folderOf({ 'cat/1.png': [1, 1, 1] });
  await symlink(elsewhere, join(root, 'dog'));
  const { dataset, files } = await loadImageFolder(root);
  assert.deepEqual(files, ['cat/1.png', 'dog/x.png']);
  assert.deepEqual(dataset.classNames, ['cat', 'dog']);
});

test('bad images are reported by name, counted by reason and quarantined; the good ones load', async () => {
  const root = await folderOf({ 'cat/good1.png': [200, 0, 0], 'dog/good2.png': [0, 200, 0], 'dog/good3.jpg': [0, 0, 200] });
  // a PNG signature, so the decoder itself has to find out, then garbage
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  await put(join(root, 'cat/garbage.png'), Buffer.concat([signature, Buffer.from('but then nothing sensible at all')]));
  // the right size, so it is the truncation that is caught (a wrong size is found first, from the header)
  await put(join(root, 'cat/cut.jpg'), await truncatedJpeg(4, 4));
  await put(join(root, 'dog/empty.png'), Buffer.alloc(0));
  await writeSolid(join(root, 'dog/big.png'), 8, 8, [1, 2, 3]);
  const quarantine = join(await tempDir(), 'quarantine.jsonl');
  const seen: ImageIssue[] = [];

  const { dataset, files, report } = await loadImageFolder(root, {
    size: { width: 4, height: 4 },
    requireSize: true,
    quarantine,
    onIssue: (i) => seen.push(i),
  });

  assert.deepEqual(files, ['cat/good1.png', 'dog/good2.png', 'dog/good3.jpg']);
  assert.deepEqual(dataset.labels, BigInt64Array.from([0n, 1n, 1n]));
  assert.deepEqual(topLeft(dataset.inputs[0] as Float32Array, [3, 4, 4], 1), [0, 200, 0]);
  assert.equal(report.candidates, 7);
  assert.equal(report.loaded, 3);
  assert.equal(report.rejected, 4);
  assert.deepEqual(counts(report), { 'decode-failed': 2, 'empty-file': 1, 'wrong-size': 1 });
  assert.equal(report.quarantinePath, quarantine);
  // in file order, whatever order the concurrent decodes finished in
  assert.deepEqual(
    report.issues.map((i) => [i.file, i.reason, i.label]),
    [
      ['cat/cut.jpg', 'decode-failed', 'cat'],
      ['cat/garbage.png', 'decode-failed', 'cat'],
      ['dog/big.png', 'wrong-size', 'dog'],
      ['dog/empty.png', 'empty-file', 'dog'],
    ],
  );
  for (const issue of report.issues) {
    assert.ok(issue.message.startsWith(`${issue.file}: `), issue.message);
    assert.equal(issue.path, join(root, issue.file));
  }
  assert.match(report.issues[2].message, /is 8×8 pixels, not the required 4×4/);
  assert.match(report.issues[3].message, /is empty \(0 bytes\)/);
  assert.equal(seen.length, 4);

  const lines = (await readFile(quarantine, 'utf8')).trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l) as ImageIssue),
    report.issues,
  );
  const summary = formatImageReport(report);
  assert.match(summary, /^loaded 3 of 7 image\(s\); rejected 4 \(1 empty-file, 2 decode-failed, 1 wrong-size\), listed in .*quarantine\.jsonl:/);
  assert.ok(summary.includes('cat/garbage.png: could not be decoded'), summary);
});

test('without requireSize a wrong-size image is resized, not rejected', async () => {
  const root = await folderOf({ 'a/small.png': [10, 10, 10] });
  await writeSolid(join(root, 'a/big.png'), 8, 8, [10, 10, 10]);
  const { report, dataset } = await loadImageFolder(root, { size: { width: 4, height: 4 } });
  assert.equal(report.rejected, 0);
  assert.equal(dataset.n, 2);
});

test('class ids do not depend on which images decode: a class whose only image is bad keeps its place', async () => {
  const root = await folderOf({ 'b/ok.png': [1, 1, 1] });
  await put(join(root, 'a/bad.png'), 'garbage');
  const { dataset } = await loadImageFolder(root);
  assert.deepEqual(dataset.classNames, ['a', 'b']);
  assert.deepEqual(dataset.labels, BigInt64Array.from([1n]));
});

test('with given class names, a folder of another class is rejected as unknown-label', async () => {
  const root = await folderOf({ 'cat/1.png': [1, 1, 1], 'yak/1.png': [2, 2, 2] });
  const { dataset, report } = await loadImageFolder(root, { classNames: ['cat', 'dog'] });
  assert.equal(dataset.n, 1);
  assert.deepEqual(counts(report), { 'unknown-label': 1 });
  assert.equal(report.issues[0].message, 'yak/1.png: its folder "yak" is not one of the classes ("cat", "dog"); move it into a class folder or remove it');
});

test('when no image loads, the load fails with DATA_FORMAT listing them, and the quarantine is still written', async () => {
  const root = await tempDir();
  await put(join(root, 'a/1.png'), 'nope');
  await put(join(root, 'b/2.png'), Buffer.alloc(0));
  const quarantine = join(root, 'q.jsonl');
  await assert.rejects(loadImageFolder(root, { quarantine }), (e: unknown) => {
    assert.ok(e instanceof AimassError);
    assert.equal(e.code, 'DATA_FORMAT');
    assert.match(e.message, /none of the 2 image\(s\)/);
    assert.equal((e.details?.problems as string[]).length, 2);
    return true;
  });
  assert.equal((await readFile(quarantine, 'utf8')).trimEnd().split('\n').length, 2);
});

test('a missing folder is NOT_FOUND, a folder without images DATA_FORMAT', async () => {
  const root = await tempDir();
  await assert.rejects(loadImageFolder(join(root, 'absent')), { code: 'NOT_FOUND' });
  await put(join(root, 'cat', 'notes.txt'), 'no images here');
  await assert.rejects(loadImageFolder(root), { code: 'DATA_FORMAT', message: /no PNG, JPEG or WebP images/ });
});

test('a clean load empties an old quarantine file', async () => {
  const root = await folderOf({ 'a/1.png': [1, 1, 1] });
  const quarantine = join(await tempDir(), 'q.jsonl');
  await writeFile(quarantine, '{"file":"old.png"}\n');
  await loadImageFolder(root, { quarantine });
  assert.equal(await readFile(quarantine, 'utf8'), '');
});

test('the result is the same at any concurrency', async () => {
  const files: Record<string, Rgb> = {};
  for (let i = 0; i < 16; i++) files[`c${i % 3}/img${i}.png`] = [i * 15, 255 - i * 15, (i * 37) % 256];
  const root = await folderOf(files, 6);
  await put(join(root, 'c1/zbad.png'), 'garbage');
  const one = await loadImageFolder(root, { concurrency: 1 });
  const many = await loadImageFolder(root, { concurrency: 8 });
  assert.deepEqual(many.dataset, one.dataset);
  assert.deepEqual(many.files, one.files);
  assert.deepEqual(many.report, one.report);
  assert.equal(one.dataset.n, 16);
});

// --- manifests ---------------------------------------------------------------------------------------------

test('a manifest with a header gives labels from its rows, paths relative to the manifest', async () => {
  const dir = await tempDir();
  await writeSolid(join(dir, 'imgs/a.png'), 4, 4, [10, 0, 0]);
  await writeSolid(join(dir, 'imgs/b.png'), 4, 4, [20, 0, 0]);
  await writeSolid(join(dir, 'imgs/c.png'), 4, 4, [30, 0, 0]);
  const manifest = await put(join(dir, 'labels.csv'), 'file,label,notes\nimgs/c.png,zebra,x\nimgs/a.png,ant,\nimgs/b.png,zebra,"a, b"\n');
  const { dataset, files, report } = await loadImageManifest(manifest);
  assert.deepEqual(files, ['imgs/c.png', 'imgs/a.png', 'imgs/b.png']);
  assert.deepEqual(dataset.classNames, ['ant', 'zebra']);
  assert.deepEqual(dataset.labels, BigInt64Array.from([1n, 0n, 1n]));
  assert.deepEqual([0, 1, 2].map((i) => topLeft(dataset.inputs[0] as Float32Array, [3, 4, 4], i)[0]), [30, 10, 20]);
  assert.equal(report.candidates, 3);
});

test('a manifest without a header is file,label per row; `root` moves where paths start', async () => {
  const dir = await tempDir();
  await writeSolid(join(dir, 'pics/1.png'), 4, 4, [1, 1, 1]);
  await writeSolid(join(dir, 'pics/2.png'), 4, 4, [2, 2, 2]);
  const manifest = await put(join(dir, 'meta/list.csv'), '1.png,b\n2.png,a\n');
  const { dataset } = await loadImageManifest(manifest, { root: join(dir, 'pics') });
  assert.deepEqual(dataset.classNames, ['a', 'b']);
  assert.deepEqual(dataset.labels, BigInt64Array.from([1n, 0n]));
});

test('bad manifest rows: unknown label, missing file, wrong field count, blank label, each reported with its line', async () => {
  const dir = await tempDir();
  await writeSolid(join(dir, 'ok.png'), 4, 4, [50, 60, 70]);
  await writeSolid(join(dir, 'ok2.png'), 4, 4, [50, 60, 70]);
  await put(join(dir, 'empty.png'), Buffer.alloc(0));
  const manifest = await put(
    join(dir, 'm.csv'),
    ['file,label', 'ok.png,cat', 'ok2.png,unicorn', 'gone.png,dog', 'ok.png,dog,extra', 'ok2.png,', 'empty.png,cat', 'ok2.png,dog'].join('\n') + '\n',
  );
  const quarantine = join(dir, 'q.jsonl');
  const { dataset, files, report } = await loadImageManifest(manifest, { classNames: ['cat', 'dog'], quarantine });
  assert.deepEqual(files, ['ok.png', 'ok2.png']);
  assert.deepEqual(dataset.labels, BigInt64Array.from([0n, 1n]));
  assert.deepEqual(report.issues.map((i) => [i.line, i.file, i.reason]), [
    [3, 'ok2.png', 'unknown-label'],
    [4, 'gone.png', 'missing-file'],
    [5, 'ok.png', 'bad-manifest-row'],
    [6, 'ok2.png', 'no-label'],
    [7, 'empty.png', 'empty-file'],
  ]);
  assert.equal(report.candidates, 7);
  assert.equal(report.issues[0].message, 'ok2.png: label "unicorn" (m.csv line 3) is not one of the classes ("cat", "dog"); fix the label or remove the row');
  assert.match(report.issues[1].message, /^gone\.png: does not exist/);
  assert.match(report.issues[2].message, /^m\.csv line 5: has 3 field\(s\), expected 2/);
  const quarantined = (await readFile(quarantine, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as ImageIssue);
  assert.deepEqual(quarantined.map((i) => i.reason), ['unknown-label', 'missing-file', 'bad-manifest-row', 'no-label', 'empty-file']);
});

test('a missing manifest is NOT_FOUND; one with only a header is DATA_FORMAT', async () => {
  const dir = await tempDir();
  await assert.rejects(loadImageManifest(join(dir, 'none.csv')), { code: 'NOT_FOUND' });
  await assert.rejects(loadImageManifest(await put(join(dir, 'h.csv'), 'file,label\n')), { code: 'DATA_FORMAT', message: /has no rows/ });
});

test('every reason has a count in the report, even when zero', async () => {
  const { report } = await loadImageFolder(await folderOf({ 'a/1.png': [0, 0, 0] }));
  assert.deepEqual(Object.keys(report.byReason), [...IMAGE_ISSUE_REASONS]);
});
