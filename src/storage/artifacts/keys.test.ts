// The key rules every artifact store applies (keys.ts): what passes, what fails and why.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isValidKey, keyProblem, MAX_KEY_BYTES, prefixFolder, validateKey, validatePrefix } from './index.js';

test('relative paths of clean segments are keys', () => {
  for (const key of [
    'a',
    'models/m1/3/model.onnx',
    'datasets/spam@3f2a/train.csv',
    'a/.hidden/b',
    'a/..b/c..',
    'spaces in names/ünïcødé 模型/100%?#&+=;@.bin',
    'emoji/🙂.txt',
    `${'x'.repeat(255)}/y`,
  ]) {
    assert.equal(keyProblem(key), undefined, key);
    assert.equal(validateKey(key), key);
  }
  assert.ok(isValidKey('y'.repeat(MAX_KEY_BYTES)) === false, 'a 1024-byte single segment is over the segment limit');
  assert.ok(isValidKey(`${'a'.repeat(200)}/`.repeat(5) + 'b'.repeat(MAX_KEY_BYTES - 1005)));
});

test('each invalid key is rejected with INVALID_ARGUMENT naming it and saying why', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['/abs/path', /absolute/],
    ['C:/Windows', /drive letter/],
    ['a\\b', /backslash/],
    ['a\0b', /NUL/],
    ['a\tb', /control/],
    ['a\u0085b', /control/],
    ['a\u007fb', /control/],
    ['a\ud800b', /surrogate/],
    ['a//b', /empty segment/],
    ['a/', /empty segment/],
    ['..', /"\.\." segment/],
    ['a/../b', /"\.\." segment/],
    ['./a', /"\." segment/],
    ['.tmp/x', /reserved/],
    ['.sha256', /reserved/],
    [`${'z'.repeat(256)}`, /segment is longer than 255 bytes/],
    [`${'é'.repeat(128)}`, /segment is longer than 255 bytes/], // 256 bytes in UTF-8
    [`${'a/'.repeat(512)}b`, /longer than 1024 bytes/],
  ];
  for (const [key, reason] of cases) {
    assert.throws(
      () => validateKey(key),
      (e: unknown) => {
        const err = e as { code?: string; message: string; details?: { key?: string } };
        assert.equal(err.code, 'INVALID_ARGUMENT', key);
        assert.match(err.message, reason, key);
        assert.ok(err.message.includes(JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key)), err.message);
        assert.equal(err.details?.key, key);
        return true;
      },
      JSON.stringify(key),
    );
  }
  assert.match(keyProblem(42) ?? '', /string/);
});

test('prefixes: any cut of a key, but complete segments follow the key rules', () => {
  for (const prefix of ['', 'm', 'models/', 'models/m1/mod', 'models/..x', 'a/.', 'a/..']) assert.equal(validatePrefix(prefix), prefix);
  for (const prefix of ['../', '/a', 'a//', 'a/../', '.tmp/', 'a\\', 'a\nb']) {
    assert.throws(() => validatePrefix(prefix), (e: unknown) => (e as { code?: string }).code === 'INVALID_ARGUMENT', JSON.stringify(prefix));
  }
  assert.equal(prefixFolder('models/m1/mod'), 'models/m1/');
  assert.equal(prefixFolder('models/'), 'models/');
  assert.equal(prefixFolder('mod'), '');
});
