// The worker runtime with real child processes over a SQLite task database: a no-op round trip (and its cost
// once children are warm), retries with backoff, a poison task going dead without blocking others, a timeout
// killing and replacing a child, kill -9 of a child mid-task, a memory cap, cancel of a running task, and a
// whole worker process killed mid-task (its lease expires, another worker finishes the task, once).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, test } from 'node:test';
import { isRunning } from '../../test/support/processes.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { openSqliteDriver } from '../storage/index.js';
import { fixtureHandlers } from './fixtures/test-handlers.js';
import { openEmbeddedBroker, TaskWorker, waitForTask, type EmbeddedBroker, type RunningTask, type TaskEnded, type TaskSpec } from './index.js';

const tempDir = useTempDirs('dispatch-worker');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: { leaseMs?: number; cpu?: number; file?: string } = {}): Promise<{ broker: EmbeddedBroker; worker: TaskWorker; file: string }> {
  const file = options.file ?? path.join(await tempDir(), 'tasks.db');
  const broker = await openEmbeddedBroker(await openSqliteDriver(`sqlite:${file}`), { leaseMs: options.leaseMs ?? 2000, pollMs: 100 });
  const worker = new TaskWorker({
    broker,
    node: { id: 'w1', cpu: options.cpu ?? 2, memoryMb: 8192, kinds: ['any'], labels: {} },
    handlers: fixtureHandlers(),
    heartbeatMs: 50,
    pool: { graceMs: 300 },
  });
  cleanups.push(async () => {
    await worker.stop();
    await broker.close();
  });
  return { broker, worker: worker.start(), file };
}

async function run(broker: EmbeddedBroker, spec: TaskSpec) {
  const { task } = await broker.submit(spec);
  return waitForTask(broker, task.id, { timeoutMs: 9000 });
}

function nextStart(worker: TaskWorker, type?: string): Promise<RunningTask> {
  return new Promise((resolve) => {
    const on = (t: RunningTask) => {
      if (type === undefined || t.type === type) {
        worker.off('task-started', on);
        resolve(t);
      }
    };
    worker.on('task-started', on);
  });
}

test('a no-op task runs end to end in a child; warm children are reused, so a round trip is cheap', async (t) => {
  const { broker, worker } = await setup();
  const first = await run(broker, { type: 'noop' });
  assert.equal(first.state, 'succeeded');
  assert.deepEqual(first.result, { ok: true });
  assert.deepEqual(
    first.history.map((a) => [a.attempt, a.node, a.outcome]),
    [[1, 'w1', 'succeeded']],
  );

  const who = await run(broker, { type: 'whoami', resources: { cpu: 2, memoryMb: 300 } });
  const { pid, threads, execArgv } = who.result as { pid: number; threads: string; execArgv: string[] };
  assert.notEqual(pid, process.pid);
  assert.equal(threads, '2');
  assert.ok(execArgv.includes('--max-old-space-size=300'), execArgv.join(' '));
  assert.equal((await run(broker, { type: 'whoami', resources: { cpu: 2, memoryMb: 300 } })).result && pid, pid, 'same profile, same child');

  const spawned = worker.pool.stats().spawned;
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const started = performance.now();
    const { task } = await broker.submit({ type: 'noop' });
    await waitForTask(broker, task.id);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const p50 = times[Math.floor(times.length / 2)];
  t.diagnostic(`no-op round trip (submit → result recorded, warm child): p50 ${p50.toFixed(1)} ms, max ${times[times.length - 1].toFixed(1)} ms`);
  assert.equal(worker.pool.stats().spawned, spawned, 'no new children for cheap tasks');
  assert.ok(p50 < 100, `p50 ${p50} ms`);
});

test('a failing task is retried with backoff and succeeds; a caller error is not retried', async () => {
  const { broker } = await setup();
  const task = await run(broker, { type: 'flaky', payload: { succeedOn: 3 }, retry: { maxAttempts: 5, baseDelayMs: 40, maxDelayMs: 200 } });
  assert.equal(task.state, 'succeeded');
  assert.deepEqual(task.result, { attempt: 3 });
  assert.deepEqual(
    task.history.map((a) => [a.outcome, a.error?.code ?? null]),
    [
      ['failed', 'UNAVAILABLE'],
      ['failed', 'UNAVAILABLE'],
      ['succeeded', null],
    ],
  );
  const gaps = [1, 2].map((i) => Date.parse(task.history[i].startedAt) - Date.parse(task.history[i - 1].endedAt!));
  assert.ok(gaps[0] >= 15 && gaps[1] >= 35, `backoff gaps ${gaps.join(', ')} ms (40 then 80 ±50%)`);

  const invalid = await run(broker, { type: 'invalid' });
  assert.equal(invalid.state, 'failed');
  assert.equal(invalid.attempts, 1);
  assert.equal(invalid.error?.code, 'INVALID_ARGUMENT');
});

test('a poison task ends dead after its attempts and does not block other tasks', async () => {
  const { broker } = await setup({ cpu: 1 });
  const { task: poison } = await broker.submit({ type: 'poison', priority: 'high', retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 100 } });
  const others = await Promise.all(Array.from({ length: 5 }, (_, i) => broker.submit({ type: 'echo', payload: i })));
  const done = await Promise.all(others.map((o) => waitForTask(broker, o.task.id)));
  assert.deepEqual(
    done.map((d) => [d.state, d.result]),
    [0, 1, 2, 3, 4].map((i) => ['succeeded', i]),
  );
  const dead = await waitForTask(broker, poison.id);
  assert.equal(dead.state, 'dead');
  assert.equal(dead.attempts, 3);
  assert.deepEqual(
    dead.history.map((a) => a.outcome),
    ['failed', 'failed', 'failed'],
  );
  assert.match(dead.error!.message, /poison/);
  const firstEcho = Math.min(...done.map((d) => Date.parse(d.endedAt!)));
  assert.ok(firstEcho < Date.parse(dead.endedAt!), 'others finished while the poison task was still retrying');
});

test('a task over its timeout is killed (SIGTERM, then SIGKILL) and marked timed out; its child is replaced', async () => {
  const { broker, worker } = await setup({ cpu: 1 });
  const started = nextStart(worker, 'spin');
  const { task } = await broker.submit({ type: 'spin', timeoutMs: 300 });
  const { pid } = await started;
  const ended = await waitForTask(broker, task.id);
  assert.equal(ended.state, 'failed');
  assert.equal(ended.error?.code, 'TIMEOUT');
  assert.match(ended.error!.message, /timeout of 300 ms/);
  assert.equal(ended.attempts, 1, 'a timeout is not retried');
  assert.equal(ended.history[0].outcome, 'timed-out');
  assert.equal(isRunning(pid), false, 'the spinning child is gone');
  const next = await run(broker, { type: 'whoami' });
  assert.equal(next.state, 'succeeded');
  assert.notEqual((next.result as { pid: number }).pid, pid);
});

test('kill -9 of a child mid-task: the task is retried on a fresh child and its result recorded once', async () => {
  const { broker, worker } = await setup();
  const started = nextStart(worker, 'hang-first');
  const { task } = await broker.submit({ type: 'hang-first', retry: { baseDelayMs: 20 } });
  const { pid } = await started;
  process.kill(pid, 'SIGKILL');
  const done = await waitForTask(broker, task.id);
  assert.equal(done.state, 'succeeded');
  assert.equal((done.result as { attempt: number }).attempt, 2);
  assert.notEqual((done.result as { pid: number }).pid, pid);
  assert.deepEqual(
    done.history.map((a) => a.outcome),
    ['crashed', 'succeeded'],
  );
  assert.match(done.history[0].error!.message, /SIGKILL/);
  assert.equal((await broker.counts()).succeeded, 1);
  assert.equal((await run(broker, { type: 'noop' })).state, 'succeeded', 'the worker carries on');
});

test('a task over its memory cap is killed as out of memory and retried; the worker survives', async () => {
  const { broker, worker } = await setup();
  const task = await run(broker, { type: 'leak', resources: { memoryMb: 64 }, retry: { maxAttempts: 2, baseDelayMs: 10 } });
  assert.equal(task.state, 'dead');
  assert.deepEqual(
    task.history.map((a) => a.outcome),
    ['oom', 'oom'],
  );
  assert.equal(task.error?.code, 'RESOURCE_EXHAUSTED');
  assert.match(task.error!.message, /out of memory|over its limit/);
  assert.equal(worker.running().length, 0);
  assert.ok(worker.pool.stats().children >= 1, 'the killed children were replaced');
});

test('cancelling a running task stops its child at the next heartbeat', async () => {
  const { broker, worker } = await setup({ cpu: 1 });
  const started = nextStart(worker, 'sleep');
  const { task } = await broker.submit({ type: 'sleep', payload: {} });
  const { pid } = await started;
  const ended = once(worker, 'task-ended') as Promise<[TaskEnded]>;
  await broker.cancel(task.id, 'user pressed stop');
  const [info] = await ended;
  assert.equal(info.outcome, 'stopped');
  const final = (await broker.get(task.id))!;
  assert.equal(final.state, 'cancelled');
  assert.equal(final.history[0].outcome, 'cancelled');
  assert.equal(isRunning(pid), false);
  assert.equal((await run(broker, { type: 'noop' })).state, 'succeeded');
});

test('a worker process killed mid-task: its lease expires, another worker completes the task, recorded once', async () => {
  const dir = await tempDir();
  const file = path.join(dir, 'tasks.db');
  const leaseMs = 600;
  const broker = await openEmbeddedBroker(await openSqliteDriver(`sqlite:${file}`), { leaseMs, pollMs: 50 });
  cleanups.push(() => broker.close());
  const { task } = await broker.submit({ type: 'hang-first', retry: { baseDelayMs: 10 } });

  const script = fileURLToPath(new URL('./fixtures/worker-process.ts', import.meta.url));
  const other = spawn(process.execPath, ['--import', 'tsx', script, file, 'doomed', String(leaseMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: other.stdout! });
  let childPid = -1;
  for await (const line of lines) {
    const message = JSON.parse(line) as { event: string; taskId?: string; pid?: number };
    if (message.event === 'task-started' && message.taskId === task.id) {
      childPid = message.pid!;
      break;
    }
  }
  assert.equal((await broker.get(task.id))?.node, 'doomed');
  const exited = once(other, 'exit');
  other.kill('SIGKILL');
  await exited;

  const { worker } = await setup({ file, leaseMs });
  const done = await waitForTask(broker, task.id, { pollMs: 50 });
  assert.equal(done.state, 'succeeded', JSON.stringify(done, null, 1));
  assert.deepEqual(
    done.history.map((a) => [a.node, a.outcome]),
    [
      ['doomed', 'lease-expired'],
      ['w1', 'succeeded'],
    ],
  );
  assert.equal((done.result as { attempt: number }).attempt, 2);
  assert.equal((await broker.counts()).succeeded, 1);
  assert.equal(worker.running().length, 0);
  // the orphaned child noticed its parent was gone and exited
  for (let i = 0; i < 50 && isRunning(childPid); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(isRunning(childPid), false, 'the dead worker left no child behind');
});

test('many short tasks: claimed ahead and run in batches, each once, on the same warm children', async () => {
  const { broker, worker } = await setup();
  assert.equal((await run(broker, { type: 'noop' })).state, 'succeeded');
  const spawned = worker.pool.stats().spawned;
  const submitted = await broker.submitMany(Array.from({ length: 300 }, (_, i) => ({ type: 'echo', payload: i })));
  const done = await Promise.all(submitted.map(({ task }) => waitForTask(broker, task.id, { timeoutMs: 20_000 })));
  for (const [i, t] of done.entries()) {
    assert.equal(t.state, 'succeeded');
    assert.equal(t.result, i);
    assert.deepEqual(
      t.history.map((a) => a.outcome),
      ['succeeded'],
    );
  }
  assert.equal((await broker.counts()).succeeded, 301);
  assert.ok(worker.pool.stats().spawned <= Math.max(spawned, 2), `children started: ${worker.pool.stats().spawned}, at most one per slot`);
});

test('long tasks are not claimed ahead: what waits stays queued for any node to take', async () => {
  const { broker, worker } = await setup({ cpu: 1 });
  const first = nextStart(worker, 'sleep');
  const tasks = await broker.submitMany(Array.from({ length: 3 }, () => ({ type: 'sleep', payload: { ms: 250 } })));
  await first;
  const next = nextStart(worker, 'sleep');
  assert.deepEqual(
    (await Promise.all(tasks.map(({ task }) => broker.get(task.id)))).map((t) => t!.state).sort(),
    ['queued', 'queued', 'running'],
  );
  const second = await next;
  assert.equal((await broker.get(tasks[2].task.id))!.state, 'queued', `${second.taskId} runs; the third still waits in the queue`);
  for (const { task } of tasks) assert.equal((await waitForTask(broker, task.id)).state, 'succeeded');
});
