// A report on disk: `report.json` (the report, pretty-printed) and `report.html` (its page) in one directory,
// and reading a report.json back (for a baseline) with a check that it is one. Each file is written to a
// temporary name and renamed, so a reader never sees half a report.
// Imports core only.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AimassError, errors } from '../core/index.js';
import { REPORT_FORMAT, type EvaluationReport } from './report.js';
import { renderReportHtml } from './report-html.js';

export const REPORT_JSON = 'report.json';
export const REPORT_HTML = 'report.html';

async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, content, 'utf8');
  await rename(tmp, file);
}

/** Writes report.json and report.html into `dir` (created if missing); returns both paths. */
export async function writeReport(dir: string, report: EvaluationReport): Promise<{ json: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, REPORT_JSON);
  const html = path.join(dir, REPORT_HTML);
  await writeAtomically(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeAtomically(html, renderReportHtml(report));
  return { json, html };
}

/** Checks that a parsed JSON value is an evaluation report (format, task, metrics) and returns it typed. */
export function parseReport(value: unknown, source = 'report'): EvaluationReport {
  const problems: string[] = [];
  const r = value as Partial<EvaluationReport> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    throw new AimassError('DATA_FORMAT', `${source} is not an evaluation report (expected a JSON object)`, { problems: ['(top level): expected an object'] });
  }
  if (r.format !== REPORT_FORMAT) problems.push(`format: expected "${REPORT_FORMAT}", got ${JSON.stringify(r.format)}`);
  if (r.task !== 'binary' && r.task !== 'multiclass' && r.task !== 'regression') problems.push(`task: expected binary, multiclass or regression, got ${JSON.stringify(r.task)}`);
  if (typeof r.metrics !== 'object' || r.metrics === null) problems.push('metrics: expected an object of metric name → number or null');
  else {
    for (const [k, v] of Object.entries(r.metrics)) if (v !== null && typeof v !== 'number') problems.push(`metrics.${k}: expected a number or null`);
  }
  if (typeof r.undefinedMetrics !== 'object' || r.undefinedMetrics === null) problems.push('undefinedMetrics: expected an object');
  if ((r.task === 'binary' || r.task === 'multiclass') && !Array.isArray((r as { perClass?: unknown }).perClass)) problems.push('perClass: expected an array');
  if ((r.task === 'binary' || r.task === 'multiclass') && !Array.isArray((r as { classNames?: unknown }).classNames)) problems.push('classNames: expected an array');
  if (problems.length) throw errors.dataFormat(`${source} is not a valid evaluation report; ${problems.length} problem(s)`, problems);
  return r as EvaluationReport;
}

/** Reads `report.json` from a directory (or the file itself when `file` ends in .json). */
export async function readReport(file: string): Promise<EvaluationReport> {
  const target = file.endsWith('.json') ? file : path.join(file, REPORT_JSON);
  let text: string;
  try {
    text = await readFile(target, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw errors.notFound('evaluation report', target, 'run the evaluation first, or check the path');
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw errors.dataFormat(`${target} is not valid JSON`, [(e as Error).message]);
  }
  return parseReport(value, target);
}
