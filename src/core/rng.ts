/**
 * Seeded pseudo-random numbers.
 *
 * Owns: every random draw that must be reproducible — weight initialisation, data shuffles and splits, dropout
 * masks, hyperparameter sampling. The generator is sfc32 (small, fast, passes PractRand to large sizes), seeded
 * through splitmix32 so nearby seeds give unrelated streams. Its whole state, including a pending Box–Muller
 * value, can be saved with `state()` and restored with `Rng.fromState`, so a resumed training run draws exactly
 * the numbers the killed one would have drawn.
 *
 * Imports only core/errors.
 */
import { AimassError } from './errors.js';

/** JSON-safe snapshot of an `Rng`. */
export interface RngState {
  algorithm: 'sfc32';
  /** The four 32-bit words of sfc32 as unsigned integers. */
  words: [number, number, number, number];
  /** The second normal of the last Box–Muller pair, not yet returned. */
  spareNormal: number | null;
}

const TWO_POW_32 = 0x100000000;
const TWO_POW_53 = 2 ** 53;

export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spare: number | null = null;

  /** @param seed any safe integer (negative and > 2^32 are fine); equal seeds give equal streams on every platform. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new AimassError('INVALID_ARGUMENT', `Rng seed must be a safe integer, got ${seed}; pass e.g. 42`, { seed });
    }
    // Fold both halves of the seed into the splitmix state so seeds above 2^32 are not truncated to their low word.
    const low = seed >>> 0;
    const high = Math.floor(seed / TWO_POW_32) >>> 0;
    let sm = (low ^ Math.imul(high, 0x9e3779b1)) >>> 0;
    const draw = (): number => {
      sm = (sm + 0x9e3779b9) >>> 0;
      let z = sm;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = draw();
    this.b = draw();
    this.c = draw();
    this.d = 1;
    // sfc32's authors discard early outputs so the counter word mixes in before use.
    for (let i = 0; i < 12; i++) this.uint32();
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.uint32() >>> 5; // 27 bits
    const lo = this.uint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / TWO_POW_53;
  }

  /** A uniform integer in [0, n), without modulo bias. `n` must be an integer in [1, 2^32]. */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new AimassError('INVALID_ARGUMENT', `Rng.int(n) needs an integer n from 1 to 2^32, got ${n}`, { n });
    }
    // Reject the top sliver of the 32-bit range that would make some residues more likely than others.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.uint32();
    while (x >= limit) x = this.uint32();
    return x % n;
  }

  /** A normal draw (Box–Muller), mean 0 and standard deviation 1 unless given. */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + std * z;
    }
    const u1 = 1 - this.next(); // (0, 1]: keeps log finite
    const u2 = this.next();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spare = r * Math.sin(theta);
    return mean + std * r * Math.cos(theta);
  }

  /** Shuffles in place (Fisher–Yates) and returns the same array; works on plain and typed arrays. */
  shuffle<A extends { length: number; [index: number]: unknown }>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A snapshot that `Rng.fromState` turns back into a generator continuing the same stream. */
  state(): RngState {
    return { algorithm: 'sfc32', words: [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0], spareNormal: this.spare };
  }

  /** An independent copy at the same position in the stream. */
  clone(): Rng {
    return Rng.fromState(this.state());
  }

  static fromState(state: RngState): Rng {
    const words = state?.words;
    const valid =
      state?.algorithm === 'sfc32' &&
      Array.isArray(words) &&
      words.length === 4 &&
      words.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32) &&
      (state.spareNormal === null || Number.isFinite(state.spareNormal));
    if (!valid) {
      throw new AimassError('INVALID_ARGUMENT', 'Not a saved Rng state: expected { algorithm: "sfc32", words: [4 uint32], spareNormal }; was the checkpoint written by another version?', {
        state: state as unknown as Record<string, unknown>,
      });
    }
    const rng = Object.create(Rng.prototype) as Rng;
    rng.a = words[0] | 0;
    rng.b = words[1] | 0;
    rng.c = words[2] | 0;
    rng.d = words[3] | 0;
    rng.spare = state.spareNormal;
    return rng;
  }
}

/** MurmurHash3's 32-bit finalizer: mixes every bit of `h` into every bit of the result (unsigned). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
