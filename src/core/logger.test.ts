import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, silentLogger } from './index.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { stream, lines };
}

test('createLogger writes JSON lines with name and respects the level', () => {
  const out = capture();
  const log = createLogger({ level: 'warn', name: 'unit', destination: out.stream });
  log.info('hidden');
  log.warn({ runId: 'r1' }, 'shown');
  const lines = out.lines();
  assert.equal(lines.length, 1);
  assert.equal(lines[0].msg, 'shown');
  assert.equal(lines[0].name, 'unit');
  assert.equal(lines[0].runId, 'r1');
});

test('silentLogger accepts calls and drops them', () => {
  assert.equal(silentLogger.level, 'silent');
  silentLogger.error('nothing');
  assert.equal(silentLogger.child({ a: 1 }).level, 'silent');
});
