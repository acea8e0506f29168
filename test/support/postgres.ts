// The PostgreSQL server for integration tests: AIMASS_TEST_POSTGRES_URL (default the local `test` database),
// a probe that says why it cannot be used, and clean-up of the throwaway schemas tests create.
import pg from 'pg';
import { redactPostgresUri } from '../../src/storage/index.js';

export const TEST_POSTGRES_URL = process.env.AIMASS_TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** Why the test server cannot be used, or undefined when it answers. */
export async function postgresUnavailable(uri = TEST_POSTGRES_URL): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: uri, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (e) {
    return `PostgreSQL at ${redactPostgresUri(uri)} is not reachable (${(e as Error).message || (e as { code?: string }).code}); set AIMASS_TEST_POSTGRES_URL to run these tests`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function dropTestSchemas(schemas: string[], uri = TEST_POSTGRES_URL): Promise<void> {
  if (schemas.length === 0) return;
  const admin = new pg.Client({ connectionString: uri });
  await admin.connect();
  try {
    for (const schema of schemas.splice(0)) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
}
