// TaskStore behaviour that depends on time, stepped with a fake clock over SQLite: aging lifts a waiting
// low-priority task over newer high-priority ones (no starvation), claims say when to look again (backoff,
// lease end, rate bucket refill), and a lost lease on the last attempt ends the task dead.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { offer } from '../../test/support/task-broker-conformance.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { migrate, openSqliteDriver } from '../storage/index.js';
import { TaskStore, type TaskStoreOptions } from './index.js';

const tempDir = useTempDirs('dispatch-store');

async function store(options: Omit<TaskStoreOptions, 'clock'> = {}): Promise<{ store: TaskStore; clock: { now: number } }> {
  const driver = await openSqliteDriver(`sqlite:${path.join(await tempDir(), 'tasks.db')}`);
  await migrate(driver);
  const clock = { now: Date.parse('2026-03-01T00:00:00Z') };
  return { store: new TaskStore(driver, { ...options, clock: () => clock.now, random: () => 0.5 }), clock };
}

test('aging: a low task that waited long enough runs before newer high ones, so low lanes never starve', async () => {
  const { store: s, clock } = await store({ agingMs: 1000 });
  const low = await s.submit({ type: 'custom', priority: 'low' });
  clock.now += 1500; // less than the 2 steps between low and high: high still wins
  const high1 = await s.submit({ type: 'custom', priority: 'high' });
  assert.equal((await s.claim(offer('n'), 1000)).claimed?.task.id, high1.task.id);
  clock.now += 1000; // now low has waited 2.5 steps: more than a new high task's head start
  await s.submit({ type: 'custom', priority: 'high' });
  assert.equal((await s.claim(offer('n'), 1000)).claimed?.task.id, low.task.id);
  await s.db.close();
});

test('a claim that finds nothing due says when to look again: backoff, lease end, rate refill', async () => {
  const { store: s, clock } = await store({ limits: { backup: { ratePerSecond: 2, burst: 1 } } });
  const t0 = clock.now;
  await s.submit({ type: 'custom', retry: { baseDelayMs: 4000 } });
  const c = (await s.claim(offer('n'), 10_000)).claimed!;
  const failed = await s.fail(c.lease, { code: 'UNAVAILABLE', message: 'x', retryable: true });
  assert.equal(failed.retryAt, t0 + 4000, 'random() = 0.5 gives the plain exponential delay');
  const none = await s.claim(offer('n'), 10_000);
  assert.equal(none.claimed, undefined);
  assert.equal(none.retryAt, t0 + 4000);

  await s.submit({ type: 'backup' });
  await s.submit({ type: 'backup' });
  assert.ok((await s.claim(offer('n'), 10_000)).claimed);
  const limited = await s.claim(offer('n'), 10_000);
  assert.equal(limited.claimed, undefined);
  assert.equal(limited.retryAt, t0 + 500, 'one token per 500 ms at 2/s');
  clock.now += 500;
  assert.equal((await s.claim(offer('n'), 10_000)).claimed?.task.type, 'backup');
  const leaseEnd = await s.claim(offer('n', { types: ['train'] }), 10_000);
  assert.equal(leaseEnd.retryAt, t0 + 4000, 'the backoff comes before any lease end');
  await s.db.close();
});

test('a lease lost on the last attempt ends the task dead; heartbeats move the expiry', async () => {
  const { store: s, clock } = await store();
  const { task } = await s.submit({ type: 'custom', retry: { maxAttempts: 1 } });
  const c = (await s.claim(offer('n'), 1000)).claimed!;
  clock.now += 900;
  const beat = await s.heartbeat(c.lease, 1000);
  assert.deepEqual(beat, { status: 'held', expiresAt: clock.now + 1000 });
  clock.now += 900;
  assert.equal((await s.claim(offer('m'), 1000)).claimed, undefined, 'renewed, so not expired');
  clock.now += 200;
  const reaped = await s.claim(offer('m'), 1000);
  assert.equal(reaped.claimed, undefined);
  assert.deepEqual(
    reaped.ended.map((t) => [t.id, t.state]),
    [[task.id, 'dead']],
  );
  const dead = (await s.get(task.id))!;
  assert.equal(dead.history[0].outcome, 'lease-expired');
  assert.equal(dead.error?.code, 'UNAVAILABLE');
  assert.equal((await s.heartbeat(c.lease, 1000)).status, 'lost');
  await s.db.close();
});

test('store options are checked', async () => {
  const { store: s } = await store();
  assert.throws(() => new TaskStore(s.db, { maxQueued: 0 }), /maxQueued/);
  assert.throws(() => new TaskStore(s.db, { limits: { train: { concurrency: 0 } } }), /limits\.train\.concurrency/);
  assert.throws(() => new TaskStore(s.db, { limits: { train: { ratePerSecond: -1 } } }), /ratePerSecond/);
  await s.db.close();
});
