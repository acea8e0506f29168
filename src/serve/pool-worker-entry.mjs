// Worker-thread entry of a SessionPool (plain JS so Node can start it before TypeScript loading is set up):
// registers tsx, then serves the model bytes given as workerData.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { servePoolWorker } = await import('./pool-worker.ts');
await servePoolWorker(workerData, parentPort);
