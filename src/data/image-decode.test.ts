// Pins decoding one image into Float32 CHW in 0..1: exact pixel values and their layout for lossless formats,
// BT.601 grayscale, alpha dropped, the three resize fits, EXIF orientation, and a failure that names the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { AimassError } from '../core/index.js';
import { chwOf, encode, maxDiff, pixels, put, truncatedJpeg, writeSolid } from '../../test/support/images.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { decodeImage } from './index.js';

const tempDir = useTempDirs('image-decode');

const plane = (data: Float32Array, c: number, size: number) => [...data.subarray(c * size, (c + 1) * size)];

test('a red 4×4 PNG decodes to channel 0 all 1 and the other channels all 0', async () => {
  const path = await writeSolid(join(await tempDir(), 'red.png'), 4, 4, [255, 0, 0]);
  const { data, shape } = await decodeImage(path);
  assert.deepEqual(shape, [3, 4, 4]);
  assert.deepEqual(plane(data, 0, 16), new Array(16).fill(1));
  assert.deepEqual(plane(data, 1, 16), new Array(16).fill(0));
  assert.deepEqual(plane(data, 2, 16), new Array(16).fill(0));
});

test('PNG and lossless WebP keep every pixel exactly, laid out as channel planes of rows', async () => {
  const [w, h] = [5, 3];
  const raw = pixels(w, h, 3, (x, y) => [x * 50, y * 100, 7 + x + 10 * y]);
  for (const format of ['png', 'webp'] as const) {
    const { data, shape } = await decodeImage(await encode(raw, w, h, 3, format));
    assert.deepEqual(shape, [3, h, w], format);
    assert.deepEqual(data, chwOf(raw, w, h), format);
  }
  // spot check the layout by hand: channel 1 (green) of pixel (x=4, y=2) is 200/255
  const { data } = await decodeImage(await encode(raw, w, h, 3));
  assert.equal(data[1 * w * h + 2 * w + 4], Math.fround(200 / 255));
});

test('a JPEG decodes close to its colours (lossy)', async () => {
  const { data } = await decodeImage(await encode(pixels(8, 8, 3, () => [255, 0, 0]), 8, 8, 3, 'jpeg'));
  assert.ok(maxDiff(data, chwOf(pixels(8, 8, 3, () => [255, 0, 0]), 8, 8)) <= 3 / 255);
});

test('channels: 1 gives BT.601 luma; a grayscale file read as RGB repeats its value in three channels', async () => {
  const colours = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [128, 128, 128],
  ];
  const raw = pixels(4, 1, 3, (x) => colours[x]);
  const { data, shape } = await decodeImage(await encode(raw, 4, 1, 3), { channels: 1 });
  assert.deepEqual(shape, [1, 1, 4]);
  const expected = [0.299, 0.587, 0.114, 128 / 255];
  assert.ok(maxDiff(data, expected) < 1e-6, `${[...data]}`);

  const gray = await encode(pixels(2, 2, 1, (x, y) => [40 + 100 * x + 10 * y]), 2, 2, 1);
  const rgb = await decodeImage(gray);
  assert.deepEqual(rgb.shape, [3, 2, 2]);
  const values = [40, 140, 50, 150].map((v) => Math.fround(v / 255));
  for (let c = 0; c < 3; c++) assert.deepEqual(plane(rgb.data, c, 4), values);
});

test('alpha is dropped: a half-transparent green pixel is green', async () => {
  const raw = pixels(2, 2, 4, () => [0, 255, 0, 128]);
  const { data, shape } = await decodeImage(await encode(raw, 2, 2, 4));
  assert.deepEqual(shape, [3, 2, 2]);
  assert.deepEqual([...data], [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0]);
});

test('fit: fill stretches, cover crops the center, contain pads with black', async () => {
  // 8 wide × 4 high: left half red, right half blue; decoded to 4 × 4
  const png = await encode(pixels(8, 4, 3, (x) => (x < 4 ? [255, 0, 0] : [0, 0, 255])), 8, 4, 3);
  const size = { width: 4, height: 4 };
  const rows = (data: Float32Array, c: number) => Array.from({ length: 4 }, (_, y) => [...data.subarray(c * 16 + y * 4, c * 16 + y * 4 + 4)]);

  const fill = await decodeImage(png, { size, fit: 'fill' });
  for (const row of rows(fill.data, 0)) {
    assert.equal(row[0], 1);
    assert.equal(row[3], 0);
    assert.ok(row[1] > 0.5 && row[2] < 0.5, `${row}`);
  }

  // cover: scale to 8×4 (already), keep the middle 4 columns: two red, two blue, no blending
  const cover = await decodeImage(png, { size, fit: 'cover' });
  for (const row of rows(cover.data, 0)) assert.deepEqual(row, [1, 1, 0, 0]);
  for (const row of rows(cover.data, 2)) assert.deepEqual(row, [0, 0, 1, 1]);

  // contain: scale to 4×2, one black row above and below
  const contain = await decodeImage(png, { size, fit: 'contain' });
  const red = rows(contain.data, 0);
  const blue = rows(contain.data, 2);
  for (const y of [0, 3]) {
    assert.deepEqual(red[y], [0, 0, 0, 0]);
    assert.deepEqual(blue[y], [0, 0, 0, 0]);
  }
  for (const y of [1, 2]) {
    assert.equal(red[y][0], 1);
    assert.equal(blue[y][3], 1);
  }
});

test('the EXIF orientation a camera writes is applied: a portrait photo stored sideways decodes upright', async () => {
  const raw = pixels(8, 4, 3, (x) => [x * 30, 0, 0]);
  const rotated = await sharp(raw, { raw: { width: 8, height: 4, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const { shape } = await decodeImage(rotated);
  assert.deepEqual(shape, [3, 8, 4]);
});

test('a file that is not an image fails with DATA_FORMAT naming it and the reason', async () => {
  const dir = await tempDir();
  const cases = [
    { name: 'garbage.png', bytes: Buffer.from('this is not a png at all'), reason: 'decode-failed' },
    { name: 'signed.png', bytes: Buffer.concat([(await encode(pixels(2, 2, 3, () => [1, 2, 3]), 2, 2, 3)).subarray(0, 8), Buffer.alloc(40, 7)]), reason: 'decode-failed' },
    { name: 'cut.jpg', bytes: await truncatedJpeg(), reason: 'decode-failed' },
    { name: 'empty.png', bytes: Buffer.alloc(0), reason: 'empty-file' },
  ];
  for (const c of cases) {
    const path = await put(join(dir, c.name), c.bytes);
    await assert.rejects(decodeImage(path), (e: unknown) => {
      assert.ok(e instanceof AimassError);
      assert.equal(e.code, 'DATA_FORMAT');
      assert.ok(e.message.includes(c.name), e.message);
      assert.equal(e.details?.reason, c.reason);
      return true;
    });
  }
  await assert.rejects(decodeImage(join(dir, 'garbage.png')), { message: /garbage\.png: is not a PNG, JPEG or WebP image \(it starts with bytes 74 68 69 73\)/ });
  await assert.rejects(decodeImage(join(dir, 'absent.png')), { code: 'NOT_FOUND' });
});

test('a GIF or an SVG (valid, but not a format the loaders read) is refused as unsupported, naming the format', async () => {
  const gif = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#ff0000' } }).gif().toBuffer();
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>');
  for (const [bytes, format] of [
    [gif, 'GIF'],
    [svg, 'SVG'],
  ] as const) {
    await assert.rejects(decodeImage(bytes), (e: unknown) => {
      assert.ok(e instanceof AimassError);
      assert.equal(e.details?.reason, 'unsupported-format');
      assert.match(e.message, new RegExp(`is a ${format} image; only PNG, JPEG and WebP are read`));
      return true;
    });
  }
});

test('invalid options fail up front with every problem listed', async () => {
  await assert.rejects(
    decodeImage(Buffer.alloc(1), { size: { width: 0, height: 2 }, channels: 2 as 1, fit: 'stretch' as 'fill' }),
    (e: unknown) => {
      assert.ok(e instanceof AimassError);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.equal((e.details?.problems as string[]).length, 3);
      return true;
    },
  );
});
