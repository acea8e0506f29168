// Studies in the SQL metadata store, over SQLite files and over PostgreSQL (a fresh schema each): what the SQL
// store adds to the StudyStorage contract — a study read back by another connection (another process, another
// machine) exactly as written, trial numbers without gaps or repeats when many askers race, a finished trial
// that a second finisher cannot overwrite, and unknown studies or trials named in the error. The PostgreSQL
// server is AIMASS_TEST_POSTGRES_URL; unreachable, its half is skipped with the reason, except under CI.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, test } from 'node:test';
import { dropTestSchemas, postgresUnavailable, TEST_POSTGRES_URL } from '../../test/support/postgres.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { AimassError } from '../core/index.js';
import { type SqlDriver, openPostgresDriver, openSqliteDriver } from '../storage/index.js';
import { SqlStudyStorage } from './sql-storage.js';
import { RandomSampler } from './random-sampler.js';
import { createStudy } from './study.js';

const tempDir = useTempDirs('tune-sql');
const unreachable = await postgresUnavailable();
if (unreachable && process.env.CI) {
  test('PostgreSQL is reachable (required under CI)', () => {
    assert.fail(unreachable);
  });
} else if (unreachable) console.log(`skipping PostgreSQL study storage tests: ${unreachable}`);

const schemas: string[] = [];
after(() => (unreachable ? undefined : dropTestSchemas(schemas)));

/** A fresh database: `connect()` opens another connection to it, as another process would. */
type Fresh = () => Promise<{ connect(): Promise<SqlDriver> }>;
const DATABASES: Record<string, { fresh: Fresh; skip?: string }> = {
  sqlite: {
    fresh: async () => {
      const uri = `sqlite:${path.join(await tempDir(), 'meta.db')}`;
      return { connect: () => openSqliteDriver(uri) };
    },
  },
  postgres: {
    skip: unreachable,
    fresh: async () => {
      const schema = `aimass_test_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      return { connect: () => openPostgresDriver(TEST_POSTGRES_URL, { schema, maxConnections: 8 }) };
    },
  },
};

const code = (c: string) => (e: unknown) => e instanceof AimassError && e.code === c;
const dist = { type: 'float', low: 0, high: 1, log: false, step: null } as const;

for (const [kind, db] of Object.entries(DATABASES)) {
  const opts = db.skip ? { skip: db.skip } : {};

  test(`${kind}: a study written through one connection reads back the same through another`, opts, async () => {
    const fresh = await db.fresh();
    const [a, b] = [await fresh.connect(), await fresh.connect()];
    try {
      const writer = await SqlStudyStorage.open(a);
      const reader = await SqlStudyStorage.open(b);
      const study = await writer.createStudy('lr-search', ['minimize', 'maximize'], { owner: 'ci', nested: { k: [1, 2] } });
      const t0 = await writer.createTrial(study.id, { params: { lr: 0.01 }, distributions: { lr: dist }, systemAttrs: { seed: 7 } });
      await writer.updateTrial(study.id, t0.number, { intermediate: { '1': 0.5, '2': 0.25 }, userAttrs: { note: 'é漢' } });
      const done = await writer.updateTrial(study.id, t0.number, { state: 'complete', values: [0.125, 3] });
      await writer.createTrial(study.id);

      assert.deepEqual(await reader.getStudy('lr-search'), study);
      assert.deepEqual((await reader.listStudies()).map((s) => s.name), ['lr-search']);
      const trials = await reader.getTrials(study.id);
      assert.deepEqual(trials[0], done);
      assert.deepEqual(trials[0].intermediate, { '1': 0.5, '2': 0.25 });
      assert.equal(trials[0].userAttrs.note, 'é漢');
      assert.deepEqual(trials[0].systemAttrs, { seed: 7 });
      assert.deepEqual((await reader.getTrials(study.id, ['running'])).map((t) => t.number), [1]);
      assert.deepEqual((await reader.getTrials(study.id, ['complete', 'pruned'])).map((t) => t.number), [0]);
      assert.ok(Object.isFrozen(trials[0]) && Object.isFrozen(trials[0].params), 'records are frozen, as the in-memory store hands them out');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test(`${kind}: many askers on several connections get trial numbers 0..n-1, each once`, opts, async () => {
    const fresh = await db.fresh();
    const drivers = await Promise.all([fresh.connect(), fresh.connect(), fresh.connect()]);
    try {
      const stores = await Promise.all(drivers.map((d) => SqlStudyStorage.open(d)));
      const study = await stores[0].createStudy('race', ['minimize']);
      const other = await stores[0].createStudy('other', ['minimize']);
      const asked = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3].createTrial(i % 10 === 9 ? other.id : study.id)));
      const numbers = asked.filter((_, i) => i % 10 !== 9).map((t) => t.number).sort((x, y) => x - y);
      assert.deepEqual(numbers, Array.from({ length: 27 }, (_, i) => i));
      assert.deepEqual(asked.filter((_, i) => i % 10 === 9).map((t) => t.number).sort(), [0, 1, 2]);
    } finally {
      await Promise.all(drivers.map((d) => d.close()));
    }
  });

  test(`${kind}: two workers racing to finish a trial: one wins, the other gets CONFLICT, the winner's values stay`, opts, async () => {
    const fresh = await db.fresh();
    const [a, b] = [await fresh.connect(), await fresh.connect()];
    try {
      const [sa, sb] = [await SqlStudyStorage.open(a), await SqlStudyStorage.open(b)];
      const study = await sa.createStudy('finish', ['minimize']);
      await sa.createTrial(study.id);
      const results = await Promise.allSettled([sa.updateTrial(study.id, 0, { state: 'complete', values: [1] }), sb.updateTrial(study.id, 0, { state: 'failed' })]);
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one finisher');
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.ok(code('CONFLICT')(lost.reason), String(lost.reason));
      const stored = (await sb.getTrials(study.id))[0];
      assert.deepEqual(stored, (won[0] as PromiseFulfilledResult<typeof stored>).value);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test(`${kind}: duplicate names, unknown studies and trials, and bad values are refused by name`, opts, async () => {
    const fresh = await db.fresh();
    const d = await fresh.connect();
    try {
      const s = await SqlStudyStorage.open(d);
      const study = await s.createStudy('dup', ['minimize']);
      await assert.rejects(s.createStudy('dup', ['maximize']), (e: unknown) => code('ALREADY_EXISTS')(e) && /dup/.test((e as Error).message));
      await assert.rejects(s.getStudy('nope'), (e: unknown) => code('NOT_FOUND')(e) && /nope/.test((e as Error).message));
      await assert.rejects(s.createTrial('study-missing'), code('NOT_FOUND'));
      await assert.rejects(s.getTrials('study-missing'), code('NOT_FOUND'));
      await assert.rejects(s.updateTrial(study.id, 3, { values: [1] }), (e: unknown) => code('NOT_FOUND')(e) && /has 0 trial/.test((e as Error).message));
      await s.createTrial(study.id);
      await assert.rejects(s.updateTrial(study.id, 0, { state: 'complete', values: [Number.NaN] }), code('INVALID_ARGUMENT'));
      assert.equal((await s.getTrials(study.id))[0].state, 'running', 'a refused update changes nothing');
    } finally {
      await d.close();
    }
  });

  test(`${kind}: a declarative ask keeps every parameter, though each is written in the background at once`, opts, async () => {
    const fresh = await db.fresh();
    const d = await fresh.connect();
    try {
      const storage = await SqlStudyStorage.open(d);
      const study = await createStudy({ name: 'many-params', storage, sampler: new RandomSampler({ seed: 1 }) });
      const space = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`p${i}`, { type: 'float', low: 0, high: 1 }]));
      const trial = await study.ask(space);
      await study.tell(trial, 1);
      const [stored] = await storage.getTrials(study.record.id);
      assert.deepEqual(Object.keys(stored.params).sort(), Object.keys(space).sort());
      assert.deepEqual(stored.params, trial.params);
    } finally {
      await d.close();
    }
  });

  test(`${kind}: writes wait for another connection of this process to release the write lock (no stall)`, opts, async () => {
    const fresh = await db.fresh();
    const [a, b] = [await fresh.connect(), await fresh.connect()];
    try {
      const storage = await SqlStudyStorage.open(a);
      await SqlStudyStorage.open(b);
      // b holds a write transaction across a few event-loop turns, as a task broker does
      let release!: () => void;
      const held = b.transaction(async (tx) => {
        await tx.run("INSERT INTO studies (id, name, directions, user_attrs, created_ms) VALUES ('s-held', 'held', '[\"minimize\"]', '{}', 0)");
        await new Promise<void>((r) => (release = r));
      });
      const started = Date.now();
      const creating = storage.createStudy('waiting', ['minimize']);
      setTimeout(() => release(), 200);
      await Promise.all([held, creating]);
      assert.ok(Date.now() - started < 4000, 'the write waited for the lock without blocking the holder');
      assert.equal((await storage.listStudies()).length, 2);
    } finally {
      await a.close();
      await b.close();
    }
  });
}
