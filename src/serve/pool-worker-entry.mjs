// The worker side of a SessionPool, in plain JavaScript on purpose: a worker that registered tsx and loaded the
// TypeScript modules (core with zod and pino, the engine) took ~1 s to start, and every model load, hot swap and
// LRU reload starts one; this file needs only onnxruntime-node and starts in ~0.1 s. The messages it speaks are
// typed in pool-worker.ts; the session options are engine/runtime.ts createSession's (keep them in step).
//
// One ONNX Runtime session on this thread, created from the model bytes the pool transferred in; requests run in
// arrival order (session.run blocks the thread, so this is all it does) and the outputs go back with their buffers
// transferred. Errors travel as { code, message } with the catalog's codes.
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

/** Element types serving passes back (as serve/tensors.ts HOST_TENSOR_TYPES; float16 is not among them). */
const OUTPUT_TYPES = new Set(['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string']);
const CRASH_FOR_TESTS = 'internal:crash-for-tests';

const port = parentPort;
const send = (m, transfer = []) => {
  try {
    port.postMessage(m, transfer);
  } catch {
    port.postMessage(m); // a buffer that cannot move (e.g. native-backed) is copied instead
  }
};
const failure = (code, message) => ({ code, message });

/** Buffers that can move to the other thread without copying: whole, unshared, distinct (strings are copied). */
function transferables(tensors) {
  const seen = new Set();
  for (const t of Object.values(tensors)) {
    if (Array.isArray(t.data)) continue;
    const b = t.data.buffer;
    if (b instanceof ArrayBuffer && t.data.byteOffset === 0 && t.data.byteLength === b.byteLength) seen.add(b);
  }
  return [...seen];
}

let session;
try {
  session = await ort.InferenceSession.create(workerData.bytes, {
    intraOpNumThreads: workerData.intraOpNumThreads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
} catch (e) {
  send({ type: 'error', error: failure('INTERNAL', `ONNX Runtime could not load the graph: ${e?.message ?? e}`) });
  port.close();
}

async function run(m) {
  let out;
  try {
    const feeds = {};
    for (const [name, t] of Object.entries(m.feeds)) {
      const size = t.dims.reduce((a, b) => a * b, 1);
      if (t.data.length !== size) return send({ type: 'error', id: m.id, error: failure('INVALID_ARGUMENT', `input "${name}" has ${t.data.length} values, but dims [${t.dims}] need ${size}`) });
      feeds[name] = new ort.Tensor(t.type, t.data, [...t.dims]);
    }
    out = await session.run(feeds);
  } catch (e) {
    // what ONNX Runtime refuses at run time is the request's data (an index out of range, a shape the graph
    // cannot take), not a server fault
    return send({ type: 'error', id: m.id, error: failure('INVALID_ARGUMENT', `the model could not run on this input: ${e?.message ?? e}`) });
  }
  const outputs = {};
  for (const [name, t] of Object.entries(out)) {
    if (!OUTPUT_TYPES.has(t.type)) {
      return send({ type: 'error', id: m.id, error: failure('UNSUPPORTED', `output "${name}" has type ${t.type}; serving returns ${[...OUTPUT_TYPES].join(', ')} outputs`) });
    }
    outputs[name] = { type: t.type, data: t.data, dims: [...t.dims] };
  }
  send({ type: 'result', id: m.id, outputs }, transferables(outputs));
}

if (session) {
  // One message at a time, in arrival order: a close must not release the session under a run still pending.
  let previous = Promise.resolve();
  port.on('message', (m) => {
    previous = previous
      .then(async () => {
        if (m.type === 'run') await run(m);
        else if (m.type === 'close') {
          await session.release();
          port.close();
        } else if (m.type === CRASH_FOR_TESTS) process.exit(70); // in a worker thread this ends only the thread
      })
      .catch((e) => send({ type: 'error', id: m.id, error: failure('INTERNAL', `the serving worker failed: ${e?.message ?? e}`) }));
  });
  send({ type: 'ready' });
}
