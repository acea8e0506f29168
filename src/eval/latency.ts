// Latency fields of a report: a summary of per-request times in milliseconds, either computed here from raw
// samples or taken as already summarized (e.g. from a benchmark). Percentiles interpolate linearly between
// the two nearest ranks (numpy's default percentile method).
// Imports core only.
import { AimassError } from '../core/index.js';

export interface LatencySummary {
  count?: number;
  meanMs?: number;
  p50Ms?: number;
  p90Ms?: number;
  p95Ms?: number;
  p99Ms?: number;
  maxMs?: number;
}

/** Gate metric name of each summary field. */
export const LATENCY_METRICS = {
  mean_latency_ms: 'meanMs',
  p50_latency_ms: 'p50Ms',
  p90_latency_ms: 'p90Ms',
  p95_latency_ms: 'p95Ms',
  p99_latency_ms: 'p99Ms',
  max_latency_ms: 'maxMs',
} as const satisfies Record<string, keyof LatencySummary>;

function percentile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarizeLatency(input: ArrayLike<number> | LatencySummary): LatencySummary {
  if (!Array.isArray(input) && !ArrayBuffer.isView(input)) {
    const summary = input as LatencySummary;
    const out: LatencySummary = {};
    for (const key of ['count', 'meanMs', 'p50Ms', 'p90Ms', 'p95Ms', 'p99Ms', 'maxMs'] as const) {
      const v = summary[key];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new AimassError('INVALID_ARGUMENT', `latency.${key} is ${String(v)}; expected a finite number ≥ 0 (milliseconds)`);
      }
      out[key] = v;
    }
    return out;
  }
  const samples = input as ArrayLike<number>;
  if (samples.length === 0) throw new AimassError('INVALID_ARGUMENT', 'latency has no samples; omit it, or pass per-request times in milliseconds');
  const sorted = Float64Array.from(samples);
  for (let i = 0; i < sorted.length; i++) {
    if (!Number.isFinite(sorted[i]) || sorted[i] < 0) {
      throw new AimassError('INVALID_ARGUMENT', `latency[${i}] is ${sorted[i]}; expected a finite number ≥ 0 (milliseconds)`);
    }
  }
  sorted.sort();
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return {
    count: sorted.length,
    meanMs: mean,
    p50Ms: percentile(sorted, 0.5),
    p90Ms: percentile(sorted, 0.9),
    p95Ms: percentile(sorted, 0.95),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted[sorted.length - 1],
  };
}
