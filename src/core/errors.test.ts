import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimassError, ERROR_CATALOG, ERROR_CODES, errors, isAimassError, toAimassError } from './index.js';

test('each code maps to its HTTP status', () => {
  const expected: Record<string, number> = {
    INVALID_ARGUMENT: 400,
    INVALID_SPEC: 400,
    SHAPE_MISMATCH: 400,
    DATA_FORMAT: 400,
    NOT_FOUND: 404,
    ALREADY_EXISTS: 409,
    CONFLICT: 409,
    PAYLOAD_TOO_LARGE: 413,
    UNSUPPORTED_MEDIA_TYPE: 415,
    TRAINING_DIVERGED: 422,
    UNSUPPORTED: 400,
    UNKNOWN_SCHEME: 400,
    INTERNAL: 500,
    UNAVAILABLE: 503,
    TIMEOUT: 504,
  };
  for (const [code, status] of Object.entries(expected)) {
    assert.ok(ERROR_CODES.includes(code as never), `missing code ${code}`);
    assert.equal(new AimassError(code as never, 'x').status, status, code);
  }
  for (const code of ERROR_CODES) assert.ok(ERROR_CATALOG[code].title.length > 0);
});

test('AimassError is an Error with code, status and details', () => {
  const e = new AimassError('NOT_FOUND', 'Model "m" was not found; list models with `aimass models`', { id: 'm' });
  assert.ok(e instanceof Error);
  assert.ok(isAimassError(e));
  assert.equal(e.name, 'AimassError');
  assert.equal(e.code, 'NOT_FOUND');
  assert.equal(e.status, 404);
  assert.deepEqual(e.details, { id: 'm' });
  assert.ok(!isAimassError(new Error('plain')));
});

test('JSON round trip keeps code, message and details', () => {
  const e = errors.invalidSpec('Training spec has 2 problems', ['epochs: must be >= 1', 'optimizer.lr: required']);
  const wire = JSON.parse(JSON.stringify(e));
  assert.deepEqual(wire, {
    error: {
      code: 'INVALID_SPEC',
      status: 400,
      title: 'Invalid specification',
      message: 'Training spec has 2 problems',
      details: { problems: ['epochs: must be >= 1', 'optimizer.lr: required'] },
    },
  });
  const back = AimassError.fromJSON(wire);
  assert.equal(back.code, 'INVALID_SPEC');
  assert.equal(back.message, e.message);
  assert.deepEqual(back.details, e.details);
  // The bare inner object is accepted too.
  assert.equal(AimassError.fromJSON(wire.error).code, 'INVALID_SPEC');
});

test('fromJSON turns unknown payloads into INTERNAL instead of throwing', () => {
  assert.equal(AimassError.fromJSON({ error: { code: 'NOPE', message: 'm' } }).code, 'INTERNAL');
  assert.equal(AimassError.fromJSON('garbage').code, 'INTERNAL');
  assert.equal(AimassError.fromJSON(null).code, 'INTERNAL');
});

test('shapeMismatch names the layer and both shapes', () => {
  const e = errors.shapeMismatch('dense2', [-1, 128], [-1, 64]);
  assert.equal(e.code, 'SHAPE_MISMATCH');
  assert.match(e.message, /dense2/);
  assert.match(e.message, /\[-1, 128\]/);
  assert.match(e.message, /\[-1, 64\]/);
  assert.deepEqual(e.details, { layer: 'dense2', expected: [-1, 128], actual: [-1, 64] });
});

test('toAimassError keeps AimassErrors and wraps the rest as INTERNAL', () => {
  const known = new AimassError('TIMEOUT', 't');
  assert.equal(toAimassError(known), known);
  const wrapped = toAimassError(new TypeError('boom'));
  assert.equal(wrapped.code, 'INTERNAL');
  assert.match(wrapped.message, /boom/);
  assert.ok(wrapped.cause instanceof TypeError);
  assert.equal(toAimassError('str').code, 'INTERNAL');
});
