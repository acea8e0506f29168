// The hashing vectorizer: token → column by a 32-bit MurmurHash3 (x86 variant, seed 0) of the token's UTF-8
// bytes, so there is no vocabulary to fit or save and any text maps into a fixed width. As in scikit-learn's
// HashingVectorizer, the column is |h| mod nFeatures of the signed hash h; with `alternateSign` a token adds -1
// instead of +1 when h < 0, so colliding tokens tend to cancel rather than pile up. Rows are then l2 (or l1)
// normalized. Imports core only.
import { z } from 'zod';
import { parseWith } from '../core/index.js';
import type { CsrMatrix } from './sparse.js';
import { assertDocuments, RowWriter } from './tfidf.js';
import { Tokenizer, type TokenizerOptionsInput } from './tokenize.js';
import { growInt32 } from './term-table.js';

/** MurmurHash3_x86_32 of the UTF-8 encoding of `text[start, end)` (lone surrogates encode as U+FFFD), signed. */
export function murmur3Utf8(text: string, start = 0, end = text.length, seed = 0): number {
  let h = seed | 0;
  let block = 0;
  let filled = 0;
  let length = 0;
  const take = (byte: number): void => {
    block |= byte << (filled * 8);
    length++;
    if (++filled === 4) {
      h ^= scramble(block);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
      block = 0;
      filled = 0;
    }
  };
  for (let i = start; i < end; i++) {
    let cp = text.charCodeAt(i);
    if (cp >= 0xd800 && cp <= 0xdfff) {
      const low = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (cp < 0xdc00 && low >= 0xdc00 && low <= 0xdfff) {
        cp = ((cp - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
        i++;
      } else cp = 0xfffd;
    }
    if (cp < 0x80) take(cp);
    else if (cp < 0x800) {
      take(0xc0 | (cp >> 6));
      take(0x80 | (cp & 63));
    } else if (cp < 0x10000) {
      take(0xe0 | (cp >> 12));
      take(0x80 | ((cp >> 6) & 63));
      take(0x80 | (cp & 63));
    } else {
      take(0xf0 | (cp >> 18));
      take(0x80 | ((cp >> 12) & 63));
      take(0x80 | ((cp >> 6) & 63));
      take(0x80 | (cp & 63));
    }
  }
  if (filled > 0) h ^= scramble(block);
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

export const HashingOptionsSchema = z
  .object({
    /** Output width. Transforming keeps 9 bytes of scratch per column (a float64 sum and a flag), hence the cap. */
    nFeatures: z
      .number()
      .int()
      .min(1)
      .max(1 << 24)
      .default(1 << 20),
    alternateSign: z.boolean().default(true),
    /** Each nonzero column becomes ±1 (its sign) instead of the signed token count. */
    binary: z.boolean().default(false),
    norm: z.enum(['l2', 'l1', 'none']).default('l2'),
  })
  .strict();

export type HashingOptions = z.output<typeof HashingOptionsSchema>;
export type HashingOptionsInput = z.input<typeof HashingOptionsSchema>;

export interface HashingVectorizerJSON {
  type: 'hashing';
  options: HashingOptions;
}

export const HashingVectorizerJSONSchema = z.object({ type: z.literal('hashing'), options: HashingOptionsSchema }).strict();

export class HashingVectorizer {
  readonly tokenizer: Tokenizer;
  readonly options: HashingOptions;
  private scratch: { acc: Float64Array; seen: Uint8Array } | null = null;

  constructor(tokenizer: Tokenizer | TokenizerOptionsInput = {}, options: HashingOptionsInput = {}) {
    this.tokenizer = tokenizer instanceof Tokenizer ? tokenizer : new Tokenizer(tokenizer);
    this.options = parseWith(HashingOptionsSchema, options, 'hashing vectorizer options', 'vectorizer');
  }

  get width(): number {
    return this.options.nFeatures;
  }

  /** The column and sign a token lands on. */
  place(token: string): { column: number; sign: 1 | -1 } {
    const h = murmur3Utf8(token);
    return { column: Math.abs(h) % this.options.nFeatures, sign: h < 0 && this.options.alternateSign ? -1 : 1 };
  }

  /** Stateless: the vectors of `docs`. */
  transform(docs: readonly string[]): CsrMatrix {
    assertDocuments(docs);
    const { nFeatures, alternateSign, binary, norm } = this.options;
    // one float64 accumulator and seen-flag per column, reused across rows and calls (only touched entries are reset)
    const scratch = this.scratch ?? (this.scratch = { acc: new Float64Array(nFeatures), seen: new Uint8Array(nFeatures) });
    const { acc, seen } = scratch;
    let columns = new Int32Array(256);
    let n = 0;
    const sink = (text: string, start: number, end: number): void => {
      const h = murmur3Utf8(text, start, end);
      const col = Math.abs(h) % nFeatures;
      if (seen[col] === 0) {
        seen[col] = 1;
        if (n === columns.length) columns = growInt32(columns, n + 1);
        columns[n++] = col;
      }
      acc[col] += alternateSign && h < 0 ? -1 : 1;
    };
    const out = new RowWriter(docs.length, docs.length * 32);
    for (let d = 0; d < docs.length; d++) {
      n = 0;
      this.tokenizer.forEachToken(docs[d], sink);
      const row = columns.subarray(0, n).sort();
      let total = 0;
      for (let k = 0; k < n; k++) {
        let v = acc[row[k]];
        if (binary) v = Math.sign(v);
        acc[row[k]] = v;
        total += norm === 'l2' ? v * v : Math.abs(v);
      }
      const divisor = norm === 'none' || total === 0 ? 1 : norm === 'l2' ? Math.sqrt(total) : total;
      out.reserve(n);
      for (let k = 0; k < n; k++) {
        const col = row[k];
        const v = acc[col];
        acc[col] = 0;
        seen[col] = 0;
        // tokens that cancelled out leave no explicit zero behind
        if (v === 0) continue;
        out.indices[out.nnz] = col;
        out.values[out.nnz] = v / divisor;
        out.nnz++;
      }
      out.endRow();
    }
    return out.build(nFeatures);
  }

  toJSON(): HashingVectorizerJSON {
    return { type: 'hashing', options: structuredClone(this.options) };
  }

  static fromJSON(obj: unknown, tokenizer: Tokenizer): HashingVectorizer {
    const state = parseWith(HashingVectorizerJSONSchema, obj, 'saved hashing vectorizer', 'vectorizer');
    return new HashingVectorizer(tokenizer, state.options);
  }
}
