// One conformance suite for StudyStorage, run against every implementation: in memory, and the SQL store over
// SQLite and over PostgreSQL (skipped with the reason when the server is unreachable, except under CI, where
// sql-storage.test.ts fails instead).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { dropTestSchemas, postgresUnavailable, TEST_POSTGRES_URL } from '../../test/support/postgres.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { AimassError } from '../core/index.js';
import { type SqlDriver, openPostgresDriver, openSqliteDriver } from '../storage/index.js';
import { InMemoryStudyStorage, SqlStudyStorage, getTrial, type StudyStorage } from './index.js';

const tempDir = useTempDirs('tune-storage');
const unreachable = await postgresUnavailable();
const drivers: SqlDriver[] = [];
const schemas: string[] = [];
after(async () => {
  for (const d of drivers.splice(0)) await d.close();
  if (!unreachable) await dropTestSchemas(schemas);
});
const sql = async (driver: SqlDriver) => {
  drivers.push(driver);
  return SqlStudyStorage.open(driver);
};

const STORES: Record<string, () => Promise<StudyStorage>> = {
  memory: async () => new InMemoryStudyStorage(),
  sqlite: async () => sql(await openSqliteDriver(`sqlite:${path.join(await tempDir(), 'meta.db')}`)),
  ...(unreachable
    ? {}
    : {
        postgres: async () => {
          const schema = `aimass_test_${randomBytes(6).toString('hex')}`;
          schemas.push(schema);
          return sql(await openPostgresDriver(TEST_POSTGRES_URL, { schema, maxConnections: 4 }));
        },
      }),
};

const code = (c: string) => (e: unknown) => e instanceof AimassError && e.code === c;

for (const [kind, make] of Object.entries(STORES)) {
  test(`${kind}: studies are unique by name and found again`, async () => {
    const s = await make();
    const a = await s.createStudy('a', ['minimize', 'maximize']);
    await assert.rejects(s.createStudy('a', ['minimize']), code('ALREADY_EXISTS'));
    assert.deepEqual((await s.getStudy('a')).directions, ['minimize', 'maximize']);
    assert.equal((await s.getStudy('a')).id, a.id);
    await assert.rejects(s.getStudy('nope'), code('NOT_FOUND'));
    await s.createStudy('b', ['minimize']);
    assert.deepEqual((await s.listStudies()).map((x) => x.name).sort(), ['a', 'b']);
  });

  test(`${kind}: trials are numbered per study, updated while running, frozen once finished`, async () => {
    const s = await make();
    const a = await s.createStudy('a', ['minimize']);
    const b = await s.createStudy('b', ['minimize']);
    const created = await Promise.all([s.createTrial(a.id), s.createTrial(a.id), s.createTrial(b.id)]);
    assert.deepEqual(created.map((t) => t.number).sort(), [0, 0, 1]);
    const dist = { type: 'float', low: 0, high: 1, log: false, step: null } as const;
    await s.updateTrial(a.id, 0, { params: { x: 0.5 }, distributions: { x: dist } });
    await s.updateTrial(a.id, 0, { intermediate: { '1': 3 }, userAttrs: { note: 'hi' } });
    await s.updateTrial(a.id, 0, { intermediate: { '2': 2 } });
    const done = await s.updateTrial(a.id, 0, { state: 'complete', values: [1.5] });
    assert.equal(done.state, 'complete');
    assert.deepEqual(done.params, { x: 0.5 });
    assert.deepEqual(done.intermediate, { '1': 3, '2': 2 });
    assert.equal(done.userAttrs.note, 'hi');
    assert.ok(done.finishedAt !== null);
    await assert.rejects(s.updateTrial(a.id, 0, { values: [2] }), code('CONFLICT'));
    await assert.rejects(s.updateTrial(a.id, 7, { values: [2] }), code('NOT_FOUND'));
    await assert.rejects(s.updateTrial(a.id, 1, { state: 'complete', values: [Number.NaN] }), code('INVALID_ARGUMENT'));
    assert.deepEqual((await s.getTrials(a.id, ['running'])).map((t) => t.number), [1]);
    assert.equal((await getTrial(s, a.id, 0)).values?.[0], 1.5);
  });

  test(`${kind}: records handed out never change afterwards`, async () => {
    const s = await make();
    const a = await s.createStudy('a', ['minimize']);
    await s.createTrial(a.id);
    const before = (await s.getTrials(a.id))[0];
    await s.updateTrial(a.id, 0, { params: { x: 1 } });
    assert.deepEqual(before.params, {});
    assert.deepEqual((await s.getTrials(a.id))[0].params, { x: 1 });
  });
}
