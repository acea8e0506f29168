// The worker side of a SessionPool: one ONNX Runtime session on this thread, created from the model bytes the
// pool transferred in; runs requests in arrival order (session.run blocks the thread, so this is all it does)
// and sends the outputs back with their buffers transferred. Errors keep their catalog code across the thread.
import type { MessagePort } from 'node:worker_threads';
import { AimassError, type AimassErrorJSON, toAimassError } from '../core/index.js';
import { createSession, tensor } from '../engine/index.js';
import { type HostData, type HostTensors, HOST_TENSOR_TYPES, isHostTensorType, transferablesOf } from './tensors.js';

export interface PoolWorkerData {
  bytes: Uint8Array;
  intraOpNumThreads: number;
}

/** Test-only: makes the worker exit abruptly, as a native crash would. Never sent outside tests. */
export const CRASH_FOR_TESTS = 'internal:crash-for-tests';

export type ToPoolWorker = { type: 'run'; id: number; feeds: HostTensors } | { type: 'close' } | { type: typeof CRASH_FOR_TESTS };

export type FromPoolWorker =
  | { type: 'ready' }
  | { type: 'result'; id: number; outputs: HostTensors }
  /** Without an id: the session could not be created. */
  | { type: 'error'; id?: number; error: AimassErrorJSON };

export async function servePoolWorker(data: PoolWorkerData, port: MessagePort | null): Promise<void> {
  if (!port) throw new Error('servePoolWorker must run in a worker thread');
  const send = (m: FromPoolWorker, transfer: ArrayBuffer[] = []) => {
    try {
      port.postMessage(m, transfer);
    } catch {
      port.postMessage(m); // a buffer that cannot move (e.g. native-backed) is copied instead
    }
  };
  let session: Awaited<ReturnType<typeof createSession>>;
  try {
    session = await createSession(data.bytes, { threads: data.intraOpNumThreads });
  } catch (e) {
    send({ type: 'error', error: toAimassError(e).toJSON() });
    port.close();
    return;
  }
  // One message at a time, in arrival order: a close must not release the session under a run still pending.
  let previous = Promise.resolve();
  port.on('message', (m: ToPoolWorker) => {
    previous = previous.then(() => handle(m)).catch(() => {}); // handle reports its own errors
  });
  const handle = async (m: ToPoolWorker): Promise<void> => {
    if (m.type === 'run') {
      try {
        const feeds: Record<string, ReturnType<typeof tensor>> = {};
        for (const [name, t] of Object.entries(m.feeds)) feeds[name] = tensor(t.type, t.data, [...t.dims]);
        let out: Awaited<ReturnType<typeof session.run>>;
        try {
          out = await session.run(feeds);
        } catch (e) {
          // what ONNX Runtime refuses at run time is the request's data (an index out of range, a shape the
          // graph cannot take), not a server fault
          throw e instanceof AimassError ? e : new AimassError('INVALID_ARGUMENT', `the model could not run on this input: ${(e as Error).message}`);
        }
        const outputs: HostTensors = {};
        for (const [name, t] of Object.entries(out)) {
          if (!isHostTensorType(t.type)) throw new AimassError('UNSUPPORTED', `output "${name}" has type ${t.type}; serving returns ${HOST_TENSOR_TYPES.join(', ')} outputs`);
          outputs[name] = { type: t.type, data: t.data as HostData, dims: [...t.dims] };
        }
        send({ type: 'result', id: m.id, outputs }, transferablesOf(outputs));
      } catch (e) {
        send({ type: 'error', id: m.id, error: toAimassError(e).toJSON() });
      }
    } else if (m.type === 'close') {
      await session.release();
      port.close();
    } else if (m.type === CRASH_FOR_TESTS) {
      process.exit(70); // in a worker thread this ends only the thread
    }
  };
  send({ type: 'ready' });
}
