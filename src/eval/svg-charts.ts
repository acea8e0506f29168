// Small inline-SVG charts for the HTML report: a unit-square plot frame with ticks and axis labels, curve lines,
// step lines, bars, scatter points and a legend. Output is SVG markup with every text escaped, no scripts, no
// external references (fonts fall back to the reader's sans-serif, which covers CJK on common systems).
// Imports nothing of ours.

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/** Escapes text for HTML and SVG, in element content and in double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string);
}

export type LegendCorner = 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';

export interface PlotFrame {
  title: string;
  /** Where the legend goes: pick the corner the data leaves empty (bottom-right for ROC). Default top-right. */
  legend?: LegendCorner;
  xLabel: string;
  yLabel: string;
  x: [number, number];
  y: [number, number];
  width?: number;
  height?: number;
}

const MARGIN = { left: 52, right: 16, top: 30, bottom: 44 };

function round(v: number): string {
  return String(Math.round(v * 100) / 100);
}

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

export class Plot {
  readonly width: number;
  readonly height: number;
  private readonly parts: string[] = [];
  private readonly legend: { color: string; label: string; dashed?: boolean }[] = [];

  constructor(readonly frame: PlotFrame) {
    this.width = frame.width ?? 420;
    this.height = frame.height ?? 360;
  }

  sx(x: number): number {
    const [lo, hi] = this.frame.x;
    return MARGIN.left + ((x - lo) / (hi - lo || 1)) * (this.width - MARGIN.left - MARGIN.right);
  }

  sy(y: number): number {
    const [lo, hi] = this.frame.y;
    return this.height - MARGIN.bottom - ((y - lo) / (hi - lo || 1)) * (this.height - MARGIN.top - MARGIN.bottom);
  }

  /** A straight or polyline series through (xs[i], ys[i]). */
  line(xs: readonly number[], ys: readonly number[], color: string, options: { dashed?: boolean; label?: string; title?: string } = {}): this {
    const points = xs.map((x, i) => `${round(this.sx(x))},${round(this.sy(ys[i]))}`).join(' ');
    const dash = options.dashed ? ' stroke-dasharray="5 4"' : '';
    const title = options.title ? `<title>${escapeHtml(options.title)}</title>` : '';
    this.parts.push(`<polyline class="series" fill="none" stroke="${color}" stroke-width="2"${dash} points="${points}">${title}</polyline>`);
    if (options.label) this.legend.push({ color, label: options.label, dashed: options.dashed });
    return this;
  }

  /** A step series: y[j] holds from x[j] to x[j+1] (a precision-recall curve). */
  steps(xs: readonly number[], ys: readonly number[], color: string, options: { label?: string; title?: string } = {}): this {
    if (xs.length === 0) return this;
    let d = `M${round(this.sx(xs[0]))},${round(this.sy(ys[0]))}`;
    for (let j = 1; j < xs.length; j++) d += `H${round(this.sx(xs[j]))}V${round(this.sy(ys[j]))}`;
    const title = options.title ? `<title>${escapeHtml(options.title)}</title>` : '';
    this.parts.push(`<path class="series" fill="none" stroke="${color}" stroke-width="2" d="${d}">${title}</path>`);
    if (options.label) this.legend.push({ color, label: options.label });
    return this;
  }

  bar(x0: number, x1: number, y: number, color: string, title: string, baseline = this.frame.y[0]): this {
    const top = Math.min(this.sy(y), this.sy(baseline));
    const h = Math.abs(this.sy(baseline) - this.sy(y));
    this.parts.push(
      `<rect class="bar" x="${round(this.sx(x0) + 1)}" y="${round(top)}" width="${round(Math.max(0, this.sx(x1) - this.sx(x0) - 2))}" height="${round(h)}" fill="${color}"><title>${escapeHtml(title)}</title></rect>`,
    );
    return this;
  }

  points(xs: readonly number[], ys: readonly number[], color: string, radius = 2.5): this {
    const dots = xs.map((x, i) => `<circle cx="${round(this.sx(x))}" cy="${round(this.sy(ys[i]))}" r="${radius}"/>`).join('');
    this.parts.push(`<g class="points" fill="${color}" fill-opacity="0.6">${dots}</g>`);
    return this;
  }

  legendEntry(color: string, label: string, dashed = false): this {
    this.legend.push({ color, label, dashed });
    return this;
  }

  render(): string {
    const { width, height, frame } = this;
    const x0 = this.sx(frame.x[0]);
    const x1 = this.sx(frame.x[1]);
    const y0 = this.sy(frame.y[0]);
    const y1 = this.sy(frame.y[1]);
    const grid: string[] = [];
    for (const t of niceTicks(frame.x[0], frame.x[1])) {
      const x = round(this.sx(t));
      grid.push(`<line x1="${x}" y1="${round(y0)}" x2="${x}" y2="${round(y1)}" stroke="#e6e9ee"/>`);
      grid.push(`<text x="${x}" y="${round(y0 + 16)}" text-anchor="middle" font-size="10" fill="#5a6472">${escapeHtml(String(t))}</text>`);
    }
    for (const t of niceTicks(frame.y[0], frame.y[1])) {
      const y = round(this.sy(t));
      grid.push(`<line x1="${round(x0)}" y1="${y}" x2="${round(x1)}" y2="${y}" stroke="#e6e9ee"/>`);
      grid.push(`<text x="${round(x0 - 6)}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="10" fill="#5a6472">${escapeHtml(String(t))}</text>`);
    }
    const corner = frame.legend ?? 'top-right';
    const boxHeight = this.legend.length * 16 + 2;
    const boxLeft = corner.endsWith('left') ? x0 + 4 : x1 - 156;
    const boxTop = corner.startsWith('top') ? y1 + 4 : y0 - 4 - boxHeight;
    const legend = this.legend
      .map((e, i) => {
        const y = boxTop + 9 + i * 16;
        const lx = boxLeft + 6;
        const dash = e.dashed ? ' stroke-dasharray="5 4"' : '';
        return `<line x1="${round(lx)}" y1="${y}" x2="${round(lx + 18)}" y2="${y}" stroke="${e.color}" stroke-width="2"${dash}/><text x="${round(lx + 24)}" y="${y}" dominant-baseline="middle" font-size="11" fill="#1d2430">${escapeHtml(e.label)}</text>`;
      })
      .join('');
    const legendBox = this.legend.length
      ? `<rect x="${round(boxLeft)}" y="${round(boxTop)}" width="152" height="${boxHeight}" fill="#ffffff" fill-opacity="0.85" stroke="#d8dee6"/>`
      : '';
    return [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(frame.title)}" font-family="system-ui, 'Noto Sans', 'Noto Sans CJK SC', sans-serif">`,
      `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
      `<title>${escapeHtml(frame.title)}</title>`,
      `<text x="${round(width / 2)}" y="18" text-anchor="middle" font-size="13" font-weight="600" fill="#1d2430">${escapeHtml(frame.title)}</text>`,
      ...grid,
      `<rect x="${round(x0)}" y="${round(y1)}" width="${round(x1 - x0)}" height="${round(y0 - y1)}" fill="none" stroke="#9aa3af"/>`,
      ...this.parts,
      legendBox,
      legend,
      `<text x="${round((x0 + x1) / 2)}" y="${height - 8}" text-anchor="middle" font-size="12" fill="#1d2430">${escapeHtml(frame.xLabel)}</text>`,
      `<text transform="translate(14 ${round((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle" font-size="12" fill="#1d2430">${escapeHtml(frame.yLabel)}</text>`,
      '</svg>',
    ].join('\n');
  }
}
