/**
 * Near-duplicate text detection by MinHash with locality-sensitive hashing (LSH), in one pass.
 *
 * A text is normalized (Unicode NFKC, lower case, every run of characters that are not letters or digits
 * becomes one space), cut into overlapping character shingles (5 characters by default), and summarized by 64
 * min-hashes: for each of 64 seeded hash functions, the smallest hash over its shingles. Two texts agree on a
 * min-hash with probability equal to the Jaccard similarity of their shingle sets. The 64 values are cut into
 * 16 bands of 4; texts that agree on a whole band become candidates (a pair with similarity 0.8 is a candidate
 * with probability 0.9998, one with 0.3 with probability 0.12), and a candidate is a near-duplicate when the
 * fraction of agreeing min-hashes — the estimated Jaccard similarity — reaches the threshold (0.8 by default).
 *
 * Memory is about 0.4 KB per kept text (its signature at 16 bits a value, for verification, and its 16 band
 * entries), independent of text length. Each band bucket is searched at most `MAX_CHAIN` entries deep, so
 * boilerplate shared by many texts cannot make the pass quadratic.
 */
import { AimassError } from '../core/index.js';
import { hash32, mix32 } from './hashing.js';

const PERMUTATIONS = 64;
const BANDS = 16;
const ROWS_PER_BAND = PERMUTATIONS / BANDS;
const MAX_CHAIN = 64;

const SEEDS = Uint32Array.from({ length: PERMUTATIONS }, (_, i) => mix32(i + 1, 0x3c6ef372));

export interface NearDuplicateOptions {
  /** Estimated Jaccard similarity (0..1] at or above which a text is a near-duplicate (default 0.8). */
  threshold?: number;
  /** Shingle length in characters (default 5). */
  shingle?: number;
}

/** The text as compared: NFKC, lower case, non-alphanumeric runs collapsed to one space, trimmed. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The 64 min-hashes of a text's shingles. */
export function minHashSignature(text: string, shingle = 5): Uint32Array {
  const t = normalizeText(text);
  const sig = new Uint32Array(PERMUTATIONS).fill(0xffffffff);
  const count = Math.max(1, t.length - shingle + 1);
  for (let s = 0; s < count; s++) {
    const h = hash32(t.length <= shingle ? t : t.slice(s, s + shingle), 0x1b873593);
    for (let p = 0; p < PERMUTATIONS; p++) {
      const v = mix32(h, SEEDS[p]);
      if (v < sig[p]) sig[p] = v;
    }
  }
  return sig;
}

/** Estimated Jaccard similarity of two signatures. */
export function signatureSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let p = 0; p < PERMUTATIONS; p++) if (a[p] === b[p]) same++;
  return same / PERMUTATIONS;
}

/** Exact Jaccard similarity of two texts' shingle sets (for tests and explanations). */
export function shingleJaccard(a: string, b: string, shingle = 5): number {
  const set = (text: string) => {
    const t = normalizeText(text);
    const out = new Set<string>();
    const count = Math.max(1, t.length - shingle + 1);
    for (let s = 0; s < count; s++) out.add(t.length <= shingle ? t : t.slice(s, s + shingle));
    return out;
  };
  const sa = set(a);
  const sb = set(b);
  let inter = 0;
  for (const x of sa) if (sb.has(x)) inter++;
  return inter / (sa.size + sb.size - inter);
}

export interface NearDuplicateMatch {
  /** Id of the earlier kept text (as given to `check`). */
  of: number;
  similarity: number;
}

/** The texts kept so far, indexed by band; `check` answers "near-duplicate of which kept text?" and keeps new ones. */
export class NearDuplicateIndex {
  readonly threshold: number;
  readonly shingle: number;
  private signatures = new Uint16Array(PERMUTATIONS * 1024);
  private ids = new Float64Array(1024);
  private kept = 0;
  /** Per band entry: the previous entry in the same bucket, or -1. Entry e belongs to kept text e / BANDS. */
  private next = new Int32Array(BANDS * 1024);
  private bucketKeys = new Uint32Array(1 << 12);
  private bucketHeads = new Int32Array(1 << 12).fill(-1);
  private buckets = 0;

  constructor(o: NearDuplicateOptions = {}) {
    this.threshold = o.threshold ?? 0.8;
    this.shingle = o.shingle ?? 5;
    if (!(this.threshold > 0 && this.threshold <= 1)) {
      throw new AimassError('INVALID_ARGUMENT', `the near-duplicate threshold must be above 0 and at most 1, got ${this.threshold}`);
    }
    if (!(Number.isInteger(this.shingle) && this.shingle >= 1)) {
      throw new AimassError('INVALID_ARGUMENT', `the shingle length must be a positive whole number, got ${this.shingle}`);
    }
  }

  /** The kept text that `text` nearly duplicates, or null — in which case it is kept under `id`. */
  check(text: string, id: number): NearDuplicateMatch | null {
    const sig = minHashSignature(text, this.shingle);
    const keys = new Uint32Array(BANDS);
    const tried = new Set<number>();
    for (let b = 0; b < BANDS; b++) {
      let h = mix32(b, 0x7f4a7c15);
      for (let r = 0; r < ROWS_PER_BAND; r++) h = mix32(sig[b * ROWS_PER_BAND + r], h);
      keys[b] = h;
      let e = this.bucketHeads[this.findBucket(h)];
      for (let depth = 0; e >= 0 && depth < MAX_CHAIN; depth++, e = this.next[e]) {
        const item = Math.floor(e / BANDS);
        if (tried.has(item)) continue;
        tried.add(item);
        const similarity = this.similarityTo(sig, item);
        if (similarity >= this.threshold) return { of: this.ids[item], similarity };
      }
    }
    this.keep(sig, keys, id);
    return null;
  }

  private similarityTo(sig: Uint32Array, item: number): number {
    const base = item * PERMUTATIONS;
    let same = 0;
    for (let p = 0; p < PERMUTATIONS; p++) if ((sig[p] & 0xffff) === this.signatures[base + p]) same++;
    return same / PERMUTATIONS;
  }

  private keep(sig: Uint32Array, keys: Uint32Array, id: number): void {
    const item = this.kept++;
    if (item * PERMUTATIONS >= this.signatures.length) {
      this.signatures = grow(this.signatures);
      this.ids = grow(this.ids);
      this.next = grow(this.next);
    }
    for (let p = 0; p < PERMUTATIONS; p++) this.signatures[item * PERMUTATIONS + p] = sig[p] & 0xffff;
    this.ids[item] = id;
    if ((this.buckets + BANDS) * 4 > this.bucketKeys.length * 3) this.growBuckets();
    for (let b = 0; b < BANDS; b++) {
      const slot = this.findBucket(keys[b]);
      if (this.bucketHeads[slot] < 0) {
        this.bucketKeys[slot] = keys[b];
        this.buckets++;
      }
      const e = item * BANDS + b;
      this.next[e] = this.bucketHeads[slot];
      this.bucketHeads[slot] = e;
    }
  }

  /** The slot of bucket `key`: where it is, or the empty slot where it would go. */
  private findBucket(key: number): number {
    const mask = this.bucketKeys.length - 1;
    let i = key & mask;
    while (this.bucketHeads[i] >= 0 && this.bucketKeys[i] !== key) i = (i + 1) & mask;
    return i;
  }

  private growBuckets(): void {
    const keys = this.bucketKeys;
    const heads = this.bucketHeads;
    this.bucketKeys = new Uint32Array(keys.length * 2);
    this.bucketHeads = new Int32Array(keys.length * 2).fill(-1);
    for (let i = 0; i < keys.length; i++) {
      if (heads[i] < 0) continue;
      const slot = this.findBucket(keys[i]);
      this.bucketKeys[slot] = keys[i];
      this.bucketHeads[slot] = heads[i];
    }
  }
}

function grow<T extends Uint16Array | Int32Array | Float64Array>(a: T): T {
  const out = new (a.constructor as { new (n: number): T })(a.length * 2);
  out.set(a as never);
  return out;
}
