// Pins the splits: every row in exactly one part (or excluded), shares as asked, determinism under a seed,
// class proportions kept by stratified splits, no group in two parts, time order, and k-fold coverage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/index.js';
import { type Fold, type SplitIndices, groupSplit, kFold, randomSplit, stratifiedKFold, stratifiedSplit, timeSplit } from './index.js';

function assertPartition(s: SplitIndices, n: number): void {
  const all = [...s.train, ...s.val, ...s.test, ...s.excluded].sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: n }, (_, i) => i), 'each row exactly once');
  for (const part of [s.train, s.val, s.test, s.excluded]) assert.deepEqual(part, [...part].sort((a, b) => a - b), 'ascending');
}

test('random: shares as asked, seeded and deterministic, different seeds differ', () => {
  const s = randomSplit(1000, { test: 0.2, val: 0.1, seed: 7 });
  assertPartition(s, 1000);
  assert.deepEqual([s.train.length, s.val.length, s.test.length], [700, 100, 200]);
  assert.deepEqual(randomSplit(1000, { test: 0.2, val: 0.1, seed: 7 }), s);
  assert.notDeepEqual(randomSplit(1000, { test: 0.2, val: 0.1, seed: 8 }).test, s.test);
  assert.throws(() => randomSplit(10, { test: 0.6, val: 0.4 }), /add up to less than 1/);
  assert.throws(() => randomSplit(10, { test: -0.1 }), /at least 0/);
});

test('stratified: each class keeps its proportions in every part; missing labels are excluded', () => {
  const rng = new Rng(3);
  const labels: (string | null)[] = Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? 'rare' : rng.next() < 0.7 ? 'a' : 'b'));
  labels[5] = null;
  const s = stratifiedSplit(labels, { test: 0.2, val: 0.1, seed: 1 });
  assertPartition(s, 1000);
  assert.deepEqual(s.excluded, [5]);
  const share = (idx: number[], c: string) => idx.filter((i) => labels[i] === c).length / idx.length;
  for (const c of ['a', 'b', 'rare']) {
    const overall = labels.filter((l) => l === c).length / 999;
    for (const part of [s.train, s.val, s.test]) assert.ok(Math.abs(share(part, c) - overall) < 0.02, `${c}: ${share(part, c)} vs ${overall}`);
  }
  assert.deepEqual(stratifiedSplit(labels, { test: 0.2, val: 0.1, seed: 1 }), s);
});

test('group: no group is in two parts, and the test share is close to asked', () => {
  const rng = new Rng(11);
  const groups = Array.from({ length: 2000 }, () => `user${rng.int(150)}`);
  const s = groupSplit(groups, { test: 0.25, val: 0.1, seed: 2 });
  assertPartition(s, 2000);
  const owner = new Map<string, string>();
  for (const part of ['train', 'val', 'test'] as const) {
    for (const i of s[part]) {
      const prev = owner.get(groups[i]);
      assert.ok(prev === undefined || prev === part, `group ${groups[i]} in ${prev} and ${part}`);
      owner.set(groups[i], part);
    }
  }
  assert.ok(Math.abs(s.test.length / 2000 - 0.25) < 0.03, `test share ${s.test.length / 2000}`);
  assert.deepEqual(groupSplit(groups, { test: 0.25, val: 0.1, seed: 2 }), s);
});

test('time: train before validation before test; equal times never straddle a boundary; explicit cutoffs', () => {
  const times = [50, 10, 40, 20, 30, 30, 30, 60, null, 70];
  const s = timeSplit(times, { test: 0.2, val: 0.2 });
  assertPartition(s, times.length);
  assert.deepEqual(s.excluded, [8]);
  const max = (idx: number[]) => Math.max(...idx.map((i) => times[i]!));
  const min = (idx: number[]) => Math.min(...idx.map((i) => times[i]!));
  assert.ok(max(s.train) < min(s.val) && max(s.val) < min(s.test));
  assert.deepEqual(s.test.map((i) => times[i]), [60, 70]);
  assert.deepEqual(
    s.val.map((i) => times[i]),
    [50, 40],
  );
  const c = timeSplit(times, { testFrom: 40, valFrom: 30 });
  assert.deepEqual(c.train.map((i) => times[i]).sort(), [10, 20]);
  assert.deepEqual(c.val.map((i) => times[i]), [30, 30, 30]);
  assert.throws(() => timeSplit(times, { testFrom: 10, valFrom: 20 }), /must not be after/);
});

function assertFolds(folds: Fold[], n: number, k: number): void {
  assert.equal(folds.length, k);
  const seen = new Array<number>(n).fill(0);
  for (const f of folds) {
    for (const i of f.test) seen[i]++;
    assert.equal(f.train.length + f.test.length, n);
    assert.equal(new Set([...f.train, ...f.test]).size, n);
  }
  assert.ok(seen.every((x) => x === 1), 'each row in exactly one test fold');
  const sizes = folds.map((f) => f.test.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
}

test('k-fold and stratified k-fold cover every row once; stratified folds keep class shares', () => {
  assertFolds(kFold(103, 5, 9), 103, 5);
  assert.deepEqual(kFold(103, 5, 9), kFold(103, 5, 9));
  const labels = Array.from({ length: 300 }, (_, i) => (i < 30 ? 'x' : i < 120 ? 'y' : 'z'));
  const folds = stratifiedKFold(labels, 5, 4);
  assertFolds(folds, 300, 5);
  for (const f of folds) assert.equal(f.test.filter((i) => labels[i] === 'x').length, 6);
  assert.throws(() => kFold(3, 5), /cannot make 5 folds from 3 rows/);
  assert.throws(() => kFold(10, 1), /at least 2/);
});

test('a large random split does not hit argument limits', () => {
  const s = stratifiedSplit(new Array(300_000).fill('one'), { test: 0.5 });
  assert.equal(s.test.length, 150_000);
});
