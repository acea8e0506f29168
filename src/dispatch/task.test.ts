// The task model: defaults, validation listing every problem, priority lanes, and the backoff curve.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectAimassError } from '../../test/support/aimass-errors.js';
import { backoffDelayMs, isFinished, isRetryableCode, normalizeTaskSpec, PRIORITY_LANES } from './index.js';

test('a minimal spec gets every default; lanes map to priorities', () => {
  const s = normalizeTaskSpec({ type: 'train' });
  assert.deepEqual(s, {
    type: 'train',
    payload: null,
    priority: PRIORITY_LANES.normal,
    resources: { cpu: 1, memoryMb: 256, kind: 'any', labels: {} },
    timeoutMs: 3_600_000,
    deadline: null,
    retry: { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 },
    idempotencyKey: null,
  });
  assert.equal(normalizeTaskSpec({ type: 'trial', priority: 'high' }).priority, 2);
  assert.equal(normalizeTaskSpec({ type: 'trial', priority: 'low' }).priority, 0);
  assert.equal(normalizeTaskSpec({ type: 'trial', priority: -7 }).priority, -7);
  assert.equal(normalizeTaskSpec({ type: 'my-org.resize:v2' }).type, 'my-org.resize:v2');
  assert.equal(normalizeTaskSpec({ type: 'x', deadline: '2030-01-01T01:00:00+01:00' }).deadline, '2030-01-01T00:00:00.000Z');
  assert.equal(normalizeTaskSpec({ type: 'x', retry: { baseDelayMs: 5000, maxDelayMs: 10 } }).retry.maxDelayMs, 5000);
});

test('a bad spec fails with INVALID_SPEC naming every problem', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  expectAimassError(
    () =>
      normalizeTaskSpec({
        type: 'Train',
        payload: cyclic,
        priority: 1.5,
        resources: { cpu: -1, memoryMb: 1, kind: 'audio', labels: { zone: 3 }, gpus: 1 },
        timeoutMs: 0,
        deadline: 'tomorrow',
        retry: { maxAttempts: 1000 },
        idempotencyKey: '',
      }),
    'INVALID_SPEC',
    /^type:/,
    /^payload: must be JSON/,
    /^priority:/,
    /^resources\.cpu:/,
    /^resources\.memoryMb:/,
    /^resources\.kind:/,
    /^resources\.labels\.zone:/,
    /^resources\.gpus: unknown field/,
    /^timeoutMs:/,
    /^deadline: must be an ISO-8601 time/,
    /^retry\.maxAttempts:/,
    /^idempotencyKey:/,
  );
});

test('backoff doubles from the base up to the cap, with ±50% jitter', () => {
  const retry = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 9].map((a) => backoffDelayMs(retry, a, () => 0.5)),
    [100, 200, 400, 800, 1000, 1000],
  );
  assert.equal(backoffDelayMs(retry, 2, () => 0), 100);
  assert.equal(backoffDelayMs(retry, 2, () => 0.999), 300);
});

test('finished states and retryable codes', () => {
  assert.deepEqual(
    (['queued', 'running', 'succeeded', 'failed', 'cancelled', 'dead'] as const).filter(isFinished),
    ['succeeded', 'failed', 'cancelled', 'dead'],
  );
  assert.equal(isRetryableCode('UNAVAILABLE'), true);
  assert.equal(isRetryableCode('INTERNAL'), true);
  assert.equal(isRetryableCode('INVALID_ARGUMENT'), false);
});
