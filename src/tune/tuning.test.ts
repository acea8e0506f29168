// Tuning training runs, in-process: the tuning spec (every problem listed at once, the example in examples/
// parses), field paths, the reproducibility window (a sampler's suggestions do not depend on which in-window
// trials happened to finish), the coordinator over a queue whose tasks finish in random order (same parameters
// and values whatever the order, and after a restart), the threshold pruner, PED-ANOVA importance and the SVG
// plots (their elements, escaped names). The same coordinator over real workers is in src/cli/tune.test.ts.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { AimassError } from '../core/index.js';
import {
  InMemoryStudyStorage,
  ThresholdPruner,
  TpeSampler,
  createSampler,
  escapeXml,
  getPath,
  importanceSvg,
  loadTuningSpec,
  optimizationHistorySvg,
  parallelCoordinatesSvg,
  parseSearchSpace,
  parseTuningSpec,
  pedAnovaImportance,
  runTuning,
  setPath,
  trialTrainingSpec,
  windowedSampler,
  type StudyStorage,
  type TrialRecord,
  type TrialTaskQueue,
  type TrialTaskSpec,
  type TrialTaskView,
  type TuningSpec,
} from './index.js';

const tempDir = useTempDirs('tune-tuning');
const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples');

const BASE = {
  model: { type: 'mlp', input: 4, hidden: [16], classes: 3 },
  data: { format: 'csv', train: 'train.csv', validation: 0.2 },
  optimizer: { type: 'adam', lr: 0.01 },
  epochs: 3,
  batchSize: 16,
};

const SPEC = {
  name: 'unit',
  train: BASE,
  space: {
    'optimizer.lr': { type: 'float', low: 0.001, high: 0.3, log: true },
    'model.hidden.0': { type: 'categorical', choices: [4, 16, 64] },
  },
  objective: { metric: 'val_loss' },
  sampler: { type: 'tpe', seed: 5, nStartupTrials: 3 },
  trials: 8,
  parallelism: 3,
};

const problemsOf = async (raw: unknown): Promise<string[]> => {
  try {
    await parseTuningSpec(raw, { baseDir: '/nowhere', checkData: false });
  } catch (e) {
    assert.ok(e instanceof AimassError && e.code === 'INVALID_SPEC', String(e));
    return (e.details?.problems as string[]) ?? [];
  }
  assert.fail('the spec was accepted');
};

test('a tuning spec with many mistakes is rejected with every problem listed, each naming its field', async () => {
  // paths that do not exist in the base spec, or lead to values it refuses
  const badPaths = {
    'optimizer.lrr': { type: 'float', low: 0.001, high: 0.1 },
    'model.hiddn.0': { type: 'int', low: 1, high: 8 },
    'model.hidden.3': { type: 'int', low: 1, high: 8 },
    batchSize: { type: 'int', low: 0, high: 64 },
  };
  const problems = await problemsOf({
    train: { ...BASE, data: { format: 'csv', train: 'train.csv' } },
    space: { ...badPaths, epochs: { type: 'int', low: 5, high: 1 } },
    objective: { metric: 'val_accuracy' },
    sampler: { type: 'tpe', seed: 1, bogus: true },
    trials: 0,
    extra: 1,
  });
  const text = problems.join('\n');
  for (const pattern of [
    /^extra: unknown field$/m,
    /^trials: /m,
    /^sampler\.bogus: unknown field$/m,
    /^space: epochs: low \(5\) must not exceed high|^space: .*epochs/m,
  ]) {
    assert.match(text, pattern);
  }
  // the space is checked as a whole first: with its range error fixed, the paths are checked against the base
  const paths = await problemsOf({
    train: { ...BASE, data: { format: 'csv', train: 'train.csv' } },
    space: badPaths,
    objective: { metric: 'val_accuracy' },
    trials: 4,
  });
  const all = paths.join('\n');
  assert.match(all, /"optimizer\.lrr" = 0\.001 gives an invalid training spec: train\.optimizer\.lrr: unknown field/);
  assert.match(all, /"model\.hiddn\.0": the base training spec has no field model\.hiddn \(model has type, input, hidden, classes\)/);
  assert.match(all, /"model\.hidden\.3": model\.hidden has 1 element\(s\); index 3 is past its end/);
  assert.match(all, /"batchSize" = 0 gives an invalid training spec: train\.batchSize/);
  assert.match(all, /objective\.metric: val_accuracy needs validation data/);
  assert.equal(paths.length, 5, all);
});

test('the base training spec is checked too, and a file that is missing is named', async () => {
  const problems = await problemsOf({ ...SPEC, train: { ...BASE, epochs: -1, optimizer: { type: 'adamw' } } });
  assert.ok(problems.some((p) => p.startsWith('train.epochs:')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('train.optimizer')), problems.join('\n'));
  const missing = await problemsOf({ ...SPEC, train: 'no-such-spec.json' });
  assert.match(missing.join('\n'), /^train: file not found: \/nowhere\/no-such-spec\.json$/m);
});

test('a good spec is normalized: direction from the metric, defaults filled, no seed invented', async () => {
  const spec = await parseTuningSpec({ ...SPEC, sampler: { type: 'random' } }, { baseDir: '/nowhere', checkData: false });
  assert.equal(spec.objective.direction, 'minimize');
  assert.deepEqual(spec.pruner, { type: 'none' });
  assert.deepEqual(spec.retry, { maxAttempts: 2 });
  assert.equal(spec.reproducible, true);
  assert.equal(spec.sampler.seed, undefined);
  const doc = trialTrainingSpec(spec, { 'optimizer.lr': 0.05, 'model.hidden.0': 64 });
  assert.equal(getPath(doc, 'optimizer.lr'), 0.05);
  assert.deepEqual(getPath(doc, 'model.hidden'), [64]);
  assert.deepEqual(BASE.model.hidden, [16], 'the base is never changed');
});

test('the example in examples/ is a valid tuning spec', async () => {
  const raw = JSON.parse(await (await import('node:fs/promises')).readFile(path.join(examples, 'mnist-mlp.tune.json'), 'utf8'));
  const spec = await parseTuningSpec(raw, { baseDir: examples, checkData: false });
  assert.equal(spec.objective.metric, 'val_accuracy');
  assert.equal(spec.parallelism, 2);
  // with its data present (aimass datasets export mnist --out data) loadTuningSpec makes the paths absolute
  const dir = await tempDir();
  await writeFile(path.join(dir, 'train.csv'), 'f1,f2,f3,f4,label\n1,2,3,4,a\n');
  await writeFile(path.join(dir, 'tune.json'), JSON.stringify({ ...SPEC, train: BASE }));
  const loaded = await loadTuningSpec(path.join(dir, 'tune.json'));
  assert.equal(getPath(loaded.base, 'data.train'), path.join(dir, 'train.csv'));
});

test('setPath copies along the path only; getPath reads arrays by index', () => {
  const doc = { a: { b: [1, { c: 2 }] }, d: { e: 1 } };
  const next = setPath(doc, 'a.b.1.c', 5);
  assert.equal(getPath(next, 'a.b.1.c'), 5);
  assert.equal(getPath(doc, 'a.b.1.c'), 2);
  assert.equal(next.d, doc.d);
});

// --- the reproducibility window ---------------------------------------------------------------------------------

function record(number: number, state: TrialRecord['state'], x: number, value: number | null): TrialRecord {
  return {
    number,
    state,
    params: { x },
    distributions: { x: { type: 'float', low: 0, high: 1, log: false, step: null } },
    values: value === null ? null : [value],
    intermediate: state === 'running' ? {} : { '1': value ?? 0 },
    userAttrs: {},
    systemAttrs: {},
    startedAt: number,
    finishedAt: state === 'running' ? null : number + 1,
  };
}

test('through the window, a sampler suggests the same whichever in-window trials have finished', () => {
  const space = parseSearchSpace({ x: { type: 'float', low: 0, high: 1 } });
  const sampler = windowedSampler(new TpeSampler({ seed: 3, nStartupTrials: 2, constantLiar: true }), 3);
  const older = [0.1, 0.5, 0.9, 0.3].map((x, i) => record(i, 'complete', x, (x - 0.4) ** 2));
  // trials 4 and 5 are in the window of trial 6: running, or finished with any result, they look the same
  const a = [...older, record(4, 'running', 0.7, null), record(5, 'running', 0.2, null)];
  const b = [...older, record(4, 'complete', 0.7, -1), record(5, 'pruned', 0.2, 5)];
  const draw = (trials: TrialRecord[]) => sampler.sampleIndependent({ directions: ['minimize'], trials, space }, 6, 'x', space.params[0].distribution, 0);
  assert.equal(draw(a), draw(b));
  // without the window they differ: the window is what makes it so
  const plain = new TpeSampler({ seed: 3, nStartupTrials: 2, constantLiar: true });
  const plainDraw = (trials: TrialRecord[]) => plain.sampleIndependent({ directions: ['minimize'], trials, space }, 6, 'x', space.params[0].distribution);
  assert.notEqual(plainDraw(a), plainDraw(b));
});

/**
 * A task queue whose "worker" tells each trial (x − 0.3)² + (h = 16 ? 0 : 0.1) after a random delay, so tasks
 * finish in an order that differs from run to run.
 */
function shuffledQueue(storage: StudyStorage, random: () => number, onSubmit?: (n: number) => void): TrialTaskQueue & { tasks: Map<string, TrialTaskView> } {
  const tasks = new Map<string, TrialTaskView>();
  const byKey = new Map<string, string>();
  return {
    tasks,
    async submit(spec: TrialTaskSpec) {
      const existing = byKey.get(spec.idempotencyKey);
      if (existing) return { task: tasks.get(existing)!, created: false };
      const id = `task-${tasks.size}`;
      const task: TrialTaskView = { id, state: 'queued', attempts: 0, error: null, result: null };
      tasks.set(id, task);
      byKey.set(spec.idempotencyKey, id);
      onSubmit?.(spec.payload.trial);
      setTimeout(async () => {
        task.state = 'running';
        task.attempts = 1;
        const study = await storage.getStudy(spec.payload.study);
        const t = (await storage.getTrials(study.id))[spec.payload.trial];
        const x = t.params['optimizer.lr'] as number;
        const h = t.params['model.hidden.0'] as number;
        await storage.updateTrial(study.id, t.number, { state: 'complete', values: [(Math.log10(x) + 1.5) ** 2 + (h === 16 ? 0 : 0.1)] });
        task.state = 'succeeded';
      }, Math.floor(random() * 30));
      return { task, created: true };
    },
    async get(id: string) {
      return tasks.get(id);
    },
  };
}

function lcg(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

const summary = (trials: readonly TrialRecord[]) => trials.map((t) => [t.number, t.state, t.params['optimizer.lr'], t.params['model.hidden.0'], t.values?.[0]]);

test('the coordinator gives the same trials whatever order their tasks finish in, with 3 in flight', async () => {
  const spec = await parseTuningSpec(SPEC, { baseDir: '/nowhere', checkData: false });
  const runs = [];
  for (const seed of [1, 2, 3]) {
    const storage = new InMemoryStudyStorage();
    const result = await runTuning(spec, { queue: shuffledQueue(storage, lcg(seed)), storage, pollMs: 5 });
    assert.equal(result.counts.complete, 8);
    assert.ok(result.best);
    runs.push(summary(result.trials));
  }
  assert.deepEqual(runs[1], runs[0]);
  assert.deepEqual(runs[2], runs[0]);
  // model-based after the startup trials: not all suggestions are the same point
  assert.ok(new Set(runs[0].map((r) => r[2])).size > 4);
});

test('a coordinator stopped mid-study and started again ends with the trials of an uninterrupted run', async () => {
  const spec = await parseTuningSpec(SPEC, { baseDir: '/nowhere', checkData: false });
  const whole = new InMemoryStudyStorage();
  const reference = summary((await runTuning(spec, { queue: shuffledQueue(whole, lcg(9)), storage: whole, pollMs: 5 })).trials);

  const storage = new InMemoryStudyStorage();
  const stop = new AbortController();
  const first = shuffledQueue(storage, lcg(4), (n) => n === 4 && stop.abort());
  await assert.rejects(runTuning(spec, { queue: first, storage, pollMs: 5, signal: stop.signal }), (e: unknown) => e instanceof AimassError && e.code === 'CANCELLED');
  // the next coordinator has a queue that never saw those tasks (the "task is gone" case): it submits them again
  await new Promise((r) => setTimeout(r, 50));
  const resumed = await runTuning(spec, { queue: shuffledQueue(storage, lcg(5)), storage, pollMs: 5 });
  assert.deepEqual(summary(resumed.trials), reference);
});

test('a resumed study must run the spec it was created with', async () => {
  const spec = await parseTuningSpec(SPEC, { baseDir: '/nowhere', checkData: false });
  const storage = new InMemoryStudyStorage();
  await runTuning({ ...spec, trials: 2 }, { queue: shuffledQueue(storage, lcg(1)), storage, pollMs: 5 });
  const other: TuningSpec = { ...spec, objective: { metric: 'train_loss', direction: 'minimize' } };
  await assert.rejects(runTuning(other, { queue: shuffledQueue(storage, lcg(1)), storage, pollMs: 5 }), /created from a different tuning spec \(objective differ\)/);
  // a larger budget is fine, and the stored seed is kept when the spec gives none
  const more = await runTuning({ ...spec, trials: 3 }, { queue: shuffledQueue(storage, lcg(1)), storage, pollMs: 5 });
  assert.equal(more.trials.length, 3);
});

test('createSampler honours the seed: the same spec draws the same first trial', async () => {
  const spec = await parseTuningSpec({ ...SPEC, sampler: { type: 'qmc', seed: 11 } }, { baseDir: '/nowhere', checkData: false });
  const space = parseSearchSpace(spec.space);
  const draw = () => createSampler(spec).sampleIndependent({ directions: ['minimize'], trials: [], space }, 0, 'optimizer.lr', space.params[0].distribution, 0);
  assert.equal(draw(), draw());
});

// --- pruner, importance, plots ------------------------------------------------------------------------------------

test('the threshold pruner stops a trial whose latest value leaves [lower, upper], after the warm-up', () => {
  const p = new ThresholdPruner({ lower: 0.5, nWarmupSteps: 2 });
  const t = (intermediate: Record<string, number>) => ({ ...record(0, 'running', 0, null), intermediate });
  assert.equal(p.prune({ directions: ['maximize'], trials: [] }, t({ '1': 0.1 })), false);
  assert.equal(p.prune({ directions: ['maximize'], trials: [] }, t({ '1': 0.9, '2': 0.4 })), true);
  assert.equal(p.prune({ directions: ['maximize'], trials: [] }, t({ '2': 0.6 })), false);
  assert.equal(new ThresholdPruner({ upper: 1 }).prune({ directions: ['minimize'], trials: [] }, t({ '0': Number.POSITIVE_INFINITY })), true);
  assert.throws(() => new ThresholdPruner({}), /needs lower, upper or both/);
});

function studyTrials(): TrialRecord[] {
  // the value depends on x only; y is noise
  let s = 7;
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647);
  return Array.from({ length: 40 }, (_, i) => {
    const x = r();
    const y = r();
    return {
      ...record(i, i === 39 ? 'pruned' : 'complete', x, (x - 0.2) ** 2),
      params: { x, 'y<&>"': y },
      distributions: { x: { type: 'float', low: 0, high: 1, log: false, step: null }, 'y<&>"': { type: 'float', low: 0, high: 1, log: false, step: null } },
    } as TrialRecord;
  });
}

test('PED-ANOVA importance ranks the parameter that decides the value first; importances sum to 1', () => {
  const imp = pedAnovaImportance(studyTrials(), ['minimize']);
  assert.equal(imp[0].name, 'x');
  assert.ok(imp[0].importance > 0.7, JSON.stringify(imp));
  assert.ok(Math.abs(imp.reduce((a, b) => a + b.importance, 0) - 1) < 1e-9);
  assert.deepEqual(pedAnovaImportance(studyTrials().slice(0, 1), ['minimize']), []);
});

test('the plots are self-contained SVG with their elements, and every name is escaped', () => {
  const input = { study: 'study <one> & "two"', directions: ['minimize' as const], trials: studyTrials(), metric: 'val_loss' };
  const history = optimizationHistorySvg(input);
  const coords = parallelCoordinatesSvg(input);
  const importance = importanceSvg(input);
  for (const svg of [history, coords, importance]) {
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.ok(svg.includes(escapeXml(input.study)));
    assert.ok(!svg.includes('<one>') && !svg.includes('y<&>'), 'raw names must not appear');
    assert.ok(!/<script|href=/.test(svg));
  }
  assert.equal((history.match(/<circle class="trial complete"/g) ?? []).length, 39);
  assert.equal((history.match(/<circle class="trial pruned"/g) ?? []).length, 1);
  assert.match(history, /<polyline class="best"/);
  assert.equal((coords.match(/<polyline class="trial"/g) ?? []).length, 39);
  assert.equal((coords.match(/<line class="axis"/g) ?? []).length, 3);
  assert.ok(coords.includes('y&lt;&amp;&gt;&quot;'));
  assert.equal((importance.match(/<rect class="bar"/g) ?? []).length, 2);
  assert.equal(escapeXml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
});
