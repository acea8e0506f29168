/**
 * Fast non-cryptographic hashing for the data path: a 32-bit string hash (MurmurHash3's mixing, two UTF-16 units
 * per block), 64-bit fingerprints from two independent seeds, and a compact set of fingerprints.
 *
 * Why not sha256: deduplicating or profiling tens of millions of rows hashes every row or value once, and a
 * `createHash` call per row costs more than parsing it. Content hashes of whole files (dataset ids) still use
 * sha256 from core.
 */

import { fmix32 } from '../core/index.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** 32-bit hash of a string's UTF-16 units; different seeds give independent hashes. */
export function hash32(s: string, seed = 0): number {
  let h = seed | 0;
  const n = s.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  return fmix32(h ^ n);
}

/** 32-bit hash of a 32-bit integer (for MinHash permutations). */
export function mix32(x: number, seed: number): number {
  return fmix32(Math.imul((x ^ seed) | 0, C1) ^ seed);
}

const SEED_HI = 0x9747b28c;
const SEED_LO = 0x5bd1e995;

/**
 * A set of 64-bit string fingerprints in open addressing over one Uint32Array (8 bytes a slot, at most 3/4 full),
 * so ten million distinct rows take about 128 MB instead of the gigabytes a Set of strings would. Two different
 * strings share a fingerprint with probability ~n²/2^65 (3 in a million for ten million rows).
 */
export class FingerprintSet {
  private slots: Uint32Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1 << 12) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.slots = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  /** Adds the fingerprint of `s`; false when it was already there. */
  add(s: string): boolean {
    let hi = hash32(s, SEED_HI);
    const lo = hash32(s, SEED_LO);
    if (hi === 0 && lo === 0) hi = 1; // (0, 0) marks an empty slot
    if (this.insert(hi, lo)) {
      if (++this.size * 4 > (this.mask + 1) * 3) this.grow();
      return true;
    }
    return false;
  }

  private insert(hi: number, lo: number): boolean {
    const slots = this.slots;
    let i = lo & this.mask;
    for (;;) {
      const h = slots[2 * i];
      const l = slots[2 * i + 1];
      if (h === 0 && l === 0) {
        slots[2 * i] = hi;
        slots[2 * i + 1] = lo;
        return true;
      }
      if (h === hi && l === lo) return false;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = old.length - 1;
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0 || old[i + 1] !== 0) this.insert(old[i], old[i + 1]);
  }
}
