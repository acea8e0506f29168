import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimassError, SchemeRegistry, parseUri } from './index.js';

test('parseUri splits scheme and rest', () => {
  assert.deepEqual(parseUri('file:///tmp/a'), { scheme: 'file', rest: '/tmp/a', hasAuthority: true });
  assert.deepEqual(parseUri('S3://bucket/prefix'), { scheme: 's3', rest: 'bucket/prefix', hasAuthority: true });
  assert.deepEqual(parseUri('sqlite:/tmp/x.db'), { scheme: 'sqlite', rest: '/tmp/x.db', hasAuthority: false });
  assert.deepEqual(parseUri('postgresql://u@127.0.0.1:5432/db'), {
    scheme: 'postgresql',
    rest: 'u@127.0.0.1:5432/db',
    hasAuthority: true,
  });
  assert.equal(parseUri('/just/a/path'), undefined);
  assert.equal(parseUri('C:\\data'), undefined);
});

test('resolve picks the factory for the scheme and passes the uri', () => {
  const registry = new SchemeRegistry<{ kind: string; uri: string; rest: string }>('artifact store')
    .register('file', (uri, p) => ({ kind: 'file', uri, rest: p.rest }))
    .register('s3://', (uri, p) => ({ kind: 's3', uri, rest: p.rest }))
    .register('sqlite:', (uri, p) => ({ kind: 'sqlite', uri, rest: p.rest }));
  assert.deepEqual(registry.resolve('file:///data/x'), { kind: 'file', uri: 'file:///data/x', rest: '/data/x' });
  assert.equal(registry.resolve('s3://b/k').kind, 's3');
  assert.equal(registry.resolve('sqlite:/tmp/a.db').rest, '/tmp/a.db');
  assert.deepEqual(registry.schemes(), ['file', 's3', 'sqlite']);
  assert.ok(registry.has('S3'));
});

test('an unknown or missing scheme throws UNKNOWN_SCHEME listing the known ones', () => {
  const registry = new SchemeRegistry<string>('metadata store').register('sqlite', () => 'a').register('postgresql', () => 'b');
  for (const uri of ['mysql://h/db', '/tmp/no-scheme']) {
    assert.throws(
      () => registry.resolve(uri),
      (e: unknown) => {
        assert.ok(e instanceof AimassError);
        assert.equal(e.code, 'UNKNOWN_SCHEME');
        assert.match(e.message, /postgresql:, sqlite:/);
        assert.deepEqual(e.details?.known, ['postgresql', 'sqlite']);
        return true;
      },
    );
  }
});

test('registering a scheme twice is rejected', () => {
  const registry = new SchemeRegistry<number>('thing').register('file', () => 1);
  assert.throws(() => registry.register('FILE://', () => 2), { code: 'ALREADY_EXISTS' });
  assert.throws(() => registry.register('not a scheme', () => 2), { code: 'INVALID_ARGUMENT' });
});
