// A training job as the CLI runs it: load the spec's data, train, return the result. The same function runs
// in a worker thread (worker.ts) or inline.
import { buildModel } from '../models/index.js';
import { type PreparedData, loadTrainingData } from './data.js';
import type { TrainSpec } from './spec.js';
import { type TrainEvent, type TrainOptions, type TrainResult, train } from './trainer.js';

export interface TrainJob {
  /** Parsed spec with data paths already resolved. */
  spec: TrainSpec;
  runDir: string;
  threads?: number;
  resume?: boolean;
  /**
   * Data already prepared in memory (e.g. text turned into feature vectors by a pipeline's features step): it is
   * trained on instead of loading `spec.data`'s files, which then only record where the data came from.
   */
  data?: PreparedData;
}

export type JobEvent = TrainEvent | { type: 'loading'; path: string } | { type: 'loaded'; train: number; validation?: number; test?: number; seconds: number };

export type JobResult = Omit<TrainResult, 'weights'>;

/** `hooks.onEpochEnd` is awaited after each epoch (see TrainOptions); inline runs only, as it cannot cross threads. */
export async function runTrainJob(job: TrainJob, onEvent?: (e: JobEvent) => void, signal?: AbortSignal, hooks: Pick<TrainOptions, 'onEpochEnd'> = {}): Promise<JobResult> {
  const t0 = performance.now();
  onEvent?.({ type: 'loading', path: job.spec.data.train });
  const data = job.data ?? (await loadTrainingData(job.spec.data, buildModel(job.spec.model), job.spec.seed));
  onEvent?.({ type: 'loaded', train: data.train.n, validation: data.validation?.n, test: data.test?.n, seconds: (performance.now() - t0) / 1000 });
  const { weights: _w, ...result } = await train(job.spec, data, { runDir: job.runDir, threads: job.threads, resume: job.resume, onEvent, signal, onEpochEnd: hooks.onEpochEnd });
  return result;
}
