// The metadata store on SQLite: the conformance suite over temporary database files (several connections per
// file), plus what is SQLite's own: URI forms, folder creation, and a locked database giving UNAVAILABLE.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { describeMetadataStoreConformance, rejectsWith, sampleVersion } from '../../../test/support/metadata-store-conformance.js';
import { useTempDirs } from '../../../test/support/temp-dirs.js';
import { openMetadataStore, openSqliteDriver, SqlMetadataStore, sqlitePathFromUri } from './index.js';

const tempDir = useTempDirs('metadata-sqlite');

describeMetadataStoreConformance({
  name: 'sqlite',
  async freshDatabase() {
    const uri = `sqlite:${path.join(await tempDir(), 'meta.db')}`;
    return { open: () => openMetadataStore(uri) };
  },
});

test('sqlite: URIs name absolute, relative and in-memory databases', () => {
  assert.equal(sqlitePathFromUri('sqlite:/var/aimass/meta.db'), path.resolve('/var/aimass/meta.db'));
  assert.equal(sqlitePathFromUri('sqlite:///var/aimass/meta.db'), path.resolve('/var/aimass/meta.db'));
  assert.equal(sqlitePathFromUri('sqlite:data/meta.db'), path.resolve(process.cwd(), 'data/meta.db'));
  assert.equal(sqlitePathFromUri('SQLITE::memory:'), ':memory:');
  for (const bad of ['sqlite:', 'sqlite://relative.db', 'file:/x.db']) {
    assert.throws(() => sqlitePathFromUri(bad), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT');
  }
});

test('sqlite: opening creates missing parent folders; sqlite::memory: works', async () => {
  const file = path.join(await tempDir(), 'nested', 'deeper', 'meta.db');
  const store = await openMetadataStore(`sqlite:${file}`);
  await store.createModel({ name: 'iris' });
  await store.close();
  assert.ok(existsSync(file));
  const reopened = await openMetadataStore(`sqlite:${file}`);
  assert.equal((await reopened.getModel('iris'))?.name, 'iris');
  await reopened.close();

  const memory = await openMetadataStore('sqlite::memory:');
  assert.equal(memory.uri, 'sqlite::memory:');
  await memory.createModel({ name: 'iris' });
  assert.equal((await memory.listModels()).length, 1);
  await memory.close();
  await rejectsWith(memory.listModels(), 'UNAVAILABLE', /closed/);
});

test('sqlite: a database locked by another writer gives UNAVAILABLE after the busy timeout; reads still work', async () => {
  const file = path.join(await tempDir(), 'meta.db');
  const uri = `sqlite:${file}`;
  const store = await SqlMetadataStore.open(await openSqliteDriver(uri, { busyTimeoutMs: 150 }), uri);
  await store.createModel({ name: 'iris' });

  const holder = new Database(file);
  holder.exec('BEGIN IMMEDIATE');
  holder.prepare("INSERT INTO models (name, description, tags, created_at, updated_at) VALUES ('held', '', '{}', 'x', 'x')").run();
  try {
    const started = Date.now();
    await rejectsWith(store.createModel({ name: 'spam' }), 'UNAVAILABLE', /database is locked/, /retry/);
    assert.ok(Date.now() - started >= 140, 'waits for the busy timeout before giving up');
    await rejectsWith(store.createVersion(sampleVersion('iris')), 'UNAVAILABLE');
    // WAL: readers are not blocked by the writer, and do not see its uncommitted row.
    assert.deepEqual((await store.listModels()).map((m) => m.name), ['iris']);
  } finally {
    holder.exec('ROLLBACK');
    holder.close();
  }
  // Retrying once the lock is gone succeeds.
  await store.createModel({ name: 'spam' });
  await store.close();
});

test('sqlite: a writer waits (without blocking the event loop) for a lock released within the busy timeout', async () => {
  const file = path.join(await tempDir(), 'meta.db');
  const uri = `sqlite:${file}`;
  const store = await SqlMetadataStore.open(await openSqliteDriver(uri, { busyTimeoutMs: 5000 }), uri);
  const holder = new Database(file);
  holder.exec('BEGIN IMMEDIATE');
  // Released by a timer in this same process: a blocking busy wait would never let it fire.
  const release = setTimeout(() => {
    holder.exec('COMMIT');
    holder.close();
  }, 100);
  try {
    const started = Date.now();
    await store.createModel({ name: 'iris' });
    const waited = Date.now() - started;
    assert.ok(waited >= 90 && waited < 2000, `waited ${waited} ms`);
  } finally {
    clearTimeout(release);
    if (holder.open) {
      if (holder.inTransaction) holder.exec('ROLLBACK');
      holder.close();
    }
  }
  await store.close();
});

test('openMetadataStore: an unknown scheme is UNKNOWN_SCHEME listing the known ones', async () => {
  await rejectsWith(openMetadataStore('mysql://db/aimass'), 'UNKNOWN_SCHEME', /sqlite:/, /postgresql:/);
  await rejectsWith(openMetadataStore('/var/aimass/meta.db'), 'UNKNOWN_SCHEME');
});
