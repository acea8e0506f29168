/**
 * Hyperparameter importance in the style of PED-ANOVA (Watanabe et al., IJCAI 2023): a parameter matters as much
 * as the distribution of its values among the best trials (the top γ quantile) differs from its distribution
 * among all trials. The difference is the Pearson divergence ∫ (p_top(x)/p_all(x) − 1)² p_all(x) dx, which the
 * paper shows is the variance (local f-ANOVA) of the indicator "x is in the top quantile". Densities are Parzen
 * estimates on the parameter's unit scale (log ranges on their log scale) evaluated on a grid; categorical
 * parameters use smoothed frequencies. Importances are normalized to sum to 1.
 *
 * Cheap (linear in trials), closed-form, no model to fit: fine for the tens of trials a study has.
 *
 * Imports the tune records and distributions.
 */
import { choiceIndex, toUnit, type Distribution } from './distributions.js';
import { directionSign, type Direction, type TrialRecord } from './trial-record.js';

export interface ImportanceOptions {
  /** The top quantile (default 0.1); at least 2 trials (1 below 4 trials) form it. */
  quantile?: number;
}

export interface ParamImportance {
  name: string;
  importance: number;
}

const GRID = 64;

function parzen(units: number[]): Float64Array {
  const n = units.length;
  const mean = units.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(units.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, n - 1));
  const h = Math.max(0.05, 1.06 * (sd || 0.2) * n ** -0.2);
  const p = new Float64Array(GRID);
  let total = 0;
  for (let g = 0; g < GRID; g++) {
    const x = (g + 0.5) / GRID;
    let s = 0;
    for (const u of units) s += Math.exp(-0.5 * ((x - u) / h) ** 2);
    p[g] = s;
    total += s;
  }
  for (let g = 0; g < GRID; g++) p[g] /= total;
  return p;
}

function frequencies(indices: number[], k: number): Float64Array {
  const p = new Float64Array(k).fill(1 / k); // one pseudo-observation spread over the choices
  for (const i of indices) if (i >= 0) p[i] += 1;
  const total = p.reduce((a, b) => a + b, 0);
  for (let i = 0; i < k; i++) p[i] /= total;
  return p;
}

function density(d: Distribution, values: unknown[]): Float64Array {
  if (d.type === 'categorical') return frequencies(values.map((v) => choiceIndex(d, v)), d.choices.length);
  return parzen(values.map((v) => toUnit(d, v as number)));
}

/** Importance of every parameter the complete trials share, most important first; empty below 2 such trials. */
export function pedAnovaImportance(trials: readonly TrialRecord[], directions: readonly Direction[], o: ImportanceOptions = {}): ParamImportance[] {
  const sign = directionSign(directions[0]);
  const done = trials
    .filter((t) => t.state === 'complete' && t.values && Number.isFinite(t.values[0]))
    .sort((a, b) => sign * (a.values as number[])[0] - sign * (b.values as number[])[0] || a.number - b.number);
  if (done.length < 2) return [];
  const quantile = o.quantile ?? 0.1;
  const topCount = Math.min(done.length - 1, Math.max(done.length >= 4 ? 2 : 1, Math.ceil(quantile * done.length)));
  const names = new Map<string, Distribution>();
  for (const t of done) for (const [name, d] of Object.entries(t.distributions)) if (!names.has(name)) names.set(name, d);
  const raw: ParamImportance[] = [];
  for (const [name, d] of names) {
    const having = done.filter((t) => name in t.params && JSON.stringify(t.distributions[name]) === JSON.stringify(d));
    const top = done.slice(0, topCount).filter((t) => having.includes(t));
    if (having.length < 2 || top.length === 0) {
      raw.push({ name, importance: 0 });
      continue;
    }
    const pAll = density(d, having.map((t) => t.params[name]));
    const pTop = density(d, top.map((t) => t.params[name]));
    let divergence = 0;
    for (let i = 0; i < pAll.length; i++) divergence += (pTop[i] - pAll[i]) ** 2 / pAll[i];
    raw.push({ name, importance: divergence });
  }
  const total = raw.reduce((a, r) => a + r.importance, 0);
  return raw.map((r) => ({ name: r.name, importance: total > 0 ? r.importance / total : 0 })).sort((a, b) => b.importance - a.importance || a.name.localeCompare(b.name));
}
