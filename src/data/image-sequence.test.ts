// Pins frame sequences: natural file order (frame2 before frame10), the [T, C, H, W] tensor, bad frames
// reported and quarantined with the gap they leave kept in `positions`, and sliding windows that by default do
// not join frames across such a gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { put, truncatedJpeg, writeSolid } from '../../test/support/images.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type ImageIssue, frameWindows, loadImageSequence, naturalCompare } from './index.js';

const tempDir = useTempDirs('image-sequence');

/** frame1.png … frameN.png, frame i a solid gray of value 10·i, so a frame's value tells its number. */
async function framesFolder(count: number, name = (i: number) => `frame${i}.png`): Promise<string> {
  const dir = await tempDir();
  for (let i = 1; i <= count; i++) await writeSolid(join(dir, name(i)), 3, 2, [10 * i, 10 * i, 10 * i]);
  return dir;
}

/** The frame numbers a [.., C, H, W] array holds, read back from each frame's first value. */
const frameNumbers = (data: Float32Array, frameSize: number) =>
  Array.from({ length: data.length / frameSize }, (_, t) => Math.round((data[t * frameSize] * 255) / 10));

test('natural order: digit runs compare as numbers, case is ignored, ties fall back to code units', () => {
  const names = ['frame10.png', 'frame2.png', 'Frame3.png', 'frame1.png', 'frame02.png', 'frame.png', 'frame1a.png', 'frame_9.png', 'cam2_frame1.png', 'cam10_frame1.png'];
  assert.deepEqual([...names].sort(naturalCompare), [
    'cam2_frame1.png',
    'cam10_frame1.png',
    'frame.png',
    'frame1.png',
    'frame1a.png',
    'frame02.png',
    'frame2.png',
    'Frame3.png',
    'frame10.png',
    'frame_9.png',
  ]);
  // numbers longer than a double holds exactly
  assert.ok(naturalCompare('f99999999999999999999', 'f100000000000000000000') < 0);
  assert.ok(naturalCompare('f100000000000000000001', 'f100000000000000000000') > 0);
  assert.equal(naturalCompare('a1', 'a1'), 0);
});

test('frames load in natural order into a [T, C, H, W] tensor', async () => {
  const dir = await framesFolder(12);
  await put(join(dir, 'notes.txt'), 'camera 3');
  const seq = await loadImageSequence(dir);
  assert.deepEqual(seq.shape, [12, 3, 2, 3]);
  assert.equal(seq.frames.length, 12 * 18);
  assert.deepEqual(seq.files.slice(0, 3), ['frame1.png', 'frame2.png', 'frame3.png']);
  assert.equal(seq.files[11], 'frame12.png');
  assert.deepEqual(frameNumbers(seq.frames, 18), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.deepEqual(seq.positions, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.equal(seq.report.skipped, 1);
  assert.equal(seq.report.rejected, 0);
});

test('a target size and one channel apply to every frame', async () => {
  const seq = await loadImageSequence(await framesFolder(3), { size: { width: 4, height: 4 }, channels: 1 });
  assert.deepEqual(seq.shape, [3, 1, 4, 4]);
  assert.deepEqual(frameNumbers(seq.frames, 16), [1, 2, 3]);
});

test('bad frames are reported and quarantined; the gap stays visible in positions', async () => {
  const dir = await framesFolder(8);
  await put(join(dir, 'frame3.png'), 'lens cap');
  await put(join(dir, 'frame6.png'), Buffer.alloc(0));
  await writeSolid(join(dir, 'frame7.png'), 6, 6, [70, 70, 70]);
  await put(join(dir, 'frame9.jpg'), await truncatedJpeg(3, 2));
  const quarantine = join(await tempDir(), 'frames.jsonl');
  // no size given: the first frame's (3×2) is required of all
  const seq = await loadImageSequence(dir, { requireSize: true, quarantine });
  assert.deepEqual(frameNumbers(seq.frames, 18), [1, 2, 4, 5, 8]);
  assert.deepEqual(seq.positions, [0, 1, 3, 4, 7]);
  assert.deepEqual(seq.shape, [5, 3, 2, 3]);
  assert.deepEqual(
    seq.report.issues.map((i) => [i.file, i.reason]),
    [
      ['frame3.png', 'decode-failed'],
      ['frame6.png', 'empty-file'],
      ['frame7.png', 'wrong-size'],
      ['frame9.jpg', 'decode-failed'],
    ],
  );
  for (const issue of seq.report.issues) assert.ok(issue.message.startsWith(`${issue.file}: `), issue.message);
  assert.equal(seq.report.candidates, 9);
  const lines = (await readFile(quarantine, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as ImageIssue);
  assert.deepEqual(lines, seq.report.issues);
});

test('sliding windows of k adjacent frames, with a stride; none spans a rejected frame unless asked', async () => {
  const dir = await framesFolder(7);
  const full = await loadImageSequence(dir);
  const w = frameWindows(full, 3);
  assert.deepEqual(w.shape, [5, 3, 3, 2, 3]);
  assert.deepEqual(w.starts, [0, 1, 2, 3, 4]);
  assert.deepEqual(frameNumbers(w.data, 18), [1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6, 5, 6, 7]);
  const strided = frameWindows(full, 3, { stride: 2 });
  assert.deepEqual(strided.starts, [0, 2, 4]);

  await put(join(dir, 'frame4.png'), 'garbage');
  const gappy = await loadImageSequence(dir);
  const safe = frameWindows(gappy, 3);
  assert.deepEqual(safe.starts, [0, 4]);
  assert.deepEqual(frameNumbers(safe.data, 18), [1, 2, 3, 5, 6, 7]);
  const across = frameWindows(gappy, 3, { acrossGaps: true });
  assert.deepEqual(across.starts, [0, 1, 2, 4]);
  assert.deepEqual(frameNumbers(across.data, 18).slice(3, 6), [2, 3, 5]);
  assert.deepEqual(frameWindows(gappy, 8).shape, [0, 8, 3, 2, 3]);
  assert.throws(() => frameWindows(gappy, 0), { code: 'INVALID_ARGUMENT' });
});

test('a missing folder is NOT_FOUND; a folder without frames, or whose frames all fail, is DATA_FORMAT', async () => {
  const dir = await tempDir();
  await assert.rejects(loadImageSequence(join(dir, 'absent')), { code: 'NOT_FOUND' });
  await assert.rejects(loadImageSequence(dir), { code: 'DATA_FORMAT', message: /no PNG, JPEG or WebP frames/ });
  await put(join(dir, 'f1.png'), 'x');
  await assert.rejects(loadImageSequence(dir), { code: 'DATA_FORMAT', message: /none of the 1 frame/ });
});
