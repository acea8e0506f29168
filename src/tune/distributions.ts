/**
 * Parameter distributions: what one hyperparameter may take (float, int, categorical), checking a value against
 * its distribution, and the unit-cube encoding every model-based sampler works in.
 *
 * Owns: the `Distribution` union, its validation (one problem line per mistake, naming the parameter), and the
 * maps between a parameter's value and a coordinate in [0, 1]. Log scales map log(value) linearly; ints and
 * stepped floats widen their range by half a step on each side so every grid point covers an equal share of
 * the unit interval, and `fromUnit` snaps back onto the grid.
 *
 * Imports only core.
 */
import { AimassError } from '../core/index.js';

export type CategoricalChoice = string | number | boolean | null;
export type ParamValue = CategoricalChoice;

export interface FloatDistribution {
  type: 'float';
  low: number;
  high: number;
  log: boolean;
  /** Values are low + k·step when set; null for a continuous range. */
  step: number | null;
}

export interface IntDistribution {
  type: 'int';
  low: number;
  high: number;
  log: boolean;
  step: number;
}

export interface CategoricalDistribution {
  type: 'categorical';
  choices: readonly CategoricalChoice[];
}

export type Distribution = FloatDistribution | IntDistribution | CategoricalDistribution;
export type NumericDistribution = FloatDistribution | IntDistribution;

export interface SuggestFloatOptions {
  log?: boolean;
  step?: number | null;
}

export interface SuggestIntOptions {
  log?: boolean;
  step?: number;
}

/** Every problem with a distribution, each line starting with the parameter name; empty when it is valid. */
export function distributionProblems(name: string, d: Distribution): string[] {
  const problems: string[] = [];
  if (d.type === 'categorical') {
    if (!Array.isArray(d.choices) || d.choices.length === 0) problems.push(`${name}: choices must list at least one value`);
    else {
      const seen = new Set<string>();
      for (const c of d.choices) {
        const ok = c === null || typeof c === 'string' || typeof c === 'boolean' || (typeof c === 'number' && Number.isFinite(c));
        if (!ok) problems.push(`${name}: choice ${String(c)} is not a string, finite number, boolean or null`);
        const key = JSON.stringify(c);
        if (seen.has(key)) problems.push(`${name}: choice ${key} is listed twice`);
        seen.add(key);
      }
    }
    return problems;
  }
  const { low, high, log } = d;
  if (!Number.isFinite(low) || !Number.isFinite(high)) return [`${name}: low and high must be finite numbers, got ${low} and ${high}`];
  if (low > high) problems.push(`${name}: low (${low}) must not exceed high (${high})`);
  if (log && low <= 0) problems.push(`${name}: a log scale needs low > 0, got ${low}`);
  if (d.type === 'int') {
    if (!Number.isInteger(low) || !Number.isInteger(high)) problems.push(`${name}: an int parameter needs integer bounds, got ${low} and ${high}`);
    if (!Number.isInteger(d.step) || d.step < 1) problems.push(`${name}: step must be a positive integer, got ${d.step}`);
    else if (log && d.step !== 1) problems.push(`${name}: step ${d.step} cannot be combined with a log scale; use step 1 or log false`);
    else if (Number.isInteger(low) && Number.isInteger(high) && low <= high && (high - low) % d.step !== 0) {
      problems.push(`${name}: the range ${low}..${high} is not a whole number of steps of ${d.step}; set high to ${low + Math.floor((high - low) / d.step) * d.step}`);
    }
  } else if (d.step !== null) {
    if (!(Number.isFinite(d.step) && d.step > 0)) problems.push(`${name}: step must be a positive number, got ${d.step}`);
    else if (log) problems.push(`${name}: step cannot be combined with a log scale; drop one of them`);
    else if (low <= high) {
      const k = (high - low) / d.step;
      if (Math.abs(k - Math.round(k)) > 1e-8 * Math.max(1, k)) {
        problems.push(`${name}: the range ${low}..${high} is not a whole number of steps of ${d.step}; set high to ${low + Math.floor(k + 1e-9) * d.step}`);
      }
    }
  }
  return problems;
}

function assertValid(name: string, d: Distribution): void {
  const problems = distributionProblems(name, d);
  if (problems.length) throw new AimassError('INVALID_ARGUMENT', `parameter "${name}" is invalid: ${problems.join('; ')}`, { param: name, problems });
}

export function floatDistribution(name: string, low: number, high: number, o: SuggestFloatOptions = {}): FloatDistribution {
  const d: FloatDistribution = { type: 'float', low, high, log: o.log ?? false, step: o.step ?? null };
  assertValid(name, d);
  return d;
}

export function intDistribution(name: string, low: number, high: number, o: SuggestIntOptions = {}): IntDistribution {
  const d: IntDistribution = { type: 'int', low, high, log: o.log ?? false, step: o.step ?? 1 };
  assertValid(name, d);
  return d;
}

export function categoricalDistribution(name: string, choices: readonly CategoricalChoice[]): CategoricalDistribution {
  const d: CategoricalDistribution = { type: 'categorical', choices: [...choices] };
  assertValid(name, d);
  return d;
}

export function sameDistribution(a: Distribution, b: Distribution): boolean {
  if (a.type !== b.type) return false;
  if (a.type === 'categorical') {
    const bc = (b as CategoricalDistribution).choices;
    return a.choices.length === bc.length && a.choices.every((c, i) => c === bc[i]);
  }
  const bn = b as NumericDistribution;
  return a.low === bn.low && a.high === bn.high && a.log === bn.log && a.step === bn.step;
}

/** Whether `value` is one the distribution can produce. */
export function containsValue(d: Distribution, value: unknown): boolean {
  if (d.type === 'categorical') return choiceIndex(d, value) >= 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (value < d.low || value > d.high) return false;
  if (d.type === 'int' && !Number.isInteger(value)) return false;
  const step = d.step;
  if (step !== null && !d.log) {
    const k = (value - d.low) / step;
    return Math.abs(k - Math.round(k)) < 1e-8 * Math.max(1, Math.abs(k));
  }
  return true;
}

export function choiceIndex(d: CategoricalDistribution, value: unknown): number {
  for (let i = 0; i < d.choices.length; i++) {
    const c = d.choices[i];
    if (c === value || (typeof c === 'number' && typeof value === 'number' && Number.isNaN(c) && Number.isNaN(value))) return i;
  }
  return -1;
}

/** A distribution with a single possible value needs no sampling. */
export function singleValue(d: Distribution): ParamValue | undefined {
  if (d.type === 'categorical') return d.choices.length === 1 ? d.choices[0] : undefined;
  return d.low === d.high ? d.low : undefined;
}

/** Bounds in the transformed (log if log) scale, widened by half a step for grids. */
function transformedRange(d: NumericDistribution): [number, number] {
  if (d.log) {
    const half = d.type === 'int' ? 0.5 : 0;
    return [Math.log(d.low - half), Math.log(d.high + half)];
  }
  const half = d.step === null ? 0 : d.step / 2;
  return [d.low - half, d.high + half];
}

/** The coordinate of a numeric value in [0, 1]. */
export function toUnit(d: NumericDistribution, value: number): number {
  const [a, b] = transformedRange(d);
  if (b === a) return 0.5;
  const t = d.log ? Math.log(value) : value;
  const u = (t - a) / (b - a);
  return u < 0 ? 0 : u > 1 ? 1 : u;
}

/** The value at a unit coordinate, clipped into range and snapped onto the step grid. */
export function fromUnit(d: NumericDistribution, u: number): number {
  const [a, b] = transformedRange(d);
  const uc = u < 0 ? 0 : u > 1 ? 1 : u;
  const t = a + uc * (b - a);
  let v = d.log ? Math.exp(t) : t;
  if (d.type === 'int') {
    v = d.low + Math.round((v - d.low) / d.step) * d.step;
  } else if (d.step !== null) {
    const k = Math.round((v - d.low) / d.step);
    // rounding in the step's own decimals keeps 0.1-steps from printing as 0.30000000000000004
    v = roundLike(d.low + k * d.step, d.step, d.low);
  }
  return v < d.low ? d.low : v > d.high ? d.high : v;
}

function roundLike(v: number, step: number, low: number): number {
  const decimals = Math.min(15, Math.max(decimalsOf(step), decimalsOf(low)));
  return Number(v.toFixed(decimals));
}

function decimalsOf(x: number): number {
  if (Number.isInteger(x)) return 0;
  const s = x.toString();
  const e = s.indexOf('e-');
  if (e >= 0) return Number(s.slice(e + 2)) + (s.indexOf('.') >= 0 ? e - s.indexOf('.') - 1 : 0);
  const dot = s.indexOf('.');
  return dot < 0 ? 0 : s.length - dot - 1;
}

/** The unit-coordinate interval a grid value owns ([lo, hi]), or null for continuous ranges; for discrete likelihoods. */
export function unitCell(d: NumericDistribution, value: number): [number, number] | null {
  const [a, b] = transformedRange(d);
  if (b === a) return [0, 1];
  if (d.type === 'float' && d.step === null) return null;
  const half = d.type === 'int' && d.log ? 0.5 : (d.step as number) / 2;
  const lo = d.log ? Math.log(value - half) : value - half;
  const hi = d.log ? Math.log(value + half) : value + half;
  return [Math.max(0, (lo - a) / (b - a)), Math.min(1, (hi - a) / (b - a))];
}
