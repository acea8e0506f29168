// Pins the synthetic road signs: the same seed renders the same pictures, every class appears, the count and the
// size are as asked, pictures vary (two of one class differ, some are partly covered), bad options fail with
// the problem named; and `aimass datasets export road-signs` writes image-csv files that loadImageCsv reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError } from '../core/index.js';
import { aimass, jsonOf } from '../../test/support/cli.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { ROAD_SIGN_CLASSES, type ExportedRoadSigns, exportRoadSigns, generateRoadSigns, loadImageCsv } from './index.js';

const tempDir = useTempDirs('road-signs');

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

test('the same seed renders the same pictures; another seed renders others', async () => {
  const a = await generateRoadSigns({ count: 20, seed: 7 });
  const b = await generateRoadSigns({ count: 20, seed: 7 });
  const c = await generateRoadSigns({ count: 20, seed: 8 });
  assert.deepEqual(a.map((p) => p.label), b.map((p) => p.label));
  assert.ok(a.every((p, i) => sameBytes(p.pixels, b[i].pixels) && p.occluded === b[i].occluded));
  assert.ok(a.every((p, i) => !sameBytes(p.pixels, c[i].pixels)));
});

test('every class, the count asked for, 32×32 RGB by default, and pictures that vary', async () => {
  const pictures = await generateRoadSigns({ count: 90, seed: 1 });
  assert.equal(pictures.length, 90);
  for (const name of ROAD_SIGN_CLASSES) assert.equal(pictures.filter((p) => p.label === name).length, 10, name);
  assert.ok(pictures.every((p) => p.pixels.length === 3 * 32 * 32));
  // within one picture: not a flat image
  for (const p of pictures) assert.ok(Math.max(...p.pixels) - Math.min(...p.pixels) > 40, `${p.label} has contrast`);
  // two stop signs differ; some pictures have something in front of the sign, most do not
  const stops = pictures.filter((p) => p.label === 'stop');
  assert.ok(!sameBytes(stops[0].pixels, stops[1].pixels));
  const occluded = pictures.filter((p) => p.occluded).length;
  assert.ok(occluded > 5 && occluded < 60, `${occluded} of 90 occluded`);
});

test('grayscale, another size and a subset of the classes', async () => {
  const pictures = await generateRoadSigns({ count: 5, seed: 0, size: 24, channels: 1, classes: ['no-entry', 'yield'], occlusion: 0 });
  assert.deepEqual(pictures.map((p) => p.label), ['no-entry', 'yield', 'no-entry', 'yield', 'no-entry']);
  assert.ok(pictures.every((p) => p.pixels.length === 24 * 24 && !p.occluded));
});

test('bad options fail naming the problem', async () => {
  const rejects = (o: Parameters<typeof generateRoadSigns>[0], pattern: RegExp) =>
    assert.rejects(generateRoadSigns(o), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message));
  await rejects({ count: 0 }, /count: expected an integer from 1/);
  await rejects({ count: 2.5 }, /count/);
  await rejects({ count: 5, classes: ['stop', 'give-way'] }, /unknown "give-way"; the classes are stop, yield/);
  await rejects({ count: 5, classes: [] }, /classes: expected a non-empty list/);
  await rejects({ count: 5, size: 8 }, /size: expected an integer from 16/);
  await rejects({ count: 5, channels: 2 as 1 }, /channels: expected 1 \(grayscale\) or 3/);
});

test('exportRoadSigns writes image-csv files (every 5th picture for test) that loadImageCsv reads', async () => {
  const out = await tempDir();
  const r = await exportRoadSigns(out, { count: 45, seed: 3, channels: 1 });
  assert.deepEqual([r.trainRows, r.testRows, r.shape], [36, 9, [1, 32, 32]]);
  assert.equal(await readFile(r.labels, 'utf8'), `${ROAD_SIGN_CLASSES.join('\n')}\n`);
  const d = await loadImageCsv(r.test, { shape: r.shape });
  assert.equal(d.n, 9);
  assert.equal(d.classNames?.length, 9);
  assert.ok((d.inputs[0] as Float32Array).every((v) => v >= 0 && v <= 1));
  // three sample PNGs per class
  assert.equal((await readdir(r.samples)).filter((f) => f.endsWith('.png')).length, 27);
});

test('aimass datasets export road-signs --count 50 writes the files; a bad count is a clear error', async () => {
  const out = join(await tempDir(), 'signs');
  const r = jsonOf<ExportedRoadSigns>(await aimass(['--json', 'datasets', 'export', 'road-signs', '--count', '50', '--seed', '2', '--out', out]));
  assert.deepEqual([r.trainRows, r.testRows, r.shape], [40, 10, [3, 32, 32]]);
  const first = (await readFile(join(out, 'road_signs_train.csv'), 'utf8')).split('\n')[0].split(',');
  assert.equal(first[0], 'stop');
  assert.equal(first.length, 1 + 3 * 32 * 32);
  const bad = await aimass(['datasets', 'export', 'road-signs', '--count', '0', '--out', out]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /count: expected an integer from 1/);
});
