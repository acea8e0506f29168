// Pins the pipeline runner in-process on small generated data (a real SQLite registry and file:// artifacts in a
// temporary AIMASS_HOME): every spec problem listed at once; each step cached by its inputs (changing only the
// gate redoes only the gate); a failing gate registers nothing, keeps the alias and names the rule; on_fail:
// retrain adds rounds with more epochs; an interrupted run resumes at the unfinished step; and bad data —
// a missing file, column, a single-class label, a gate on an unknown metric — each ends with a clear message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError, loadConfig } from '../core/index.js';
import { type Registry, openRegistry } from '../registry/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { textSpec, writeHalves, writeMails, writeSpec } from '../../test/support/pipeline-fixtures.js';
import { type PipelineEvent, type PipelineResult, parsePipelineSpec, readPipelineSpec, runPipeline } from './index.js';

const tempDir = useTempDirs('pipeline');

/** A fresh AIMASS_HOME with its registry; `run` runs a spec object whose paths are relative to `dataDir`. */
async function workspace(): Promise<{ dataDir: string; registry: Registry; run(spec: Record<string, unknown>, o?: { signal?: AbortSignal; onEvent?: (e: PipelineEvent) => void }): Promise<PipelineResult>; close(): Promise<void> }> {
  const root = await tempDir();
  const dataDir = join(root, 'data');
  await writeMails(dataDir);
  const config = loadConfig({ AIMASS_HOME: join(root, 'home'), AIMASS_THREADS: '1' });
  const registry = await openRegistry(config, {});
  return {
    dataDir,
    registry,
    run: async (spec, o = {}) => runPipeline(await readPipelineSpec(await writeSpec(dataDir, spec)), { config, registry, ...o }),
    close: () => registry.close(),
  };
}

const statuses = (r: PipelineResult) => r.steps.map((s) => `${s.step}${s.round ? s.round : ''}:${s.status}`);

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AimassError, String(e));
    assert.equal(e.code, 'INVALID_SPEC', e.message);
    return (e.details?.problems as string[]) ?? [];
  }
  assert.fail('expected INVALID_SPEC');
}

async function rejection(p: Promise<unknown>, code: string): Promise<AimassError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof AimassError, String(e));
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

test('a bad spec is rejected with every problem listed, each naming its field', async () => {
  const dir = await tempDir();
  const problems = problemsOf(() =>
    parsePipelineSpec(
      {
        name: 'bad name!',
        colour: 'blue',
        data: { format: 'jsonl', path: 'nowhere.jsonl' },
        model: { type: 'resnet' },
        train: { epochs: 0, epoch: 3, grid: { 'optimizer.lr': [0.1] } },
        tune: { trials: 10 },
        gate: 'accuracy >= and f1 > 0.9',
        on_fail: 'retune',
      },
      { baseDir: dir },
    ),
  );
  const expected = [
    /^name: /,
    /^colour: unknown field/,
    /^data\.path: file not found: .*nowhere\.jsonl/,
    /^model\.type: unknown model "resnet"; the models are mlp, cnn/,
    /^train\.epoch: unknown field/,
    /^tune\.space: /,
    /^tune: give train\.grid or tune, not both/,
    /^gate: column \d+: /,
  ];
  for (const pattern of expected) assert.ok(problems.some((p) => pattern.test(p)), `no problem matches ${pattern}:\n${problems.join('\n')}`);

  // with a valid model, the training settings are checked as the trainer will see them, and the gate's metric names
  const more = problemsOf(() =>
    parsePipelineSpec(
      { data: { format: 'image-csv', train: 'a.csv', test: 'b.csv' }, model: { type: 'mlp', hidden: [8] }, train: { epochs: 0, grid: { 'optimizer.lr': [0.1], speed: [1] } }, gate: 'acuracy >= 0.9 and recall[cat] >= 0.5' },
      { baseDir: dir },
    ),
  );
  for (const pattern of [/^train\.epochs: /, /^train\.grid\.speed: not a training setting/, /^train\.grid: picks the best configuration on validation data/, /^gate: column 1: unknown metric "acuracy"/, /^data\.train: file not found/, /^data\.test: file not found/]) {
    assert.ok(more.some((p) => pattern.test(p)), `no problem matches ${pattern}:\n${more.join('\n')}`);
  }
  // the per-class reference waits for the data's classes
  assert.ok(!more.some((p) => p.includes('recall[cat]')), more.join('\n'));
});

test('YAML syntax errors are reported with their line', async () => {
  const dir = await tempDir();
  const path = join(dir, 'broken.yaml');
  await writeFile(path, 'name: x\ndata: { format: jsonl\nmodel: [\n');
  const e = await rejection(readPipelineSpec(path), 'INVALID_SPEC');
  assert.match(e.message, /not valid YAML/);
  assert.ok((e.details?.problems as string[]).some((p) => /^line \d+, column \d+: /.test(p)), JSON.stringify(e.details));
});

describe('a text pipeline run twice', () => {
  let ws: Awaited<ReturnType<typeof workspace>>;
  let first: PipelineResult;
  before(async () => {
    ws = await workspace();
    first = await ws.run(textSpec());
  });

  test('runs every step, registers version 1 with its report and points production at it', async () => {
    assert.deepEqual(statuses(first), ['data:done', 'features:done', 'train:done', 'evaluate:done', 'gate:done', 'register:done', 'promote:done']);
    assert.equal(first.passed, true);
    assert.deepEqual(first.registered, { model: 'mails', version: 1 });
    assert.deepEqual(first.promoted, { model: 'mails', alias: 'production', from: null, to: 1, changed: true });
    const v = await ws.registry.resolve('mails', 'production');
    assert.deepEqual(v.files.map((f) => f.path).sort(), ['meta.json', 'metrics.json', 'model.onnx', 'pipeline.json', 'report.html', 'report.json', 'spec.json']);
    const report = JSON.parse((await ws.registry.readFile(v, 'report.json')).toString('utf8'));
    assert.equal(report.format, 'aimass-eval/1');
    assert.deepEqual(report.classNames, ['ham', 'spam']);
    assert.ok(report.latency.count === 5);
    assert.equal(v.metrics.test_accuracy, report.metrics.accuracy);
    assert.equal(v.params.pipeline, 'mails');
    // the served pipeline takes raw text
    const pipeline = JSON.parse((await ws.registry.readFile(v, 'pipeline.json')).toString('utf8'));
    assert.equal(pipeline.input.kind, 'text');
    assert.equal(pipeline.input.features.format, 'aimass-features/1');
  });

  test('changing only the gate redoes only the gate; the same evaluation is not registered again', async () => {
    const r = await ws.run(textSpec({ gate: 'accuracy >= 0.55 and accuracy >= baseline.accuracy' }));
    assert.deepEqual(statuses(r), ['data:cached', 'features:cached', 'train:cached', 'evaluate:cached', 'gate:done', 'register:cached', 'promote:cached']);
    assert.deepEqual(r.registered, { model: 'mails', version: 1 });
    assert.equal(r.gate?.rules[1].skipped, undefined, 'the baseline rule was checked against version 1');
    // and a third run with nothing changed redoes nothing
    const again = await ws.run(textSpec({ gate: 'accuracy >= 0.55 and accuracy >= baseline.accuracy' }));
    assert.ok(again.steps.every((s) => s.status === 'cached' || s.status === 'skipped'), statuses(again).join(' '));
  });

  test('a failing gate registers nothing, keeps the alias where it is and names the failing rule', async () => {
    const r = await ws.run(textSpec({ train: { optimizer: { type: 'adam', lr: 0.05 }, epochs: 2, batchSize: 16, threads: 1 }, gate: 'accuracy >= 0.5 and accuracy > 1' }));
    assert.equal(r.passed, false);
    assert.deepEqual(r.failedRules, ['accuracy > 1']);
    assert.match(r.gate!.rules[1].message, /^failed: accuracy = [\d.]+ > 1 is false/);
    assert.deepEqual(r.aliasKept, { model: 'mails', alias: 'production', version: 1 });
    assert.deepEqual(statuses(r).slice(-2), ['register:skipped', 'promote:skipped']);
    assert.equal((await ws.registry.describe('mails')).versions.length, 1);
    assert.equal((await ws.registry.resolve('mails', 'production')).version, 1);
  });

  test('on_fail: retrain trains again with epochs × epochs_factor, up to max_rounds, and stops at the first pass', async () => {
    const spec = (gate: string) => textSpec({ name: 'mails-retrain', gate, on_fail: { action: 'retrain', max_rounds: 2, epochs_factor: 2 }, register: { model: 'mails-retrain' } });
    const failing = await ws.run(spec('accuracy >= 0.5 and log_loss < 0'));
    assert.equal(failing.passed, false);
    assert.equal(failing.rounds, 3);
    const trains = failing.steps.filter((s) => s.step === 'train');
    assert.deepEqual(trains.map((s) => s.round ?? 0), [0, 1, 2]);
    assert.match(trains[1].summary, /retraining round 1 \(2 epochs\): 2 epoch\(s\)/);
    assert.match(trains[2].summary, /retraining round 2 \(4 epochs\): 4 epoch\(s\)/);
    assert.equal(await ws.registry.meta.getModel('mails-retrain'), null, 'nothing registered');

    // a bar between the log losses of rounds 0 and 1: round 0 fails, round 1 passes (both cached now)
    const losses: number[] = [];
    for (const s of failing.steps.filter((x) => x.step === 'evaluate')) losses.push(JSON.parse(await readFile(join(s.dir!, 'report.json'), 'utf8')).metrics.log_loss);
    assert.ok(losses[1] < losses[0], `log losses ${losses}`);
    const passing = await ws.run(spec(`log_loss <= ${(losses[0] + losses[1]) / 2}`));
    assert.equal(passing.passed, true);
    assert.equal(passing.rounds, 2);
    assert.deepEqual(statuses(passing), ['data:cached', 'features:cached', 'train:cached', 'evaluate:cached', 'gate:done', 'train1:cached', 'evaluate1:cached', 'gate1:done', 'register:done', 'promote:done']);
    const v = await ws.registry.resolve('mails-retrain', 'production');
    assert.equal(v.params.epochs, 2);
    assert.equal(v.params.round, 1);
  });

  test('tune: trials of a seeded study, the best on validation evaluated; a re-run replays them all from the cache', async () => {
    const tune = { trials: 3, sampler: 'tpe', seed: 3, space: { 'optimizer.lr': { type: 'float', low: 0.001, high: 0.2, log: true } } };
    const spec = textSpec({ name: 'mails-tune', tune, register: { model: 'mails-tune' } });
    const first = await ws.run(spec);
    assert.equal(first.passed, true);
    const trials = first.steps.filter((s) => s.step === 'train');
    assert.equal(trials.length, 3);
    const lrs = trials.map((s) => Number(/optimizer\.lr=([\d.e-]+)/.exec(s.summary)?.[1]));
    assert.equal(new Set(lrs).size, 3, `three different learning rates: ${lrs}`);
    for (const lr of lrs) assert.ok(lr >= 0.001 && lr <= 0.2, `${lr} inside the space`);
    const v = await ws.registry.resolve('mails-tune', 'production');
    assert.ok(lrs.includes(Number((v.params.optimizer as { lr: number }).lr)), 'the registered version is one of the trials');
    const again = await ws.run(spec);
    assert.deepEqual(
      again.steps.filter((s) => s.step === 'train').map((s) => s.status),
      ['cached', 'cached', 'cached'],
      'same seed, same results: the same trials, found finished',
    );
  });

  test('on_fail: retune runs more trials of the same study when the gate fails', async () => {
    const tune = { trials: 2, sampler: 'random', seed: 1, space: { 'optimizer.lr': { type: 'float', low: 0.001, high: 0.2, log: true } } };
    const r = await ws.run(textSpec({ name: 'mails-retune', tune, gate: 'accuracy >= 0.5 and accuracy > 1', on_fail: { action: 'retune', max_rounds: 1, trials_factor: 1.5 }, register: { model: 'mails-retune' } }));
    assert.equal(r.passed, false);
    assert.equal(r.rounds, 2);
    const trains = r.steps.filter((s) => s.step === 'train');
    assert.deepEqual(trains.map((s) => s.round ?? 0), [0, 0, 1, 1, 1], 'two trials, then three more');
    assert.match(trains[4].summary, /trial 5\/5/);
    assert.equal(await ws.registry.meta.getModel('mails-retune'), null, 'nothing registered');
  });
});

test('an interrupted run stops with CANCELLED and the next run resumes at the unfinished step', async () => {
  const ws = await workspace();
  try {
    const spec = textSpec({ name: 'mails-resume', train: { optimizer: { type: 'adam', lr: 0.05 }, epochs: 3, batchSize: 4, threads: 1 } });
    const controller = new AbortController();
    const e = await rejection(
      ws.run(spec, {
        signal: controller.signal,
        // stop once epoch 1 is checkpointed
        onEvent: (ev) => ev.type === 'note' && ev.message.startsWith('epoch 1/3') && controller.abort(),
      }),
      'CANCELLED',
    );
    assert.match(e.message, /interrupted during the train step; run the pipeline again to resume from the last finished step \(the training resumes from its last epoch checkpoint\)/);
    const notes: string[] = [];
    const r = await ws.run(spec, { onEvent: (ev) => ev.type === 'note' && notes.push(ev.message) });
    assert.deepEqual(statuses(r).slice(0, 3), ['data:cached', 'features:cached', 'train:done']);
    assert.ok(notes.some((n) => n.startsWith('resuming the interrupted training')), notes.join('\n'));
    assert.ok(notes.some((n) => /resuming after epoch [12]/.test(n)), notes.join('\n'));
    assert.equal(r.passed, true);
  } finally {
    await ws.close();
  }
});

test('an image-csv pipeline fills in the model input and classes from the data', async () => {
  const ws = await workspace();
  try {
    await writeHalves(ws.dataDir, 120, 'train.csv', 3);
    await writeHalves(ws.dataDir, 40, 'test.csv', 4);
    const r = await ws.run({
      name: 'halves',
      data: { format: 'image-csv', train: 'train.csv', test: 'test.csv', validation: 0.2 },
      model: { type: 'mlp', hidden: [8] },
      train: { optimizer: { type: 'adam', lr: 0.01 }, epochs: 2, batchSize: 8, threads: 1, grid: { 'model.hidden': [[4], [8]] } },
      evaluate: { latency_samples: 3 },
      gate: 'accuracy >= 0.8 and recall[1] >= 0.5',
      register: { model: 'halves' },
    });
    assert.equal(r.passed, true, JSON.stringify(r.gate));
    assert.equal(r.steps.filter((s) => s.step === 'train').length, 2);
    const v = await ws.registry.resolve('halves', 'production');
    assert.deepEqual(v.signature.inputs[0].shape, ['N', 36]);
    assert.deepEqual(JSON.parse((await ws.registry.readFile(v, 'pipeline.json')).toString('utf8')).input.height, 6, 'served as 6×6 pictures');
  } finally {
    await ws.close();
  }
});

describe('bad data ends with a clear message', () => {
  let ws: Awaited<ReturnType<typeof workspace>>;
  before(async () => {
    ws = await workspace();
  });

  test('a missing column names the spec field and lists the columns there are', async () => {
    const e = await rejection(ws.run(textSpec({ data: { format: 'jsonl', path: 'mails.jsonl', text: 'body', label: 'class' } })), 'INVALID_SPEC');
    assert.deepEqual(e.details?.problems, [
      `data.text: no column "body" in ${join(ws.dataDir, 'mails.jsonl')}; its columns are: label, text, id`,
      `data.label: no column "class" in ${join(ws.dataDir, 'mails.jsonl')}; its columns are: label, text, id`,
    ]);
  });

  test('a label column with one class', async () => {
    await writeMails(join(ws.dataDir, 'one'), 60, { classes: 1 });
    const e = await rejection(ws.run(textSpec({ data: { format: 'jsonl', path: 'one/mails.jsonl' } })), 'INVALID_SPEC');
    assert.match(e.message, /the label column has one class \("ham"\) in .*mails\.jsonl; a classifier needs at least two/);
  });

  test('a missing file is found before any work', async () => {
    const e = await rejection(ws.run(textSpec({ data: { format: 'jsonl', path: 'missing.jsonl' } })), 'INVALID_SPEC');
    assert.deepEqual(e.details?.problems, [`data.path: file not found: ${join(ws.dataDir, 'missing.jsonl')}`]);
  });

  test('a gate on an unknown metric or class fails before training', async () => {
    const e = await rejection(ws.run(textSpec({ name: 'mails-gate', gate: 'accuracy >= 0.5 and recall[cat] >= 0.5' })), 'INVALID_SPEC');
    assert.match((e.details?.problems as string[])[0], /recall\[cat\]: unknown class "cat"; the classes are "ham", "spam"/);
    const steps = join(ws.dataDir, '..', 'home', 'pipelines', 'mails-gate', 'steps');
    assert.ok(existsSync(steps));
    assert.deepEqual((await readdir(steps)).filter((d) => d.startsWith('train-')), [], 'nothing trained');
    const syntax = problemsOf(() => parsePipelineSpec({ ...textSpec(), gate: 'precison >= 0.9' }, { baseDir: ws.dataDir }));
    assert.match(syntax[0], /^gate: column 1: unknown metric "precison"/);
  });

  after(async () => {
    await ws.close();
  });
});

