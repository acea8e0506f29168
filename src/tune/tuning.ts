/**
 * The tuning coordinator: runs a study described by a tuning spec, its trials as `trial` tasks of a task queue
 * (the dispatcher's broker: embedded, or JetStream over NATS), N in flight, until the study holds its budget of
 * trials and none is running.
 *
 *   createStudy/loadStudy ─> ask (sampler sees running trials) ─> submit `trial` task ─> worker: runTrial
 *        ^                                                                                   │
 *        └──────────────── a task ends: its trial is complete/pruned (told by the worker) ───┘
 *                          or, if the task failed/died and the trial is still running, failed here
 *
 * Resume: run again with the same study name and it continues. Running trials get their task back (submitting is
 * idempotent by a key per trial, and a task that is gone is submitted again); trials whose task ended failed or
 * dead are marked failed. With `reproducible` (the default) trial n is asked only once trial n−W has finished and
 * the sampler and pruner look through the window of trial-window.ts, so the parameters of every trial are a
 * function of the seed and earlier results only: the same after a crash and resume, on any machine.
 *
 * tune/ may not import dispatch/, so the queue is the narrow structural interface below; a TaskBroker fits it.
 *
 * Imports core and the tune files it names.
 */
import { AimassError, errors } from '../core/index.js';
import type { ParamValue } from './distributions.js';
import { parseSearchSpace } from './search-space.js';
import type { StudyStorage } from './storage.js';
import { createStudy, type Study } from './study.js';
import { isFinished, type TrialRecord, type TrialState } from './trial-record.js';
import { tuningSpecOf, type TrialOutcome, type TrialTaskPayload } from './trial-runner.js';
import { createPruner, createSampler, trialTrainingSpec, type TuningSpec } from './tuning-spec.js';
import { randomSeed } from './sampler.js';

/** What the coordinator submits: a dispatcher TaskSpec of type `trial`. */
export interface TrialTaskSpec {
  type: 'trial';
  payload: TrialTaskPayload;
  idempotencyKey: string;
  retry: { maxAttempts: number };
  resources: { cpu: number; memoryMb: number };
  timeoutMs: number;
}

/** The part of a task record the coordinator reads. */
export interface TrialTaskView {
  id: string;
  state: string;
  attempts: number;
  error: { code: string; message: string } | null;
  result: unknown;
}

/** The part of a task broker the coordinator uses (dispatch's TaskBroker satisfies it). */
export interface TrialTaskQueue {
  submit(spec: TrialTaskSpec): Promise<{ task: TrialTaskView; created: boolean }>;
  get(taskId: string): Promise<TrialTaskView | undefined>;
  /** Wakes the coordinator early when a task changes; it also polls. */
  watch?(listener: (event: { taskId: string }) => void): () => void;
}

export type TuningProgress =
  | { type: 'study'; study: string; resumed: boolean; trials: number; budget: number; parallelism: number }
  | { type: 'trial-started'; trial: number; params: Record<string, ParamValue>; taskId: string }
  | { type: 'trial-finished'; trial: number; state: TrialState; value: number | null; finished: number; budget: number; best: { trial: number; value: number } | null; error?: string }
  | { type: 'waiting-for-workers'; seconds: number; queued: number };

export interface RunTuningOptions {
  queue: TrialTaskQueue;
  storage: StudyStorage;
  /** Study name (default: the spec's name). */
  study?: string;
  /** Overrides of the spec's budget and parallelism. */
  trials?: number;
  parallelism?: number;
  onProgress?: (e: TuningProgress) => void;
  /** Stops the coordinator (CANCELLED); trials in flight keep their tasks and a later run picks them up. */
  signal?: AbortSignal;
  /** Between looks at the tasks (default 500 ms). */
  pollMs?: number;
  /** After this long with no trial task taken by any worker, `waiting-for-workers` is reported (default 15 s). */
  idleWarningMs?: number;
}

export interface TuningResult {
  study: string;
  studyId: string;
  direction: 'minimize' | 'maximize';
  metric: string;
  counts: Record<TrialState, number>;
  /** The best complete trial, with its training spec and (if the worker's files are reachable) model. */
  best: (TrialOutcome & { trainingSpec: Record<string, unknown> }) | null;
  trials: TrialRecord[];
}

/** Task states after which a task never runs again. */
const TASK_ENDED = new Set(['succeeded', 'failed', 'cancelled', 'dead']);

/** Parts of a spec that define the search; a resumed study must run the same. */
const DEFINING = ['base', 'space', 'objective', 'sampler', 'pruner', 'reproducible'] as const;

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The stored spec of an existing study, checked against the one given (a seed left out means "the stored one"). */
function reconcileSpec(stored: TuningSpec, given: TuningSpec, study: string): TuningSpec {
  const g: TuningSpec = given.sampler.seed === undefined ? { ...given, sampler: { ...given.sampler, seed: stored.sampler.seed } } : given;
  const differ = DEFINING.filter((k) => stableJson(stored[k]) !== stableJson(g[k]));
  if (differ.length) {
    throw new AimassError(
      'CONFLICT',
      `study "${study}" was created from a different tuning spec (${differ.join(', ')} differ); continue it with the spec it was created with, or give another study name`,
      { study, differ },
    );
  }
  return { ...stored, trials: given.trials, parallelism: given.parallelism, retry: given.retry, resources: given.resources, timeoutMs: given.timeoutMs };
}

const sleep = (ms: number, signal?: AbortSignal, wake?: (fn: () => void) => void) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
    wake?.(done);
  });

export async function runTuning(given: TuningSpec, o: RunTuningOptions): Promise<TuningResult> {
  const name = o.study ?? given.name;
  if (!name) throw errors.invalidArgument('name the study: give --study NAME, or "name" in the tuning spec');
  const budget = o.trials ?? given.trials;
  const parallelism = o.parallelism ?? given.parallelism;
  if (!Number.isInteger(budget) || budget < 1) throw errors.invalidArgument(`the number of trials must be a positive integer, got ${budget}`);
  if (!Number.isInteger(parallelism) || parallelism < 1) throw errors.invalidArgument(`parallelism must be a positive integer, got ${parallelism}`);
  const spec0: TuningSpec = { ...given, trials: budget, parallelism, sampler: { ...given.sampler } };

  // create, or load and check: the stored spec is what every worker reads
  let resumed = false;
  let spec = spec0;
  let existing;
  try {
    existing = await o.storage.getStudy(name);
  } catch (e) {
    if (!(e instanceof AimassError && e.code === 'NOT_FOUND')) throw e;
  }
  if (existing) {
    spec = reconcileSpec(tuningSpecOf(existing), spec0, name);
    resumed = true;
  } else if (spec.sampler.seed === undefined) {
    spec = { ...spec, sampler: { ...spec.sampler, seed: randomSeed() } };
  }
  const window = spec.reproducible ? parallelism : 1;
  const study: Study = await createStudy({
    name,
    storage: o.storage,
    direction: spec.objective.direction,
    sampler: createSampler(spec, window),
    pruner: createPruner(spec, window),
    loadIfExists: true,
    userAttrs: { tuning: spec, format: 'aimass-tuning/1' },
  });
  if (!existing) spec = tuningSpecOf(study.record); // another coordinator may have created it first
  const space = parseSearchSpace(spec.space);
  const studyId = study.record.id;

  const submit = (trial: number) =>
    o.queue.submit({
      type: 'trial',
      payload: { study: name, trial, window },
      idempotencyKey: `tune:${studyId}:${trial}`,
      retry: { maxAttempts: spec.retry.maxAttempts },
      resources: { cpu: spec.resources.cpu, memoryMb: spec.resources.memoryMb },
      timeoutMs: spec.timeoutMs,
    });

  const inFlight = new Map<number, string>();
  let trials = await study.trials();
  o.onProgress?.({ type: 'study', study: name, resumed, trials: trials.length, budget, parallelism });
  for (const t of trials) if (t.state === 'running') inFlight.set(t.number, (await submit(t.number)).task.id);

  let wakeUp: (() => void) | undefined;
  const unwatch = o.queue.watch?.((e) => {
    if ([...inFlight.values()].includes(e.taskId)) wakeUp?.();
  });
  const started = Date.now();
  let taken = false;
  let warnedAt = 0;
  const idleWarningMs = o.idleWarningMs ?? 15_000;
  const best = (): { trial: number; value: number } | null => {
    let b: { trial: number; value: number } | null = null;
    const sign = spec.objective.direction === 'maximize' ? -1 : 1;
    for (const t of trials) {
      const v = t.values?.[0];
      if (t.state === 'complete' && typeof v === 'number' && (b === null || sign * v < sign * b.value)) b = { trial: t.number, value: v };
    }
    return b;
  };

  try {
    for (;;) {
      if (o.signal?.aborted) throw new AimassError('CANCELLED', `stopped with ${inFlight.size} trial(s) in flight; run the same command again to continue study "${name}"`);
      // tasks that ended: their trial was told by the worker, or is failed here
      for (const [n, taskId] of [...inFlight]) {
        const task = await o.queue.get(taskId);
        if (task && (task.state !== 'queued' || task.attempts > 0)) taken = true;
        if (task && !TASK_ENDED.has(task.state)) continue;
        if (!task) {
          inFlight.set(n, (await submit(n)).task.id); // gone (pruned from the task table): run it again
          continue;
        }
        inFlight.delete(n);
        let record = (await study.trials()).find((t) => t.number === n);
        if (record && record.state === 'running') {
          const why = task.error ? `${task.error.code}: ${task.error.message}` : `its task ended ${task.state} without telling the trial`;
          try {
            record = await o.storage.updateTrial(studyId, n, { state: 'failed', systemAttrs: { failReason: `task ${task.id} ${task.state}: ${why}` } });
          } catch (e) {
            if (!(e instanceof AimassError && e.code === 'CONFLICT')) throw e;
          }
        }
        trials = [...(await study.trials())];
        const now = trials[n];
        const finished = trials.filter((t) => isFinished(t.state)).length;
        o.onProgress?.({
          type: 'trial-finished',
          trial: n,
          state: now.state,
          value: now.values?.[0] ?? null,
          finished,
          budget,
          best: best(),
          ...(typeof now.systemAttrs.failReason === 'string' ? { error: now.systemAttrs.failReason } : {}),
        });
      }
      trials = [...(await study.trials())];
      // ask and submit while there is room
      while (inFlight.size < parallelism && trials.length < budget) {
        const n = trials.length;
        if (spec.reproducible && n - window >= 0 && !isFinished(trials[n - window].state)) break;
        const trial = await study.ask(space);
        const { task } = await submit(trial.number);
        inFlight.set(trial.number, task.id);
        o.onProgress?.({ type: 'trial-started', trial: trial.number, params: { ...trial.params }, taskId: task.id });
        trials = [...(await study.trials())];
      }
      // (running trials not in flight here belong to another coordinator of the study: wait for them too)
      if (inFlight.size === 0 && trials.length >= budget && !trials.some((t) => t.state === 'running')) break;
      const idle = Date.now() - started;
      if (!taken && inFlight.size > 0 && idle >= idleWarningMs && Date.now() - warnedAt >= idleWarningMs) {
        warnedAt = Date.now();
        o.onProgress?.({ type: 'waiting-for-workers', seconds: Math.round(idle / 1000), queued: inFlight.size });
      }
      await sleep(o.pollMs ?? 500, o.signal, (fn) => (wakeUp = fn));
    }
  } finally {
    unwatch?.();
  }

  trials = [...(await study.trials())];
  const counts = { running: 0, complete: 0, pruned: 0, failed: 0 } as Record<TrialState, number>;
  for (const t of trials) counts[t.state]++;
  let bestOutcome: TuningResult['best'] = null;
  const b = best();
  if (b) {
    const t = trials[b.trial];
    const attrs = t.userAttrs as { runDir?: string; modelPath?: string; epochs?: number };
    bestOutcome = {
      study: name,
      trial: t.number,
      state: t.state,
      value: b.value,
      params: { ...t.params },
      ...(attrs.epochs !== undefined ? { epochs: attrs.epochs } : {}),
      ...(attrs.runDir ? { runDir: attrs.runDir } : {}),
      ...(attrs.modelPath ? { modelPath: attrs.modelPath } : {}),
      trainingSpec: trialTrainingSpec(spec, t.params),
    };
  }
  return { study: name, studyId, direction: spec.objective.direction, metric: spec.objective.metric, counts, best: bestOutcome, trials: [...trials] };
}
