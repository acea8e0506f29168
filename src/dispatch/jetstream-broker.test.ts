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
