// Training-time image augmentation from a JSON spec, e.g. `{ flip: 'horizontal', crop: { padding: 2 },
// rotate: 10, noise: 0.05 }`: each sample of a batch gets its own random flips, crop offset, angle and noise,
// drawn from one seeded Rng and applied in place, so it can run on the trainer's reusable batch buffers and a
// resumed run (from `rngState()`) augments exactly as the killed one would have.
import { z } from 'zod';
import { AimassError, Rng, parseWith, type RngState } from '../core/index.js';
import { type ImageShape, addGaussianNoise, flipImage, rotateImage, translateImage } from './image-transforms.js';

const AugmentSpecSchema = z
  .object({
    /** Each listed direction is mirrored with probability 1/2, independently. */
    flip: z.enum(['horizontal', 'vertical', 'both']).optional(),
    /** Zero-pad by `padding` pixels on each side, then crop the original size at a uniform random offset. */
    crop: z.object({ padding: z.number().int().min(0).max(4096) }).strict().optional(),
    /** Largest angle in degrees; each sample turns by a uniform angle in [-rotate, rotate]. */
    rotate: z.number().min(0).max(180).optional(),
    /** Standard deviation of gaussian noise added to every value. */
    noise: z.number().min(0).max(1e3).optional(),
  })
  .strict();

export type AugmentSpec = z.infer<typeof AugmentSpecSchema>;

/** Checks a spec (as read from JSON) and lists every problem in one INVALID_SPEC error. */
export function parseAugmentSpec(value: unknown): AugmentSpec {
  return parseWith(AugmentSpecSchema, value, 'augmentation spec', 'augment');
}

export class Augmenter {
  readonly spec: AugmentSpec;
  readonly shape: ImageShape;
  private readonly rng: Rng;
  private readonly size: number;
  /** One sample's worth of space for the transforms that cannot work in place. */
  private readonly scratch: Float32Array;

  /**
   * @param shape the [channels, height, width] of one sample.
   * @param seed a seed, or an Rng to draw from (e.g. one restored from a checkpoint's `rngState()`).
   */
  constructor(spec: AugmentSpec, shape: ImageShape, seed: number | Rng) {
    this.spec = parseAugmentSpec(spec);
    const [c, h, w] = shape;
    if (!(shape.length === 3 && [c, h, w].every((d) => Number.isInteger(d) && d > 0))) {
      throw new AimassError('INVALID_ARGUMENT', `Augmenter: a sample shape is [channels, height, width] of positive integers, got [${shape.join(', ')}]`);
    }
    this.shape = [c, h, w];
    this.size = c * h * w;
    this.scratch = new Float32Array(this.size);
    this.rng = typeof seed === 'number' ? new Rng(seed) : seed;
  }

  /**
   * Augments the first `count` samples of `batch` (all of them by default) in place. Draws per sample, in this
   * order: horizontal flip, vertical flip, crop offset, angle, noise; only for the parts the spec enables.
   */
  apply(batch: Float32Array, count = batch.length / this.size): void {
    if (!Number.isInteger(count) || count < 0 || count * this.size > batch.length) {
      throw new AimassError('SHAPE_MISMATCH', `Augmenter: ${count} samples of [${this.shape.join(', ')}] do not fit in a batch of ${batch.length} values`);
    }
    const { flip, crop, rotate, noise } = this.spec;
    const rng = this.rng;
    const scratch = this.scratch;
    for (let i = 0; i < count; i++) {
      const sample = batch.subarray(i * this.size, (i + 1) * this.size);
      if ((flip === 'horizontal' || flip === 'both') && rng.next() < 0.5) flipImage(sample, this.shape, 'horizontal', sample);
      if ((flip === 'vertical' || flip === 'both') && rng.next() < 0.5) flipImage(sample, this.shape, 'vertical', sample);
      if (crop && crop.padding > 0) {
        const p = crop.padding;
        const top = rng.int(2 * p + 1);
        const left = rng.int(2 * p + 1);
        if (top !== p || left !== p) {
          translateImage(sample, this.shape, p - top, p - left, scratch);
          sample.set(scratch);
        }
      }
      if (rotate) {
        const angle = (rng.next() * 2 - 1) * rotate;
        rotateImage(sample, this.shape, angle, scratch);
        sample.set(scratch);
      }
      if (noise) addGaussianNoise(sample, noise, rng);
    }
  }

  /** The generator's position, to save with a checkpoint and restore with `new Augmenter(spec, shape, Rng.fromState(s))`. */
  rngState(): RngState {
    return this.rng.state();
  }
}
