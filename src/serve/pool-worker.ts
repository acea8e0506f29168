// The messages between a SessionPool and its worker threads. The worker itself is pool-worker-entry.mjs, plain
// JavaScript so that it starts without loading TypeScript (see there); this file is its typed contract.
import type { AimassErrorJSON } from '../core/index.js';
import type { HostTensors } from './tensors.js';

export interface PoolWorkerData {
  bytes: Uint8Array;
  intraOpNumThreads: number;
}

/** Test-only: makes the worker exit abruptly, as a native crash would. Never sent outside tests. */
export const CRASH_FOR_TESTS = 'internal:crash-for-tests';

export type ToPoolWorker = { type: 'run'; id: number; feeds: HostTensors } | { type: 'close' } | { type: typeof CRASH_FOR_TESTS };

/** A failure as the worker sends it: a catalog code and a message (AimassError.fromJSON reads both forms). */
export type PoolWorkerFailure = AimassErrorJSON | { code: string; message: string };

export type FromPoolWorker =
  | { type: 'ready' }
  | { type: 'result'; id: number; outputs: HostTensors }
  /** Without an id: the session could not be created. */
  | { type: 'error'; id?: number; error: PoolWorkerFailure };
