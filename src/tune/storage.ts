/**
 * Where studies and their trials live. `StudyStorage` is the whole contract (six methods, every one async so a
 * SQL or remote store fits behind it); `InMemoryStudyStorage` is the embedded implementation.
 *
 * Owns: the storage interface, the rules every implementation keeps (trial numbers 0, 1, 2, … per study; a
 * finished trial never changes; names are unique), and the in-memory store. Records handed out are frozen and
 * replaced on update, so a sampler's snapshot never changes under it and reading costs no copying.
 *
 * Imports core and ./trial-record.
 */
import { AimassError, errors, newId } from '../core/index.js';
import type { Distribution, ParamValue } from './distributions.js';
import { isFinished, type Direction, type FinishedTrialState, type TrialRecord, type TrialState } from './trial-record.js';

export interface StudyRecord {
  id: string;
  name: string;
  directions: Direction[];
  createdAt: number;
  userAttrs: Record<string, unknown>;
}

/** A change to a running trial; maps are merged into the stored ones, `state` other than running finishes it. */
export interface TrialPatch {
  params?: Record<string, ParamValue>;
  distributions?: Record<string, Distribution>;
  intermediate?: Record<string, number>;
  userAttrs?: Record<string, unknown>;
  systemAttrs?: Record<string, unknown>;
  state?: FinishedTrialState;
  values?: number[] | null;
}

export interface StudyStorage {
  /** ALREADY_EXISTS when the name is taken. */
  createStudy(name: string, directions: Direction[], userAttrs?: Record<string, unknown>): Promise<StudyRecord>;
  /** NOT_FOUND when there is no study of that name. */
  getStudy(name: string): Promise<StudyRecord>;
  listStudies(): Promise<StudyRecord[]>;
  /** A new running trial numbered after every earlier trial of the study (atomic under concurrent callers). */
  createTrial(studyId: string, init?: Pick<TrialPatch, 'params' | 'distributions' | 'systemAttrs' | 'userAttrs'>): Promise<TrialRecord>;
  /** CONFLICT when the trial is already finished; NOT_FOUND for an unknown study or trial. */
  updateTrial(studyId: string, number: number, patch: TrialPatch): Promise<TrialRecord>;
  /** Trials in number order, optionally only some states. */
  getTrials(studyId: string, states?: readonly TrialState[]): Promise<readonly TrialRecord[]>;
}

/** One trial by number; written once above the interface so implementations stay small. */
export async function getTrial(storage: StudyStorage, studyId: string, number: number): Promise<TrialRecord> {
  const trials = await storage.getTrials(studyId);
  const t = trials[number];
  if (!t || t.number !== number) throw errors.notFound('trial', String(number), `the study has ${trials.length} trial(s)`);
  return t;
}

/** Checks a patch before any store applies it; shared by every implementation. */
export function checkTrialPatch(current: TrialRecord, patch: TrialPatch): void {
  if (isFinished(current.state)) {
    throw new AimassError('CONFLICT', `trial ${current.number} is already ${current.state} and cannot change; ask for a new trial instead`, {
      trial: current.number,
      state: current.state,
    });
  }
  if (patch.values) {
    for (const v of patch.values) {
      if (typeof v !== 'number' || Number.isNaN(v)) {
        throw errors.invalidArgument(`trial ${current.number}: objective values must be numbers, got ${JSON.stringify(patch.values)}`);
      }
    }
  }
}

/** Applies a (checked) patch, returning a new frozen record. */
export function applyTrialPatch(current: TrialRecord, patch: TrialPatch, now = Date.now()): TrialRecord {
  const next: TrialRecord = {
    ...current,
    params: patch.params ? { ...current.params, ...patch.params } : current.params,
    distributions: patch.distributions ? { ...current.distributions, ...patch.distributions } : current.distributions,
    intermediate: patch.intermediate ? { ...current.intermediate, ...patch.intermediate } : current.intermediate,
    userAttrs: patch.userAttrs ? { ...current.userAttrs, ...patch.userAttrs } : current.userAttrs,
    systemAttrs: patch.systemAttrs ? { ...current.systemAttrs, ...patch.systemAttrs } : current.systemAttrs,
  };
  if (patch.values !== undefined) next.values = patch.values === null ? null : [...patch.values];
  if (patch.state) {
    next.state = patch.state;
    next.finishedAt = now;
  }
  return deepFreeze(next);
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(o);
}

export class InMemoryStudyStorage implements StudyStorage {
  private readonly studies = new Map<string, StudyRecord>();
  private readonly byName = new Map<string, string>();
  private readonly trials = new Map<string, TrialRecord[]>();

  async createStudy(name: string, directions: Direction[], userAttrs: Record<string, unknown> = {}): Promise<StudyRecord> {
    if (this.byName.has(name)) throw errors.alreadyExists('study', name, 'load it with loadStudy or choose another name');
    const study = deepFreeze({ id: newId('study'), name, directions: [...directions], createdAt: Date.now(), userAttrs: { ...userAttrs } });
    this.studies.set(study.id, study);
    this.byName.set(name, study.id);
    this.trials.set(study.id, []);
    return study;
  }

  async getStudy(name: string): Promise<StudyRecord> {
    const id = this.byName.get(name);
    if (id === undefined) throw errors.notFound('study', name, 'create it first');
    return this.studies.get(id) as StudyRecord;
  }

  async listStudies(): Promise<StudyRecord[]> {
    return [...this.studies.values()];
  }

  async createTrial(studyId: string, init: Pick<TrialPatch, 'params' | 'distributions' | 'systemAttrs' | 'userAttrs'> = {}): Promise<TrialRecord> {
    const list = this.list(studyId);
    const record = deepFreeze<TrialRecord>({
      number: list.length,
      state: 'running',
      params: { ...init.params },
      distributions: { ...init.distributions },
      values: null,
      intermediate: {},
      userAttrs: { ...init.userAttrs },
      systemAttrs: { ...init.systemAttrs },
      startedAt: Date.now(),
      finishedAt: null,
    });
    list.push(record);
    return record;
  }

  async updateTrial(studyId: string, number: number, patch: TrialPatch): Promise<TrialRecord> {
    const list = this.list(studyId);
    const current = list[number];
    if (!current) throw errors.notFound('trial', String(number), `the study has ${list.length} trial(s)`);
    checkTrialPatch(current, patch);
    const next = applyTrialPatch(current, patch);
    list[number] = next;
    return next;
  }

  async getTrials(studyId: string, states?: readonly TrialState[]): Promise<readonly TrialRecord[]> {
    const list = this.list(studyId);
    return states ? list.filter((t) => states.includes(t.state)) : list.slice();
  }

  private list(studyId: string): TrialRecord[] {
    const list = this.trials.get(studyId);
    if (!list) throw errors.notFound('study', studyId);
    return list;
  }
}
