/**
 * Declarative search spaces: a JSON document naming each hyperparameter, its distribution and, for conditional
 * parameters, the values of other parameters under which it exists.
 *
 *   { "optimizer": { "type": "categorical", "choices": ["sgd", "adam"] },
 *     "lr":        { "type": "float", "low": 1e-5, "high": 0.1, "log": true },
 *     "momentum":  { "type": "float", "low": 0, "high": 0.99, "when": { "optimizer": "sgd" } } }
 *
 * Owns: the zod schema, the semantic checks zod cannot express (bounds, steps, references between parameters,
 * cycles) with every problem listed at once, the order parameters are drawn in (parents first), and drawing a
 * space through any `ParamSuggester` — so a declarative space is only a driver over the define-by-run API.
 *
 * Imports core and ./distributions.
 */
import { z } from 'zod';
import { errors, parseWith } from '../core/index.js';
import { distributionProblems, containsValue, type CategoricalChoice, type Distribution, type ParamValue } from './distributions.js';

const Choice = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const When = z.record(z.string(), z.union([Choice, z.array(Choice).min(1)]));

const FloatParamSchema = z.strictObject({
  type: z.literal('float'),
  low: z.number(),
  high: z.number(),
  log: z.boolean().optional(),
  step: z.number().positive().nullable().optional(),
  when: When.optional(),
});
const IntParamSchema = z.strictObject({
  type: z.literal('int'),
  low: z.number().int(),
  high: z.number().int(),
  log: z.boolean().optional(),
  step: z.number().int().positive().optional(),
  when: When.optional(),
});
const CategoricalParamSchema = z.strictObject({
  type: z.literal('categorical'),
  choices: z.array(Choice).min(1),
  when: When.optional(),
});

export const ParamSpecSchema = z.discriminatedUnion('type', [FloatParamSchema, IntParamSchema, CategoricalParamSchema]);
export const SearchSpaceSchema = z.record(z.string().min(1), ParamSpecSchema);

export type ParamSpecInput = z.input<typeof ParamSpecSchema>;
export type SearchSpaceInput = z.input<typeof SearchSpaceSchema>;

/** One parameter of a parsed space: its distribution and, if conditional, the parent values it needs. */
export interface SpaceParam {
  name: string;
  distribution: Distribution;
  /** Every listed parent must hold one of its values; absent for unconditional parameters. */
  when?: Record<string, CategoricalChoice[]>;
}

/** A validated space, parameters in drawing order (each after the parents its `when` names). */
export interface SearchSpace {
  params: SpaceParam[];
}

/** Anything that can draw one parameter: a `Trial`, or a test double. */
export interface ParamSuggester {
  suggest(name: string, distribution: Distribution): ParamValue;
}

/** Parses and checks a JSON search space; throws INVALID_SPEC listing every problem, each naming its parameter. */
export function parseSearchSpace(input: unknown): SearchSpace {
  const raw = parseWith(SearchSpaceSchema, input, 'search space');
  const problems: string[] = [];
  const params = new Map<string, SpaceParam>();
  for (const [name, spec] of Object.entries(raw)) {
    let distribution: Distribution;
    if (spec.type === 'categorical') distribution = { type: 'categorical', choices: spec.choices };
    else if (spec.type === 'int') distribution = { type: 'int', low: spec.low, high: spec.high, log: spec.log ?? false, step: spec.step ?? 1 };
    else distribution = { type: 'float', low: spec.low, high: spec.high, log: spec.log ?? false, step: spec.step ?? null };
    problems.push(...distributionProblems(name, distribution));
    const p: SpaceParam = { name, distribution };
    if (spec.when) {
      p.when = {};
      for (const [parent, v] of Object.entries(spec.when)) p.when[parent] = Array.isArray(v) ? v : [v];
    }
    params.set(name, p);
  }
  for (const p of params.values()) {
    for (const [parent, values] of Object.entries(p.when ?? {})) {
      const q = params.get(parent);
      if (!q) {
        problems.push(`${p.name}: "when" refers to "${parent}", which is not a parameter of this space`);
        continue;
      }
      if (parent === p.name) {
        problems.push(`${p.name}: "when" cannot refer to the parameter itself`);
        continue;
      }
      for (const v of values) {
        if (!containsValue(q.distribution, v)) problems.push(`${p.name}: "when" needs ${parent} = ${JSON.stringify(v)}, which ${parent} can never take`);
      }
    }
  }
  const order = problems.length ? [] : drawingOrder([...params.values()], problems);
  if (problems.length) {
    throw errors.invalidSpec(`the search space has ${problems.length} problem(s); fix each one listed and run again`, problems);
  }
  return { params: order };
}

/** Parents before children (stable in declaration order otherwise); cycles become problems. */
function drawingOrder(params: SpaceParam[], problems: string[]): SpaceParam[] {
  const byName = new Map(params.map((p) => [p.name, p]));
  const state = new Map<string, 'visiting' | 'done'>();
  const out: SpaceParam[] = [];
  const visit = (p: SpaceParam, path: string[]): void => {
    const s = state.get(p.name);
    if (s === 'done') return;
    if (s === 'visiting') {
      const cycle = [...path.slice(path.indexOf(p.name)), p.name].join(' -> ');
      problems.push(`${p.name}: conditional parameters form a cycle (${cycle}); a parameter cannot depend on itself`);
      return;
    }
    state.set(p.name, 'visiting');
    for (const parent of Object.keys(p.when ?? {})) visit(byName.get(parent) as SpaceParam, [...path, p.name]);
    state.set(p.name, 'done');
    out.push(p);
  };
  for (const p of params) visit(p, []);
  return out;
}

/** Whether a parameter exists given the values drawn so far. */
export function isActive(p: SpaceParam, values: Readonly<Record<string, ParamValue>>): boolean {
  if (!p.when) return true;
  for (const [parent, allowed] of Object.entries(p.when)) {
    if (!(parent in values)) return false;
    if (!allowed.some((a) => a === values[parent])) return false;
  }
  return true;
}

/** Draws every active parameter of `space` through `suggester`, parents first; returns the drawn values. */
export function sampleSearchSpace(suggester: ParamSuggester, space: SearchSpace): Record<string, ParamValue> {
  const values: Record<string, ParamValue> = {};
  for (const p of space.params) {
    if (isActive(p, values)) values[p.name] = suggester.suggest(p.name, p.distribution);
  }
  return values;
}

/** The parameters present in every trial of the space (no `when`), with their distributions. */
export function unconditionalParams(space: SearchSpace): Record<string, Distribution> {
  const out: Record<string, Distribution> = {};
  for (const p of space.params) if (!p.when) out[p.name] = p.distribution;
  return out;
}
