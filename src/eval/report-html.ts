// The report as one self-contained HTML page: inline CSS and inline SVG only, no scripts, no external assets,
// so it can be stored beside report.json and opened anywhere. Classifiers get the metric tables, the confusion
// matrix as an HTML table heat map, ROC and precision-recall curves and the reliability diagram; regressors get
// the metrics and a predicted-against-target scatter plot. Every text from the report is escaped.
// Imports nothing of ours but this module's report types and charts.
import type { Calibration } from './calibration.js';
import type { ClassificationReport, EvaluationReport, PrCurve, RegressionReport, RocCurve } from './report.js';
import { PALETTE, Plot, escapeHtml } from './svg-charts.js';

/** Curves drawn per chart; with more classes, those with the lowest area are drawn (the ones a gate watches). */
const MAX_CURVES = 10;
/** Classes up to which the confusion matrix is drawn; past it the page points to report.json. */
const MAX_MATRIX_CLASSES = 40;
const LEGEND_CHARS = 18;

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "PingFang SC", "Hiragino Sans", sans-serif; margin: 24px; color: #1d2430; background: #fff; }
h1 { font-size: 1.5em; margin-bottom: 4px; } h2 { font-size: 1.15em; margin-top: 28px; border-bottom: 1px solid #d8dee6; padding-bottom: 4px; }
.meta { color: #5a6472; margin: 0 0 12px; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { padding: 4px 8px; border: 1px solid #d8dee6; text-align: right; }
th { background: #f3f5f8; } td.name, th.name { text-align: left; }
.undefined { color: #8a6d00; font-style: italic; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #d8dee6; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card .label { color: #5a6472; font-size: 0.8em; } .card .value { font-size: 1.4em; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
table.confusion td { min-width: 2.5em; text-align: center; }
table.confusion th.corner { background: #fff; border: none; }
svg { background: #fff; border: 1px solid #d8dee6; border-radius: 4px; }
ul.notes li { margin: 3px 0; }
`;

function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return '—';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toFixed(digits)));
}

function shortLabel(name: string): string {
  const chars = Array.from(name);
  return chars.length > LEGEND_CHARS ? `${chars.slice(0, LEGEND_CHARS - 1).join('')}…` : name;
}

function metricsTable(report: EvaluationReport): string {
  const rows = Object.entries(report.metrics).map(([name, value]) => {
    const cell =
      value === null
        ? `<td class="undefined">undefined: ${escapeHtml(report.undefinedMetrics[name] ?? 'not computed')}</td>`
        : `<td>${escapeHtml(fmt(value, 6))}</td>`;
    return `<tr><td class="name">${escapeHtml(name)}</td>${cell}</tr>`;
  });
  return `<table class="metrics"><thead><tr><th class="name">metric</th><th>value</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function cards(report: EvaluationReport, names: string[]): string {
  const items = names
    .filter((n) => n in report.metrics)
    .map((n) => `<div class="card"><div class="label">${escapeHtml(n)}</div><div class="value">${escapeHtml(fmt(report.metrics[n]))}</div></div>`);
  return `<div class="cards">${items.join('')}</div>`;
}

function perClassTable(report: ClassificationReport): string {
  const head = ['class', 'support', 'predicted', 'precision', 'recall', 'f1', 'ROC-AUC', 'avg precision'];
  const rows = report.perClass.map(
    (r) =>
      `<tr><td class="name">${escapeHtml(r.className)}</td><td>${r.support}</td><td>${r.predicted}</td><td>${fmt(r.precision)}</td><td>${fmt(r.recall)}</td><td>${fmt(r.f1)}</td><td>${fmt(r.rocAuc)}</td><td>${fmt(r.averagePrecision)}</td></tr>`,
  );
  return `<table class="per-class"><thead><tr>${head.map((h, i) => `<th${i === 0 ? ' class="name"' : ''}>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Rows are true classes, columns predicted; each cell is shaded by its share of the row (the class's recall). */
function confusionTable(report: ClassificationReport): string {
  const k = report.classNames.length;
  if (k > MAX_MATRIX_CLASSES) {
    return `<p>The matrix has ${k} classes, too many to draw here; it is in report.json as confusionMatrix (rows: true class, columns: predicted).</p>`;
  }
  const names = report.classNames.map((c) => escapeHtml(c));
  const head = `<tr><th class="corner"></th><th colspan="${k}">predicted</th></tr><tr><th class="name">true</th>${names.map((n) => `<th>${n}</th>`).join('')}</tr>`;
  const rows = report.confusionMatrix.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    const cells = row.map((count, p) => {
      const share = total ? count / total : 0;
      // Blue for the diagonal (right), red off it (wrong); opacity grows with the share of the row.
      const rgb = t === p ? '31, 119, 180' : '214, 39, 40';
      const color = share > 0.55 ? '#fff' : '#1d2430';
      const title = `true ${report.classNames[t]}, predicted ${report.classNames[p]}: ${count} (${fmt(share * 100, 1)}% of ${report.classNames[t]})`;
      return `<td style="background: rgba(${rgb}, ${fmt(0.08 + 0.85 * share, 3)}); color: ${color}" title="${escapeHtml(title)}">${count}</td>`;
    });
    return `<tr><th class="name">${names[t]}</th>${cells.join('')}</tr>`;
  });
  return `<table class="confusion">${head}${rows.join('')}</table>`;
}

function pickCurves<T extends { className: string }>(curves: T[], area: (c: T) => number): { shown: T[]; note: string } {
  if (curves.length <= MAX_CURVES) return { shown: curves, note: '' };
  const shown = [...curves].sort((a, b) => area(a) - area(b)).slice(0, MAX_CURVES);
  return { shown, note: `<p>Showing the ${MAX_CURVES} classes with the lowest area of ${curves.length}; every curve is in report.json.</p>` };
}

function rocChart(curves: RocCurve[]): string {
  const { shown, note } = pickCurves(curves, (c) => c.auc);
  const plot = new Plot({ title: 'ROC curve', legend: 'bottom-right', xLabel: 'false positive rate', yLabel: 'true positive rate', x: [0, 1], y: [0, 1] });
  plot.line([0, 1], [0, 1], '#9aa3af', { dashed: true, label: 'chance' });
  shown.forEach((c, i) => {
    plot.line(c.fpr, c.tpr, PALETTE[i % PALETTE.length], { label: `${shortLabel(c.className)} (${fmt(c.auc, 3)})`, title: `${c.className}: ROC-AUC ${fmt(c.auc)}` });
  });
  return plot.render() + note;
}

function prChart(curves: PrCurve[]): string {
  const { shown, note } = pickCurves(curves, (c) => c.averagePrecision);
  const plot = new Plot({ title: 'Precision-recall curve', legend: 'bottom-left', xLabel: 'recall', yLabel: 'precision', x: [0, 1], y: [0, 1] });
  shown.forEach((c, i) => {
    plot.steps(c.recall, c.precision, PALETTE[i % PALETTE.length], {
      label: `${shortLabel(c.className)} (${fmt(c.averagePrecision, 3)})`,
      title: `${c.className}: average precision ${fmt(c.averagePrecision)}`,
    });
  });
  return plot.render() + note;
}

function reliabilityChart(calibration: Calibration): string {
  const plot = new Plot({ title: 'Reliability diagram', legend: 'top-left', xLabel: 'confidence (max probability)', yLabel: 'accuracy', x: [0, 1], y: [0, 1] });
  plot.line([0, 1], [0, 1], '#9aa3af', { dashed: true, label: 'perfectly calibrated' });
  plot.legendEntry(PALETTE[0], 'accuracy per bin');
  plot.legendEntry(PALETTE[1], 'share of samples');
  const total = calibration.bins.reduce((a, b) => a + b.count, 0) || 1;
  for (const bin of calibration.bins) {
    if (bin.count === 0 || bin.accuracy === null) continue;
    const range = `(${fmt(bin.lower, 3)}, ${fmt(bin.upper, 3)}]`;
    plot.bar(bin.lower, bin.upper, bin.accuracy, `${PALETTE[0]}b3`, `confidence ${range}: ${bin.count} samples, accuracy ${fmt(bin.accuracy)}, mean confidence ${fmt(bin.meanConfidence)}`);
    plot.bar(bin.lower + (bin.upper - bin.lower) * 0.3, bin.upper - (bin.upper - bin.lower) * 0.3, bin.count / total, PALETTE[1], `${bin.count} of ${total} samples`);
  }
  const withData = calibration.bins.filter((b) => b.count > 0 && b.meanConfidence !== null && b.accuracy !== null);
  plot.points(
    withData.map((b) => b.meanConfidence as number),
    withData.map((b) => b.accuracy as number),
    '#1d2430',
    3,
  );
  return `${plot.render()}<p>ECE ${fmt(calibration.ece)}, MCE ${fmt(calibration.mce)}; bins: ${escapeHtml(calibration.binning)}. Dots mark each bin's mean confidence.</p>`;
}

function scatterChart(report: RegressionReport): string {
  const { targets, predictions } = report.sample;
  const all = [...targets, ...predictions];
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const pad = (hi - lo) * 0.05;
  const plot = new Plot({ title: 'Predicted against target', xLabel: 'target', yLabel: 'prediction', x: [lo - pad, hi + pad], y: [lo - pad, hi + pad] });
  plot.line([lo - pad, hi + pad], [lo - pad, hi + pad], '#9aa3af', { dashed: true, label: 'prediction = target' });
  plot.points(targets, predictions, PALETTE[0]);
  const shown = targets.length < report.nSamples ? `<p>${targets.length} of ${report.nSamples} samples drawn, evenly spaced.</p>` : '';
  return plot.render() + shown;
}

function latencyTable(report: EvaluationReport): string {
  if (!report.latency) return '';
  const rows = Object.entries(report.latency).map(([k, v]) => `<tr><td class="name">${escapeHtml(k)}</td><td>${escapeHtml(fmt(v, 3))}</td></tr>`);
  return `<h2>Latency (ms)</h2><table class="latency"><tbody>${rows.join('')}</tbody></table>`;
}

function titleOf(report: EvaluationReport): string {
  const model = report.model?.name ?? 'model';
  const version = report.model?.version === undefined ? '' : ` version ${report.model.version}`;
  return `Evaluation of ${model}${version}`;
}

/** The report as a self-contained HTML page (UTF-8). */
export function renderReportHtml(report: EvaluationReport): string {
  const title = titleOf(report);
  const meta = [
    `${report.task}`,
    `${report.nSamples} samples`,
    report.dataset ? `dataset ${report.dataset}` : '',
    report.task !== 'regression' ? `${report.classNames.length} classes, from ${report.inputKind}` : '',
    `created ${report.createdAt}`,
  ].filter(Boolean);
  const body: string[] = [`<h1>${escapeHtml(title)}</h1>`, `<p class="meta">${escapeHtml(meta.join(' · '))}</p>`];
  if (report.task === 'regression') {
    body.push(cards(report, ['mae', 'rmse', 'r2']));
    body.push('<h2>Metrics</h2>', metricsTable(report));
    body.push(
      `<p>Residuals (prediction − target): mean ${fmt(report.residuals.mean)}, min ${fmt(report.residuals.min)}, max ${fmt(report.residuals.max)}.</p>`,
    );
    body.push('<h2>Predictions</h2>', `<div class="charts">${scatterChart(report)}</div>`);
  } else {
    body.push(cards(report, ['accuracy', 'balanced_accuracy', 'min_class_recall', 'f1_macro', 'roc_auc', 'average_precision', 'log_loss', 'ece']));
    body.push('<h2>Metrics</h2>', metricsTable(report));
    body.push('<h2>Per class</h2>', perClassTable(report));
    body.push('<h2>Confusion matrix</h2>', '<p>Rows are the true class, columns the predicted class; shading is the share of the row.</p>', confusionTable(report));
    const charts: string[] = [];
    if (report.curves.roc.length) charts.push(rocChart(report.curves.roc));
    if (report.curves.pr.length) charts.push(prChart(report.curves.pr));
    body.push('<h2>Curves</h2>');
    body.push(
      charts.length
        ? `<div class="charts">${charts.map((c) => `<figure>${c}</figure>`).join('')}</div>`
        : '<p>No ROC or precision-recall curve: every class lacks positive or negative samples.</p>',
    );
    body.push('<h2>Calibration</h2>');
    body.push(report.calibration ? `<div class="charts"><figure>${reliabilityChart(report.calibration)}</figure></div>` : '<p>No reliability diagram: the report was made from scores, not probabilities.</p>');
  }
  body.push(latencyTable(report));
  if (report.notes.length) body.push('<h2>Notes</h2>', `<ul class="notes">${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
