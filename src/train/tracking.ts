// Run tracking: a training run recorded in the metadata store as it goes — params (the spec), per-epoch
// metrics, artifacts and status (running, finished, failed, killed). The run id is kept in the run folder
// (run.json) so a resumed run keeps logging to the same record. Tracking never stops training: a store that
// fails is reported as a warning, and metrics.json in the run folder still has everything.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AimassError, newId } from '../core/index.js';
import type { MetadataStore } from '../storage/index.js';
import type { JobEvent, JobResult } from './job.js';
import type { TrainSpec } from './spec.js';

export class RunTracker {
  private queue: Promise<void> = Promise.resolve();
  private failed = false;
  /** The record is final (the run had finished before): nothing more is written. */
  private closed = false;

  private constructor(
    private readonly meta: MetadataStore,
    readonly runId: string,
    private readonly warn: (message: string) => void,
  ) {}

  /** Opens (or, on resume, reopens) the run record of `runDir`. */
  static async start(meta: MetadataStore, runDir: string, spec: TrainSpec, warn: (message: string) => void): Promise<RunTracker> {
    const file = join(runDir, 'run.json');
    let runId: string | undefined;
    if (existsSync(file)) runId = (JSON.parse(readFileSync(file, 'utf8')) as { runId?: string }).runId;
    runId ??= newId('run');
    const tracker = new RunTracker(meta, runId, warn);
    await tracker.guard(async () => {
      const existing = await meta.getRun(runId!);
      if (!existing) {
        await meta.createRun({ id: runId!, name: spec.name ?? spec.model.type, params: spec as unknown as Record<string, unknown>, tags: { runDir: basename(runDir) } });
      } else if (existing.status === 'finished') {
        tracker.closed = true; // resuming a finished run only re-exports it
      } else if (existing.status !== 'running') {
        await meta.resumeRun(runId!); // a killed or failed run whose training resumes
      }
      await meta.setRunArtifact(runId!, 'run_dir', pathToFileURL(runDir).href);
    });
    return tracker;
  }

  private async guard(fn: () => Promise<void>): Promise<void> {
    if (this.failed || this.closed) return;
    try {
      await fn();
    } catch (e) {
      this.failed = true;
      this.warn(`run tracking stopped (${e instanceof AimassError ? `${e.code}: ` : ''}${(e as Error).message}); metrics.json in the run folder keeps the history`);
    }
  }

  private enqueue(fn: () => Promise<void>): void {
    this.queue = this.queue.then(() => this.guard(fn));
  }

  onEvent(e: JobEvent): void {
    // the trainer has made the run folder by now (not before the data loaded, so bad data leaves no folder)
    if (e.type === 'start') writeFileSync(join(e.runDir, 'run.json'), `${JSON.stringify({ runId: this.runId })}\n`);
    if (e.type !== 'epoch') return;
    const r = e.record;
    const points = Object.entries(r)
      .filter(([k, v]) => k !== 'epoch' && typeof v === 'number')
      .map(([key, value]) => ({ key, step: r.epoch, value: value as number }));
    this.enqueue(() => this.meta.logMetrics(this.runId, points));
  }

  async finished(result: JobResult): Promise<void> {
    this.enqueue(async () => {
      const points: { key: string; step: number; value: number }[] = [];
      if (result.test) for (const [k, v] of Object.entries(result.test)) if (k !== 'n' && typeof v === 'number') points.push({ key: `test_${k}`, step: result.epochs, value: v });
      if (points.length) await this.meta.logMetrics(this.runId, points);
      await this.meta.setRunArtifact(this.runId, 'model', pathToFileURL(result.modelPath).href);
      await this.meta.endRun(this.runId, 'finished');
    });
    await this.queue;
  }

  async ended(error: unknown): Promise<void> {
    const killed = error instanceof AimassError && error.code === 'CANCELLED';
    this.enqueue(async () => {
      await this.meta.endRun(this.runId, killed ? 'killed' : 'failed', (error as Error).message);
    });
    await this.queue;
  }
}
