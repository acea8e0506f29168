import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { AimassError, homePath, loadConfig } from './index.js';

test('defaults apply when nothing is set', () => {
  const config = loadConfig({});
  assert.equal(config.home, path.resolve('./.aimass'));
  assert.equal(config.logLevel, 'info');
  assert.equal(config.port, 8080);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.threads, os.availableParallelism());
  assert.equal(config.metadataUri, `sqlite:${path.join(config.home, 'aimass.db')}`);
  assert.equal(config.artifactUri, `file://${path.join(config.home, 'artifacts')}`);
  assert.equal(config.natsUrl, undefined);
});

test('variables override defaults; home becomes absolute and empty strings count as unset', () => {
  const config = loadConfig({
    AIMASS_HOME: 'tmp/home',
    AIMASS_LOG_LEVEL: 'debug',
    AIMASS_THREADS: '3',
    AIMASS_PORT: '9000',
    AIMASS_HOST: '',
    AIMASS_NATS_URL: 'nats://127.0.0.1:4222',
  });
  assert.equal(config.home, path.resolve('tmp/home'));
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.threads, 3);
  assert.equal(config.port, 9000);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.natsUrl, 'nats://127.0.0.1:4222');
  assert.equal(homePath(config, 'runs', 'r1'), path.join(path.resolve('tmp/home'), 'runs', 'r1'));
});

test('bad values raise INVALID_ARGUMENT naming every bad variable', () => {
  assert.throws(
    () => loadConfig({ AIMASS_THREADS: 'many', AIMASS_PORT: '70000', AIMASS_LOG_LEVEL: 'loud' }),
    (e: unknown) => {
      assert.ok(e instanceof AimassError);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.match(e.message, /AIMASS_LOG_LEVEL/);
      assert.match(e.message, /AIMASS_THREADS/);
      assert.match(e.message, /AIMASS_PORT/);
      const problems = e.details?.problems as string[];
      assert.equal(problems.length, 3);
      assert.ok(problems.some((p) => p.startsWith('AIMASS_PORT="70000"')));
      return true;
    },
  );
  assert.throws(() => loadConfig({ AIMASS_THREADS: '0' }), /AIMASS_THREADS/);
  assert.throws(() => loadConfig({ AIMASS_THREADS: '1.5' }), /AIMASS_THREADS/);
  assert.throws(() => loadConfig({ AIMASS_ARTIFACT_URI: '/no/scheme' }), /AIMASS_ARTIFACT_URI/);
});
