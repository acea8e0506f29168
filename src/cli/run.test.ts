// Pins `aimass run` through the real executable on small generated mails: the summary and --json, --check, a
// spec with problems (all listed, exit 1), a failing gate (exit 1 naming the rule, alias kept), Ctrl-C in the
// middle of training and the run that resumes it, and serving the promoted model until Ctrl-C.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { textSpec, writeMails, writeSpec } from '../../test/support/pipeline-fixtures.js';
import { aimass, aimassBin, assertFailed, jsonOf, stdoutOf } from '../../test/support/cli.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-run');

async function folder(): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await tempDir();
  await writeMails(dir);
  return { dir, env: { AIMASS_HOME: join(dir, 'home'), AIMASS_THREADS: '1', AIMASS_LOG_LEVEL: 'warn' } };
}

/** Starts `aimass args` with its output collected; `waitFor` resolves when stdout+stderr match. */
function start(args: string[], env: Record<string, string>): { child: ChildProcess; output(): string; waitFor(re: RegExp, ms?: number): Promise<string>; exit: Promise<number | null> } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMASS_')));
  const child = spawn(process.execPath, [aimassBin, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  const waiters: (() => void)[] = [];
  const onData = (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const waitFor = (re: RegExp, ms = 120_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; output so far:\n${text}`)), ms);
      const check = () => {
        const m = re.exec(text);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        } else waiters.push(check);
      };
      check();
      void exit.then(() => {
        if (!re.test(text)) {
          clearTimeout(timer);
          reject(new Error(`exited before ${re}; output:\n${text}`));
        }
      });
    });
  return { child, output: () => text, waitFor, exit };
}

describe('aimass run on a small text pipeline', () => {
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    ({ dir, env } = await folder());
  });

  test('prints a line per step and the summary table; a second --json run finds every step cached', async () => {
    const spec = await writeSpec(dir, textSpec());
    const r = await aimass(['run', spec, '--no-serve'], env, 120_000);
    const out = stdoutOf(r);
    assert.match(out, /^pipeline mails\nSTEP +STATUS +TIME +RESULT\ndata +done /m);
    assert.match(out, /^promote +done .*mails@production: new alias → version 1$/m);
    assert.match(out, /^registered: mails version 1$/m);
    assert.match(r.stderr, /^▸ train: training$/m);
    assert.match(r.stderr, /^ {4}epoch 1\/1: loss /m);
    const again = jsonOf<{ passed: boolean; steps: { step: string; status: string }[]; registered: { version: number } }>(await aimass(['--json', 'run', spec, '--no-serve'], env, 120_000));
    assert.equal(again.passed, true);
    assert.deepEqual(
      again.steps.map((s) => s.status),
      ['cached', 'cached', 'cached', 'cached', 'done', 'cached', 'cached'],
      'the gate re-runs (its baseline, production, is now version 1); nothing else does',
    );
    assert.equal(again.registered.version, 1);
  });

  test('--check validates without running; a bad spec lists every problem and exits 1', async () => {
    const good = await writeSpec(dir, textSpec(), 'check.yaml');
    assert.match(stdoutOf(await aimass(['run', good, '--check'], env)), /valid pipeline "mails"/);
    const bad = await writeSpec(dir, { ...textSpec(), model: { type: 'cnn' }, data: { format: 'jsonl', path: 'gone.jsonl' }, tune: {}, gate: 'accuracy >= 0.9 and f2 > 1' }, 'bad.json');
    const r = await aimass(['run', bad, '--no-serve'], env);
    assertFailed(r, 1, /^error \[INVALID_SPEC\]: the pipeline spec .*bad\.json has \d problem\(s\); fix each one listed and run again$/m);
    for (const line of [/^ {2}- data\.path: file not found: .*gone\.jsonl$/m, /^ {2}- model\.input: a cnn needs its input shape/m, /^ {2}- tune\.space: /m, /^ {2}- gate: column 21: unknown metric "f2"/m]) {
      assert.match(r.stderr, line);
    }
  });

  test('a failing gate exits 1 naming the rule; the alias stays where it was', async () => {
    const spec = await writeSpec(dir, textSpec({ train: { optimizer: { type: 'adam', lr: 0.01 }, epochs: 1, batchSize: 8, threads: 1 }, gate: 'accuracy > 1' }), 'strict.yaml');
    const r = await aimass(['run', spec, '--no-serve'], env, 120_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^gate FAILED; failing rule\(s\):\n {2}- accuracy > 1: failed: accuracy = [\d.]+ > 1 is false$/m);
    assert.match(r.stdout, /^mails@production stays at version 1; nothing was registered$/m);
    assert.match(r.stderr, /^error \[CONFLICT\]: pipeline mails: the gate failed \(accuracy > 1\); nothing was registered; mails@production stays at version 1$/m);
  });
});

test('Ctrl-C during training stops after the current step; the next run resumes from the checkpoint', async () => {
  const { dir, env } = await folder();
  const spec = await writeSpec(dir, textSpec({ name: 'mails-ctrl-c', train: { optimizer: { type: 'adam', lr: 0.01 }, epochs: 40, batchSize: 2, threads: 1 }, register: { model: 'ctrl-c' } }));
  const run = start(['run', spec, '--no-serve'], env);
  await run.waitFor(/epoch 1\/40: loss/);
  run.child.kill('SIGINT');
  assert.equal(await run.exit, 1, run.output());
  assert.match(run.output(), /stopping after the current step/);
  assert.match(run.output(), /^error \[CANCELLED\]: interrupted during the train step; run the pipeline again to resume from the last finished step \(the training resumes from its last epoch checkpoint\)$/m);
  const r = await aimass(['run', spec, '--no-serve'], env, 240_000);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^✓ data \(cached\)/m);
  assert.match(r.stderr, /resuming after epoch \d+/);
  assert.match(r.stdout, /^registered: ctrl-c version 1$/m);
});

test('without --no-serve the promoted model is served until Ctrl-C', async () => {
  const { dir, env } = await folder();
  const spec = await writeSpec(dir, textSpec({ name: 'mails-serve', register: { model: 'served' }, serve: { port: 0 } }));
  const run = start(['run', spec], env);
  const line = await run.waitFor(/serving served@production at (http:\/\/[\d.:]+)/);
  const url = /(http:\/\/[\d.:]+)/.exec(line)![1];
  assert.match(run.output(), /curl -s http:\/\/[\d.:]+\/api\/v1\/predict\/served -H/);
  const res = await fetch(`${url}/api/v1/predict/served`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: ['claim your free cash prize now', 'agenda for the project meeting'] }) });
  const body = (await res.json()) as { model_version: string; predictions: { label: string }[] };
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.equal(body.model_version, '1');
  assert.deepEqual(body.predictions.map((p) => p.label), ['spam', 'ham']);
  run.child.kill('SIGINT');
  assert.equal(await run.exit, 0, run.output());
});
