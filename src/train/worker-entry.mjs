// Worker-thread entry (plain JS so Node can start it before TypeScript loading is set up): registers tsx,
// then runs the training job given as workerData and reports back to the parent.
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { runWorker } = await import('./worker-main.ts');
await runWorker(workerData, parentPort);
