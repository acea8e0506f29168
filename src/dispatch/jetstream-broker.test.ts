// The JetStream broker through the TaskBroker conformance suite: task ids on a private nats-server (file
// storage, a fresh stream per database), records on SQLite files and on PostgreSQL (a fresh schema per
// database). Without nats-server or PostgreSQL that half is skipped with the reason printed; under CI it fails.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, test } from 'node:test';
import { describeTaskBrokerConformance } from '../../test/support/task-broker-conformance.js';
import { natsServerUnavailable, startNatsServer } from '../../test/support/nats-cluster.js';
import { dropTestSchemas, postgresUnavailable, TEST_POSTGRES_URL } from '../../test/support/postgres.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { openPostgresDriver, openSqliteDriver } from '../storage/index.js';
import { openJetStreamBroker } from './index.js';

const tempDir = useTempDirs('dispatch-jetstream');
const noNats = natsServerUnavailable();
const noPostgres = await postgresUnavailable();
for (const [what, reason] of [
  ['nats-server', noNats],
  ['PostgreSQL', noPostgres],
] as const) {
  if (reason && process.env.CI) test(`${what} is available (required under CI)`, () => assert.fail(reason));
  else if (reason) console.log(`skipping JetStream broker tests that need ${what}: ${reason}`);
}

const server = noNats ? undefined : await startNatsServer({ name: 'dispatch' });
after(async () => server?.close());

let streams = 0;
function natsOptions() {
  const n = `${process.pid}_${streams++}`;
  return { servers: server!.url, stream: `TASKS_${n}`, subjectPrefix: `t${n}` };
}

describeTaskBrokerConformance({
  name: 'jetstream over sqlite',
  skip: noNats,
  async freshDatabase() {
    const uri = `sqlite:${path.join(await tempDir(), 'tasks.db')}`;
    const nats = natsOptions();
    return { open: async (options) => openJetStreamBroker(await openSqliteDriver(uri), { ...nats, ...options }) };
  },
});

const schemas: string[] = [];
after(() => dropTestSchemas(schemas));

describeTaskBrokerConformance({
  name: 'jetstream over postgres',
  skip: noNats ?? noPostgres,
  async freshDatabase() {
    const schema = `aimass_test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    const nats = natsOptions();
    return { open: async (options) => openJetStreamBroker(await openPostgresDriver(TEST_POSTGRES_URL, { schema, maxConnections: 4 }), { ...nats, ...options }) };
  },
});

test('a task queued in SQL without its message (a lost publish) is published again by the sweep, once', { skip: noNats }, async () => {
  const uri = `sqlite:${path.join(await tempDir(), 'tasks.db')}`;
  const broker = await openJetStreamBroker(await openSqliteDriver(uri), { ...natsOptions(), publishRetryMs: 200, republishMs: 100 });
  try {
    const offer = { node: 'n', cpu: 1, memoryMb: 1024, kinds: ['any' as const], labels: {} };
    // The submitter died between its insert and its publish: the record is there, the message is not.
    const { task: orphan } = await broker.store.submit({ type: 'custom', payload: 'orphan' });
    const { task: normal } = await broker.submit({ type: 'custom', payload: 'normal' });
    assert.equal(await broker.depth(), 1);
    const first = await broker.claim(offer, { waitMs: 5000 });
    assert.equal(first?.task.id, normal.id);
    const second = await broker.claim(offer, { waitMs: 5000 });
    assert.equal(second?.task.id, orphan.id, 'republished and claimed');
    // Sweeps go on; tasks whose message is in the stream (queued or held by a worker) are not published again.
    const { task: waiting } = await broker.submit({ type: 'custom', payload: 'waiting' });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await broker.republish(), 0);
    assert.equal(await broker.depth(), 3, 'one message each for the two running tasks and the waiting one');
    assert.equal((await broker.claim(offer))?.task.id, waiting.id);
  } finally {
    await broker.close();
  }
});
