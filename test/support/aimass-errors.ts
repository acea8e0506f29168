// Assertions on AimassErrors for tests: the code, and that the listed problems (details.problems) or the
// message match, so a test pins what a user would read rather than only that something threw.
import assert from 'node:assert/strict';
import { AimassError, type ErrorCode } from '../../src/core/index.js';

/**
 * Runs `fn`, expects an AimassError with `code`, and returns it. Each entry of `mentions` must match the message
 * or one of details.problems (a string is a substring match).
 */
export function expectAimassError(fn: () => unknown, code: ErrorCode, ...mentions: (string | RegExp)[]): AimassError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown !== undefined, `expected an AimassError ${code}, but nothing was thrown`);
  assert.ok(thrown instanceof AimassError, `expected an AimassError ${code}, got ${String(thrown)}`);
  assert.equal(thrown.code, code, `expected ${code}, got ${thrown.code}: ${thrown.message}`);
  const problems = Array.isArray(thrown.details?.problems) ? (thrown.details.problems as string[]) : [];
  const texts = [thrown.message, ...problems];
  for (const m of mentions) {
    const hit = texts.some((t) => (typeof m === 'string' ? t.includes(m) : m.test(t)));
    assert.ok(hit, `no message or problem mentions ${String(m)}:\n${texts.join('\n')}`);
  }
  return thrown;
}

/** The details.problems of an AimassError (empty if none). */
export function problemsOf(e: AimassError): string[] {
  return Array.isArray(e.details?.problems) ? (e.details.problems as string[]) : [];
}
