// The worker side of trainInWorker: runs the job, forwards events, turns errors into catalog JSON.
import type { MessagePort } from 'node:worker_threads';
import { toAimassError } from '../core/index.js';
import { type TrainJob, runTrainJob } from './job.js';
import type { WorkerMessage } from './worker.js';

export async function runWorker(job: TrainJob, port: MessagePort | null): Promise<void> {
  if (!port) throw new Error('runWorker must run in a worker thread');
  const controller = new AbortController();
  port.on('message', (m: { type: string }) => m.type === 'abort' && controller.abort());
  const send = (m: WorkerMessage) => port.postMessage(m);
  try {
    const result = await runTrainJob(job, (event) => send({ type: 'event', event }), controller.signal);
    send({ type: 'done', result });
  } catch (e) {
    send({ type: 'error', error: toAimassError(e).toJSON() });
  } finally {
    port.close();
  }
}
