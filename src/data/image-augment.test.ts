// Pins the augmenter: spec validation with every problem listed, each augmentation's effect on a batch in place
// (a flip is an exact mirror, a crop an exact shift within the padding, a rotation the angle its draw says,
// noise of the given std), and reproducibility: same seed, same batch; a restored Rng state continues exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimassError, Rng } from '../core/index.js';
import { maxDiff } from '../../test/support/images.js';
import { type ImageShape, Augmenter, flipImage, parseAugmentSpec, rotateImage, translateImage } from './index.js';

const shape: ImageShape = [2, 6, 6];
const size = 2 * 6 * 6;

/** A batch of n distinct, asymmetric images. */
function batchOf(n: number, seed = 1): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * size }, () => rng.next());
}

const sample = (batch: Float32Array, i: number) => batch.subarray(i * size, (i + 1) * size);

test('the JSON spec is checked, every problem listed with its field', () => {
  assert.deepEqual(parseAugmentSpec({ flip: 'horizontal', crop: { padding: 2 }, rotate: 10, noise: 0.05 }), {
    flip: 'horizontal',
    crop: { padding: 2 },
    rotate: 10,
    noise: 0.05,
  });
  assert.throws(
    () => parseAugmentSpec({ flip: 'diagonal', crop: { padding: 1.5 }, rotate: -3, blur: 1 }),
    (e: unknown) => {
      assert.ok(e instanceof AimassError);
      assert.equal(e.code, 'INVALID_SPEC');
      const problems = (e.details?.problems as string[]).join('\n');
      for (const field of ['augment.flip', 'augment.crop.padding', 'augment.rotate', 'augment.blur: unknown field']) assert.ok(problems.includes(field), problems);
      return true;
    },
  );
  assert.throws(() => new Augmenter({ noise: -1 }, shape, 1), { code: 'INVALID_SPEC' });
  assert.throws(() => new Augmenter({}, [1, 0, 3], 1), { code: 'INVALID_ARGUMENT' });
});

test('same seed, same augmented batch; another seed, another batch', () => {
  const spec = { flip: 'both', crop: { padding: 2 }, rotate: 15, noise: 0.05 } as const;
  const a = batchOf(8);
  const b = batchOf(8);
  const c = batchOf(8);
  new Augmenter(spec, shape, 42).apply(a);
  new Augmenter(spec, shape, 42).apply(b);
  new Augmenter(spec, shape, 43).apply(c);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(a, batchOf(8));
});

test('flip: each sample is either itself or its exact mirror, and both happen', () => {
  const original = batchOf(32);
  const batch = original.slice();
  new Augmenter({ flip: 'horizontal' }, shape, 5).apply(batch);
  let flipped = 0;
  for (let i = 0; i < 32; i++) {
    const mirror = flipImage(sample(original, i), shape, 'horizontal');
    const got = sample(batch, i);
    if (maxDiff(got, mirror) === 0) flipped++;
    else assert.deepEqual(got, sample(original, i), `sample ${i} is neither itself nor its mirror`);
  }
  assert.ok(flipped > 5 && flipped < 27, `flipped ${flipped} of 32`);
});

test('crop with padding: each sample is the original shifted by at most the padding, zeros shifted in', () => {
  const original = batchOf(32);
  const batch = original.slice();
  new Augmenter({ crop: { padding: 2 } }, shape, 9).apply(batch);
  const shifts = new Set<string>();
  for (let i = 0; i < 32; i++) {
    let found: string | undefined;
    for (let dy = -2; dy <= 2 && !found; dy++) {
      for (let dx = -2; dx <= 2 && !found; dx++) {
        if (maxDiff(sample(batch, i), translateImage(sample(original, i), shape, dy, dx)) === 0) found = `${dy},${dx}`;
      }
    }
    assert.ok(found, `sample ${i} is not a shift of its original within the padding`);
    shifts.add(found);
  }
  assert.ok(shifts.size > 5, `only ${shifts.size} distinct shifts in 32 samples`);
});

test('rotate: each sample turns by the uniform angle its draw gives, within ±rotate', () => {
  const original = batchOf(4);
  const batch = original.slice();
  new Augmenter({ rotate: 20 }, shape, 3).apply(batch);
  // the documented draw order: with only rotation enabled, one uniform per sample
  const rng = new Rng(3);
  for (let i = 0; i < 4; i++) {
    const angle = (rng.next() * 2 - 1) * 20;
    assert.ok(Math.abs(angle) <= 20);
    assert.deepEqual(sample(batch, i), rotateImage(sample(original, i), shape, angle));
  }
});

test('noise: the added values have the spec std', () => {
  const big: ImageShape = [1, 64, 64];
  const batch = new Float32Array(16 * 64 * 64);
  new Augmenter({ noise: 0.1 }, big, 8).apply(batch);
  const sq = batch.reduce((s, v) => s + v * v, 0);
  const std = Math.sqrt(sq / batch.length);
  assert.ok(Math.abs(std - 0.1) < 0.002, `std ${std}`);
});

test('count limits the augmented samples (a partly filled batch buffer)', () => {
  const original = batchOf(4);
  const batch = original.slice();
  new Augmenter({ noise: 0.5 }, shape, 1).apply(batch, 2);
  assert.notDeepEqual(sample(batch, 1), sample(original, 1));
  assert.deepEqual(batch.subarray(2 * size), original.subarray(2 * size));
  assert.throws(() => new Augmenter({}, shape, 1).apply(batch, 5), { code: 'SHAPE_MISMATCH' });
});

test('an augmenter restored from a saved Rng state continues the same stream', () => {
  const spec = { flip: 'horizontal', crop: { padding: 1 }, rotate: 5, noise: 0.01 } as const;
  const first = new Augmenter(spec, shape, 77);
  first.apply(batchOf(4, 1));
  const saved = first.rngState();
  const next = batchOf(4, 2);
  first.apply(next);
  const resumed = new Augmenter(spec, shape, Rng.fromState(saved));
  const again = batchOf(4, 2);
  resumed.apply(again);
  assert.deepEqual(again, next);
});
