// Runs a pipeline: data → features → train (one configuration, a grid, or a tuning study) → evaluate → gate →
// register → promote, each step skipped when it finished before with the same inputs (see step-store.ts). When
// the gate fails and `on_fail: retrain` is set, a further training round with a larger budget (epochs ×
// epochs_factor) follows, up to max_rounds times; `on_fail: retune` runs further trials of the same study
// instead; when it still fails, nothing is registered and the alias stays where it is.
//
// A tuning study lives in memory and is rebuilt on every run: its sampler is seeded by trial number, so the same
// spec asks the same trials in the same order, and each trial's training is a cached train step — a re-run (or a
// resumed one) replays the finished trials from the cache and continues where the last run stopped.
// Serving is the caller's: the result names the model reference to serve.
//
//   data ─> features ─> train ×(grid) ─> evaluate ─> gate ─┬─ passed ─> register ─> promote ─> (caller) serve
//                          ^                                └─ failed ─> retrain round? ─┐
//                          └──────────────────────────────────────────────────────────────┘
import { mkdir } from 'node:fs/promises';
import { AimassError, type Config, homePath, toAimassError } from '../core/index.js';
import { readReport } from '../eval/index.js';
import type { Registry } from '../registry/index.js';
import { type DataResult, dataInputs, runDataStep } from './data-step.js';
import { type EvaluationResult, runEvaluateStep } from './evaluate-step.js';
import type { PipelineEvent, PipelineResult, Promotion, RegisteredVersion, StepName, StepRecord } from './events.js';
import { type FeaturesResult, runFeaturesStep } from './features-step.js';
import { type GateOutcome, findBaseline, gateMetricProblems, runGate } from './gate-step.js';
import { runPromoteStep, runRegisterStep, stillRegistered } from './register-step.js';
import { CmaEsSampler, GeneticSampler, GpSampler, InMemoryStudyStorage, QmcSampler, RandomSampler, type Sampler, type Study, TpeSampler, createStudy } from '../tune/index.js';
import { type PipelineSpec, type TuneSpec, gridCombinations } from './spec.js';
import { StepStore, stepKey } from './step-store.js';
import { type TrainOutcome, configurationSpec, runTrainStep } from './train-step.js';

/** Bump when what a step writes changes incompatibly: every key changes, so nothing stale is reused. */
const CACHE_VERSION = 1;

export interface RunPipelineOptions {
  config: Pick<Config, 'home' | 'threads'>;
  registry: Registry;
  /** ONNX Runtime threads for training and evaluation (default: the spec's train.threads, else config.threads). */
  threads?: number;
  /** Redo every step, ignoring finished ones. */
  force?: boolean;
  /** Aborting stops the run after the current training step or evaluation batch; the next run resumes. */
  signal?: AbortSignal;
  onEvent?: (e: PipelineEvent) => void;
}

/** Where a pipeline keeps its steps: `<AIMASS_HOME>/pipelines/<name>`. */
export function pipelineHome(config: Pick<Config, 'home'>, name: string): string {
  return homePath(config, 'pipelines', name);
}

class PipelineRun {
  readonly records: StepRecord[] = [];
  current: StepName = 'data';

  constructor(
    readonly store: StepStore,
    readonly o: RunPipelineOptions,
  ) {}

  emit(e: PipelineEvent): void {
    this.o.onEvent?.(e);
  }

  note(step: StepName): (message: string) => void {
    return (message) => this.emit({ type: 'note', step, message });
  }

  progress(step: StepName): (done: number, total: number, note: string) => void {
    return (done, total, note) => this.emit({ type: 'progress', step, done, total, note });
  }

  skip(step: StepName, summary: string, round?: number): void {
    const record: StepRecord = { step, status: 'skipped', seconds: 0, summary, ...(round !== undefined ? { round } : {}) };
    this.records.push(record);
    this.emit({ type: 'end', record });
  }

  /**
   * Runs one step unless it finished before with this key (and `stillValid` agrees); records and announces it.
   * A failure is recorded and rethrown; an abort becomes CANCELLED saying that the next run resumes.
   */
  async step<T>(
    step: StepName,
    key: string,
    what: string,
    run: (dir: string) => Promise<{ result: T; summary: string }>,
    o: { round?: number; stillValid?: (r: T) => Promise<boolean> } = {},
  ): Promise<T> {
    if (this.o.signal?.aborted) throw this.interrupted(step);
    this.current = step;
    const round = o.round !== undefined ? { round: o.round } : {};
    this.emit({ type: 'start', step, what, ...round });
    const dir = this.store.dir(step, key);
    const t0 = performance.now();
    const finished = this.o.force ? undefined : await this.store.finished<T>(step, key);
    if (finished && (!o.stillValid || (await o.stillValid(finished.result)))) {
      const record: StepRecord = { step, status: 'cached', seconds: 0, summary: finished.summary, dir, ...round };
      this.records.push(record);
      this.emit({ type: 'end', record });
      return finished.result;
    }
    try {
      await mkdir(dir, { recursive: true });
      const { result, summary } = await run(dir);
      await this.store.finish(step, key, summary, result);
      const record: StepRecord = { step, status: 'done', seconds: (performance.now() - t0) / 1000, summary, dir, ...round };
      this.records.push(record);
      this.emit({ type: 'end', record });
      return result;
    } catch (e) {
      const error = this.o.signal?.aborted || (e instanceof AimassError && e.code === 'CANCELLED') ? this.interrupted(step) : toAimassError(e);
      const record: StepRecord = { step, status: 'failed', seconds: (performance.now() - t0) / 1000, summary: error.message, dir, ...round };
      this.records.push(record);
      this.emit({ type: 'end', record });
      throw error;
    }
  }

  interrupted(step: StepName): AimassError {
    const resume = step === 'train' ? ' (the training resumes from its last epoch checkpoint)' : '';
    return new AimassError('CANCELLED', `interrupted during the ${step} step; run the pipeline again to resume from the last finished step${resume}`, { step });
  }
}

const combinationText = (c: Record<string, unknown>) =>
  Object.entries(c)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ');

/** The study's sampler, seeded: the same seed asks the same trials given the same results. */
function samplerFor(tune: TuneSpec): Sampler {
  const seed = tune.seed;
  switch (tune.sampler) {
    case 'random':
      return new RandomSampler({ seed });
    case 'qmc':
      return new QmcSampler({ seed });
    case 'gp':
      return new GpSampler({ seed });
    case 'ga':
      return new GeneticSampler({ seed });
    case 'cmaes':
      return new CmaEsSampler({ seed });
    default:
      return new TpeSampler({ seed });
  }
}

/** Runs `spec` to the end (or to the failing gate); throws on bad data, a failing step or an interruption. */
export async function runPipeline(spec: PipelineSpec, o: RunPipelineOptions): Promise<PipelineResult> {
  const home = pipelineHome(o.config, spec.name);
  const run = new PipelineRun(new StepStore(home), o);
  const threads = o.threads ?? (spec.train.settings.threads as number | undefined) ?? o.config.threads;
  const { registry } = o;

  // data, and the gate's metric names against its classes before anything is trained
  const dataKey = stepKey({ v: CACHE_VERSION, step: 'data', inputs: await dataInputs(spec.data, spec.model) });
  const data: DataResult = await run.step('data', dataKey, 'reading and splitting the data', (dir) => runDataStep(spec.data, spec.model, dir, run.note('data')));
  if (spec.gate) {
    const problems = gateMetricProblems(spec.gate.rules, data.classNames);
    if (problems.length) throw new AimassError('INVALID_SPEC', `the gate names metrics an evaluation report of these ${data.classNames.length} classes does not have`, { problems });
  }

  let features: FeaturesResult | undefined;
  let featuresKey: string | null = null;
  if (data.kind === 'text') {
    featuresKey = stepKey({ v: CACHE_VERSION, step: 'features', data: dataKey, features: spec.features });
    features = await run.step('features', featuresKey, 'fitting the text features', (dir) => runFeaturesStep(spec.features!, data, dir));
  } else run.skip('features', 'image pixels are the features (scaled by data.scale); nothing to fit');

  const trainCtx = {
    spec,
    data,
    features,
    threads,
    registry,
    signal: o.signal,
    progress: run.progress('train'),
    note: run.note('train'),
  };
  const trainOne = (combination: Record<string, unknown>, what: string, round: number, epochs?: number) => {
    const trainSpec = configurationSpec(spec, data, features, combination, epochs);
    const { data: _paths, threads: _threads, ...configuration } = trainSpec;
    const key = stepKey({ v: CACHE_VERSION, step: 'train', data: dataKey, features: featuresKey, configuration });
    return {
      key,
      outcome: run.step<TrainOutcome>(
        'train',
        key,
        what,
        async (dir) => {
          const t = await runTrainStep(trainCtx, trainSpec, combination, dir);
          const chosen = t.selectValue !== null ? `, ${spec.train.select} ${t.selectValue.toFixed(4)}` : '';
          return { result: t, summary: `${what}: ${t.epochs} epoch(s)${chosen}, test accuracy ${t.test?.accuracy?.toFixed(4) ?? '-'}` };
        },
        { round },
      ),
    };
  };

  let best: { t: TrainOutcome; key: string } | undefined;
  const better = (a: number | null, b: number | null) => a !== null && (b === null || (spec.train.select === 'val_loss' ? a < b : a > b));
  const consider = (t: TrainOutcome, key: string) => {
    if (!best || better(t.selectValue, best.t.selectValue)) best = { t, key };
  };

  // tuning: trials of a seeded study, each a cached train step, the best on validation kept
  let study: Study | undefined;
  let trialsAsked = 0;
  const tuneRound = async (tune: TuneSpec, trials: number, round: number) => {
    study ??= await createStudy({ name: spec.name, storage: new InMemoryStudyStorage(), direction: spec.train.select === 'val_loss' ? 'minimize' : 'maximize', sampler: samplerFor(tune) });
    const total = trialsAsked + trials;
    for (; trialsAsked < total; ) {
      const trial = await study.ask(tune.space);
      const params = { ...trial.params };
      trialsAsked++;
      const { key, outcome } = trainOne(params, `trial ${trialsAsked}/${total} (${combinationText(params)})`, round);
      const t = await outcome;
      await study.tell(trial, t.selectValue === null ? { state: 'failed' } : t.selectValue);
      consider(t, key);
    }
    run.note('train')(`best of ${trialsAsked} trials on ${spec.train.select}: ${combinationText(best!.t.combination)} (${best!.t.selectValue?.toFixed(4) ?? '-'})`);
  };

  if (spec.tune) {
    run.note('train')(`tuning round: ${spec.tune.trials} trials of the ${spec.tune.sampler} sampler (seed ${spec.tune.seed}) over ${Object.keys(spec.tune.rawSpace).join(', ')}, compared on ${spec.train.select}; the best is evaluated`);
    await tuneRound(spec.tune, spec.tune.trials, 0);
  } else {
    // every configuration of the grid (or the one configuration)
    const combos = gridCombinations(spec.train.grid);
    if (combos.length > 1) run.note('train')(`a grid of ${combos.length} configurations (${Object.keys(spec.train.grid!).join(', ')}), each trained and compared on ${spec.train.select}; the best is evaluated`);
    for (const [i, combo] of combos.entries()) {
      const what = combos.length > 1 ? `grid ${i + 1}/${combos.length} (${combinationText(combo)})` : 'training';
      const { key, outcome } = trainOne(combo, what, 0);
      consider(await outcome, key);
    }
    if (combos.length > 1) run.note('train')(`best of the grid on ${spec.train.select}: ${combinationText(best!.t.combination)} (${best!.t.selectValue?.toFixed(4) ?? '-'})`);
  }

  const modelName = spec.register?.model ?? spec.name;
  const alias = spec.register?.alias;
  const maxRounds = spec.onFail.action === 'stop' ? 0 : spec.onFail.maxRounds;
  let roundTrials = spec.tune?.trials ?? 0;
  let gate: GateOutcome | undefined;
  let evaluation: EvaluationResult | undefined;
  let evaluateKey = '';
  let round = 0;
  for (; ; round++) {
    if (round > 0 && spec.onFail.action === 'retune' && spec.tune) {
      roundTrials = Math.max(1, Math.round(roundTrials * spec.onFail.trialsFactor));
      run.note('train')(`tuning round ${round} of at most ${maxRounds}: the gate failed (${gate!.failed.join('; ')}); ${roundTrials} more trials of the same study`);
      await tuneRound(spec.tune, roundTrials, round);
    } else if (round > 0) {
      const epochs = Math.round(best!.t.trainSpec.epochs * spec.onFail.epochsFactor);
      run.note('train')(`retraining round ${round} of at most ${maxRounds}: the gate failed (${gate!.failed.join('; ')}); training ${combinationText(best!.t.combination) || 'the configuration'} for ${epochs} epochs instead of ${best!.t.trainSpec.epochs}`);
      const { key, outcome } = trainOne(best!.t.combination, `retraining round ${round} (${epochs} epochs)`, round, epochs);
      best = { t: await outcome, key };
    }
    const trained = best!.t;
    evaluateKey = stepKey({ v: CACHE_VERSION, step: 'evaluate', train: best!.key, latencySamples: spec.evaluate.latencySamples, model: modelName });
    evaluation = await run.step(
      'evaluate',
      evaluateKey,
      'scoring the held-out split',
      async (dir) => {
        const { result, summary } = await runEvaluateStep({ modelName, data, train: trained, latencySamples: spec.evaluate.latencySamples, threads, signal: o.signal, progress: run.progress('evaluate') }, dir);
        return { result, summary };
      },
      { round },
    );
    if (!spec.gate) {
      run.skip('gate', 'no gate in the spec: the model is registered as it is', round);
      break;
    }
    const rules = spec.gate.rules;
    const found = await findBaseline(registry, modelName, spec.gate.baseline);
    const b = found.baseline;
    const gateKey = stepKey({ v: CACHE_VERSION, step: 'gate', evaluate: evaluateKey, rules, baseline: b ? { model: b.model, alias: b.alias, version: b.version, sha256: b.sha256 } : null });
    const reportPath = evaluation.reportJson;
    gate = await run.step(
      'gate',
      gateKey,
      'checking the gate',
      async () => runGate(rules, await readReport(reportPath), found),
      { round },
    );
    if (gate.passed || round >= maxRounds) break;
  }

  const result: PipelineResult = {
    name: spec.name,
    dataKind: data.kind,
    passed: gate?.passed ?? true,
    rounds: round + 1,
    steps: run.records,
    gate: gate?.result,
    failedRules: gate?.failed ?? [],
    report: { json: evaluation!.reportJson, html: evaluation!.reportHtml, metrics: evaluation!.metrics },
    home,
  };

  if (!result.passed) {
    const kept = alias ? await registry.meta.getAlias(modelName, alias).catch(() => null) : null;
    if (alias) result.aliasKept = { model: modelName, alias, version: kept?.version ?? null };
    const where = alias ? `; ${modelName}@${alias} stays ${kept ? `at version ${kept.version}` : 'unset'}` : '';
    run.skip('register', `the gate failed${maxRounds ? ` after ${round + 1} training round(s)` : ''}: nothing registered${where}`);
    if (alias) run.skip('promote', `${modelName}@${alias} not moved`);
  } else if (!spec.register) {
    run.skip('register', 'register: false in the spec');
  } else {
    const reg = spec.register;
    const trained = best!.t;
    const registered: RegisteredVersion = await run.step(
      'register',
      stepKey({ v: CACHE_VERSION, step: 'register', evaluate: evaluateKey, model: reg.model, description: reg.description ?? null }),
      `registering ${reg.model}`,
      (dir) => runRegisterStep({ registry, pipeline: spec.name, model: reg.model, description: reg.description, data, train: trained, evaluation: evaluation!, round }, dir),
      { stillValid: (r) => stillRegistered(registry, r) },
    );
    result.registered = registered;
    if (reg.alias) {
      const reason = `pipeline ${spec.name}: ${gate ? `gate passed (${gate.result.rules.map((r) => r.text).join(' and ')})` : 'no gate'}`;
      // never cached: the alias may have moved since (a rollback, another pipeline)
      const t0 = performance.now();
      run.emit({ type: 'start', step: 'promote', what: `pointing ${reg.model}@${reg.alias} at version ${registered.version}` });
      let promoted: { result: Promotion; summary: string };
      try {
        promoted = await runPromoteStep(registry, registered, reg.alias, reason);
      } catch (e) {
        const error = toAimassError(e);
        const record: StepRecord = { step: 'promote', status: 'failed', seconds: (performance.now() - t0) / 1000, summary: error.message };
        run.records.push(record);
        run.emit({ type: 'end', record });
        throw error;
      }
      const record: StepRecord = { step: 'promote', status: promoted.result.changed ? 'done' : 'cached', seconds: (performance.now() - t0) / 1000, summary: promoted.summary };
      run.records.push(record);
      run.emit({ type: 'end', record });
      result.promoted = promoted.result;
    } else run.skip('promote', 'no alias in register: the version is registered only');
    result.serveRef = reg.alias ? `${reg.model}@${reg.alias}` : `${reg.model}:${registered.version}`;
  }
  await run.store.writeJson('last-run.json', { ...result, finishedAt: new Date().toISOString() });
  return result;
}

