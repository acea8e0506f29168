// Runs a training job in a worker thread: ONNX Runtime's session.run blocks its thread, so the main thread
// stays free for progress output, signals and (later) serving requests. Events and the result come back as
// messages; errors keep their catalog code across the thread boundary.
import { Worker } from 'node:worker_threads';
import { AimassError, toAimassError } from '../core/index.js';
import type { JobEvent, JobResult, TrainJob } from './job.js';

export type WorkerMessage = { type: 'event'; event: JobEvent } | { type: 'done'; result: JobResult } | { type: 'error'; error: unknown };

export interface WorkerRun {
  result: Promise<JobResult>;
  /** Asks the job to stop after its current step (the last epoch checkpoint stays). */
  abort(): void;
}

export function trainInWorker(job: TrainJob, onEvent?: (e: JobEvent) => void): WorkerRun {
  const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: job });
  const result = new Promise<JobResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'event') onEvent?.(m.event);
      else if (m.type === 'done') {
        settled = true;
        resolve(m.result);
      } else {
        settled = true;
        reject(AimassError.fromJSON(m.error));
      }
    });
    worker.on('error', (e) => {
      settled = true;
      reject(toAimassError(e));
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new AimassError('INTERNAL', `the training worker exited with code ${code} before finishing`));
    });
  });
  return { result, abort: () => worker.postMessage({ type: 'abort' }) };
}
