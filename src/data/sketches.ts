/**
 * Bounded-memory summaries of a column, updated one value at a time as rows stream by, so profiling or cleaning
 * a file of any size needs memory per column, not per row:
 *
 * - `Moments`: count, min, max, mean and variance (Welford's update, stable for long streams).
 * - `DistinctCounter`: exact up to 10,000 distinct values, then a HyperLogLog estimate (~0.8% error).
 * - `TopValues`: exact counts up to 2,000 distinct values; beyond, the heavy hitters of a pruned counter.
 * - `Reservoir`: a seeded uniform sample of up to 100,000 values for medians and quartiles (exact below that).
 */
import { Rng } from '../core/index.js';
import { hash32 } from './hashing.js';

export class Moments {
  count = 0;
  mean = 0;
  private m2 = 0;
  min = Infinity;
  max = -Infinity;

  add(x: number): void {
    this.count++;
    const d = x - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** Population standard deviation (0 for fewer than two values). */
  get std(): number {
    return this.count > 1 ? Math.sqrt(this.m2 / this.count) : 0;
  }
}

const EXACT_DISTINCT = 10_000;
const HLL_BITS = 14;
const HLL_M = 1 << HLL_BITS;

export class DistinctCounter {
  private exact: Set<string> | null = new Set();
  private registers: Uint8Array | null = null;

  add(key: string): void {
    if (this.exact) {
      this.exact.add(key);
      if (this.exact.size > EXACT_DISTINCT) {
        this.registers = new Uint8Array(HLL_M);
        for (const k of this.exact) this.addToSketch(k);
        this.exact = null;
      }
      return;
    }
    this.addToSketch(key);
  }

  private addToSketch(key: string): void {
    // one 32-bit hash: the top 14 bits pick the register, the leading zeros of the other 18 give the rank
    // (enough for billions of distinct values)
    const h = hash32(key, 0x2545f491);
    const index = h >>> (32 - HLL_BITS);
    const w = (h << HLL_BITS) | (1 << (HLL_BITS - 1)); // a sentinel bit caps the rank at 32 − 14 + 1
    const rank = Math.clz32(w) + 1;
    const r = this.registers!;
    if (rank > r[index]) r[index] = rank;
  }

  get isExact(): boolean {
    return this.exact !== null;
  }

  estimate(): number {
    if (this.exact) return this.exact.size;
    const r = this.registers!;
    let sum = 0;
    let zeros = 0;
    for (let i = 0; i < HLL_M; i++) {
      sum += 2 ** -r[i];
      if (r[i] === 0) zeros++;
    }
    const alpha = 0.7213 / (1 + 1.079 / HLL_M);
    const raw = (alpha * HLL_M * HLL_M) / sum;
    // linear counting is the better estimate while many registers are still empty
    if (raw <= 2.5 * HLL_M && zeros > 0) return Math.round(HLL_M * Math.log(HLL_M / zeros));
    return Math.round(raw);
  }
}

const TOP_CAPACITY = 1_000;

export type TopKey = string | number | boolean;

export class TopValues {
  private counts = new Map<TopKey, number>();
  private pruned = false;
  private readonly rng = new Rng(0x70b);

  add(value: TopKey): void {
    const counts = this.counts;
    const c = counts.get(value);
    if (c !== undefined) counts.set(value, c + 1);
    else if (!this.pruned || (this.rng.uint32() & 7) === 0) {
      // Once the column has shown more distinct values than fit, a new value gets in with probability 1/8: a
      // frequent value still gets in within a few occurrences, and the churn of one-off values (ids, free text)
      // through the map drops eightfold.
      counts.set(value, 1);
      if (counts.size >= 2 * TOP_CAPACITY) this.prune();
    }
  }

  /**
   * Keeps the most frequent half; a value seen often enough returns and climbs back. Counts of values that
   * survive are exact from when they were last (re)admitted, which is why `isExact` turns false. Among values
   * tied at the cut, the earliest admitted stay.
   */
  private prune(): void {
    const counts = this.counts;
    const sorted = Float64Array.from(counts.values()).sort();
    const cut = sorted[sorted.length - TOP_CAPACITY];
    let above = 0;
    for (const c of counts.values()) if (c > cut) above++;
    let tiedToKeep = TOP_CAPACITY - above;
    for (const [k, c] of counts) {
      if (c > cut) continue;
      if (c === cut && tiedToKeep > 0) tiedToKeep--;
      else counts.delete(k);
    }
    this.pruned = true;
  }

  get isExact(): boolean {
    return !this.pruned;
  }

  /** The `k` most frequent values, most frequent first; ties in first-seen order. */
  top(k: number): { value: TopKey; count: number }[] {
    return [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([value, count]) => ({ value, count }));
  }
}

const RESERVOIR_SIZE = 100_000;

export class Reservoir {
  private values: Float64Array;
  private n = 0;
  private readonly rng: Rng;
  private sorted: Float64Array | null = null;

  constructor(
    seed = 1,
    private readonly capacity = RESERVOIR_SIZE,
  ) {
    this.values = new Float64Array(Math.min(capacity, 1024));
    this.rng = new Rng(seed);
  }

  add(x: number): void {
    this.sorted = null;
    if (this.n < this.capacity) {
      if (this.n === this.values.length) {
        const next = new Float64Array(Math.min(this.capacity, this.values.length * 2));
        next.set(this.values);
        this.values = next;
      }
      this.values[this.n++] = x;
      return;
    }
    // Vitter's algorithm R: the i-th value replaces a random slot with probability capacity / i
    const j = Math.floor(this.rng.next() * ++this.n);
    if (j < this.capacity) this.values[j] = x;
  }

  /** Whether quantiles are exact (every value is in the sample). */
  get isExact(): boolean {
    return this.n <= this.capacity;
  }

  /** The q-quantile (0..1) by linear interpolation between order statistics; NaN when empty. */
  quantile(q: number): number {
    const size = Math.min(this.n, this.capacity);
    if (!size) return NaN;
    this.sorted ??= this.values.slice(0, size).sort();
    const pos = q * (size - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(size - 1, lo + 1);
    return this.sorted[lo] + (this.sorted[hi] - this.sorted[lo]) * (pos - lo);
  }
}
