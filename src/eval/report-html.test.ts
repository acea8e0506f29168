// The HTML page: self-contained (no scripts, no external references), with the confusion matrix, ROC and PR
// curves and the reliability diagram as inline SVG; class names escaped, CJK kept; and report.json + report.html
// written to a directory and read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { expectAimassError } from '../../test/support/aimass-errors.js';
import { AimassError } from '../core/index.js';
import { evaluate, evaluateRegression, parseReport, readReport, renderReportHtml, writeReport, type ClassificationReport } from './index.js';

const tempDir = useTempDirs('eval-report');
const EVIL = '<b>&"';
const CJK = '停止标志';

function report(): ClassificationReport {
  // 3 classes, 30 samples; deterministic probabilities with some mistakes
  const classNames = ['go', EVIL, CJK];
  const labels: number[] = [];
  const probabilities: number[][] = [];
  for (let i = 0; i < 30; i++) {
    const y = i % 3;
    const guess = i % 7 === 0 ? (y + 1) % 3 : y;
    const confidence = 0.5 + ((i * 37) % 45) / 100;
    labels.push(y);
    probabilities.push([0, 1, 2].map((c) => (c === guess ? confidence : (1 - confidence) / 2)));
  }
  return evaluate({
    labels,
    probabilities,
    classNames,
    model: { name: 'signs <v2>', version: 7 },
    dataset: 'sha256:abc',
    latency: [1, 2, 3, 4],
    createdAt: '2024-06-01T00:00:00.000Z',
  });
}

test('the page has the matrix table and ROC, PR and reliability SVGs, and nothing external', () => {
  const html = renderReportHtml(report());
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<meta charset="utf-8">/);
  assert.equal((html.match(/<svg /g) ?? []).length, 3);
  for (const title of ['ROC curve', 'Precision-recall curve', 'Reliability diagram']) assert.ok(html.includes(`<title>${title}</title>`), title);
  assert.ok((html.match(/<polyline class="series"/g) ?? []).length >= 3 + 1, 'three ROC curves and the chance line');
  assert.equal((html.match(/<path class="series"/g) ?? []).length, 3, 'three PR step curves');
  assert.ok((html.match(/<rect class="bar"/g) ?? []).length > 0, 'reliability bars');
  assert.match(html, /<table class="confusion">/);
  assert.equal((html.match(/<td style="background: rgba/g) ?? []).length, 9);
  assert.doesNotMatch(html, /<script|<link|<img|src=|href=|@import|url\(/i);
});

test('class names and the model name are escaped everywhere; CJK names render as they are', () => {
  const html = renderReportHtml(report());
  assert.ok(!html.includes(EVIL), 'the raw class name must not appear');
  assert.ok(!html.includes('<v2>'));
  assert.ok(html.includes('&lt;b&gt;&amp;&quot;'));
  assert.ok(html.includes('signs &lt;v2&gt;'));
  assert.ok(html.includes(`<th>${CJK}</th>`), 'CJK class in the confusion matrix header');
  assert.ok(html.includes(`<td class="name">${CJK}</td>`), 'CJK class in the per-class table');
  assert.ok(html.includes(`>${CJK} (`), 'CJK class in an SVG legend');
  // escaping is not doubled: & appears only as the start of an entity
  assert.doesNotMatch(html.replace(/&(amp|lt|gt|quot|#39);/g, ''), /&/);
});

test('a report from scores has no reliability diagram and says why; regression gets a scatter plot', () => {
  const scored = evaluate({ labels: [0, 1, 1, 0], scores: [-1, 2, 0.5, 0.2], classNames: ['neg', 'pos'] });
  const html = renderReportHtml(scored);
  assert.equal((html.match(/<svg /g) ?? []).length, 2);
  assert.match(html, /No reliability diagram: the report was made from scores/);
  assert.match(html, /undefined: needs probabilities/);

  const reg = renderReportHtml(evaluateRegression({ targets: [1, 2, 3, 4], predictions: [1.2, 1.8, 3.1, 4.4] }));
  assert.equal((reg.match(/<svg /g) ?? []).length, 1);
  assert.match(reg, /<title>Predicted against target<\/title>/);
  assert.equal((reg.match(/<circle /g) ?? []).length, 4);
});

test('writeReport writes report.json and report.html; readReport reads the JSON back unchanged', async () => {
  const dir = path.join(await tempDir(), 'nested', 'v7');
  const r = report();
  const paths = await writeReport(dir, r);
  assert.equal(paths.json, path.join(dir, 'report.json'));
  const html = await readFile(paths.html, 'utf8');
  assert.ok(html.includes(CJK));
  assert.deepEqual(await readReport(dir), r);
  assert.deepEqual(await readReport(paths.json), r);
});

test('readReport and parseReport refuse what is not a report, naming the problems', async () => {
  const dir = await tempDir();
  await assert.rejects(readReport(dir), (e: unknown) => e instanceof AimassError && e.code === 'NOT_FOUND');
  await writeFile(path.join(dir, 'report.json'), '{"format": "other"');
  await assert.rejects(readReport(dir), (e: unknown) => e instanceof AimassError && e.code === 'DATA_FORMAT');
  expectAimassError(() => parseReport({ format: 'other', task: 'cats', metrics: { a: 'x' } }), 'DATA_FORMAT', 'format: expected "aimass-eval/1"', 'task: expected', 'metrics.a');
});
