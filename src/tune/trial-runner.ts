/**
 * One trial of a tuning study, as a worker runs it (the `trial` task): the trial's training spec is the study's
 * base spec with the trial's parameters put in; each epoch's objective metric is reported as an intermediate
 * value and the study's pruner asked before the next epoch starts — a pruned run stops there — and the final
 * value tells the trial complete.
 *
 * Idempotent: a trial already finished is not trained again (its stored outcome is returned); a trial whose
 * earlier attempt died mid-run resumes from its run folder's last epoch checkpoint, so a retried trial ends
 * exactly as an uninterrupted one would. A training failure that would recur (diverged, invalid spec for these
 * parameters, bad data) fails the trial; anything else is thrown for the dispatcher to retry.
 *
 * Imports core, train and the tune files it names.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError, toAimassError } from '../core/index.js';
import { type EpochRecord, type JobEvent, parseTrainSpec, runTrainJob } from '../train/index.js';
import { getTrial, type StudyRecord, type StudyStorage } from './storage.js';
import { loadStudy } from './study.js';
import { createPruner, trialTrainingSpec, type TuningSpec } from './tuning-spec.js';
import { isFinished, lastIntermediate, type TrialRecord, type TrialState } from './trial-record.js';

/** The payload of a `trial` task. */
export interface TrialTaskPayload {
  study: string;
  trial: number;
  /** Trials in flight in the study (the reproducibility window the pruner looks through; default 1). */
  window?: number;
}

export interface RunTrialOptions {
  storage: StudyStorage;
  /** Run folders go to `<runsDir>/tune/<study id>/trial-<n>`. */
  runsDir: string;
  threads?: number;
  /** Aborted when the task is cancelled, times out or its lease is lost: the run stops and the error is thrown. */
  signal?: AbortSignal;
  /** Whether a training error is worth another attempt of the task (thrown) rather than failing the trial. */
  retryable?: (e: AimassError) => boolean;
  onEvent?: (e: JobEvent) => void;
}

export interface TrialOutcome {
  study: string;
  trial: number;
  state: TrialState;
  value: number | null;
  params: Record<string, unknown>;
  /** Epochs trained (fewer than the spec's when pruned). */
  epochs?: number;
  runDir?: string;
  modelPath?: string;
  /** The trial had finished before this attempt: nothing was trained. */
  alreadyFinished?: boolean;
  error?: string;
}

/** The tuning spec a study was created from (`aimass tune run` stores it as the study's `tuning` attribute). */
export function tuningSpecOf(study: StudyRecord): TuningSpec {
  const spec = study.userAttrs.tuning as TuningSpec | undefined;
  if (!spec || typeof spec !== 'object' || !spec.base || !spec.space || !spec.objective) {
    throw new AimassError('INVALID_ARGUMENT', `study "${study.name}" was not created from a tuning spec (aimass tune run); its trials cannot run as tasks`, { study: study.name });
  }
  return spec;
}

export function trialRunDir(runsDir: string, study: StudyRecord, trial: number): string {
  return join(runsDir, 'tune', study.id, `trial-${String(trial).padStart(4, '0')}`);
}

function outcomeOf(study: string, t: TrialRecord, extra: Partial<TrialOutcome> = {}): TrialOutcome {
  const attrs = t.userAttrs as { runDir?: string; modelPath?: string; epochs?: number };
  return {
    study,
    trial: t.number,
    state: t.state,
    value: t.values?.[0] ?? null,
    params: { ...t.params },
    ...(attrs.epochs !== undefined ? { epochs: attrs.epochs } : {}),
    ...(attrs.runDir ? { runDir: attrs.runDir } : {}),
    ...(attrs.modelPath ? { modelPath: attrs.modelPath } : {}),
    ...(typeof t.systemAttrs.failReason === 'string' ? { error: t.systemAttrs.failReason } : {}),
    ...extra,
  };
}

const isConflict = (e: unknown) => e instanceof AimassError && e.code === 'CONFLICT';

/** The epochs a run folder's last checkpoint holds (checkpoint.json keeps the history it resumes with). */
async function epochsDone(runDir: string): Promise<EpochRecord[]> {
  try {
    const { history } = JSON.parse(await readFile(join(runDir, 'checkpoint.json'), 'utf8')) as { history?: EpochRecord[] };
    return Array.isArray(history) ? history : [];
  } catch {
    return [];
  }
}

export async function runTrial(payload: TrialTaskPayload, o: RunTrialOptions): Promise<TrialOutcome> {
  const record = await o.storage.getStudy(payload.study);
  const tuning = tuningSpecOf(record);
  const study = await loadStudy(payload.study, { storage: o.storage, pruner: createPruner(tuning, tuning.reproducible ? (payload.window ?? 1) : 1) });
  const n = payload.trial;
  const trial = await getTrial(o.storage, record.id, n);
  if (isFinished(trial.state)) return outcomeOf(record.name, trial, { alreadyFinished: true });
  const finishedMeanwhile = async () => outcomeOf(record.name, await getTrial(o.storage, record.id, n), { alreadyFinished: true });

  const fail = async (reason: string): Promise<TrialOutcome> => {
    try {
      await o.storage.updateTrial(record.id, n, { state: 'failed', systemAttrs: { failReason: reason } });
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
    return outcomeOf(record.name, await getTrial(o.storage, record.id, n));
  };

  let spec;
  try {
    spec = parseTrainSpec(trialTrainingSpec(tuning, trial.params));
  } catch (e) {
    const err = toAimassError(e);
    const problems = Array.isArray(err.details?.problems) ? `: ${err.details.problems.join('; ')}` : '';
    return fail(`${err.code}: these parameters give an invalid training spec${problems}`);
  }
  const runDir = trialRunDir(o.runsDir, record, n);
  const metric = tuning.objective.metric;
  const stop = new AbortController();
  const onAbort = () => stop.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  let pruned = false;
  let prunedAt = 0;
  let finishedElsewhere = false;
  const markPruned = async (epochs: number): Promise<TrialOutcome> => {
    const now = await getTrial(o.storage, record.id, n);
    const last = lastIntermediate(now);
    try {
      await o.storage.updateTrial(record.id, n, { state: 'pruned', values: last ? [last.value] : null, userAttrs: { runDir, epochs } });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    return outcomeOf(record.name, await getTrial(o.storage, record.id, n));
  };

  const onEpochEnd = async (r: EpochRecord): Promise<void> => {
    const value = r[metric];
    if (typeof value !== 'number' || Number.isNaN(value)) return;
    try {
      await o.storage.updateTrial(record.id, n, { intermediate: { [String(r.epoch)]: value } });
    } catch (e) {
      if (!isConflict(e)) throw e;
      finishedElsewhere = true; // told by someone else (e.g. failed by its coordinator): stop here
      stop.abort();
      return;
    }
    if (r.epoch >= spec.epochs) return; // nothing left to save
    const trials = await o.storage.getTrials(record.id);
    if (study.pruner.prune({ directions: record.directions, trials }, trials[n])) {
      pruned = true;
      prunedAt = r.epoch;
      stop.abort();
    }
  };

  const resume = existsSync(join(runDir, 'checkpoint.json'));
  if (resume) {
    // an earlier attempt died after some epochs: what it may not have reported or judged is done again, so the
    // trial ends as it would have without the crash (reports are idempotent; the judgement is the same)
    const done = await epochsDone(runDir);
    for (const r of done) {
      const value = r[metric];
      if (typeof value === 'number' && !Number.isNaN(value)) await o.storage.updateTrial(record.id, n, { intermediate: { [String(r.epoch)]: value } }).catch((e) => {
        if (!isConflict(e)) throw e;
      });
    }
    const last = done.length;
    if (last > 0 && last < spec.epochs) {
      const trials = await o.storage.getTrials(record.id);
      if (trials[n].state !== 'running') return finishedMeanwhile();
      if (study.pruner.prune({ directions: record.directions, trials }, trials[n])) return markPruned(last);
    }
  }

  try {
    const result = await runTrainJob({ spec, runDir, threads: o.threads, resume }, o.onEvent, stop.signal, { onEpochEnd });
    if (finishedElsewhere) return finishedMeanwhile();
    const at = result.bestEpoch !== undefined ? result.history[result.bestEpoch - 1] : result.history[result.history.length - 1];
    const value = at?.[metric];
    await o.storage.updateTrial(record.id, n, { userAttrs: { runDir, modelPath: result.modelPath, epochs: result.epochs, ...(result.test ? { test: result.test } : {}) } });
    if (typeof value !== 'number') return fail(`the training run reported no ${metric} (the model's head or the data give no such metric)`);
    await study.tell(n, value);
    return outcomeOf(record.name, await getTrial(o.storage, record.id, n));
  } catch (e) {
    if (finishedElsewhere) return finishedMeanwhile();
    if (pruned && e instanceof AimassError && e.code === 'CANCELLED') return markPruned(prunedAt);
    if (o.signal?.aborted) throw e;
    const err = toAimassError(e);
    if (o.retryable?.(err) ?? false) throw err;
    return fail(`${err.code}: ${err.message}`);
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}
