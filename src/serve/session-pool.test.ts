import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { AimassError } from '../core/index.js';
import { mlpOnnx } from '../../test/support/onnx-model.js';
import { typedOnnx } from '../../test/support/typed-onnx-model.js';
import { CRASH_WORKER_FOR_TESTS, SessionPool } from './session-pool.js';
import { type HostTensors, dummyFeeds, transferablesOf } from './tensors.js';

const INPUT = 4;

function features(n: number, seed = 0): Float32Array {
  return Float32Array.from({ length: n * INPUT }, (_, i) => Math.sin(i + seed));
}

async function inProcess(bytes: Uint8Array, x: Float32Array, n: number): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ features: new ort.Tensor('float32', x, [n, INPUT]) });
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.data as Float32Array]));
}

const feeds = (x: Float32Array, n: number): HostTensors => ({ features: { type: 'float32', data: x, dims: [n, INPUT] } });

const unavailable = (e: unknown) => {
  assert.ok(e instanceof AimassError, String(e));
  assert.equal(e.code, 'UNAVAILABLE', e.message);
  return true;
};

test('a pool gives the outputs in-process ONNX Runtime gives, from every worker', async () => {
  const bytes = mlpOnnx({ seed: 3 });
  const pool = await SessionPool.create(bytes, { workers: 2 });
  try {
    assert.equal(pool.size, 2);
    const batches = [1, 5, 3, 8].map((n, i) => ({ n, x: features(n, i) }));
    const expected = await Promise.all(batches.map((b) => inProcess(bytes, b.x.slice(), b.n)));
    const got = await Promise.all(batches.map((b) => pool.run(feeds(b.x, b.n))));
    got.forEach((out, i) => {
      assert.deepEqual(Object.keys(out).sort(), ['logits', 'probabilities']);
      assert.deepEqual(out.logits.dims, [batches[i].n, 3]);
      assert.equal(out.logits.type, 'float32');
      assert.deepEqual([...out.logits.data], [...expected[i].logits]);
      assert.deepEqual([...out.probabilities.data], [...expected[i].probabilities]);
    });
    assert.equal(pool.inFlight, 0);
  } finally {
    await pool.close();
  }
});

test('feeds spanning their whole buffer are transferred to the worker, not copied', async () => {
  const pool = await SessionPool.create(mlpOnnx());
  try {
    const x = features(2);
    await pool.run(feeds(x, 2));
    assert.equal(x.length, 0, 'the caller\'s array should be detached after the transfer');
  } finally {
    await pool.close();
  }
});

test('a bad request fails with its catalog code and the worker keeps serving', async () => {
  const pool = await SessionPool.create(mlpOnnx());
  try {
    await assert.rejects(pool.run({ features: { type: 'float32', data: new Float32Array(3), dims: [1, INPUT] } }), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT');
    const out = await pool.run(feeds(features(1), 1));
    assert.deepEqual(out.logits.dims, [1, 3]);
  } finally {
    await pool.close();
  }
});

test('bytes that are not a model fail pool creation', async () => {
  await assert.rejects(SessionPool.create(new Uint8Array([1, 2, 3, 4])), (e: unknown) => e instanceof AimassError && e.code === 'INTERNAL');
});

test('a crashed worker fails its in-flight requests with UNAVAILABLE, is replaced, and the pool keeps serving', async () => {
  const pool = await SessionPool.create(mlpOnnx(), { workers: 1 });
  try {
    pool[CRASH_WORKER_FOR_TESTS](0);
    // sent after the crash message to the same worker: it is in flight when the thread dies
    const inFlight = [pool.run(feeds(features(1), 1)), pool.run(feeds(features(2), 2))];
    for (const p of inFlight) await assert.rejects(p, unavailable);
    const out = await pool.run(feeds(features(4), 4));
    assert.deepEqual(out.probabilities.dims, [4, 3]);
    assert.equal(pool.size, 1);
  } finally {
    await pool.close();
  }
});

test('requests after close fail with UNAVAILABLE', async () => {
  const pool = await SessionPool.create(mlpOnnx());
  await pool.close();
  await assert.rejects(pool.run(feeds(features(1), 1)), unavailable);
});

test('bool, string, int32 and float64 tensors cross to a worker and back; strings are copied, not transferred', async () => {
  const pool = await SessionPool.create(typedOnnx());
  try {
    const text = ['héllo', '', 'third'];
    const sent: HostTensors = {
      flag: { type: 'bool', data: Uint8Array.of(1, 0, 0, 0, 1, 1), dims: [3, 2] },
      text: { type: 'string', data: text, dims: [3] },
      count: { type: 'int32', data: Int32Array.of(-1, 0, 2147483647), dims: [3] },
      score: { type: 'float64', data: Float64Array.from({ length: 9 }, (_, i) => i / 3), dims: [3, 3] },
    };
    assert.equal(transferablesOf(sent).length, 3, 'the three typed arrays move; the strings do not');
    const out = await pool.run(sent);
    assert.deepEqual(out.not_flag, { type: 'bool', data: Uint8Array.of(0, 1, 1, 1, 0, 0), dims: [3, 2] });
    assert.deepEqual(out.text_out, { type: 'string', data: ['héllo', '', 'third'], dims: [3] });
    assert.deepEqual(out.count_out, { type: 'int32', data: Int32Array.of(-1, 0, 2147483647), dims: [3] });
    assert.deepEqual(out.score_out.data, Float64Array.from({ length: 9 }, (_, i) => i / 3));
    assert.deepEqual(text, ['héllo', '', 'third'], 'the caller keeps its strings');

    const warm = await pool.run(dummyFeeds({ inputs: [
      { name: 'flag', dtype: 'bool', shape: ['N', 2] },
      { name: 'text', dtype: 'string', shape: ['N'] },
      { name: 'count', dtype: 'int32', shape: ['N'] },
      { name: 'score', dtype: 'float64', shape: ['N', 3] },
    ] }));
    assert.deepEqual(warm.text_out.data, [''], 'warm-up feeds empty strings');
    assert.deepEqual(warm.not_flag.data, Uint8Array.of(1, 1));
  } finally {
    await pool.close();
  }
});
