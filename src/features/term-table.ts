// A string → id table that is looked up by spans of a larger string (`text`, `start`, `end`), so tokens can be
// counted without creating a string per token: the characters are hashed and compared where they lie, and a
// term becomes a JS string only when asked for. Vectorizers count through it (a Map keyed by fresh token
// strings was 3x slower on the SpamAssassin mails: every token string had to be allocated and hashed by V8).
// Terms are kept as UTF-16 code units in one pool; ids are dense, in order of first insertion.
import { AimassError } from '../core/index.js';

/** Start value of the span hash (FNV-1a over UTF-16 code units, with a final avalanche). */
export const HASH_START = 0x811c9dc5 | 0;

/** Folds one UTF-16 code unit into a running span hash. */
export function hashStep(h: number, codeUnit: number): number {
  return Math.imul(h ^ codeUnit, 0x01000193);
}

/** Ends a running span hash; `hashFinish(fold of text[start..end))` equals `hashSpan(text, start, end)`. */
export function hashFinish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  return h ^ (h >>> 15);
}

/** A 32-bit hash of `text[start, end)`; what TermTable keys on. */
export function hashSpan(text: string, start: number, end: number): number {
  let h = HASH_START;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return hashFinish(h);
}

const DECODE_CHUNK = 4096;

export class TermTable {
  /** Open addressing, linear probing: slot i holds (hash, id) at [2i, 2i+1]; id -1 is empty. */
  private slots: Int32Array;
  private mask: number;
  private pool: Uint16Array;
  private poolLength = 0;
  /** Term `id` is `pool[offsets[id] .. offsets[id + 1])`. */
  private offsets: Int32Array;
  private count = 0;

  constructor(expected = 1024) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.slots = new Int32Array(capacity * 2).fill(-1);
    this.mask = capacity - 1;
    this.pool = new Uint16Array(Math.max(64, expected * 8));
    this.offsets = new Int32Array(Math.max(16, expected + 1));
  }

  /** A table of `terms`, with ids in their order; repeated terms are an INVALID_ARGUMENT. */
  static from(terms: readonly string[]): TermTable {
    const table = new TermTable(terms.length);
    for (let i = 0; i < terms.length; i++) {
      const term = terms[i];
      const id = table.intern(term, 0, term.length);
      if (id !== i) throw new AimassError('INVALID_ARGUMENT', `term ${JSON.stringify(term)} appears twice (at ${id} and ${i}); terms must be unique`);
    }
    return table;
  }

  get size(): number {
    return this.count;
  }

  /** The id of `text[start, end)`, or -1. `hash` must be `hashSpan(text, start, end)` when given. */
  find(text: string, start: number, end: number, hash = hashSpan(text, start, end)): number {
    const slots = this.slots;
    const length = end - start;
    let i = hash & this.mask;
    for (;;) {
      const id = slots[2 * i + 1];
      if (id < 0) return -1;
      if (slots[2 * i] === hash && this.equals(id, text, start, length)) return id;
      i = (i + 1) & this.mask;
    }
  }

  /** The id of `text[start, end)`, adding it if new. */
  intern(text: string, start: number, end: number, hash = hashSpan(text, start, end)): number {
    const slots = this.slots;
    const length = end - start;
    let i = hash & this.mask;
    for (;;) {
      const id = slots[2 * i + 1];
      if (id < 0) break;
      if (slots[2 * i] === hash && this.equals(id, text, start, length)) return id;
      i = (i + 1) & this.mask;
    }
    const id = this.count++;
    if (id + 2 > this.offsets.length) this.offsets = growInt32(this.offsets, id + 2);
    if (this.poolLength + length > this.pool.length) {
      const pool = new Uint16Array(Math.max(this.pool.length * 2, this.poolLength + length));
      pool.set(this.pool.subarray(0, this.poolLength));
      this.pool = pool;
    }
    const pool = this.pool;
    const at = this.poolLength;
    for (let k = 0; k < length; k++) pool[at + k] = text.charCodeAt(start + k);
    this.offsets[id] = at;
    this.poolLength = at + length;
    this.offsets[id + 1] = this.poolLength;
    slots[2 * i] = hash;
    slots[2 * i + 1] = id;
    if (this.count * 2 > this.mask + 1) this.rehash();
    return id;
  }

  /** Term `id` as a string. */
  term(id: number): string {
    const start = this.offsets[id];
    const end = this.offsets[id + 1];
    if (end - start <= DECODE_CHUNK) return String.fromCharCode.apply(null, this.pool.subarray(start, end) as unknown as number[]);
    let out = '';
    for (let s = start; s < end; s += DECODE_CHUNK) {
      out += String.fromCharCode.apply(null, this.pool.subarray(s, Math.min(end, s + DECODE_CHUNK)) as unknown as number[]);
    }
    return out;
  }

  /** Number of UTF-16 code units of term `id`. */
  termLength(id: number): number {
    return this.offsets[id + 1] - this.offsets[id];
  }

  /** Orders two terms by UTF-16 code units, as `<` orders JS strings. */
  compare(a: number, b: number): number {
    const pool = this.pool;
    const aStart = this.offsets[a];
    const aLength = this.offsets[a + 1] - aStart;
    const bStart = this.offsets[b];
    const bLength = this.offsets[b + 1] - bStart;
    const n = Math.min(aLength, bLength);
    for (let k = 0; k < n; k++) {
      const d = pool[aStart + k] - pool[bStart + k];
      if (d !== 0) return d;
    }
    return aLength - bLength;
  }

  private equals(id: number, text: string, start: number, length: number): boolean {
    const at = this.offsets[id];
    if (this.offsets[id + 1] - at !== length) return false;
    const pool = this.pool;
    for (let k = 0; k < length; k++) if (pool[at + k] !== text.charCodeAt(start + k)) return false;
    return true;
  }

  private rehash(): void {
    const old = this.slots;
    const capacity = (this.mask + 1) * 2;
    const slots = new Int32Array(capacity * 2).fill(-1);
    const mask = capacity - 1;
    for (let i = 0; i < old.length; i += 2) {
      const id = old[i + 1];
      if (id < 0) continue;
      let j = old[i] & mask;
      while (slots[2 * j + 1] >= 0) j = (j + 1) & mask;
      slots[2 * j] = old[i];
      slots[2 * j + 1] = id;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

export function growInt32(a: Int32Array, atLeast: number): Int32Array<ArrayBuffer> {
  const out = new Int32Array(Math.max(atLeast, a.length * 2));
  out.set(a);
  return out;
}
