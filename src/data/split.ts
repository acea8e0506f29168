/**
 * Splits of a data set into train / validation / test, and k folds, as lists of row indices (ascending within
 * each part), so any table, file or in-memory `Dataset` can be cut the same way. Every split is seeded and
 * deterministic: the same input and seed give the same indices on every machine.
 *
 * - random: shuffle, then the first share to test, the next to validation, the rest to train;
 * - stratified: the same within each class, so each part keeps the class proportions;
 * - group: whole groups are shuffled and dealt, so no group is in two parts (a user's rows, a patient's scans);
 * - time: train before validation before test — rows sorted by time, and rows with equal times never straddle
 *   a boundary; or explicit cutoffs;
 * - k-fold and stratified k-fold.
 *
 * Rows whose class, group or time is missing (null) cannot be placed and come back in `excluded`.
 */
import { AimassError, Rng } from '../core/index.js';
import type { Cell } from './table.js';

export interface SplitIndices {
  train: number[];
  val: number[];
  test: number[];
  /** Rows that could not be placed (missing class, group or time). */
  excluded: number[];
}

export interface SplitFractions {
  /** Share of rows for test (default 0.2). */
  test?: number;
  /** Share of rows for validation (default 0). */
  val?: number;
  seed?: number;
}

function fractions(o: SplitFractions): { test: number; val: number } {
  const test = o.test ?? 0.2;
  const val = o.val ?? 0;
  const ok = (x: number) => Number.isFinite(x) && x >= 0 && x < 1;
  if (!ok(test) || !ok(val) || test + val >= 1) {
    throw new AimassError('INVALID_ARGUMENT', `test (${test}) and validation (${val}) shares must be at least 0 and add up to less than 1, leaving rows to train on`);
  }
  return { test, val };
}

const ascending = (a: number, b: number) => a - b;

function finish(s: { train: number[]; val: number[]; test: number[]; excluded?: number[] }): SplitIndices {
  return { train: s.train.sort(ascending), val: s.val.sort(ascending), test: s.test.sort(ascending), excluded: (s.excluded ?? []).sort(ascending) };
}

/** dst.push(...src) without the argument-count limit of spreading a large array. */
function append(dst: number[], src: readonly number[], from = 0, to = src.length): void {
  for (let i = from; i < to; i++) dst.push(src[i]);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Deals shuffled indices: round(n·test) to test, round(n·val) to val, the rest to train. */
function deal(idx: number[], test: number, val: number, into: { train: number[]; val: number[]; test: number[] }): void {
  const nTest = Math.round(idx.length * test);
  const nVal = Math.min(idx.length - nTest, Math.round(idx.length * val));
  append(into.test, idx, 0, nTest);
  append(into.val, idx, nTest, nTest + nVal);
  append(into.train, idx, nTest + nVal);
}

export function randomSplit(n: number, o: SplitFractions = {}): SplitIndices {
  const { test, val } = fractions(o);
  const out = { train: [] as number[], val: [] as number[], test: [] as number[] };
  deal(new Rng(o.seed ?? 0).shuffle(range(n)), test, val, out);
  return finish(out);
}

/** Row indices by key (String of the cell), keys in sorted order so that results do not depend on row order; nulls apart. */
function byKey(keys: ArrayLike<Cell>): { groups: [string, number[]][]; nulls: number[] } {
  const map = new Map<string, number[]>();
  const nulls: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k === null || k === undefined) {
      nulls.push(i);
      continue;
    }
    const s = typeof k === 'string' ? `s${k}` : `${typeof k}${String(k)}`;
    let list = map.get(s);
    if (!list) map.set(s, (list = []));
    list.push(i);
  }
  const groups = [...map].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { groups, nulls };
}

/** Per class, the same shares as `randomSplit`; `labels[i]` is row i's class. */
export function stratifiedSplit(labels: ArrayLike<Cell>, o: SplitFractions = {}): SplitIndices {
  const { test, val } = fractions(o);
  const rng = new Rng(o.seed ?? 0);
  const { groups, nulls } = byKey(labels);
  const out = { train: [] as number[], val: [] as number[], test: [] as number[], excluded: nulls };
  for (const [, idx] of groups) deal(rng.shuffle(idx.slice()), test, val, out);
  return finish(out);
}

/**
 * Whole groups to each part: groups in seeded random order go to test until it holds its share of rows, then to
 * validation, then the rest to train. A part can overshoot its share by at most one group.
 */
export function groupSplit(groups: ArrayLike<Cell>, o: SplitFractions = {}): SplitIndices {
  const { test, val } = fractions(o);
  const { groups: all, nulls } = byKey(groups);
  const order = new Rng(o.seed ?? 0).shuffle(all.slice());
  const placed = groups.length - nulls.length;
  const wantTest = Math.round(placed * test);
  const wantVal = Math.round(placed * val);
  const out = { train: [] as number[], val: [] as number[], test: [] as number[], excluded: nulls };
  for (const [, idx] of order) {
    append(out.test.length < wantTest ? out.test : out.val.length < wantVal ? out.val : out.train, idx);
  }
  return finish(out);
}

export interface TimeCutoffs {
  /** Rows at or after this time (and before `testFrom`) are validation. */
  valFrom?: number;
  /** Rows at or after this time are test; earlier rows train. */
  testFrom: number;
}

/**
 * Train before validation before test, by `times[i]` (epoch ms or any number). With shares, the boundaries are
 * the times at those shares of the sorted rows, moved so that rows with equal times land in the same (later)
 * part; with cutoffs, they are given. Rows without a time are excluded.
 */
export function timeSplit(times: ArrayLike<number | null>, o: SplitFractions | TimeCutoffs = {}): SplitIndices {
  const placed: number[] = [];
  const excluded: number[] = [];
  for (let i = 0; i < times.length; i++) (typeof times[i] === 'number' && Number.isFinite(times[i]) ? placed : excluded).push(i);
  let cut: { valFrom: number; testFrom: number };
  if ('testFrom' in o) {
    const valFrom = o.valFrom ?? o.testFrom;
    if (valFrom > o.testFrom) throw new AimassError('INVALID_ARGUMENT', 'the validation cutoff must not be after the test cutoff');
    cut = { valFrom, testFrom: o.testFrom };
  } else {
    const { test, val } = fractions(o);
    const sorted = placed.map((i) => times[i] as number).sort(ascending);
    const n = sorted.length;
    const at = (k: number) => (k >= n ? Infinity : sorted[k]);
    const testFrom = at(n - Math.round(n * test));
    const valFrom = at(n - Math.round(n * test) - Math.round(n * val));
    cut = { valFrom: Math.min(valFrom, testFrom), testFrom };
  }
  const out = { train: [] as number[], val: [] as number[], test: [] as number[], excluded };
  for (const i of placed) {
    const t = times[i] as number;
    (t >= cut.testFrom ? out.test : t >= cut.valFrom ? out.val : out.train).push(i);
  }
  return finish(out);
}

export interface Fold {
  train: number[];
  test: number[];
}

function checkK(k: number, n: number): void {
  if (!Number.isInteger(k) || k < 2) throw new AimassError('INVALID_ARGUMENT', `k-fold needs a whole number k of at least 2, got ${k}`);
  if (k > n) throw new AimassError('INVALID_ARGUMENT', `cannot make ${k} folds from ${n} rows`);
}

function foldsFrom(assignment: Int32Array, k: number, skip?: Set<number>): Fold[] {
  const folds: Fold[] = Array.from({ length: k }, () => ({ train: [], test: [] }));
  for (let i = 0; i < assignment.length; i++) {
    if (skip?.has(i)) continue;
    for (let f = 0; f < k; f++) (assignment[i] === f ? folds[f].test : folds[f].train).push(i);
  }
  return folds;
}

/** k folds of seeded shuffled rows; fold sizes differ by at most one; each row is in exactly one test part. */
export function kFold(n: number, k: number, seed = 0): Fold[] {
  checkK(k, n);
  const order = new Rng(seed).shuffle(range(n));
  const assignment = new Int32Array(n);
  order.forEach((i, p) => (assignment[i] = p % k));
  return foldsFrom(assignment, k);
}

/**
 * k folds that keep class proportions: each class's shuffled rows are dealt round-robin, continuing from where
 * the previous class stopped, so fold sizes also differ by at most one. Rows with a missing class are in no fold.
 */
export function stratifiedKFold(labels: ArrayLike<Cell>, k: number, seed = 0): Fold[] {
  const { groups, nulls } = byKey(labels);
  checkK(k, labels.length - nulls.length);
  const rng = new Rng(seed);
  const assignment = new Int32Array(labels.length).fill(-1);
  let p = 0;
  for (const [, idx] of groups) for (const i of rng.shuffle(idx.slice())) assignment[i] = p++ % k;
  return foldsFrom(assignment, k, new Set(nulls));
}
