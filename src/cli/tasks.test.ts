// Pins `aimass tasks …` and `aimass worker` through the real executable on the embedded default (SQLite under
// a temporary AIMASS_HOME): tasks queue without a worker, a worker started afterwards runs them in its child
// processes (a no-op, a sleep, a real training run that registers its model), Ctrl-C lets a running task finish,
// and bad input fails naming what is wrong.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { aimass, aimassBin, assertFailed, jsonOf } from '../../test/support/cli.js';
import { writeBlobs } from '../../test/support/blobs-csv.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-tasks');

interface Task {
  id: string;
  type: string;
  state: string;
  attempts: number;
  result: unknown;
  error: { code: string; message: string } | null;
  history: { outcome: string; node: string }[];
}

const fails = (r: Parameters<typeof assertFailed>[0], code: string, pattern: RegExp) => assertFailed(r, 1, new RegExp(`error \\[${code}\\]: .*${pattern.source}`));

describe('aimass tasks and aimass worker', () => {
  let env: Record<string, string>;
  let dir: string;
  let worker: ChildProcess | undefined;
  let workerLog = '';

  before(async () => {
    env = { AIMASS_HOME: await tempDir(), AIMASS_LOG_LEVEL: 'info' };
    dir = await tempDir();
  });
  after(() => worker?.kill('SIGKILL'));

  test('tasks queue while no worker runs', async () => {
    const queued = jsonOf<Task>(await aimass(['--json', 'tasks', 'submit', 'noop', '--key', 'first-noop'], env));
    assert.equal(queued.state, 'queued');
    const again = jsonOf<Task>(await aimass(['--json', 'tasks', 'submit', 'noop', '--key', 'first-noop'], env));
    assert.equal(again.id, queued.id, 'the same idempotency key gives the same task');
    const list = jsonOf<{ tasks: Task[]; counts: Record<string, number> }>(await aimass(['--json', 'tasks', 'list'], env));
    assert.equal(list.counts.queued, 1);
  });

  test('a worker runs queued and new tasks in its child processes, including a training run that registers a model', async () => {
    const data = join(dir, 'blobs');
    await mkdir(data, { recursive: true });
    const spec = await writeBlobs(data);
    worker = spawn(process.execPath, [aimassBin, 'worker', '--id', 'w1', '--cpu', '2'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr!.on('data', (d) => (workerLog += d));

    const trained = jsonOf<Task>(await aimass(['--json', 'tasks', 'submit', 'train', '--payload', JSON.stringify({ spec, register: 'blobs' }), '--wait'], env, 120_000));
    assert.equal(trained.state, 'succeeded', JSON.stringify(trained.error) + workerLog);
    assert.ok((trained.result as { test?: { accuracy?: number } }).test?.accuracy !== undefined, JSON.stringify(trained.result));
    assert.equal(trained.history[0].node, 'w1');
    const versions = jsonOf<{ version: number }[]>(await aimass(['--json', 'models', 'versions', 'blobs'], env));
    assert.equal(versions.length, 1, 'the training task registered its model');

    const list = jsonOf<{ tasks: Task[] }>(await aimass(['--json', 'tasks', 'list', '--state', 'succeeded'], env));
    assert.ok(list.tasks.some((t) => t.type === 'noop'), 'the task queued before the worker started ran too');

    const bad = jsonOf<Task>(await aimass(['--json', 'tasks', 'submit', 'sleep', '--payload', '{"ms":-1}', '--wait'], env, 60_000));
    assert.equal(bad.state, 'failed');
    assert.match(bad.error!.message, /a sleep task takes/);
    assert.equal(bad.attempts, 1, 'a caller error is not retried');
  });

  test('Ctrl-C lets the running task finish, then the worker exits 0', async () => {
    const sleeping = jsonOf<Task>(await aimass(['--json', 'tasks', 'submit', 'sleep', '--payload', '{"ms":1500}'], env));
    while (!workerLog.includes(`task ${sleeping.id} started`)) await new Promise((r) => setTimeout(r, 50));
    const exited = new Promise<number | null>((resolve) => worker!.once('exit', resolve));
    worker!.kill('SIGINT');
    assert.equal(await exited, 0, workerLog);
    worker = undefined;
    const done = jsonOf<Task>(await aimass(['--json', 'tasks', 'show', sleeping.id], env));
    assert.equal(done.state, 'succeeded', workerLog);
  });

  test('bad input fails naming what is wrong', async () => {
    fails(await aimass(['tasks', 'submit', 'noop', '--payload', '{oops'], env), 'INVALID_ARGUMENT', /--payload is not JSON/);
    assertFailed(await aimass(['tasks', 'submit', 'Bad Type'], env), 1, /error \[INVALID_SPEC\][^]*- type: a task type is lower-case words/);
    fails(await aimass(['tasks', 'show', 'nope'], env), 'NOT_FOUND', /no task "nope"/);
    fails(await aimass(['tasks', 'list', '--state', 'sleeping'], env), 'INVALID_ARGUMENT', /--state must be one of/);
    fails(await aimass(['worker', '--kinds', 'audio'], env), 'INVALID_ARGUMENT', /--kinds/);
    const queued = jsonOf<Task>(await aimass(['--json', 'tasks', 'submit', 'noop'], env));
    const cancelled = jsonOf<Task>(await aimass(['--json', 'tasks', 'cancel', queued.id], env));
    assert.equal(cancelled.state, 'cancelled');
  });
});
