// Decides a gate against a report (and the production version's report, the baseline): promote or not.
// Owns the evaluation rules:
//   - every metric the gate names must exist in the report, or checkGate throws INVALID_SPEC naming each unknown
//     metric and listing the known ones (a typo never silently fails or passes);
//   - a known metric can still be undefined for this data (ROC-AUC with one class in y_true, log_loss from
//     scores, latency not measured): a comparison with it is neither true nor false but unknown, and logic is
//     three-valued (SQL's): `not unknown` is unknown, `false and unknown` is false, `true or unknown` is true.
//     A rule passes only when it is true, so an undefined metric fails closed, with the reason in the message;
//   - no-baseline policy: when no baseline is given (no version in production yet), each rule that mentions
//     `baseline.` passes with a note saying it was not checked; the other rules are checked as usual;
//   - with a baseline, its metrics resolve against its own report; a baseline scored on another dataset
//     (both reports name one and they differ) or of another task is noted, since the comparison may mean little;
//   - == and != compare exactly, with no tolerance.
// Imports core only (and the report and gate types of this module).
import { AimassError } from '../core/index.js';
import { metricLookup, type MetricLookup } from './metric-lookup.js';
import type { EvaluationReport } from './report.js';
import { metricsIn, parseGate, type CompareOp, type Gate, type GateNode, type GateRule } from './gate-syntax.js';

export interface RuleResult {
  /** The rule as written in the gate. */
  text: string;
  passed: boolean;
  /** For a single comparison: its left side's value, and the right side's (the threshold). Else null. */
  actual: number | null;
  expected: number | null;
  /** What was compared and the outcome, in words. */
  message: string;
  /** True when the rule was not checked (no baseline) and passed by policy. */
  skipped?: boolean;
}

export interface GateResult {
  passed: boolean;
  rules: RuleResult[];
  notes: string[];
}

type Truth = true | false | 'unknown';
type Value = { value: number } | { value: null; reason: string };

interface Context {
  current: MetricLookup;
  baseline: MetricLookup | null;
  /** Descriptions of each comparison, filled while evaluating. */
  trace: string[];
}

function fmt(v: number): string {
  return String(Number(v.toPrecision(12)));
}

function sourceOf(node: GateNode, text: string): string {
  return text.slice(node.span.start, node.span.end).trim();
}

function valueOf(node: GateNode, ctx: Context): Value {
  switch (node.type) {
    case 'number':
      return { value: node.value };
    case 'metric': {
      const ref = `${node.baseline ? 'baseline.' : ''}${node.name}${node.className === null ? '' : `[${node.className}]`}`;
      const lookup = node.baseline ? ctx.baseline : ctx.current;
      if (!lookup) return { value: null, reason: 'no baseline was given' };
      const v = lookup.get(node.name, node.className);
      if (v === undefined) return { value: null, reason: `${ref}: the baseline report has no such metric` };
      if (v.value === null) return { value: null, reason: `${ref} is undefined: ${v.reason}` };
      return v;
    }
    case 'neg': {
      const v = valueOf(node.operand, ctx);
      return v.value === null ? v : { value: -v.value };
    }
    case 'arith': {
      const a = valueOf(node.left, ctx);
      if (a.value === null) return a;
      const b = valueOf(node.right, ctx);
      if (b.value === null) return b;
      switch (node.op) {
        case '+':
          return { value: a.value + b.value };
        case '-':
          return { value: a.value - b.value };
        case '*':
          return { value: a.value * b.value };
        case '/':
          return b.value === 0 ? { value: null, reason: 'division by zero' } : { value: a.value / b.value };
      }
    }
    // falls through: conditions have no numeric value (the parser's type check rules this out)
    default:
      throw new AimassError('INTERNAL', `gate node ${node.type} used as a number; please report it with the gate text`);
  }
}

function compare(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

function describeComparison(node: Extract<GateNode, { type: 'compare' }>, text: string, a: Value, b: Value, outcome: Truth): string {
  const side = (n: GateNode, v: Value) => {
    const src = sourceOf(n, text);
    if (v.value === null) return `${src} (${v.reason})`;
    return n.type === 'number' ? src : `${src} = ${fmt(v.value)}`;
  };
  return `${side(node.left, a)} ${node.op} ${side(node.right, b)} is ${outcome === 'unknown' ? 'unknown' : String(outcome)}`;
}

function truthOf(node: GateNode, ctx: Context, text: string): Truth {
  switch (node.type) {
    case 'and': {
      const a = truthOf(node.left, ctx, text);
      const b = truthOf(node.right, ctx, text);
      return a === false || b === false ? false : a === 'unknown' || b === 'unknown' ? 'unknown' : true;
    }
    case 'or': {
      const a = truthOf(node.left, ctx, text);
      const b = truthOf(node.right, ctx, text);
      return a === true || b === true ? true : a === 'unknown' || b === 'unknown' ? 'unknown' : false;
    }
    case 'not': {
      const a = truthOf(node.operand, ctx, text);
      return a === 'unknown' ? 'unknown' : !a;
    }
    case 'compare': {
      const a = valueOf(node.left, ctx);
      const b = valueOf(node.right, ctx);
      const outcome: Truth = a.value === null || b.value === null ? 'unknown' : compare(node.op, a.value, b.value);
      ctx.trace.push(describeComparison(node, text, a, b, outcome));
      return outcome;
    }
    default:
      throw new AimassError('INTERNAL', `gate node ${node.type} used as a condition; please report it with the gate text`);
  }
}

function checkRule(rule: GateRule, ctx: Context, text: string): RuleResult {
  if (rule.usesBaseline && !ctx.baseline) {
    return {
      text: rule.text,
      passed: true,
      actual: null,
      expected: null,
      skipped: true,
      message: 'not checked: no baseline (no version in production to compare with); passes by the no-baseline policy',
    };
  }
  ctx.trace = [];
  const truth = truthOf(rule.node, ctx, text);
  let actual: number | null = null;
  let expected: number | null = null;
  if (rule.node.type === 'compare') {
    actual = valueOf(rule.node.left, ctx).value;
    expected = valueOf(rule.node.right, ctx).value;
  }
  const passed = truth === true;
  const verdict = passed ? 'passed' : truth === 'unknown' ? 'failed (unknown: a value is undefined)' : 'failed';
  const message = `${verdict}: ${ctx.trace.join('; ')}`;
  return { text: rule.text, passed, actual, expected, message };
}

/** Throws INVALID_SPEC listing every metric the gate names that the report does not have. */
function checkKnownMetrics(gate: Gate, lookup: MetricLookup, text: string): void {
  const problems: string[] = [];
  const unknown: string[] = [];
  for (const ref of metricsIn(gate.expression)) {
    const why = lookup.whyUnknown(ref.name, ref.className);
    if (why === null) continue;
    const at = ref.span.start;
    const line = text.slice(0, at).split('\n').length;
    const column = Array.from(text.slice(text.lastIndexOf('\n', at - 1) + 1, at)).length + 1;
    problems.push(`${text.includes('\n') ? `line ${line}, ` : ''}column ${column}: ${ref.baseline ? 'baseline.' : ''}${why}`);
    unknown.push(`${ref.name}${ref.className === null ? '' : `[${ref.className}]`}`);
  }
  if (problems.length === 0) return;
  throw new AimassError(
    'INVALID_SPEC',
    `the gate uses ${unknown.length === 1 ? 'an unknown metric' : `${unknown.length} unknown metrics`} (${unknown.map((u) => JSON.stringify(u)).join(', ')}); ${lookup.describeKnown()}`,
    { problems, unknown, known: lookup.scalars, perClass: lookup.perClass, classNames: lookup.classNames },
  );
}

/**
 * Checks `gate` (text or a parsed Gate) against `report`. `baseline` is the production version's report on the same
 * held-out set, if there is one. Throws INVALID_SPEC for syntax errors and for unknown metrics.
 */
export function checkGate(gate: Gate | string, report: EvaluationReport, baseline?: EvaluationReport | null): GateResult {
  const parsed = typeof gate === 'string' ? parseGate(gate) : gate;
  const current = metricLookup(report);
  checkKnownMetrics(parsed, current, parsed.text);
  const notes: string[] = [];
  const ctx: Context = { current, baseline: baseline ? metricLookup(baseline) : null, trace: [] };
  const needsBaseline = parsed.rules.some((r) => r.usesBaseline);
  if (needsBaseline && !baseline) {
    notes.push('No baseline was given: rules that compare with baseline.… were not checked and pass (no-baseline policy).');
  }
  if (needsBaseline && baseline) {
    if (baseline.task !== report.task) notes.push(`The baseline is a ${baseline.task} report and this one ${report.task}; the comparison may mean little.`);
    if (baseline.dataset && report.dataset && baseline.dataset !== report.dataset) {
      notes.push(`The baseline was scored on dataset ${baseline.dataset} and this report on ${report.dataset}; compare on the same held-out set.`);
    }
    const names = (r: EvaluationReport) => (r.task === 'regression' ? '' : r.classNames.join('\u0000'));
    if (baseline.task === report.task && names(baseline) !== names(report)) notes.push('The baseline has different class names from this report.');
  }
  const rules = parsed.rules.map((rule) => checkRule(rule, ctx, parsed.text));
  return { passed: rules.every((r) => r.passed), rules, notes };
}
