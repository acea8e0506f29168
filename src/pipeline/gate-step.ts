// The gate step: checks the evaluation report against the spec's rules (src/eval's gate language), with the
// report stored with the version the baseline alias (production by default) points at as `baseline.…`. Also the
// early check of a gate's metric names — at validation, before the data is read, and again once the classes are
// known — so that a typo in a metric name fails before any training, not after it.
import { AimassError } from '../core/index.js';
import { type EvaluationReport, type GateResult, checkGate, evaluate, parseReport } from '../eval/index.js';
import type { Registry } from '../registry/index.js';

export interface Baseline {
  model: string;
  alias: string;
  version: number;
  report: EvaluationReport;
  /** sha256 of the stored report.json: the baseline's identity in the gate step's key. */
  sha256: string;
}

/**
 * The report stored with the version `alias` of `model` points at; null (with the reason) when there is no such
 * version or it has no report (e.g. registered by `aimass train --register`).
 */
export async function findBaseline(registry: Registry, model: string, alias: string): Promise<{ baseline: Baseline | null; note?: string }> {
  if (!(await registry.meta.getModel(model))) return { baseline: null, note: `no baseline: model "${model}" is not registered yet` };
  const a = await registry.meta.getAlias(model, alias);
  if (!a) return { baseline: null, note: `no baseline: model "${model}" has no alias "${alias}" yet` };
  const v = await registry.resolve(model, a.version);
  const file = v.files.find((f) => f.path === 'report.json');
  if (!file) return { baseline: null, note: `no baseline: ${model}@${alias} (version ${v.version}) has no evaluation report; baseline rules are not checked` };
  const report = parseReport(JSON.parse((await registry.readFile(v, 'report.json')).toString('utf8')), `report.json of ${model} version ${v.version}`);
  return { baseline: { model, alias, version: v.version, report, sha256: file.sha256 } };
}

/** A report with every metric a real one of these classes has, to check metric names against before training. */
function sampleReport(classNames: string[]): EvaluationReport {
  return evaluate({ labels: classNames.map((_, i) => i), probabilities: classNames.map((_, i) => classNames.map((__, j) => (i === j ? 1 : 0))), classNames, latency: [1] });
}

function unknownMetrics(rules: string, classNames: string[]): { problems: string[]; unknown: string[] } {
  try {
    checkGate(rules, sampleReport(classNames), sampleReport(classNames));
    return { problems: [], unknown: [] };
  } catch (e) {
    if (e instanceof AimassError && e.code === 'INVALID_SPEC' && Array.isArray(e.details?.unknown)) {
      return { problems: (e.details.problems as string[]).map(String), unknown: (e.details.unknown as string[]).map(String) };
    }
    throw e;
  }
}

/**
 * The gate's references to metrics no report has, as problems ("gate: column 14: unknown metric …"). Without the
 * classes (at validation) a name counts as unknown only when neither a binary nor a multiclass report has it,
 * and per-class references wait for the classes.
 */
export function gateMetricProblems(rules: string, classNames?: string[]): string[] {
  if (classNames) return unknownMetrics(rules, classNames).problems.map((p) => `gate: ${p}`);
  const binary = unknownMetrics(rules, ['a', 'b']);
  const multi = unknownMetrics(rules, ['a', 'b', 'c']);
  const inBoth = new Set(multi.unknown);
  return binary.problems.filter((_, i) => !binary.unknown[i].includes('[') && inBoth.has(binary.unknown[i])).map((p) => `gate: ${p}`);
}

export interface GateOutcome {
  passed: boolean;
  result: GateResult;
  /** The failing rules, as written. */
  failed: string[];
  baseline: { model: string; alias: string; version: number } | null;
}

export function runGate(rules: string, report: EvaluationReport, found: { baseline: Baseline | null; note?: string }): { result: GateOutcome; summary: string } {
  const result = checkGate(rules, report, found.baseline?.report ?? null);
  if (found.note && result.rules.some((r) => r.skipped)) {
    // say why there is no baseline, in place of eval's general no-baseline note
    result.notes = [`${found.note}; rules with baseline.… pass unchecked (no-baseline policy)`, ...result.notes.filter((n) => !n.startsWith('No baseline was given'))];
  }
  const failed = result.rules.filter((r) => !r.passed);
  const b = found.baseline;
  const against = b ? ` (baseline: ${b.model}@${b.alias}, version ${b.version})` : '';
  const summary = result.passed
    ? `passed: ${result.rules.length} rule(s)${against}`
    : `failed ${failed.length} of ${result.rules.length} rule(s)${against}: ${failed.map((r) => `${r.text} — ${r.message.replace(/^failed[^:]*: /, '')}`).join('; ')}`;
  return {
    result: { passed: result.passed, result, failed: failed.map((r) => r.text), baseline: b ? { model: b.model, alias: b.alias, version: b.version } : null },
    summary,
  };
}
