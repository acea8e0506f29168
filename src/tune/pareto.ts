/**
 * Pareto dominance over loss vectors (every objective turned into "lower is better"): the non-dominated front,
 * non-dominated sorting into ranks, and crowding distance — the pieces NSGA-II and `Study.bestTrials` use.
 *
 * Imports ./trial-record for directions.
 */
import { directionSign, type Direction } from './trial-record.js';

/** a dominates b: no worse in every objective and better in at least one (all minimized). */
export function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/** Indices of the points no other point dominates, ascending. Duplicated points are all kept. */
export function paretoFront(points: readonly (readonly number[])[]): number[] {
  return nonDominatedSort(points)[0] ?? [];
}

/** Turns values into losses for the given directions, then takes the front; convenience for raw results. */
export function paretoFrontOf(values: readonly (readonly number[])[], directions: readonly Direction[]): number[] {
  return paretoFront(values.map((v) => v.map((x, i) => directionSign(directions[i]) * x)));
}

/** Fronts of indices: front 0 is non-dominated, front 1 is non-dominated once front 0 is removed, and so on. */
export function nonDominatedSort(points: readonly (readonly number[])[]): number[][] {
  const n = points.length;
  const dominatedBy = new Int32Array(n); // how many points dominate i
  const dominatesList: number[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (dominates(points[i], points[j])) {
        dominatesList[i].push(j);
        dominatedBy[j]++;
      } else if (dominates(points[j], points[i])) {
        dominatesList[j].push(i);
        dominatedBy[i]++;
      }
    }
  }
  const fronts: number[][] = [];
  let current: number[] = [];
  for (let i = 0; i < n; i++) if (dominatedBy[i] === 0) current.push(i);
  while (current.length) {
    fronts.push(current);
    const next: number[] = [];
    for (const i of current) {
      for (const j of dominatesList[i]) if (--dominatedBy[j] === 0) next.push(j);
    }
    current = next.sort((a, b) => a - b);
  }
  return fronts;
}

/** Crowding distance of each member of one front (same order as `front`); boundary points get Infinity. */
export function crowdingDistance(points: readonly (readonly number[])[], front: readonly number[]): Float64Array {
  const dist = new Float64Array(front.length);
  if (front.length === 0) return dist;
  const m = points[front[0]].length;
  const order = front.map((_, k) => k);
  for (let o = 0; o < m; o++) {
    order.sort((a, b) => points[front[a]][o] - points[front[b]][o]);
    const lo = points[front[order[0]]][o];
    const hi = points[front[order[order.length - 1]]][o];
    dist[order[0]] = Infinity;
    dist[order[order.length - 1]] = Infinity;
    if (hi === lo) continue;
    for (let k = 1; k < order.length - 1; k++) {
      dist[order[k]] += (points[front[order[k + 1]]][o] - points[front[order[k - 1]]][o]) / (hi - lo);
    }
  }
  return dist;
}
