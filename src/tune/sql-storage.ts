/**
 * Studies and trials in the SQL metadata store (SQLite on the embedded default, PostgreSQL in a cluster): the
 * same `StudyStorage` contract as the in-memory store, so a study outlives its process, continues on another
 * machine, and many workers report into it at once. Tables `studies` and `trials` come from migration 3 of the
 * metadata schema.
 *
 * Concurrency: a trial's number is taken by one INSERT … SELECT MAX(number) + 1 that does nothing on a duplicate
 * key and is retried, so concurrent askers get 0, 1, 2, … with no gaps or repeats; an update rewrites the row
 * only while it is still running (a finished trial never changes, even when two workers race to finish it). Every
 * write is a transaction of its own (see `write`), so a study shares a SQLite file with the task broker of the
 * same process without the two waiting on each other's lock.
 *
 * Imports core, storage (the SQL driver) and the tune records.
 */
import { AimassError, errors, newId } from '../core/index.js';
import { type SqlDriver, migrate } from '../storage/index.js';
import { type StudyRecord, type StudyStorage, type TrialPatch, applyTrialPatch, checkTrialPatch } from './storage.js';
import { type Direction, type TrialRecord, type TrialState } from './trial-record.js';

interface StudyRow {
  id: string;
  name: string;
  directions: string;
  user_attrs: string;
  created_ms: number | string;
}

interface TrialRow {
  number: number;
  state: TrialState;
  params: string;
  distributions: string;
  trial_values: string | null;
  intermediate: string;
  user_attrs: string;
  system_attrs: string;
  started_ms: number | string;
  finished_ms: number | string | null;
}

const TRIAL_COLUMNS = 'number, state, params, distributions, trial_values, intermediate, user_attrs, system_attrs, started_ms, finished_ms';
/** Askers racing for the same trial number retry this often before giving up (UNAVAILABLE). */
const NUMBER_ATTEMPTS = 50;

export class SqlStudyStorage implements StudyStorage {
  private constructor(private readonly db: SqlDriver) {}

  /** A store over `db`, whose schema it brings up to date; the caller keeps owning (and closes) the driver. */
  static async open(db: SqlDriver): Promise<SqlStudyStorage> {
    await migrate(db);
    return new SqlStudyStorage(db);
  }

  async createStudy(name: string, directions: Direction[], userAttrs: Record<string, unknown> = {}): Promise<StudyRecord> {
    const study: StudyRecord = { id: newId('study'), name, directions: [...directions], createdAt: Date.now(), userAttrs: { ...userAttrs } };
    const rows = await this.write((tx) => tx.query<{ id: string }>(
      'INSERT INTO studies (id, name, directions, user_attrs, created_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id',
      [study.id, name, JSON.stringify(study.directions), JSON.stringify(study.userAttrs), study.createdAt],
    ));
    if (rows.length === 0) throw errors.alreadyExists('study', name, 'load it with loadStudy or choose another name');
    return freeze(study);
  }

  /**
   * A write that returns rows, as a transaction of its own: on SQLite that takes the write lock by polling, where a
   * bare statement would wait for it synchronously — blocking the event loop, and with it another connection of
   * this process (a task broker's) that holds the lock and needs the loop to release it.
   */
  private write<T>(fn: (tx: SqlDriver) => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  async getStudy(name: string): Promise<StudyRecord> {
    const [row] = await this.db.query<StudyRow>('SELECT id, name, directions, user_attrs, created_ms FROM studies WHERE name = ?', [name]);
    if (!row) throw errors.notFound('study', name, 'create it first');
    return studyOf(row);
  }

  async listStudies(): Promise<StudyRecord[]> {
    return (await this.db.query<StudyRow>('SELECT id, name, directions, user_attrs, created_ms FROM studies ORDER BY created_ms, name')).map(studyOf);
  }

  async createTrial(studyId: string, init: Pick<TrialPatch, 'params' | 'distributions' | 'systemAttrs' | 'userAttrs'> = {}): Promise<TrialRecord> {
    await this.studyById(studyId);
    const startedAt = Date.now();
    const values = [
      'running',
      JSON.stringify(init.params ?? {}),
      JSON.stringify(init.distributions ?? {}),
      '{}',
      JSON.stringify(init.userAttrs ?? {}),
      JSON.stringify(init.systemAttrs ?? {}),
      startedAt,
    ];
    for (let attempt = 0; attempt < NUMBER_ATTEMPTS; attempt++) {
      const rows = await this.write((tx) => tx.query<{ number: number }>(
        'INSERT INTO trials (study_id, number, state, params, distributions, intermediate, user_attrs, system_attrs, started_ms) ' +
          'SELECT ?, COALESCE(MAX(number) + 1, 0), ?, ?, ?, ?, ?, ?, ? FROM trials WHERE study_id = ? ' +
          'ON CONFLICT (study_id, number) DO NOTHING RETURNING number',
        [studyId, ...values, studyId],
      ));
      if (rows.length > 0) return this.trial(studyId, Number(rows[0].number));
    }
    throw new AimassError('UNAVAILABLE', `could not number a new trial of study ${studyId}: ${NUMBER_ATTEMPTS} concurrent askers won the race first; retry`);
  }

  /** Updates of one trial in flight in this process, chained: each reads what the one before it wrote. */
  private readonly updating = new Map<string, Promise<unknown>>();

  /**
   * A read-merge-write: a trial's suggestions are written in the background as they are drawn, several at once,
   * so updates of one trial from this process run one after the other or the later would drop the earlier's keys.
   */
  updateTrial(studyId: string, number: number, patch: TrialPatch): Promise<TrialRecord> {
    const key = `${studyId}\u0000${number}`;
    const previous = this.updating.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.updateNow(studyId, number, patch));
    this.updating.set(key, next);
    void next.catch(() => undefined).then(() => {
      if (this.updating.get(key) === next) this.updating.delete(key);
    });
    return next;
  }

  private async updateNow(studyId: string, number: number, patch: TrialPatch): Promise<TrialRecord> {
    const current = await this.trial(studyId, number);
    checkTrialPatch(current, patch);
    const next = applyTrialPatch(current, patch);
    const { changes } = await this.db.run(
      'UPDATE trials SET state = ?, params = ?, distributions = ?, trial_values = ?, intermediate = ?, user_attrs = ?, system_attrs = ?, finished_ms = ? ' +
        "WHERE study_id = ? AND number = ? AND state = 'running'",
      [
        next.state,
        JSON.stringify(next.params),
        JSON.stringify(next.distributions),
        next.values === null ? null : JSON.stringify(next.values),
        JSON.stringify(next.intermediate),
        JSON.stringify(next.userAttrs),
        JSON.stringify(next.systemAttrs),
        next.finishedAt,
        studyId,
        number,
      ],
    );
    // Finished by someone else between the read and the write: the check above, against what is stored now.
    if (changes === 0) checkTrialPatch(await this.trial(studyId, number), patch);
    return next;
  }

  async getTrials(studyId: string, states?: readonly TrialState[]): Promise<readonly TrialRecord[]> {
    await this.studyById(studyId);
    const filter = states && states.length > 0 ? ` AND state IN (${states.map(() => '?').join(', ')})` : '';
    const rows = await this.db.query<TrialRow>(`SELECT ${TRIAL_COLUMNS} FROM trials WHERE study_id = ?${filter} ORDER BY number`, [studyId, ...(states ?? [])]);
    return rows.map(trialOf);
  }

  private async studyById(studyId: string): Promise<void> {
    const rows = await this.db.query<{ id: string }>('SELECT id FROM studies WHERE id = ?', [studyId]);
    if (rows.length === 0) throw errors.notFound('study', studyId, 'list the studies to see their ids');
  }

  private async trial(studyId: string, number: number): Promise<TrialRecord> {
    const [row] = await this.db.query<TrialRow>(`SELECT ${TRIAL_COLUMNS} FROM trials WHERE study_id = ? AND number = ?`, [studyId, number]);
    if (!row) {
      await this.studyById(studyId);
      const [{ n }] = await this.db.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM trials WHERE study_id = ?', [studyId]);
      throw errors.notFound('trial', String(number), `the study has ${Number(n)} trial(s)`);
    }
    return trialOf(row);
  }
}

function studyOf(row: StudyRow): StudyRecord {
  return freeze({ id: row.id, name: row.name, directions: JSON.parse(row.directions) as Direction[], createdAt: Number(row.created_ms), userAttrs: JSON.parse(row.user_attrs) as Record<string, unknown> });
}

function trialOf(row: TrialRow): TrialRecord {
  return freeze({
    number: Number(row.number),
    state: row.state,
    params: JSON.parse(row.params),
    distributions: JSON.parse(row.distributions),
    values: row.trial_values === null ? null : (JSON.parse(row.trial_values) as number[]),
    intermediate: JSON.parse(row.intermediate),
    userAttrs: JSON.parse(row.user_attrs),
    systemAttrs: JSON.parse(row.system_attrs),
    startedAt: Number(row.started_ms),
    finishedAt: row.finished_ms === null ? null : Number(row.finished_ms),
  });
}

function freeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object' && !Object.isFrozen(v)) freeze(v as object);
  return Object.freeze(o);
}
