import { test } from 'node:test';
import assert from 'node:assert/strict';
import { idTime, newId, sha256Hex } from './index.js';

test('newId has the documented shape and encodes UTC time', () => {
  const at = new Date(Date.UTC(2026, 10, 29, 15, 45, 1));
  const id = newId('run', at);
  assert.match(id, /^run-20261129-154501-[0-9a-f]{6}$/);
  assert.equal(idTime(id)?.getTime(), at.getTime());
  assert.equal(idTime('nope'), undefined);
});

test('ids made in sequence sort in creation order and are unique', () => {
  const ids: string[] = [];
  const at = new Date(Date.UTC(2026, 0, 1));
  for (let i = 0; i < 5000; i++) ids.push(newId('task', at));
  ids.push(newId('task', new Date(Date.UTC(2026, 0, 1, 0, 0, 1))));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});

test('newId rejects prefixes that would break parsing', () => {
  assert.throws(() => newId('Run'), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => newId('a b'), { code: 'INVALID_ARGUMENT' });
  assert.match(newId('model-version'), /^model-version-\d{8}-\d{6}-[0-9a-f]{6}$/);
});

test('sha256Hex matches known digests for strings and bytes', () => {
  const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
  assert.equal(sha256Hex('abc'), abc);
  assert.equal(sha256Hex(new Uint8Array([0x61, 0x62, 0x63])), abc);
  assert.equal(sha256Hex(Buffer.from('abc')), abc);
});
