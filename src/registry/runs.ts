// Comparing tracked runs: nested params flattened to dotted keys ("optimizer.lr"), the params that differ
// between the runs, and every metric side by side. Shared by `aimass runs compare` and the HTTP API.
import type { RunRecord } from '../storage/index.js';

/** Nested params as dotted keys; arrays and other non-plain values stay values. */
export function flattenParams(obj: Record<string, unknown>, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flattenParams(v as Record<string, unknown>, key, out);
    else out.set(key, v);
  }
  return out;
}

export interface RunComparison {
  ids: string[];
  /** Each differing param's value in each run (null where a run lacks it), in run order. */
  differingParams: Record<string, unknown[]>;
  metrics: Record<string, (number | null)[]>;
  /** The flattened params of each run, in run order. */
  params: Map<string, unknown>[];
}

export function compareRuns(runs: RunRecord[]): RunComparison {
  const params = runs.map((r) => flattenParams(r.params));
  const keys = [...new Set(params.flatMap((p) => [...p.keys()]))].sort();
  const differing = keys.filter((k) => new Set(params.map((p) => JSON.stringify(p.get(k) ?? null))).size > 1);
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  return {
    ids: runs.map((r) => r.id),
    differingParams: Object.fromEntries(differing.map((k) => [k, params.map((p) => p.get(k) ?? null)])),
    metrics: Object.fromEntries(metricKeys.map((k) => [k, runs.map((r) => r.metrics[k] ?? null)])),
    params,
  };
}
