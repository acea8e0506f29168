// Tokenizers, configured by plain JSON options (saved verbatim in pipeline.json). One `Tokenizer` covers:
//   - words: runs of letters and numbers (Unicode \p{L} \p{N}, with combining marks \p{Mn} \p{Mc} inside a word),
//     after NFKC normalization and lowercasing; optional stop words and minimum length; optional word n-grams;
//   - CJK: runs of Han / Hiragana / Katakana / Hangul letters give one token per character plus the bigrams of
//     adjacent characters (Chinese and Japanese do not separate words by spaces), next to Latin words in the
//     same text, which follow the word rule;
//   - character n-grams over the whole text, or within each whitespace-separated word padded with spaces.
// Tokens are reported as spans of the prepared text (`forEachToken`), so counting them allocates no strings.
// Imports core only.
import { z } from 'zod';
import { AimassError, parseWith } from '../core/index.js';
import { ENGLISH_STOP_WORDS } from './stop-words.js';
import { HASH_START, TermTable, hashFinish, hashSpan, hashStep } from './term-table.js';

const ngramRange = (maxN: number) =>
  z
    .tuple([z.number().int().min(1).max(maxN), z.number().int().min(1).max(maxN)])
    .refine(([min, max]) => min <= max, 'the smallest n (first number) must not exceed the largest (second number)');

const CommonShape = {
  /** Unicode normalization before anything else; NFKC also folds full-width forms, ligatures and the like. */
  normalize: z.enum(['NFKC', 'NFC', 'none']).default('NFKC'),
  /** Locale-independent lowercasing (String#toLowerCase, the same as toLocaleLowerCase('und')). */
  lowercase: z.boolean().default(true),
};

export const WordTokenizerOptionsSchema = z
  .object({
    analyzer: z.literal('word'),
    ...CommonShape,
    /** Words dropped before n-grams are built; compared after normalization and lowercasing. */
    stopWords: z
      .custom<'english' | 'none' | string[]>((v) => v === 'english' || v === 'none' || (Array.isArray(v) && v.every((w) => typeof w === 'string' && w.length > 0)), {
        message: 'expected "english", "none" or a list of non-empty words',
      })
      .default('none'),
    /** Shortest word kept, in code points; CJK characters are always kept. */
    minTokenLength: z.number().int().min(1).max(1000).default(1),
    /**
     * CJK runs: 'chars+bigrams' (each character and each adjacent pair), 'chars', 'bigrams' (a one-character run
     * still gives its character), or 'as-words' (a run is one token, like a word).
     */
    cjk: z.enum(['chars+bigrams', 'chars', 'bigrams', 'as-words']).default('chars+bigrams'),
    /** Word n-grams [min n, max n] over the kept words and CJK characters, joined by one space. */
    ngramRange: ngramRange(8).default([1, 1]),
  })
  .strict();

export const CharTokenizerOptionsSchema = z
  .object({
    analyzer: z.literal('char'),
    ...CommonShape,
    /** Character n-grams [min n, max n], counted in code points. */
    ngramRange: ngramRange(32).default([2, 4]),
    /**
     * false: n-grams over the whole text with whitespace runs collapsed to one space. true: within each
     * whitespace-separated word padded with one space on each side; a word shorter than min n gives itself.
     */
    withinWords: z.boolean().default(false),
  })
  .strict();

export const TokenizerOptionsSchema = z.preprocess(
  (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) && !('analyzer' in v) ? { ...v, analyzer: 'word' } : v),
  z.discriminatedUnion('analyzer', [WordTokenizerOptionsSchema, CharTokenizerOptionsSchema]),
);

export type WordTokenizerOptions = z.output<typeof WordTokenizerOptionsSchema>;
export type CharTokenizerOptions = z.output<typeof CharTokenizerOptionsSchema>;
/** Fully resolved options (every default filled in), as saved. */
export type TokenizerOptions = WordTokenizerOptions | CharTokenizerOptions;
/** What callers write: any field may be left out; `analyzer` defaults to 'word'. */
export type TokenizerOptionsInput =
  | (Omit<z.input<typeof WordTokenizerOptionsSchema>, 'analyzer'> & { analyzer?: 'word' })
  | z.input<typeof CharTokenizerOptionsSchema>;

/**
 * Receives one token: `text.slice(start, end)`, where `text` is the prepared document or a built n-gram string.
 * `hash` is `hashSpan(text, start, end)`, computed during the scan so that counting needs no second pass.
 */
export type TokenSink = (text: string, start: number, end: number, hash: number) => void;

// Character classes. The BMP table is derived from the Unicode property escapes once, at first use; the scan
// then costs one array read per character (a /[\p{L}\p{N}]+/gu exec loop was 3x slower on the email corpus).
const SEP = 0;
const WORD = 1;
/** Combining marks: continue a word, never start one. Variation selectors are not marks here (emoji use them). */
const MARK = 2;
const CJK = 3;

const WORD_CHAR = /^[\p{L}\p{N}]$/u;
const MARK_CHAR = /^[\p{Mn}\p{Mc}]$/u;
const VARIATION_SELECTOR = /^\p{Variation_Selector}$/u;
// scx, not sc, so that the prolonged sound mark ー (script Common, used by Hiragana and Katakana) joins its run
const CJK_CHAR = /^[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}\p{scx=Hangul}]$/u;

function classify(cp: number): number {
  const s = String.fromCodePoint(cp);
  if (WORD_CHAR.test(s)) return CJK_CHAR.test(s) ? CJK : WORD;
  return MARK_CHAR.test(s) && !VARIATION_SELECTOR.test(s) ? MARK : SEP;
}

let bmpClasses: Uint8Array | undefined;
const astralClasses = new Map<number, number>();

function bmpTable(): Uint8Array {
  if (bmpClasses) return bmpClasses;
  const table = new Uint8Array(0x10000);
  for (let c = 0; c < 0x10000; c++) if (c < 0xd800 || c > 0xdfff) table[c] = classify(c);
  bmpClasses = table;
  return table;
}

function astralClass(cp: number): number {
  let k = astralClasses.get(cp);
  if (k === undefined) {
    k = classify(cp);
    astralClasses.set(cp, k);
  }
  return k;
}

/**
 * The class of the character at `i` in the low 2 bits and its width in code units (1 or 2) from bit 2 up.
 * A lone surrogate is a separator.
 */
function classAt(table: Uint8Array, text: string, i: number, n: number): number {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdfff) return table[c] | 4;
  if (c < 0xdc00 && i + 1 < n) {
    const low = text.charCodeAt(i + 1);
    if (low >= 0xdc00 && low <= 0xdfff) return astralClass(((c - 0xd800) << 10) + (low - 0xdc00) + 0x10000) | 8;
  }
  return SEP | 4;
}

function codePointLength(text: string, start: number, end: number): number {
  let n = end - start;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > start) {
      const high = text.charCodeAt(i - 1);
      if (high >= 0xd800 && high < 0xdc00) n--;
    }
  }
  return n;
}

const WHITESPACE_RUN = /\s+/g;
const NON_WHITESPACE_RUN = /\S+/g;
const HAS_SURROGATE = /[\ud800-\udfff]/;

/** The last `maxN` units (words, CJK characters); emits the n-grams ending at each new unit. */
class NgramWindow {
  private readonly units: string[] = [];
  constructor(
    private readonly minN: number,
    private readonly maxN: number,
    private readonly sink: TokenSink,
  ) {}

  push(unit: string): void {
    const units = this.units;
    units.push(unit);
    if (units.length > this.maxN) units.shift();
    let gram = unit;
    // grow the gram leftwards: n = 2, 3, … up to maxN, emitting those in range
    for (let n = 2; n <= units.length; n++) {
      gram = `${units[units.length - n]} ${gram}`;
      if (n >= this.minN) this.sink(gram, 0, gram.length, hashSpan(gram, 0, gram.length));
    }
  }
}

export class Tokenizer {
  readonly options: TokenizerOptions;
  private readonly stopTable: TermTable | null = null;
  private readonly longestStopWord: number = 0;

  /** Validates `options` (INVALID_SPEC listing every problem) and fills in the defaults. */
  constructor(options: TokenizerOptionsInput = {}) {
    this.options = parseWith(TokenizerOptionsSchema, options, 'tokenizer options', 'tokenizer');
    const o = this.options;
    if (o.analyzer === 'word' && o.stopWords !== 'none') {
      const words = o.stopWords === 'english' ? ENGLISH_STOP_WORDS : o.stopWords;
      const table = new TermTable(words.length);
      for (const w of words) {
        // prepared like the text, so a list written in any case or width matches
        const prepared = this.prepare(w);
        table.intern(prepared, 0, prepared.length);
        this.longestStopWord = Math.max(this.longestStopWord, prepared.length);
      }
      this.stopTable = table;
    }
  }

  /** Normalization and lowercasing, as applied before tokens are found. */
  prepare(text: string): string {
    const o = this.options;
    let out = o.normalize === 'none' ? text : text.normalize(o.normalize);
    if (o.lowercase) out = out.toLowerCase();
    return out;
  }

  /** Calls `sink` for each token of `text`, in the order the tokens end in the text. */
  forEachToken(text: string, sink: TokenSink): void {
    if (typeof text !== 'string') {
      throw new AimassError('INVALID_ARGUMENT', `a tokenizer takes a string, got ${text === null ? 'null' : typeof text}`);
    }
    const prepared = this.prepare(text);
    if (this.options.analyzer === 'char') this.charTokens(this.options, prepared, sink);
    else this.wordTokens(this.options, prepared, sink);
  }

  /** The tokens of `text` as strings. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    this.forEachToken(text, (t, start, end) => {
      out.push(start === 0 && end === t.length ? t : t.slice(start, end));
    });
    return out;
  }

  toJSON(): TokenizerOptions {
    return structuredClone(this.options);
  }

  private isStopWord(text: string, start: number, end: number, hash: number): boolean {
    const stop = this.stopTable;
    return stop !== null && end - start <= this.longestStopWord && stop.find(text, start, end, hash) >= 0;
  }

  private wordTokens(o: WordTokenizerOptions, doc: string, sink: TokenSink): void {
    const table = bmpTable();
    const cjkAsWords = o.cjk === 'as-words';
    const cjkChars = o.cjk === 'chars+bigrams' || o.cjk === 'chars';
    const cjkBigrams = o.cjk === 'chars+bigrams' || o.cjk === 'bigrams';
    const [minN, maxN] = o.ngramRange;
    const unigrams = minN === 1;
    const window = maxN >= 2 ? new NgramWindow(minN, maxN, sink) : null;
    const minLength = o.minTokenLength;
    const n = doc.length;
    let i = 0;
    while (i < n) {
      const first = doc.charCodeAt(i);
      // BMP characters (nearly all) are classified inline; surrogate pairs go through classAt
      const at = first < 0xd800 || first > 0xdfff ? table[first] | 4 : classAt(table, doc, i, n);
      let kind = at & 3;
      if (kind === SEP || kind === MARK) {
        i += at >> 2;
        continue;
      }
      if (kind === CJK && cjkAsWords) kind = WORD;
      if (kind === WORD) {
        const start = i;
        let h = hashStep(HASH_START, first);
        if (at >> 2 === 2) h = hashStep(h, doc.charCodeAt(i + 1));
        i += at >> 2;
        while (i < n) {
          const c = doc.charCodeAt(i);
          if (c < 0xd800 || c > 0xdfff) {
            // the common case, inline: one table read per BMP character
            const k = table[c];
            if (k !== WORD && k !== MARK && !(k === CJK && cjkAsWords)) break;
            h = hashStep(h, c);
            i++;
          } else {
            const next = classAt(table, doc, i, n);
            const k = next & 3;
            if (k !== WORD && k !== MARK && !(k === CJK && cjkAsWords)) break;
            h = hashStep(h, c);
            if (next >> 2 === 2) h = hashStep(h, doc.charCodeAt(i + 1));
            i += next >> 2;
          }
        }
        if (minLength > 1 && i - start < 2 * minLength && codePointLength(doc, start, i) < minLength) continue;
        const hash = hashFinish(h);
        if (this.stopTable !== null && this.isStopWord(doc, start, i, hash)) continue;
        if (unigrams) sink(doc, start, i, hash);
        if (window) window.push(doc.slice(start, i));
      } else {
        let previous = -1;
        let runLength = 0;
        let width = at >> 2;
        for (;;) {
          const start = i;
          i += width;
          runLength++;
          const hash = hashSpan(doc, start, i);
          const stop = this.stopTable !== null && this.isStopWord(doc, start, i, hash);
          if (cjkChars && unigrams && !stop) sink(doc, start, i, hash);
          if (cjkBigrams && previous >= 0) sink(doc, previous, i, hashSpan(doc, previous, i));
          if (window && !stop) window.push(doc.slice(start, i));
          previous = start;
          if (i >= n) break;
          const next = classAt(table, doc, i, n);
          if ((next & 3) !== CJK) break;
          width = next >> 2;
        }
        // bigrams only: a lone character has no pair, so it stands for itself
        if (runLength === 1 && !cjkChars && unigrams) {
          const hash = hashSpan(doc, previous, i);
          if (!this.isStopWord(doc, previous, i, hash)) sink(doc, previous, i, hash);
        }
      }
    }
  }

  private charTokens(o: CharTokenizerOptions, doc: string, sink: TokenSink): void {
    const [minN, maxN] = o.ngramRange;
    if (!o.withinWords) {
      charNgrams(doc.replace(WHITESPACE_RUN, ' '), minN, maxN, sink);
      return;
    }
    NON_WHITESPACE_RUN.lastIndex = 0;
    for (let m = NON_WHITESPACE_RUN.exec(doc); m !== null; m = NON_WHITESPACE_RUN.exec(doc)) {
      const padded = ` ${m[0]} `;
      if (codePointLength(padded, 0, padded.length) < minN) sink(padded, 0, padded.length, hashSpan(padded, 0, padded.length));
      else charNgrams(padded, minN, maxN, sink);
    }
  }
}

/** Every n-gram of code points with minN <= n <= maxN, by end position, shorter first at the same end. */
function charNgrams(text: string, minN: number, maxN: number, sink: TokenSink): void {
  if (!HAS_SURROGATE.test(text)) {
    for (let end = minN; end <= text.length; end++) {
      for (let len = minN; len <= maxN && len <= end; len++) sink(text, end - len, end, hashSpan(text, end - len, end));
    }
    return;
  }
  // starts of the code points, and the text's end
  const bounds: number[] = [];
  for (let i = 0; i < text.length; ) {
    bounds.push(i);
    const c = text.charCodeAt(i);
    const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    i += c >= 0xd800 && c < 0xdc00 && low >= 0xdc00 && low <= 0xdfff ? 2 : 1;
  }
  bounds.push(text.length);
  const count = bounds.length - 1;
  for (let end = minN; end <= count; end++) {
    for (let len = minN; len <= maxN && len <= end; len++) sink(text, bounds[end - len], bounds[end], hashSpan(text, bounds[end - len], bounds[end]));
  }
}
