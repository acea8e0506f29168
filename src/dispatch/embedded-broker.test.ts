// The embedded broker through the TaskBroker conformance suite, over SQLite files (each broker its own
// connection, as separate processes would have) and over PostgreSQL (each database a fresh schema). The
// PostgreSQL server is AIMASS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test); when it is
// not reachable that half is skipped with the reason printed, except under CI, where that is a failure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { describeTaskBrokerConformance } from '../../test/support/task-broker-conformance.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { openPostgresDriver, openSqliteDriver, redactPostgresUri } from '../storage/index.js';
import { openEmbeddedBroker } from './index.js';

const tempDir = useTempDirs('dispatch-broker');

describeTaskBrokerConformance({
  name: 'embedded over sqlite',
  async freshDatabase() {
    const uri = `sqlite:${path.join(await tempDir(), 'tasks.db')}`;
    return { open: async (options) => openEmbeddedBroker(await openSqliteDriver(uri), options) };
  },
});

const SERVER = process.env.AIMASS_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: SERVER, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (e) {
    return `PostgreSQL at ${redactPostgresUri(SERVER)} is not reachable (${(e as Error).message || (e as { code?: string }).code}); set AIMASS_TEST_POSTGRES_URL to run these tests`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe();
if (unreachable && process.env.CI) {
  test('PostgreSQL is reachable (required under CI)', () => {
    assert.fail(unreachable);
  });
} else if (unreachable) {
  console.log(`skipping PostgreSQL dispatch tests: ${unreachable}`);
}

const schemas: string[] = [];
after(async () => {
  if (unreachable || schemas.length === 0) return;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  try {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
});

describeTaskBrokerConformance({
  name: 'embedded over postgres',
  skip: unreachable,
  async freshDatabase() {
    const schema = `aimass_test_${randomBytes(6).toString('hex')}`;
    schemas.push(schema);
    return { open: async (options) => openEmbeddedBroker(await openPostgresDriver(SERVER, { schema, maxConnections: 4 }), options) };
  },
});
