// `aimass tune` end to end through the real executable and real processes, on a tiny generated CSV data set: a
// study whose trials run as `trial` tasks on a separate `aimass worker` (embedded dispatcher, SQLite), then
// show / list / plot of it; pruning that stops the training runs after their first epoch; a coordinator killed
// mid-study and run again ending with the same trials as an uninterrupted run; a worker killed mid-trial whose
// trial another worker resumes from its checkpoint once the lease runs out; and the hint when no worker takes
// the trial tasks.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BLOBS_SPEC, blobRows, blobsCsv, writeBlobs } from '../../test/support/blobs-csv.js';
import { aimass, aimassBin, jsonOf, stdoutOf } from '../../test/support/cli.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { openEmbeddedBroker, type TaskRecord } from '../dispatch/index.js';
import { openSqliteDriver } from '../storage/index.js';
import { openStudyStorage, type TrialRecord } from '../tune/index.js';

const tempDir = useTempDirs('cli-tune');
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `aimass ...args` with its stderr collected; `waitFor` resolves once stderr matches. */
function start(args: string[], env: Record<string, string>): { proc: ChildProcess; stderr: () => string; waitFor(re: RegExp, ms?: number): Promise<void> } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMASS_')));
  const proc = spawn(process.execPath, [aimassBin, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(proc);
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  return {
    proc,
    stderr: () => err,
    waitFor: (re, ms = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`stderr never matched ${re} in ${ms} ms:\n${err}`)), ms);
        const check = () => {
          if (re.test(err)) {
            clearTimeout(timer);
            proc.stderr!.off('data', check);
            resolve();
          }
        };
        proc.stderr!.on('data', check);
        check();
      }),
  };
}

/**
 * A folder with the blobs data (240 training rows, or `trainRows`), a base training spec (4 epochs, or `train`'s
 * fields) and a tuning spec `tune.json`.
 */
async function studyFolder(tuning: Record<string, unknown>, o: { train?: Record<string, unknown>; trainRows?: number } = {}): Promise<string> {
  const dir = await tempDir();
  await writeBlobs(dir, { spec: { ...BLOBS_SPEC, epochs: 4, ...o.train }, ...(o.trainRows ? { trainCsv: blobsCsv(blobRows(o.trainRows, 1)) } : {}) });
  await writeFile(
    join(dir, 'tune.json'),
    JSON.stringify({
      train: 'spec.json',
      space: {
        'optimizer.lr': { type: 'float', low: 0.001, high: 0.3, log: true },
        'model.hidden.0': { type: 'categorical', choices: [2, 8, 32] },
      },
      objective: { metric: 'val_loss' },
      sampler: { type: 'tpe', seed: 3, nStartupTrials: 2 },
      trials: 4,
      parallelism: 2,
      ...tuning,
    }),
  );
  return dir;
}

interface ShowJson {
  study: string;
  counts: Record<string, number>;
  best: TrialRecord | null;
  trials: TrialRecord[];
}

const byNumber = (trials: TrialRecord[]) => [...trials].sort((a, b) => a.number - b.number).map((t) => [t.number, t.state, t.params, t.values]);

describe('a study whose trials run on `aimass worker` through the embedded dispatcher', () => {
  let dir: string;
  let env: Record<string, string>;
  let run: Awaited<ReturnType<typeof aimass>>;

  before(async () => {
    dir = await studyFolder({ name: 'blobs', pruner: { type: 'median', nStartupTrials: 1 } });
    env = { AIMASS_HOME: join(dir, 'home'), AIMASS_LOG_LEVEL: 'warn' };
    const worker = start(['worker', '--cpu', '2', '--memory-mb', '4096'], env);
    await worker.waitFor(/taking tasks/);
    run = await aimass(['--json', 'tune', 'run', join(dir, 'tune.json'), '--no-local', '--study', 'blobs-a'], env, 180_000);
    worker.proc.kill('SIGTERM');
    await once(worker.proc, 'exit');
  });

  test('tune run --no-local ends with every trial finished by the worker and a best trial with its model', async () => {
    const r = jsonOf<{ study: string; counts: Record<string, number>; best: { trial: number; value: number; modelPath: string; params: Record<string, unknown> }; trials: number }>(run);
    assert.equal(r.study, 'blobs-a');
    assert.equal(r.trials, 4);
    assert.equal(r.counts.complete + r.counts.pruned, 4, run.stderr);
    assert.equal(r.counts.running, 0);
    assert.ok(r.best && Number.isFinite(r.best.value));
    assert.ok(existsSync(r.best.modelPath), r.best.modelPath);
    assert.deepEqual(Object.keys(r.best.params).sort(), ['model.hidden.0', 'optimizer.lr']);
    assert.match(run.stderr, /^study blobs-a: created; 4 trials, 2 at a time$/m);
    assert.match(run.stderr, /^trial 3 (complete|pruned): val_loss \S+ \| \d\/4 done \| best \S+ \(trial \d\)$/m);
    // the trials were tasks of type trial, run (and finished) by the worker
    const tasks = jsonOf<{ tasks: { type: string; state: string; node: string | null }[] }>(await aimass(['--json', 'tasks', 'list', '--type', 'trial'], env));
    assert.equal(tasks.tasks.length, 4);
    assert.ok(tasks.tasks.every((t) => t.state === 'succeeded'));
  });

  test('tune show prints the best trials first; --json has them with their params and values', async () => {
    const [text, json, list] = await Promise.all([aimass(['tune', 'show', 'blobs-a'], env), aimass(['--json', 'tune', 'show', 'blobs-a', '--top', '2'], env), aimass(['tune', 'list'], env)]);
    const out = stdoutOf(text);
    assert.match(out, /^study blobs-a \(minimize val_loss\): 4 trials/);
    assert.match(out, /^TRIAL\s+STATE\s+VAL_LOSS\s+PARAMS\s+DURATION$/m);
    assert.match(out, /^\d\s+complete\s+\S+\s+optimizer\.lr=\S+ model\.hidden\.0=\d+\s+\d+\.\d s$/m);
    const shown = jsonOf<ShowJson>(json);
    assert.equal(shown.trials.length, 2);
    assert.equal(shown.best?.number, shown.trials[0].number);
    assert.ok((shown.trials[0].values as number[])[0] <= ((shown.trials[1].values ?? [Infinity]) as number[])[0]);
    assert.match(stdoutOf(list), /^blobs-a\s+minimize val_loss\s+4\s+\d\s+\S+ \(trial \d\)/m);
  });

  test('tune plot writes three self-contained SVG files with their elements', async () => {
    const out = join(dir, 'plots');
    const r = jsonOf<{ files: Record<string, string>; importance: { name: string; importance: number }[] }>(await aimass(['--json', 'tune', 'plot', 'blobs-a', '--out', out], env));
    const [history, coords, importance] = await Promise.all([r.files.history, r.files.parallelCoordinates, r.files.importance].map((f) => readFile(f, 'utf8')));
    assert.deepEqual(Object.values(r.files).map((f) => f.slice(out.length + 1)).sort(), ['history.svg', 'importance.svg', 'parallel-coordinates.svg']);
    for (const svg of [history, coords, importance]) assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>\n<title>[^<]*blobs-a<\/title>/);
    assert.ok((history.match(/<circle class="trial/g) ?? []).length >= 3);
    assert.match(history, /<polyline class="best"/);
    assert.ok((coords.match(/<polyline class="trial"/g) ?? []).length >= 1);
    assert.equal((coords.match(/<line class="axis"/g) ?? []).length, 3);
    assert.equal(r.importance.length, 2);
    assert.equal((importance.match(/<rect class="bar"/g) ?? []).length, 2);
  });
});

test('a pruned trial stops its training run after the epoch the pruner judged (threshold pruner, local worker)', async () => {
  const dir = await studyFolder({ name: 'pruned', objective: { metric: 'val_accuracy' }, pruner: { type: 'threshold', lower: 2 }, trials: 2, parallelism: 1 });
  const env = { AIMASS_HOME: join(dir, 'home'), AIMASS_LOG_LEVEL: 'warn' };
  const run = await aimass(['tune', 'run', join(dir, 'tune.json')], env, 120_000);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^study pruned: 2 trials \(0 complete, 2 pruned, 0 failed\)\nno trial completed$/m);
  assert.match(run.stderr, /^trial 0 pruned: val_accuracy \S+/m);
  const shown = jsonOf<ShowJson>(await aimass(['--json', 'tune', 'show', 'pruned'], env));
  for (const t of shown.trials) {
    assert.equal(t.state, 'pruned');
    assert.deepEqual(Object.keys(t.intermediate), ['1'], 'one epoch reported');
    const runDir = (t.userAttrs as { runDir: string }).runDir;
    const metrics = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8')) as { history: unknown[] };
    assert.equal(metrics.history.length, 1, 'the run trained 1 of its 4 epochs');
    assert.equal(existsSync(join(runDir, 'model.onnx')), false, 'a pruned run exports no model');
  }
});

test('a coordinator killed mid-study and run again ends with the same trials as an uninterrupted run', async () => {
  const spec = { name: 'resume', trials: 5, parallelism: 2, pruner: { type: 'median', nStartupTrials: 1 } };
  const [whole, killed] = await Promise.all([studyFolder(spec), studyFolder(spec)]);
  const wholeEnv = { AIMASS_HOME: join(whole, 'home'), AIMASS_LOG_LEVEL: 'warn' };
  const killedEnv = { AIMASS_HOME: join(killed, 'home'), AIMASS_LOG_LEVEL: 'warn' };

  const interrupt = async (): Promise<{ finished: number; running: number }> => {
    const first = start(['tune', 'run', join(killed, 'tune.json')], killedEnv);
    await first.waitFor(/^trial \d (complete|pruned)/m, 120_000);
    // a trial is running or about to: stop now, as Ctrl-C or a kill would
    const opened = await openStudyStorage(`sqlite:${join(killed, 'home', 'aimass.db')}`);
    let seen;
    try {
      const study = await opened.storage.getStudy('resume');
      seen = await opened.storage.getTrials(study.id);
    } finally {
      await opened.close();
    }
    first.proc.kill('SIGTERM');
    const [code] = await once(first.proc, 'exit');
    assert.notEqual(code, 0, first.stderr());
    assert.match(first.stderr(), /SIGTERM: stopping; the trials in flight go back to the queue/);
    return { finished: seen.filter((t) => t.state !== 'running').length, running: seen.filter((t) => t.state === 'running').length };
  };
  const [reference, atKill] = await Promise.all([aimass(['tune', 'run', join(whole, 'tune.json')], wholeEnv, 180_000), interrupt()]);
  assert.equal(reference.code, 0, reference.stderr);
  assert.ok(atKill.finished < 5, `the study was mid-way when killed: ${JSON.stringify(atKill)}`);

  const resumed = await aimass(['tune', 'run', join(killed, 'tune.json')], killedEnv, 180_000);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /^study resume: resumed with \d trial\(s\)/m);
  const [a, b] = await Promise.all([aimass(['--json', 'tune', 'show', 'resume', '--top', '100'], wholeEnv), aimass(['--json', 'tune', 'show', 'resume', '--top', '100'], killedEnv)]);
  const left = jsonOf<ShowJson>(a).trials;
  const right = jsonOf<ShowJson>(b).trials;
  assert.equal(left.length, 5);
  assert.deepEqual(byNumber(right), byNumber(left));
});

test('a worker killed mid-trial: the other worker takes its task when the lease runs out, resumes the trial from its checkpoint and the study ends as an uninterrupted one', async () => {
  // trials long enough (5 epochs of ~1 s) to kill one between epochs; no pruner, so every trial must end complete
  const epochs = 5;
  const spec = { name: 'worker-kill', trials: 3, parallelism: 2 };
  const folder = () => studyFolder(spec, { train: { epochs, batchSize: 8 }, trainRows: 4000 });
  const [whole, killed] = await Promise.all([folder(), folder()]);
  const wholeEnv = { AIMASS_HOME: join(whole, 'home'), AIMASS_LOG_LEVEL: 'warn' };
  const env = { AIMASS_HOME: join(killed, 'home'), AIMASS_LOG_LEVEL: 'warn' };
  const worker = (id: string) => start(['worker', '--id', id, '--cpu', '1', '--max-concurrent', '1', '--memory-mb', '4096', '--lease-ms', '3000'], env);

  const interrupted = async () => {
    const [doomed, survivor] = [worker('doomed'), worker('survivor')];
    await Promise.all([doomed.waitFor(/taking tasks/), survivor.waitFor(/taking tasks/)]);
    const coordinator = start(['tune', 'run', join(killed, 'tune.json'), '--no-local'], env);
    const uri = `sqlite:${join(killed, 'home', 'aimass.db')}`;
    const broker = await openEmbeddedBroker(await openSqliteDriver(uri));
    const opened = await openStudyStorage(uri);
    // wait until `doomed` is training a trial with 1 to 3 of its 5 epochs reported (and checkpointed), then kill it
    let victim: { task: TaskRecord; trial: number; reported: number; at: number } | undefined;
    try {
      const deadline = Date.now() + 60_000;
      while (!victim) {
        assert.ok(Date.now() < deadline, `the doomed worker never trained a trial mid-way:\n${coordinator.stderr()}`);
        const task = (await broker.list({ type: 'trial' })).find((t) => t.state === 'running' && t.node === 'doomed');
        if (task) {
          const trial = (task.payload as { trial: number }).trial;
          const study = await opened.storage.getStudy('worker-kill').catch(() => undefined);
          const record = study && (await opened.storage.getTrials(study.id))[trial];
          const reported = record ? Object.keys(record.intermediate).length : 0;
          if (reported >= 1 && reported <= epochs - 2) {
            doomed.proc.kill('SIGKILL');
            victim = { task, trial, reported, at: Date.now() };
            break;
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await broker.close();
      await opened.close();
    }
    const [code] = await once(coordinator.proc, 'exit');
    assert.equal(code, 0, coordinator.stderr());
    survivor.proc.kill('SIGTERM');
    await once(survivor.proc, 'exit');
    return { ...victim, stderr: coordinator.stderr() };
  };
  const [reference, victim] = await Promise.all([aimass(['tune', 'run', join(whole, 'tune.json')], wholeEnv, 120_000), interrupted()]);
  assert.equal(reference.code, 0, reference.stderr);

  // the killed trial ended complete, its task in two attempts: the lease ran out on `doomed`, `survivor` finished it
  assert.match(victim.stderr, new RegExp(`^trial ${victim.trial} complete: val_loss \\S+`, 'm'));
  const task = jsonOf<TaskRecord>(await aimass(['--json', 'tasks', 'show', victim.task.id], env));
  assert.equal(task.state, 'succeeded');
  assert.deepEqual(
    task.history.map((a) => [a.attempt, a.node, a.outcome]),
    [
      [1, 'doomed', 'lease-expired'],
      [2, 'survivor', 'succeeded'],
    ],
  );
  // resumed, not trained again: a fresh run writes spec.json into its folder, a resumed one leaves it as it was
  const shown = jsonOf<ShowJson>(await aimass(['--json', 'tune', 'show', 'worker-kill', '--top', '100'], env)).trials;
  const runDir = (shown.find((t) => t.number === victim.trial)!.userAttrs as { runDir: string }).runDir;
  assert.ok((await stat(join(runDir, 'spec.json'))).mtimeMs < victim.at, 'spec.json was written before the kill only');
  const metrics = JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8')) as { history: { epoch: number }[] };
  assert.deepEqual(
    metrics.history.map((h) => h.epoch),
    Array.from({ length: epochs }, (_, i) => i + 1),
  );
  // the same trials, params and values as the uninterrupted study
  const left = jsonOf<ShowJson>(await aimass(['--json', 'tune', 'show', 'worker-kill', '--top', '100'], wholeEnv)).trials;
  assert.equal(left.length, 3);
  assert.ok(shown.every((t) => t.state === 'complete'), JSON.stringify(byNumber(shown)));
  assert.deepEqual(byNumber(shown), byNumber(left));
});

test('with no worker to take the trial tasks, tune run --no-local says so instead of waiting silently', async () => {
  const dir = await studyFolder({ name: 'idle', trials: 1, parallelism: 1 });
  const run = start(['tune', 'run', join(dir, 'tune.json'), '--no-local', '--worker-wait', '1'], { AIMASS_HOME: join(dir, 'home'), AIMASS_LOG_LEVEL: 'warn' });
  await run.waitFor(/no worker has taken the trial tasks for \d+ s; start `aimass worker` or `aimass serve` on the same metadata store \(1 trial task\(s\) queued\), or run with --local/, 60_000);
  run.proc.kill('SIGINT');
  await once(run.proc, 'exit');
});
