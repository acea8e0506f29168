import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AimassError } from '../core/index.js';
import { Batcher, type RunBatch } from './batcher.js';
import type { HostTensors } from './tensors.js';

/** A fake model: doubles `x` and echoes `id`; records the size of every batch it runs. */
function fakeModel(o: { gate?: Promise<void> } = {}): { run: RunBatch; sizes: number[] } {
  const sizes: number[] = [];
  const run: RunBatch = async (feeds) => {
    sizes.push(feeds.x.dims[0]);
    await o.gate;
    await new Promise((r) => setImmediate(r));
    return {
      y: { type: 'float32', data: (feeds.x.data as Float32Array).map((v) => v * 2), dims: feeds.x.dims },
      id: { type: 'int64', data: (feeds.id.data as BigInt64Array).slice(), dims: feeds.id.dims },
    };
  };
  return { run, sizes };
}

function request(id: number, n = 1): HostTensors {
  return {
    x: { type: 'float32', data: Float32Array.from({ length: n * 2 }, (_, i) => id + i / 10), dims: [n, 2] },
    id: { type: 'int64', data: BigInt64Array.from({ length: n }, () => BigInt(id)), dims: [n] },
  };
}

const code = (c: string) => (e: unknown) => {
  assert.ok(e instanceof AimassError, String(e));
  assert.equal(e.code, c, e.message);
  return true;
};

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test('concurrent single-sample requests are merged into batches of at most maxBatchSize, each result to its caller', async () => {
  const model = fakeModel();
  const batcher = new Batcher(model.run, { maxBatchSize: 16, maxQueueDelayUs: 5000, maxQueue: 64 });
  const results = await Promise.all(Array.from({ length: 32 }, (_, i) => batcher.submit(request(i))));
  assert.ok(model.sizes.every((s) => s <= 16), `batch sizes ${model.sizes}`);
  assert.ok(model.sizes.length < 32, `requests were not merged: ${model.sizes}`);
  assert.equal(model.sizes.reduce((a, b) => a + b, 0), 32);
  results.forEach((r, i) => {
    assert.deepEqual(r.id.dims, [1]);
    assert.equal(r.id.data[0], BigInt(i));
    assert.deepEqual(r.y.dims, [1, 2]);
    assert.deepEqual([...r.y.data], [i * 2, (i + 0.1) * 2].map((v) => Math.fround(v)));
  });
});

test('requests of several samples are split back by their own batch size', async () => {
  const model = fakeModel();
  const batcher = new Batcher(model.run, { maxBatchSize: 8, maxQueueDelayUs: 2000, maxQueue: 64 });
  const sizes = [3, 1, 4];
  const results = await Promise.all(sizes.map((n, i) => batcher.submit(request(i, n))));
  assert.deepEqual(model.sizes, [8]);
  results.forEach((r, i) => {
    assert.deepEqual(r.y.dims, [sizes[i], 2]);
    assert.deepEqual([...r.id.data], Array(sizes[i]).fill(BigInt(i)));
  });
});

test('a lone request runs once the queue delay has passed', async () => {
  const model = fakeModel();
  const batcher = new Batcher(model.run, { maxBatchSize: 16, maxQueueDelayUs: 20_000, maxQueue: 64 });
  const start = performance.now();
  const r = await batcher.submit(request(7));
  assert.ok(performance.now() - start >= 15, 'the request should wait for company first');
  assert.deepEqual(model.sizes, [1]);
  assert.equal(r.id.data[0], 7n);
});

test('requests with different sample shapes are not merged', async () => {
  const model = fakeModel();
  const batcher = new Batcher(model.run, { maxBatchSize: 16, maxQueueDelayUs: 1000, maxQueue: 64 });
  const wide: HostTensors = { ...request(1), x: { type: 'float32', data: new Float32Array(3), dims: [1, 3] } };
  await Promise.all([batcher.submit(request(0)), batcher.submit(wide), batcher.submit(request(2))]);
  assert.deepEqual(model.sizes, [1, 1, 1]);
});

test('beyond maxQueue waiting samples, new requests fail at once with RESOURCE_EXHAUSTED', async () => {
  const gate = deferred();
  const model = fakeModel({ gate: gate.promise });
  const batcher = new Batcher(model.run, { maxBatchSize: 4, maxQueueDelayUs: 1_000_000, maxQueue: 4 });
  const running = Array.from({ length: 4 }, (_, i) => batcher.submit(request(i))); // a full batch: runs now
  const waiting = Array.from({ length: 4 }, (_, i) => batcher.submit(request(10 + i))); // fills the queue
  assert.equal(batcher.queued, 4);
  await assert.rejects(batcher.submit(request(99)), code('RESOURCE_EXHAUSTED'));
  gate.resolve();
  const done = await Promise.all([...running, ...waiting]);
  assert.deepEqual(done.map((r) => Number(r.id.data[0])), [0, 1, 2, 3, 10, 11, 12, 13]);
  assert.deepEqual(model.sizes, [4, 4]);
});

test('a request past its deadline is dropped from the queue with TIMEOUT; the others still run', async () => {
  const gate = deferred();
  const model = fakeModel({ gate: gate.promise });
  const batcher = new Batcher(model.run, { maxBatchSize: 1, maxQueueDelayUs: 0, maxQueue: 16 });
  const first = batcher.submit(request(1));
  const late = batcher.submit(request(2), { timeoutMs: 20 });
  const patient = batcher.submit(request(3), { timeoutMs: 10_000 });
  await assert.rejects(late, code('TIMEOUT'));
  assert.equal(batcher.queued, 1);
  gate.resolve();
  assert.equal((await first).id.data[0], 1n);
  assert.equal((await patient).id.data[0], 3n);
  assert.deepEqual(model.sizes, [1, 1]);
});

test('a failing batch fails each of its requests; close runs what is queued and then refuses more', async () => {
  const failing = new Batcher(async () => Promise.reject(new AimassError('INTERNAL', 'boom')), { maxBatchSize: 4, maxQueueDelayUs: 1000, maxQueue: 8 });
  const all = await Promise.allSettled([failing.submit(request(1)), failing.submit(request(2))]);
  assert.ok(all.every((r) => r.status === 'rejected' && (r.reason as AimassError).code === 'INTERNAL'));

  const model = fakeModel();
  const batcher = new Batcher(model.run, { maxBatchSize: 16, maxQueueDelayUs: 10_000_000, maxQueue: 64 });
  const queued = batcher.submit(request(5));
  await batcher.close();
  assert.equal((await queued).id.data[0], 5n);
  await assert.rejects(batcher.submit(request(6)), code('UNAVAILABLE'));
});

test('a request without a batch dimension is refused', async () => {
  const batcher = new Batcher(fakeModel().run, { maxBatchSize: 4, maxQueueDelayUs: 0, maxQueue: 8 });
  await assert.rejects(batcher.submit({ x: { type: 'float32', data: new Float32Array(1), dims: [] } }), code('SHAPE_MISMATCH'));
});
