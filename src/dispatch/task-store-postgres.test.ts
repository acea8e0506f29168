// TaskStore on a real PostgreSQL server, where its claims are single statements: a claim of named tasks (what
// the JetStream transport does with the messages it was delivered) takes exactly the named tasks that fit, in
// queue order; and the indexes a claim reads hold only queued (or running) tasks, so they stay as small as the
// queue however many tasks went through. When the server is not reachable the tests are skipped with the reason
// printed, except under CI, where that is a failure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { offer } from '../../test/support/task-broker-conformance.js';
import { dropTestSchemas, postgresUnavailable, TEST_POSTGRES_URL } from '../../test/support/postgres.js';
import { migrate, openPostgresDriver } from '../storage/index.js';
import { TaskStore } from './index.js';

const unreachable = await postgresUnavailable(TEST_POSTGRES_URL);
if (unreachable && process.env.CI) {
  test('PostgreSQL is reachable (required under CI)', () => {
    assert.fail(unreachable);
  });
} else if (unreachable) {
  console.log(`skipping PostgreSQL task store tests: ${unreachable}`);
}

const schemas: string[] = [];
after(() => (unreachable ? undefined : dropTestSchemas(schemas, TEST_POSTGRES_URL)));

async function store(): Promise<TaskStore> {
  const schema = `aimass_test_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  const driver = await openPostgresDriver(TEST_POSTGRES_URL, { schema });
  await migrate(driver);
  return new TaskStore(driver);
}

test('postgres: a claim of named tasks takes the named ones that fit, in queue order, and nothing else', { skip: unreachable }, async () => {
  const s = await store();
  try {
    const [a, b, c, d] = await s.submitMany([{ type: 'custom' }, { type: 'custom', priority: 'high' }, { type: 'custom' }, { type: 'custom', resources: { memoryMb: 64_000 } }]);
    const other = await s.submit({ type: 'custom', priority: 'high' });
    // a is claimed by another node first: no longer queued
    const first = await s.claimMany(offer('first'), 10_000, { max: 1, only: [a.task.id] });
    assert.deepEqual(first.claimed.map((x) => x.task.id), [a.task.id]);
    const named = [a.task.id, c.task.id, d.task.id, b.task.id, 'task-that-does-not-exist'];
    const batch = await s.claimMany(offer('n'), 10_000, { max: 10, only: named });
    // b (high priority) before c; a is running elsewhere, d needs more memory than the node has, other was not named
    assert.deepEqual(
      batch.claimed.map((x) => x.task.id),
      [b.task.id, c.task.id],
    );
    assert.ok(batch.claimed.every((x) => x.task.state === 'running' && x.lease.node === 'n'));
    assert.equal((await s.get(d.task.id))?.state, 'queued');
    assert.equal((await s.get(other.task.id))?.state, 'queued');
    // max is honoured among the named
    const e = await s.submitMany([{ type: 'custom' }, { type: 'custom' }, { type: 'custom' }]);
    const two = await s.claimMany(offer('n'), 10_000, { max: 2, only: e.map((x) => x.task.id) });
    assert.deepEqual(
      two.claimed.map((x) => x.task.id),
      e.slice(0, 2).map((x) => x.task.id),
    );
  } finally {
    await s.db.close();
  }
});

test('postgres: the indexes claims and the lease reaper read hold only queued and running tasks', { skip: unreachable }, async () => {
  const s = await store();
  try {
    const tasks = await s.submitMany(Array.from({ length: 30 }, () => ({ type: 'custom' })));
    const claimed = (await s.claimMany(offer('n', { fit: 'each' }), 60_000, { max: 20 })).claimed;
    assert.equal(claimed.length, 20);
    for (const c of claimed.slice(0, 10)) await s.complete(c.lease, { ok: true });
    const defs = await s.db.query<{ indexname: string; indexdef: string }>("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tasks' AND schemaname = current_schema()");
    const byName = new Map(defs.map((r) => [r.indexname, r.indexdef]));
    assert.match(byName.get('tasks_queued') ?? '', /\(sort_key, id\) WHERE \(state = 'queued'::text\)/);
    assert.match(byName.get('tasks_running') ?? '', /\(lease_expires_ms\) WHERE \(state = 'running'::text\)/);
    for (const gone of ['tasks_claimable', 'tasks_leases', 'tasks_by_type']) assert.equal(byName.has(gone), false, `${gone} was dropped by migration 4`);
    // what the store reads through them still answers right: the queue, the soonest lease
    const counts = await s.counts();
    assert.equal(counts.queued, 10);
    assert.equal(counts.running, 10);
    assert.equal(counts.succeeded, 10);
    assert.equal(tasks.length, 30);
  } finally {
    await s.db.close();
  }
});
