// Pins the pure CHW transforms against values worked out by hand: bilinear resize with half-pixel centers,
// BT.601 grayscale, normalization and its statistics, exact flips, translation, rotation by quarter turns
// against index arithmetic, and gaussian noise with the asked-for spread, reproducible from a seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/index.js';
import { maxDiff } from '../../test/support/images.js';
import {
  type ImageShape,
  addGaussianNoise,
  flipImage,
  grayscaleImage,
  imageChannelStats,
  normalizeImage,
  resizeImage,
  rotateImage,
  translateImage,
} from './index.js';

/** An image whose every value is distinct: value = 100·c + 10·y + x. */
function ramp([c, h, w]: ImageShape): Float32Array {
  const out = new Float32Array(c * h * w);
  for (let k = 0; k < c; k++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(k * h + y) * w + x] = 100 * k + 10 * y + x;
  return out;
}

const at = (img: Float32Array, [, h, w]: ImageShape, c: number, y: number, x: number) => img[(c * h + y) * w + x];

test('resize: same size is a copy; 2×2 → 4×4 interpolates with half-pixel centers, clamped at the edges', () => {
  const shape: ImageShape = [2, 3, 5];
  const src = ramp(shape);
  assert.deepEqual(resizeImage(src, shape, 3, 5), src);

  const up = resizeImage(Float32Array.from([0, 1, 2, 3]), [1, 2, 2], 4, 4);
  // sample positions along each axis: -0.25→0, 0.25, 0.75, 1.25→1; value = x + 2y
  const pos = [0, 0.25, 0.75, 1];
  const expected = pos.flatMap((y) => pos.map((x) => x + 2 * y));
  assert.ok(maxDiff(up, expected) < 1e-6, `${[...up]}`);
});

test('resize: halving averages each 2×2 block exactly', () => {
  const src = Float32Array.from([1, 3, 5, 7, 5, 7, 9, 11, 0, 0, 2, 2, 4, 4, 6, 6]);
  const down = resizeImage(src, [1, 4, 4], 2, 2);
  assert.deepEqual([...down], [4, 8, 2, 4]);
});

test('grayscale uses BT.601 weights; one channel is copied', () => {
  // pixels: red, green, blue, white
  const rgb = Float32Array.from([1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1]);
  const gray = grayscaleImage(rgb, [3, 1, 4]);
  assert.ok(maxDiff(gray, [0.299, 0.587, 0.114, 1]) < 1e-6, `${[...gray]}`);
  const one = Float32Array.from([0.5, 0.25]);
  assert.deepEqual(grayscaleImage(one, [1, 1, 2]), one);
  assert.throws(() => grayscaleImage(new Float32Array(4), [2, 1, 2]), { code: 'INVALID_ARGUMENT' });
});

test('normalize is per channel over a batch, in place; channel stats give the numbers that make it 0-mean unit-std', () => {
  const shape: ImageShape = [2, 2, 2];
  const batch = new Float32Array(3 * 8);
  const rng = new Rng(3);
  for (let i = 0; i < batch.length; i++) batch[i] = (i % 8 < 4 ? 10 : -5) + rng.normal(0, i % 8 < 4 ? 2 : 0.5);
  const stats = imageChannelStats(batch, shape);
  assert.ok(Math.abs(stats.mean[0] - 10) < 2 && Math.abs(stats.mean[1] + 5) < 1, JSON.stringify(stats));
  const same = normalizeImage(batch, shape, stats.mean, stats.std);
  assert.equal(same, batch);
  const after = imageChannelStats(batch, shape);
  for (let c = 0; c < 2; c++) {
    assert.ok(Math.abs(after.mean[c]) < 1e-5, `mean ${after.mean[c]}`);
    assert.ok(Math.abs(after.std[c] - 1) < 1e-5, `std ${after.std[c]}`);
  }
  assert.deepEqual([...normalizeImage(Float32Array.from([1, 3]), [1, 1, 2], [1], [2])], [0, 1]);
  assert.throws(() => normalizeImage(new Float32Array(8), shape, [0], [1]), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => normalizeImage(new Float32Array(8), shape, [0, 0], [1, 0]), { code: 'INVALID_ARGUMENT' });
});

test('flips mirror exactly, in place or not, and twice is the identity', () => {
  for (const shape of [
    [3, 4, 5],
    [1, 3, 4],
  ] as ImageShape[]) {
    const [c, h, w] = shape;
    const src = ramp(shape);
    const hFlip = flipImage(src, shape, 'horizontal');
    const vFlip = flipImage(src, shape, 'vertical');
    for (let k = 0; k < c; k++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          assert.equal(at(hFlip, shape, k, y, x), at(src, shape, k, y, w - 1 - x));
          assert.equal(at(vFlip, shape, k, y, x), at(src, shape, k, h - 1 - y, x));
        }
      }
    }
    const inPlace = src.slice();
    assert.equal(flipImage(inPlace, shape, 'horizontal', inPlace), inPlace);
    assert.deepEqual(inPlace, hFlip);
    assert.deepEqual(flipImage(vFlip, shape, 'vertical'), src);
  }
});

test('translate moves the content and fills with 0; a shift past the edge leaves nothing', () => {
  const shape: ImageShape = [1, 3, 4];
  const src = ramp(shape);
  const moved = translateImage(src, shape, 1, -2);
  // row y of the output is row y-1 of the input, column x is column x+2
  assert.deepEqual([...moved], [0, 0, 0, 0, 2, 3, 0, 0, 12, 13, 0, 0]);
  assert.deepEqual(translateImage(src, shape, 0, 0), src);
  assert.deepEqual([...translateImage(src, shape, 0, 4)], new Array(12).fill(0));
});

test('rotating by 90° matches turning the array by hand (counter-clockwise); 180° is both flips; 0° is the identity', () => {
  for (const n of [4, 5]) {
    const shape: ImageShape = [2, n, n];
    const src = ramp(shape);
    const rotated = rotateImage(src, shape, 90);
    const manual = new Float32Array(src.length);
    // counter-clockwise: the top-right corner goes to the top-left
    for (let c = 0; c < 2; c++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) manual[(c * n + y) * n + x] = at(src, shape, c, x, n - 1 - y);
    assert.ok(maxDiff(rotated, manual) < 1e-4, `n=${n}: ${maxDiff(rotated, manual)}`);
    const half = flipImage(flipImage(src, shape, 'horizontal'), shape, 'vertical');
    assert.ok(maxDiff(rotateImage(src, shape, 180), half) < 1e-4);
    assert.ok(maxDiff(rotateImage(rotated, shape, -90), src) < 1e-4);
    assert.deepEqual(rotateImage(src, shape, 0), src);
  }
});

test('rotation interpolates between pixels, and corners rotated out of the image become 0', () => {
  const shape: ImageShape = [1, 9, 9];
  const ones = new Float32Array(81).fill(1);
  const r = rotateImage(ones, shape, 45);
  assert.equal(at(r, shape, 0, 4, 4), 1); // the center stays
  assert.equal(at(r, shape, 0, 0, 0), 0); // the corner's source is outside the image
  assert.ok(r.every((v) => v >= 0 && v <= 1 + 1e-6));
});

test('gaussian noise has the asked-for std and mean 0, and the same seed gives the same noise', () => {
  const a = addGaussianNoise(new Float32Array(100_000), 0.05, new Rng(11));
  let sum = 0;
  let sq = 0;
  for (const v of a) {
    sum += v;
    sq += v * v;
  }
  const mean = sum / a.length;
  const std = Math.sqrt(sq / a.length - mean * mean);
  assert.ok(Math.abs(mean) < 0.001, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.05) < 0.001, `std ${std}`);
  assert.deepEqual(addGaussianNoise(new Float32Array(100_000), 0.05, new Rng(11)), a);
  assert.notDeepEqual(addGaussianNoise(new Float32Array(100), 0.05, new Rng(12)), a.subarray(0, 100));
});

test('wrong lengths and overlapping outputs are refused', () => {
  const shape: ImageShape = [1, 2, 2];
  assert.throws(() => rotateImage(new Float32Array(5), shape, 10), { code: 'SHAPE_MISMATCH' });
  assert.throws(() => resizeImage(new Float32Array(4), shape, 3, 3, new Float32Array(4)), { code: 'SHAPE_MISMATCH' });
  const buf = new Float32Array(8);
  assert.throws(() => rotateImage(buf.subarray(0, 4), shape, 10, buf.subarray(2, 6)), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => translateImage(buf.subarray(0, 4), shape, 0, 1, buf.subarray(0, 4)), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => resizeImage(new Float32Array(4), [1, 2, 0], 2, 2), { code: 'INVALID_ARGUMENT' });
});
