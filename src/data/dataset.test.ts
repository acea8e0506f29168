// Pins the in-memory dataset helpers: subsets keep the order asked for, validation splits are disjoint,
// complete and seeded, batch buffers copy exactly the rows named, and Growable grows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimassError } from '../core/index.js';
import { BatchBuffers, type Dataset, Growable, splitFraction, subset } from './index.js';

/** n samples of two inputs: float rows [i, 10i, 100i] and int64 token pairs [i, -i]; labels i (width 1). */
function numbered(n: number): Dataset {
  const x = new Float32Array(n * 3);
  const t = new BigInt64Array(n * 2);
  for (let i = 0; i < n; i++) {
    x.set([i, 10 * i, 100 * i], i * 3);
    t.set([BigInt(i), BigInt(-i)], i * 2);
  }
  return {
    n,
    inputs: [x, t],
    sampleShapes: [[3], [1, 2]],
    labels: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
    labelWidth: 1,
    classNames: ['a', 'b'],
    featureNames: ['f0', 'f1', 'f2'],
  };
}

/** Sample ids of a numbered dataset (or a subset of one), read from its float input. */
const ids = (d: Dataset) => Array.from({ length: d.n }, (_, i) => d.inputs[0][i * 3] as number);

test('subset takes the samples at the given indices, in that order, from every input and the labels', () => {
  const s = subset(numbered(6), [4, 1, 1, 5]);
  assert.equal(s.n, 4);
  assert.deepEqual(s.inputs[0], Float32Array.from([4, 40, 400, 1, 10, 100, 1, 10, 100, 5, 50, 500]));
  assert.deepEqual(s.inputs[1], BigInt64Array.from([4n, -4n, 1n, -1n, 1n, -1n, 5n, -5n]));
  assert.deepEqual(s.labels, BigInt64Array.from([4n, 1n, 1n, 5n]));
  assert.deepEqual(s.sampleShapes, [[3], [1, 2]]);
  assert.deepEqual(s.classNames, ['a', 'b']);
  assert.deepEqual(s.featureNames, ['f0', 'f1', 'f2']);
});

test('subset copies: changing it leaves the source alone', () => {
  const d = numbered(3);
  const s = subset(d, [0, 1]);
  (s.inputs[0] as Float32Array)[0] = 99;
  (s.labels as BigInt64Array)[1] = 99n;
  assert.equal(d.inputs[0][0], 0);
  assert.equal(d.labels[1], 1n);
});

test('subset handles multi-width labels', () => {
  const d: Dataset = { n: 3, inputs: [Float32Array.from([0, 1, 2])], sampleShapes: [[1]], labels: Float32Array.from([0, 0.5, 1, 1.5, 2, 2.5]), labelWidth: 2 };
  assert.deepEqual(subset(d, [2, 0]).labels, Float32Array.from([2, 2.5, 0, 0.5]));
});

test('splitFraction holds out round(n × fraction) samples, disjoint from training, together all of them', () => {
  for (const [n, fraction, nVal] of [
    [100, 0.2, 20],
    [10, 0.25, 3], // 2.5 rounds up
    [7, 0.01, 1], // never an empty validation set
    [3, 0.5, 2],
  ] as const) {
    const [train, val] = splitFraction(numbered(n), fraction, 1);
    assert.equal(val.n, nVal, `n=${n} fraction=${fraction}`);
    assert.equal(train.n, n - nVal);
    const all = [...ids(train), ...ids(val)].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: n }, (_, i) => i));
    // each part stays in file order, and labels travel with their samples
    assert.deepEqual(ids(val), [...ids(val)].sort((a, b) => a - b));
    assert.deepEqual(ids(train), [...ids(train)].sort((a, b) => a - b));
    assert.deepEqual(Array.from(train.labels, Number), ids(train));
  }
});

test('splitFraction is determined by the seed', () => {
  const d = numbered(200);
  const a = ids(splitFraction(d, 0.3, 7)[1]);
  assert.deepEqual(ids(splitFraction(d, 0.3, 7)[1]), a);
  assert.notDeepEqual(ids(splitFraction(d, 0.3, 8)[1]), a);
  // random, not the first or last rows
  assert.notDeepEqual(a, Array.from({ length: 60 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 60 }, (_, i) => 140 + i));
});

test('splitFraction rejects fractions outside (0, 1) and splits that leave no training data', () => {
  const d = numbered(10);
  for (const f of [0, 1, -0.1, 1.5, Number.NaN]) {
    assert.throws(() => splitFraction(d, f, 0), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT' && /between 0 and 1/.test(e.message), `fraction ${f}`);
  }
  assert.throws(() => splitFraction(d, 0.97, 0), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT' && /leaves no training data/.test(e.message));
  assert.throws(() => splitFraction(numbered(1), 0.5, 0), /leaves no training data/);
});

test('BatchBuffers fills float and int64 inputs and labels with the rows named from a position, reusing its arrays', () => {
  const d = numbered(8);
  const b = new BatchBuffers(d, 3);
  assert.ok(b.inputs[0] instanceof Float32Array && b.inputs[0].length === 9);
  assert.ok(b.inputs[1] instanceof BigInt64Array && b.inputs[1].length === 6);
  assert.ok(b.labels instanceof BigInt64Array && b.labels.length === 3);
  const order = [7, 2, 5, 0, 3, 6, 1, 4];
  const [x, t, y] = [b.inputs[0], b.inputs[1], b.labels];
  b.fill(order, 0);
  assert.deepEqual(b.inputs[0], Float32Array.from([7, 70, 700, 2, 20, 200, 5, 50, 500]));
  assert.deepEqual(b.inputs[1], BigInt64Array.from([7n, -7n, 2n, -2n, 5n, -5n]));
  assert.deepEqual(b.labels, BigInt64Array.from([7n, 2n, 5n]));
  b.fill(order, 5);
  assert.deepEqual(b.inputs[0], Float32Array.from([6, 60, 600, 1, 10, 100, 4, 40, 400]));
  assert.deepEqual(b.inputs[1], BigInt64Array.from([6n, -6n, 1n, -1n, 4n, -4n]));
  assert.deepEqual(b.labels, BigInt64Array.from([6n, 1n, 4n]));
  assert.ok(b.inputs[0] === x && b.inputs[1] === t && b.labels === y, 'a fill allocates no new buffers');
});

test('BatchBuffers copies multi-width float labels', () => {
  const d: Dataset = {
    n: 4,
    inputs: [Float32Array.from([0, 1, 2, 3])],
    sampleShapes: [[1]],
    labels: Float32Array.from([0, 0.1, 0.2, 1, 1.1, 1.2, 2, 2.1, 2.2, 3, 3.1, 3.2]),
    labelWidth: 3,
  };
  const b = new BatchBuffers(d, 2);
  b.fill([3, 1, 0, 2], 0);
  assert.deepEqual(b.inputs[0], Float32Array.from([3, 1]));
  assert.deepEqual(b.labels, Float32Array.from([3, 3.1, 3.2, 1, 1.1, 1.2]));
});

test('BatchBuffers refuses a batch that runs past the end of the order', () => {
  const b = new BatchBuffers(numbered(4), 3);
  assert.throws(() => b.fill([0, 1, 2, 3], 2), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT' && /from position 2 does not fit in 4/.test(e.message));
  assert.throws(() => b.fill([0, 1, 2, 3], -1), /does not fit/);
  b.fill([0, 1, 2, 3], 1);
  assert.deepEqual(b.labels, BigInt64Array.from([1n, 2n, 3n]));
});

test('Growable keeps every value across growth, from any initial size', () => {
  for (const initial of [0, 1, 3, 1 << 16]) {
    const g = new Growable(initial);
    for (let i = 0; i < 1000; i++) g.push(i * 0.5);
    assert.equal(g.length, 1000);
    const a = g.toArray();
    assert.equal(a.length, 1000);
    assert.ok(a.every((v, i) => v === i * 0.5), `initial ${initial}`);
  }
  assert.deepEqual(new Growable().toArray(), new Float32Array(0));
});
