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
  // Requests submitted in one turn share a batch whatever the delay; a long delay keeps a stall of the test
  // process (a GC pause, a loaded CI machine) between two submits from running the first one alone.
  const model = fakeModel();
  const batcher = new Batcher(model.run, { maxBatchSize: 8, maxQueueDelayUs: 1_000_000, maxQueue: 64 });
  const sizes = [3, 1, 4];
  const results = await Promise.all(sizes.map((n, i) => batcher.submit(request(i, n))));
  assert.deepEqual(model.sizes, [8]);
  results.forEach((r, i) => {
    assert.deepEqual(r.y.dims, [sizes[i], 2]);
    assert.deepEqual([...r.id.data], Array(sizes[i]).fill(BigInt(i)));
  });
});

test('with no batch running a request runs at once; while one runs, new requests wait up to the queue delay for company', async () => {
  const gate = deferred();
  const model = fakeModel({ gate: gate.promise });
  const batcher = new Batcher(model.run, { maxBatchSize: 16, maxQueueDelayUs: 20_000, maxQueue: 64, maxInFlightBatches: 2 });
  const first = batcher.submit(request(7));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(model.sizes, [1], 'an idle batcher should not wait for company');
  const start = performance.now();
  const later = [batcher.submit(request(8)), batcher.submit(request(9))];
  while (model.sizes.length < 2) await new Promise((r) => setTimeout(r, 1));
  assert.ok(performance.now() - start >= 15, 'with a batch running, new requests should wait for company first');
  assert.deepEqual(model.sizes, [1, 2]);
  gate.resolve();
  const done = await Promise.all([first, ...later]);
  assert.deepEqual(done.map((r) => Number(r.id.data[0])), [7, 8, 9]);
});

test('when a batch ends, what queued meanwhile goes to the worker at once, before the ended batch is answered', async () => {
  const gate = deferred();
  const events: string[] = [];
  const model = fakeModel({ gate: gate.promise });
  const run: RunBatch = (feeds) => {
    events.push(`run ${feeds.x.dims[0]}`);
    return model.run(feeds);
  };
  // A long delay: without the batch ending, the queued two would wait for company for a second.
  const batcher = new Batcher(run, { maxBatchSize: 16, maxQueueDelayUs: 1_000_000, maxQueue: 64 });
  const first = batcher.submit(request(1)).then(() => events.push('answered 1'));
  await new Promise((r) => setImmediate(r));
  const later = [2, 3].map((i) => batcher.submit(request(i)).then(() => events.push(`answered ${i}`)));
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(events, ['run 1']);
  gate.resolve();
  await Promise.all([first, ...later]);
  assert.deepEqual(events, ['run 1', 'run 2', 'answered 1', 'answered 2', 'answered 3']);
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

test('onBatch is told the samples of every batch it runs', async () => {
  const model = fakeModel();
  const told: number[] = [];
  const batcher = new Batcher(model.run, { maxBatchSize: 8, maxQueueDelayUs: 1_000_000, maxQueue: 64, onBatch: (n) => told.push(n) });
  await Promise.all([3, 1, 4].map((n, i) => batcher.submit(request(i, n))));
  await batcher.submit(request(9, 2));
  assert.deepEqual(told, model.sizes);
  assert.deepEqual(told, [8, 2]);
});

test('bool, string, int32 and float64 requests batch and split back like numbers', async () => {
  const echo: RunBatch = async (feeds) => {
    const flag = feeds.flag.data as Uint8Array;
    return { not_flag: { type: 'bool', data: flag.map((b) => 1 - b), dims: feeds.flag.dims }, text: feeds.text, count: feeds.count, score: feeds.score };
  };
  const sizes: number[] = [];
  const batcher = new Batcher(echo, { maxBatchSize: 8, maxQueueDelayUs: 1_000_000, maxQueue: 64, onBatch: (n) => sizes.push(n) });
  const typed = (i: number, n: number): HostTensors => ({
    flag: { type: 'bool', data: Uint8Array.from({ length: n }, (_, j) => (i + j) % 2), dims: [n] },
    text: { type: 'string', data: Array.from({ length: n }, (_, j) => `r${i}s${j}`), dims: [n] },
    count: { type: 'int32', data: Int32Array.from({ length: n }, () => -i), dims: [n] },
    score: { type: 'float64', data: Float64Array.from({ length: n * 2 }, (_, j) => i + j / 3), dims: [n, 2] },
  });
  const results = await Promise.all([2, 1, 3].map((n, i) => batcher.submit(typed(i, n))));
  assert.deepEqual(sizes, [6]);
  results.forEach((r, i) => {
    const sent = typed(i, [2, 1, 3][i]);
    assert.deepEqual([...r.not_flag.data], [...(sent.flag.data as Uint8Array)].map((b) => 1 - b));
    assert.deepEqual(r.text.data, sent.text.data);
    assert.deepEqual(r.count.data, sent.count.data);
    assert.deepEqual(r.score.data, sent.score.data);
    assert.deepEqual(r.score.dims, sent.score.dims);
  });
});

test('when a merged batch fails on one request, each runs alone: only the bad one fails; a worker loss fails them all', async () => {
  const sizes: number[] = [];
  const model = fakeModel();
  // a model that cannot run any batch holding id 13
  const picky: RunBatch = async (feeds) => {
    sizes.push(feeds.x.dims[0]);
    if (Array.from(feeds.id.data as BigInt64Array).includes(13n)) throw new AimassError('INVALID_ARGUMENT', 'id 13 is out of range');
    return model.run(feeds);
  };
  const batcher = new Batcher(picky, { maxBatchSize: 8, maxQueueDelayUs: 1_000_000, maxQueue: 8 });
  const all = await Promise.allSettled([12, 13, 14].map((id) => batcher.submit(request(id))));
  await batcher.close();
  assert.deepEqual(sizes, [3, 1, 1, 1], 'one merged batch, then each request alone');
  assert.equal(all[0].status === 'fulfilled' && all[0].value.id.data[0], 12n);
  assert.ok(all[1].status === 'rejected' && (all[1].reason as AimassError).code === 'INVALID_ARGUMENT');
  assert.equal(all[2].status === 'fulfilled' && all[2].value.id.data[0], 14n);

  let runs = 0;
  const gone = new Batcher(
    async () => {
      runs++;
      throw new AimassError('UNAVAILABLE', 'the worker exited');
    },
    { maxBatchSize: 8, maxQueueDelayUs: 1_000_000, maxQueue: 8 },
  );
  const lost = await Promise.allSettled([gone.submit(request(1)), gone.submit(request(2)), gone.close()]);
  assert.equal(runs, 1, 'an unavailable worker is not retried request by request');
  assert.ok(lost.slice(0, 2).every((r) => r.status === 'rejected' && (r.reason as AimassError).code === 'UNAVAILABLE'));
});
