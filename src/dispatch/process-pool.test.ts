// The process pool's batches, with real children: one message carries several tasks, the child runs them in
// order and answers each; a task stopped while it waits its turn is dropped without disturbing the others; when
// the child dies under a batch, the running task gets the cause and those behind it "not-started"; a timeout
// counts from a task's own turn, not from when its batch was sent.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { fixtureHandlers } from './fixtures/test-handlers.js';
import { ProcessPool, type ChildJob } from './index.js';

const handlers = fixtureHandlers();
const pools: ProcessPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function pool(): ProcessPool {
  const p = new ProcessPool({ maxChildren: 1, graceMs: 200 });
  pools.push(p);
  return p;
}

let jobs = 0;
function job(type: string, payload: unknown = null, timeoutMs = 10_000): ChildJob {
  return { taskId: `task-${++jobs}`, attempt: 1, taskType: type, handler: handlers.get(type), payload, threads: 1, memoryMb: 128, timeoutMs };
}

test('a batch goes to one child in one message and runs in order; each task is answered on its own', async () => {
  const p = pool();
  const runs = await p.runBatch([job('echo', 1), job('invalid'), job('echo', 3), job('whoami')]);
  const outcomes = await Promise.all(runs.map((r) => r.outcome));
  assert.deepEqual(outcomes[0], { kind: 'succeeded', result: 1 });
  assert.equal(outcomes[1].kind, 'failed');
  assert.deepEqual(outcomes[2], { kind: 'succeeded', result: 3 });
  assert.equal(outcomes[3].kind === 'succeeded' && (outcomes[3].result as { pid: number }).pid, runs[0].pid);
  assert.equal(p.stats().spawned, 1);
  assert.equal(p.stats().busy, 0, 'the child is free once its batch is done');
  await assert.rejects(p.runBatch([job('echo'), { ...job('echo'), threads: 2 }]), /one profile/);
});

test('a task stopped while waiting its turn is dropped; the running one and the rest carry on', async () => {
  const p = pool();
  const runs = await p.runBatch([job('sleep', { ms: 300 }), job('echo', 'dropped'), job('echo', 'kept')]);
  runs[1].stop('cancelled while waiting');
  const outcomes = await Promise.all(runs.map((r) => r.outcome));
  assert.deepEqual(
    outcomes.map((o) => o.kind),
    ['succeeded', 'stopped', 'succeeded'],
  );
  assert.deepEqual(outcomes[2], { kind: 'succeeded', result: 'kept' });
  assert.equal(p.stats().spawned, 1, 'no child was killed');
});

test('the child dying under a batch: the running task gets the cause, those behind it did not start', async () => {
  const p = pool();
  const runs = await p.runBatch([job('echo', 'done first'), job('crash'), job('echo', 'never ran'), job('echo', 'nor this')]);
  const outcomes = await Promise.all(runs.map((r) => r.outcome));
  assert.deepEqual(
    outcomes.map((o) => o.kind),
    ['succeeded', 'crashed', 'not-started', 'not-started'],
  );
  // The replacement child takes the next batch.
  const [again] = await p.runBatch([job('echo', 'again')]);
  assert.deepEqual(await again.outcome, { kind: 'succeeded', result: 'again' });
});

test("a timeout counts from the task's own turn; stopping the running task of a batch kills only its child", async () => {
  const p = pool();
  // Each waits 250 ms with a 400 ms timeout: the second would be past it if its clock started with the batch.
  const runs = await p.runBatch([job('sleep', { ms: 250 }, 400), job('sleep', { ms: 250 }, 400), job('spin', null, 300), job('echo', 'after')]);
  const outcomes = await Promise.all(runs.map((r) => r.outcome));
  assert.deepEqual(
    outcomes.map((o) => o.kind),
    ['succeeded', 'succeeded', 'timed-out', 'not-started'],
  );

  const [running, waiting] = await p.runBatch([job('sleep', {}), job('echo', 'behind')]);
  running.stop('the lease was lost');
  assert.deepEqual(await running.outcome, { kind: 'stopped', message: 'the lease was lost' });
  assert.equal((await waiting.outcome).kind, 'not-started');
});
