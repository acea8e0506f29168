/**
 * A study's plots as self-contained SVG documents (no scripts, no external fonts or styles; every text escaped):
 *
 *   optimization history   objective value of each finished trial by number, and the best so far as a step line
 *   parallel coordinates   one axis per parameter and one for the objective; each complete trial is a polyline
 *                          coloured from best (dark) to worst (light)
 *   parameter importance   PED-ANOVA importances (importance.ts) as horizontal bars
 *
 * Imports the tune records, distributions and ./importance.
 */
import { choiceIndex, toUnit, type Distribution } from './distributions.js';
import { pedAnovaImportance, type ParamImportance } from './importance.js';
import { directionSign, type Direction, type TrialRecord } from './trial-record.js';

export interface PlotInput {
  study: string;
  directions: readonly Direction[];
  trials: readonly TrialRecord[];
  /** Axis label of the objective (e.g. "val_accuracy"). */
  metric?: string;
}

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const W = 720;
const H = 420;
const M = { left: 70, right: 30, top: 50, bottom: 50 };
const FONT = 'font-family="sans-serif" font-size="12"';
const STATE_COLOR: Record<string, string> = { complete: '#1f77b4', pruned: '#aaaaaa', failed: '#d62728', running: '#ff7f0e' };

function svg(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-family="sans-serif" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

const fmt = (v: number): string => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 1000 || Math.abs(v) < 0.01 ? v.toExponential(2) : v.toPrecision(4).replace(/\.?0+$/, ''));

function ticks(lo: number, hi: number, n = 5): number[] {
  if (lo === hi) return [lo];
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

function valueOf(t: TrialRecord): number | null {
  const v = t.values?.[0];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Value of each finished trial by number (complete in blue, pruned grey at its last value) and the best so far. */
export function optimizationHistorySvg(p: PlotInput): string {
  const sign = directionSign(p.directions[0]);
  const points = p.trials.filter((t) => (t.state === 'complete' || t.state === 'pruned') && valueOf(t) !== null);
  const title = `Optimization history: ${p.study}`;
  if (points.length === 0) return svg(W, H, title, [`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" ${FONT}>no finished trial with a value yet</text>`]);
  const values = points.map((t) => valueOf(t) as number);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const maxN = Math.max(1, ...p.trials.map((t) => t.number));
  const x = (n: number) => M.left + (n / maxN) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - ((v - lo) / (hi - lo)) * (H - M.top - M.bottom);
  const body: string[] = [];
  body.push(`<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>`);
  body.push(`<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>`);
  for (const v of ticks(lo, hi)) body.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end" ${FONT}>${escapeXml(fmt(v))}</text>`);
  for (const n of ticks(0, maxN, Math.min(6, maxN + 1)).map(Math.round)) body.push(`<text x="${x(n)}" y="${H - M.bottom + 16}" text-anchor="middle" ${FONT}>${n}</text>`);
  body.push(`<text x="${W / 2}" y="${H - 10}" text-anchor="middle" ${FONT}>trial</text>`);
  body.push(`<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})" ${FONT}>${escapeXml(p.metric ?? 'objective')}</text>`);
  // best so far over complete trials, as a step line
  let best: number | null = null;
  const steps: string[] = [];
  for (const t of [...p.trials].sort((a, b) => a.number - b.number)) {
    const v = valueOf(t);
    if (t.state !== 'complete' || v === null) continue;
    if (best === null || sign * v < sign * best) {
      if (best !== null) steps.push(`${x(t.number).toFixed(1)},${y(best).toFixed(1)}`);
      best = v;
    }
    steps.push(`${x(t.number).toFixed(1)},${y(best).toFixed(1)}`);
  }
  if (best !== null) steps.push(`${x(maxN).toFixed(1)},${y(best).toFixed(1)}`);
  if (steps.length) body.push(`<polyline class="best" points="${steps.join(' ')}" fill="none" stroke="#d62728" stroke-width="2"/>`);
  for (const t of points) {
    body.push(`<circle class="trial ${t.state}" cx="${x(t.number).toFixed(1)}" cy="${y(valueOf(t) as number).toFixed(1)}" r="4" fill="${STATE_COLOR[t.state]}"><title>trial ${t.number} (${t.state}): ${escapeXml(fmt(valueOf(t) as number))}</title></circle>`);
  }
  body.push(`<text x="${W - M.right}" y="${M.top - 8}" text-anchor="end" ${FONT}><tspan fill="${STATE_COLOR.complete}">● complete</tspan>  <tspan fill="${STATE_COLOR.pruned}">● pruned</tspan>  <tspan fill="#d62728">— best so far</tspan></text>`);
  return svg(W, H, title, body);
}

/** Light (worst) to dark (best) blue. */
function shade(rank: number): string {
  const a = [198, 219, 239];
  const b = [8, 48, 107];
  const c = a.map((v, i) => Math.round(v + (b[i] - v) * rank));
  return `rgb(${c.join(',')})`;
}

/** One vertical axis per parameter plus the objective; each complete trial a polyline through its values. */
export function parallelCoordinatesSvg(p: PlotInput): string {
  const sign = directionSign(p.directions[0]);
  const done = p.trials.filter((t) => t.state === 'complete' && valueOf(t) !== null);
  const title = `Parallel coordinates: ${p.study}`;
  const dists = new Map<string, Distribution>();
  for (const t of done) for (const [k, d] of Object.entries(t.distributions)) if (!dists.has(k)) dists.set(k, d);
  const names = [...dists.keys()].sort();
  const width = Math.max(W, 160 * (names.length + 1) + M.left);
  if (done.length === 0) return svg(width, H, title, [`<text x="${width / 2}" y="${H / 2}" text-anchor="middle" ${FONT}>no complete trial yet</text>`]);
  const values = done.map((t) => valueOf(t) as number);
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  const axes = [p.metric ?? 'objective', ...names];
  const right = 110; // room for the last axis's labels
  const ax = (i: number) => M.left + (i * (width - M.left - right)) / Math.max(1, axes.length - 1);
  const y = (u: number) => H - M.bottom - u * (H - M.top - M.bottom);
  const unit = (name: string, v: unknown): number | null => {
    const d = dists.get(name) as Distribution;
    if (v === undefined) return null;
    if (d.type === 'categorical') return d.choices.length === 1 ? 0.5 : choiceIndex(d, v) / (d.choices.length - 1);
    return toUnit(d, v as number);
  };
  const body: string[] = [];
  // lines first, worst underneath
  const order = done.map((t, i) => ({ t, v: values[i] })).sort((a, b) => sign * b.v - sign * a.v);
  order.forEach(({ t, v }, k) => {
    const pts: string[] = [`${ax(0).toFixed(1)},${y((v - lo) / (hi - lo)).toFixed(1)}`];
    names.forEach((n, i) => {
      const u = unit(n, t.params[n]);
      if (u !== null) pts.push(`${ax(i + 1).toFixed(1)},${y(u).toFixed(1)}`);
    });
    body.push(`<polyline class="trial" points="${pts.join(' ')}" fill="none" stroke="${shade(order.length > 1 ? k / (order.length - 1) : 1)}" stroke-width="1.5"><title>trial ${t.number}: ${escapeXml(fmt(v))}</title></polyline>`);
  });
  axes.forEach((name, i) => {
    body.push(`<line class="axis" x1="${ax(i)}" y1="${M.top}" x2="${ax(i)}" y2="${H - M.bottom}" stroke="#333"/>`);
    const d = i === 0 ? undefined : (dists.get(name) as Distribution);
    const axisTitle = d && d.type !== 'categorical' && d.log ? `${name} (log)` : name;
    body.push(`<text x="${ax(i)}" y="${H - M.bottom + 20}" text-anchor="middle" ${FONT} font-weight="bold">${escapeXml(axisTitle)}</text>`);
    let labels: [number, string][];
    if (i === 0) labels = ticks(lo, hi).map((v) => [(v - lo) / (hi - lo), fmt(v)]);
    else {
      const d = dists.get(name) as Distribution;
      labels =
        d.type === 'categorical'
          ? d.choices.map((c, k) => [d.choices.length === 1 ? 0.5 : k / (d.choices.length - 1), String(c)])
          : [
              [0, fmt(d.low)],
              [1, fmt(d.high)],
            ];
    }
    for (const [u, text] of labels) body.push(`<text x="${ax(i) + 5}" y="${y(u) + 4}" ${FONT} fill="#555">${escapeXml(text)}</text>`);
  });
  return svg(width, H, title, body);
}

/** PED-ANOVA importance of each parameter as horizontal bars, most important on top. */
export function importanceSvg(p: PlotInput, importances: ParamImportance[] = pedAnovaImportance(p.trials, p.directions)): string {
  const title = `Parameter importance (PED-ANOVA): ${p.study}`;
  const rowH = 28;
  const height = Math.max(160, M.top + M.bottom + rowH * importances.length);
  if (importances.length === 0) return svg(W, height, title, [`<text x="${W / 2}" y="${height / 2}" text-anchor="middle" ${FONT}>needs at least 2 complete trials</text>`]);
  const labelW = Math.min(260, 20 + 7 * Math.max(...importances.map((i) => i.name.length)));
  const barMax = W - labelW - M.right - 60;
  const body: string[] = [];
  importances.forEach((imp, k) => {
    const yTop = M.top + k * rowH;
    body.push(`<text x="${labelW - 8}" y="${yTop + 17}" text-anchor="end" ${FONT}>${escapeXml(imp.name)}</text>`);
    body.push(`<rect class="bar" x="${labelW}" y="${yTop + 4}" width="${(imp.importance * barMax).toFixed(1)}" height="${rowH - 8}" fill="#1f77b4"><title>${escapeXml(imp.name)}: ${imp.importance.toFixed(3)}</title></rect>`);
    body.push(`<text x="${labelW + imp.importance * barMax + 6}" y="${yTop + 17}" ${FONT}>${imp.importance.toFixed(3)}</text>`);
  });
  return svg(W, height, title, body);
}
