// Pareto helpers against brute force on random points, and crowding distance on a hand-made front.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../core/index.js';
import { crowdingDistance, dominates, nonDominatedSort, paretoFront, paretoFrontOf } from './index.js';

test('the front is exactly the points nobody dominates; fronts peel off in order', () => {
  const rng = new Rng(9);
  for (let round = 0; round < 20; round++) {
    const pts = Array.from({ length: 40 }, () => [rng.int(8), rng.int(8), rng.int(8)]);
    const brute = pts.map((p, i) => i).filter((i) => !pts.some((q) => dominates(q, pts[i])));
    assert.deepEqual(paretoFront(pts), brute);
    const fronts = nonDominatedSort(pts);
    assert.equal(fronts.flat().length, pts.length);
    for (let r = 1; r < fronts.length; r++) {
      for (const i of fronts[r]) {
        assert.ok(fronts[r - 1].some((j) => dominates(pts[j], pts[i])), 'each later point is dominated by the front before');
        assert.ok(!fronts[r].some((j) => dominates(pts[j], pts[i])), 'no point dominates another of its own front');
      }
    }
  }
  assert.equal(dominates([1, 2], [1, 2]), false, 'equal points do not dominate each other');
  assert.deepEqual(paretoFrontOf([[1, 5], [2, 9], [3, 1]], ['minimize', 'maximize']), [0, 1]);
});

test('crowding distance: boundary points are infinite, inner ones sum normalized gaps', () => {
  const pts = [[0, 4], [1, 2], [2, 1], [4, 0]];
  const d = crowdingDistance(pts, [0, 1, 2, 3]);
  assert.equal(d[0], Infinity);
  assert.equal(d[3], Infinity);
  assert.ok(Math.abs(d[1] - (2 / 4 + 3 / 4)) < 1e-12);
  assert.ok(Math.abs(d[2] - (3 / 4 + 2 / 4)) < 1e-12);
});
