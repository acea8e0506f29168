// The metadata store on a real PostgreSQL server: the conformance suite, each fresh database a new schema
// (`aimass_test_<random>`, dropped afterwards), plus what is PostgreSQL's own: placeholders, an unreachable
// server and dropped connections giving UNAVAILABLE, passwords kept out of URIs and messages.
//
// The server is AIMASS_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test). When it is not
// reachable the suite is skipped with the reason printed, except under CI, where that is a failure.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import pg from 'pg';
import { dropTestSchemas, postgresUnavailable, TEST_POSTGRES_URL } from '../../../test/support/postgres.js';
import { describeMetadataStoreConformance, rejectsWith } from '../../../test/support/metadata-store-conformance.js';
import { openMetadataStore, openPostgresDriver, redactPostgresUri, SqlMetadataStore } from './index.js';
import { toPostgresPlaceholders } from './postgres-driver.js';

const SERVER = TEST_POSTGRES_URL;
const unreachable = await postgresUnavailable(SERVER);
if (unreachable && process.env.CI) {
  test('PostgreSQL is reachable (required under CI)', () => {
    assert.fail(unreachable);
  });
} else if (unreachable) {
  console.log(`skipping PostgreSQL tests: ${unreachable}`);
}

const schemas: string[] = [];
function newSchemaUri(extraParams = ''): string {
  const schema = `aimass_test_${randomBytes(6).toString('hex')}`;
  schemas.push(schema);
  return `${SERVER}${SERVER.includes('?') ? '&' : '?'}schema=${schema}${extraParams}`;
}

after(() => (unreachable ? undefined : dropTestSchemas(schemas, SERVER)));

describeMetadataStoreConformance({
  name: 'postgres',
  skip: unreachable,
  async freshDatabase() {
    const uri = newSchemaUri();
    return { open: () => openMetadataStore(uri) };
  },
});

test('postgres: ? placeholders become $1..$n, outside quotes only', () => {
  assert.equal(toPostgresPlaceholders('SELECT a FROM t WHERE x = ? AND y = ?'), 'SELECT a FROM t WHERE x = $1 AND y = $2');
  assert.equal(toPostgresPlaceholders("SELECT '?', \"a?\" FROM t WHERE z LIKE ? ESCAPE '!'"), "SELECT '?', \"a?\" FROM t WHERE z LIKE $1 ESCAPE '!'");
  assert.equal(toPostgresPlaceholders("SELECT 'it''s ?' || ?"), "SELECT 'it''s ?' || $1");
});

test('postgres: a server that is down gives UNAVAILABLE (retryable), without the password', async () => {
  const started = Date.now();
  const e = await rejectsWith(openMetadataStore('postgresql://aimass:s3cret@127.0.0.1:1/test'), 'UNAVAILABLE', /127\.0\.0\.1:1/, /retry/);
  assert.equal(e.details?.retryable, true);
  assert.doesNotMatch(e.message, /s3cret/);
  assert.ok(Date.now() - started < 5000);
  await rejectsWith(openPostgresDriver('postgres://localhost:1/test'), 'UNAVAILABLE');
});

test('postgres: bad URIs and schema names are INVALID_ARGUMENT', async () => {
  await rejectsWith(openPostgresDriver('postgresql://host/db?schema=Bad-Name'), 'INVALID_ARGUMENT', /schema/);
  await rejectsWith(openPostgresDriver('postgresql://host/db', { schema: 'x; DROP TABLE models' }), 'INVALID_ARGUMENT');
  assert.equal(redactPostgresUri('postgresql://u:pw@h:5432/db?schema=s'), 'postgresql://u:***@h:5432/db?schema=s');
});

test('postgres: store.uri leaves the password out', { skip: unreachable }, async () => {
  const url = new URL(newSchemaUri());
  url.password = 'not-checked-under-trust-auth';
  const store = await openMetadataStore(url.toString());
  try {
    assert.doesNotMatch(store.uri, /not-checked/);
    assert.match(store.uri, /\*\*\*/);
  } finally {
    await store.close();
  }
});

test('postgres: connections killed by the server give UNAVAILABLE at worst, never a crash, and the store recovers', { skip: unreachable }, async () => {
  const appName = `aimass_kill_${randomBytes(4).toString('hex')}`;
  const uri = newSchemaUri(`&application_name=${appName}`);
  const store = await SqlMetadataStore.open(await openPostgresDriver(uri), uri);
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  try {
    await store.createModel({ name: 'iris' });
    const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [appName]);
    assert.ok(killed.rowCount! >= 1, 'the store had a connection to kill');
    let recovered = false;
    for (let attempt = 0; attempt < 5 && !recovered; attempt++) {
      try {
        assert.equal((await store.getModel('iris'))?.name, 'iris');
        recovered = true;
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'UNAVAILABLE', String(e));
      }
    }
    assert.ok(recovered, 'the store works again after the server dropped its connections');
  } finally {
    await admin.end();
    await store.close();
  }
});

test('postgres: a database that does not exist is NOT_FOUND saying to create it', { skip: unreachable }, async () => {
  const url = new URL(SERVER);
  url.pathname = `/aimass_missing_${randomBytes(4).toString('hex')}`;
  await rejectsWith(openMetadataStore(url.toString()), 'NOT_FOUND', /does not exist/, /create the database/);
});
