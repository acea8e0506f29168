// The embedded broker through the TaskBroker conformance suite, over SQLite files (each broker its own
// connection, as separate processes would have) and over PostgreSQL (each database a fresh schema). The
// PostgreSQL server is AIMASS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test); when it is
// not reachable that half is skipped with the reason printed, except under CI, where that is a failure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, test } from 'node:test';
import { dropTestSchemas, postgresUnavailable, TEST_POSTGRES_URL } from '../../test/support/postgres.js';
import { describeTaskBrokerConformance } from '../../test/support/task-broker-conformance.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { openPostgresDriver, openSqliteDriver } from '../storage/index.js';
import { openEmbeddedBroker } from './index.js';

const tempDir = useTempDirs('dispatch-broker');

describeTaskBrokerConformance({
  name: 'embedded over sqlite',
  async freshDatabase() {
    const uri = `sqlite:${path.join(await tempDir(), 'tasks.db')}`;
    return { open: async (options) => openEmbeddedBroker(await openSqliteDriver(uri), options) };
  },
});

const SERVER = TEST_POSTGRES_URL;
const unreachable = await postgresUnavailable(SERVER);
if (unreachable && process.env.CI) {
  test('PostgreSQL is reachable (required under CI)', () => {
    assert.fail(unreachable);
  });
} else if (unreachable) {
  console.log(`skipping PostgreSQL dispatch tests: ${unreachable}`);
}

const schemas: string[] = [];
after(() => (unreachable ? undefined : dropTestSchemas(schemas, SERVER)));

describeTaskBrokerConformance({
  name: 'embedded over postgres',
  skip: unreachable,
  async freshDatabase() {
    const schema = `aimass_test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    return { open: async (options) => openEmbeddedBroker(await openPostgresDriver(SERVER, { schema, maxConnections: 4 }), options) };
  },
});
