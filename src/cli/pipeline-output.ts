/**
 * How `aimass run` and `aimass quickstart` show a pipeline on the terminal: a line when each step starts and
 * ends (cached steps say so), notes indented below, a progress bar with ETA for training and evaluation when
 * stderr is a terminal, and the final summary table. All of it goes to stderr except the summary, so `--json`
 * keeps stdout for the one JSON result.
 */
import cliProgress from 'cli-progress';
import type { PipelineEvent, PipelineResult, StepRecord } from '../pipeline/index.js';
import { table } from './output.js';

const MARK: Record<StepRecord['status'], string> = { done: '✓', cached: '✓', skipped: '·', failed: '✗' };

export class PipelineProgress {
  private bar: cliProgress.SingleBar | null = null;
  private barTotal = 0;

  constructor(
    private readonly stderr: { write(s: string): unknown; isTTY?: boolean },
    private readonly o: { bars: boolean; prefix?: string },
  ) {}

  private line(text: string): void {
    this.stopBar();
    this.stderr.write(`${this.o.prefix ?? ''}${text}\n`);
  }

  private stopBar(): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = null;
    }
  }

  readonly onEvent = (e: PipelineEvent): void => {
    switch (e.type) {
      case 'start':
        this.line(`▸ ${e.step}${e.round ? ` (round ${e.round + 1})` : ''}: ${e.what}`);
        break;
      case 'note':
        this.line(`    ${e.message}`);
        break;
      case 'progress':
        if (!this.o.bars || e.total <= 0) break;
        if (!this.bar || this.barTotal !== e.total) {
          this.stopBar();
          this.bar = new cliProgress.SingleBar(
            { format: `    {bar} {percentage}% | {note} | ETA {eta_formatted}`, hideCursor: true, clearOnComplete: true, stream: this.stderr as NodeJS.WriteStream, etaBuffer: 50 },
            cliProgress.Presets.shades_classic,
          );
          this.barTotal = e.total;
          this.bar.start(e.total, e.done, { note: e.note });
        } else this.bar.update(e.done, { note: e.note });
        break;
      case 'end': {
        const r = e.record;
        const status = r.status === 'cached' ? ' (cached)' : r.status === 'skipped' ? ' (skipped)' : r.status === 'failed' ? ' FAILED' : '';
        this.line(`${MARK[r.status]} ${r.step}${status}${r.seconds >= 0.05 ? ` ${r.seconds.toFixed(1)} s` : ''}: ${r.summary}`);
        break;
      }
    }
  };

  close(): void {
    this.stopBar();
  }
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The summary: one row per step run, then the outcome. */
export function formatSummary(r: PipelineResult): string {
  const rows = r.steps.map((s) => [s.step + (s.round ? ` ${s.round + 1}` : ''), s.status, s.seconds ? `${s.seconds.toFixed(1)} s` : '-', clip(s.summary, 110)]);
  const lines = [`pipeline ${r.name}`, table(['STEP', 'STATUS', 'TIME', 'RESULT'], rows), ''];
  if (r.report) lines.push(`report: ${r.report.html}`);
  if (!r.passed) {
    lines.push(`gate FAILED${r.rounds > 1 ? ` after ${r.rounds} training rounds` : ''}; failing rule(s):`);
    for (const rule of r.gate?.rules.filter((x) => !x.passed) ?? []) lines.push(`  - ${rule.text}: ${rule.message}`);
    if (r.aliasKept) lines.push(`${r.aliasKept.model}@${r.aliasKept.alias} stays ${r.aliasKept.version === null ? 'unset' : `at version ${r.aliasKept.version}`}; nothing was registered`);
  } else {
    if (r.gate) {
      lines.push(`gate passed${r.rounds > 1 ? ` in training round ${r.rounds}` : ''}`);
      for (const note of r.gate.notes) lines.push(`  note: ${note}`);
    }
    if (r.registered) lines.push(`registered: ${r.registered.model} version ${r.registered.version}`);
    if (r.promoted) lines.push(`${r.promoted.model}@${r.promoted.alias}: ${r.promoted.changed ? `${r.promoted.from ?? 'unset'} → ${r.promoted.to}` : `already at version ${r.promoted.to}`}`);
  }
  return lines.join('\n');
}

/** What to try against a served model: its URLs and curl lines (an image model takes a base64 PNG). */
export function servingHints(url: string, model: string, kind: 'image' | 'text', example?: { png?: string; v2Request?: string }): string {
  const predict = `${url}/api/v1/predict/${model}`;
  const lines = [`  ${predict}      (raw records → labels with scores)`, `  ${url}/v2/models/${model}      (Open Inference Protocol v2: metadata; …/infer takes tensors)`, `  ${url}/docs      (OpenAPI)`, ''];
  if (kind === 'image') {
    const png = example?.png ?? 'digit.png';
    lines.push(`  curl -s ${predict} -H 'content-type: application/json' -d "{\\"inputs\\": [\\"$(base64 -w0 ${png})\\"], \\"top_k\\": 3}"`);
    if (example?.v2Request) lines.push(`  curl -s ${url}/v2/models/${model}/infer -H 'content-type: application/json' -d @${example.v2Request}`);
  } else {
    lines.push(`  curl -s ${predict} -H 'content-type: application/json' -d '{"inputs": ["Congratulations! You have won a FREE prize, click here to claim it"]}'`);
    lines.push(`  curl -s ${url}/v2/models/${model}`);
  }
  return lines.join('\n');
}
