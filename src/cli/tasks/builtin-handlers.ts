// The task types every AI Mass worker runs, loaded inside the worker's child processes (see dispatch/handlers.ts).
// `train` and `backup` run the same code as the `aimass train` and `aimass backup create` commands, in-process in
// the child with their output captured, so a task and a command behave alike (tracking, registration, errors).
// `trial` runs one trial of a tuning study (`aimass tune run`) through tune/'s runTrial.
import { AimassError, homePath, loadConfig } from '../../core/index.js';
import type { TaskContext } from '../../dispatch/index.js';
import { runCli } from '../run.js';

/** Does nothing: for checking that a worker runs tasks, and for measuring dispatch itself. */
export function noop(): { ok: true } {
  return { ok: true };
}

/** Waits `ms` (at most 10 minutes), stopping early when the task is cancelled or times out. */
export async function sleep(payload: unknown, ctx: TaskContext): Promise<{ slept: number }> {
  const ms = (payload as { ms?: unknown } | null)?.ms;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > 600_000) {
    throw new AimassError('INVALID_ARGUMENT', `a sleep task takes {"ms": n} with n from 0 to 600000, got ${JSON.stringify(payload)}`);
  }
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    ctx.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return { slept: Date.now() - started };
}

interface TrainPayload {
  /** Path of a train spec (absolute, or relative to the worker's working folder). */
  spec: string;
  out?: string;
  register?: string;
  alias?: string;
}

/** Runs `aimass train` on a spec file with the task's thread count; the result is what `--json` prints. */
export async function train(payload: unknown, ctx: TaskContext): Promise<unknown> {
  const p = payload as Partial<TrainPayload> | null;
  if (!p || typeof p.spec !== 'string' || p.spec === '') throw new AimassError('INVALID_ARGUMENT', `a train task takes {"spec": "path/to/spec.json", "out"?, "register"?, "alias"?}, got ${JSON.stringify(payload)}`);
  const args = ['--json', 'train', '--spec', p.spec, '--no-progress', '--threads', String(Math.max(1, ctx.threads))];
  if (typeof p.out === 'string') args.push('--out', p.out);
  if (typeof p.register === 'string') args.push('--register', p.register);
  if (typeof p.alias === 'string') args.push('--alias', p.alias);
  return runCaptured(args);
}

/** Runs `aimass backup create` (payload: {"to"?: uri, "keep"?: n}). */
export async function backup(payload: unknown): Promise<unknown> {
  const p = (payload ?? {}) as { to?: unknown; keep?: unknown };
  const args = ['--json', 'backup', 'create'];
  if (typeof p.to === 'string') args.push('--to', p.to);
  if (typeof p.keep === 'number') args.push('--keep', String(p.keep));
  return runCaptured(args);
}

/** Training failures that would recur on another attempt: they fail the trial instead of retrying the task. */
const TRIAL_PERMANENT = new Set(['INVALID_ARGUMENT', 'INVALID_SPEC', 'SHAPE_MISMATCH', 'DATA_FORMAT', 'UNSUPPORTED', 'NOT_FOUND', 'TRAINING_DIVERGED']);

/**
 * One trial of a tuning study (payload {"study": name, "trial": n, "window"?: w}), trained in this child with the
 * task's threads, reporting into the study in the configured metadata store; the run folder is under
 * $AIMASS_HOME/runs/tune/. The result is the trial's outcome (state, value, run folder).
 */
export async function trial(payload: unknown, ctx: TaskContext): Promise<unknown> {
  const p = payload as { study?: unknown; trial?: unknown; window?: unknown } | null;
  if (!p || typeof p.study !== 'string' || !Number.isInteger(p.trial) || (p.trial as number) < 0 || (p.window !== undefined && !(Number.isInteger(p.window) && (p.window as number) >= 1))) {
    throw new AimassError('INVALID_ARGUMENT', `a trial task takes {"study": "name", "trial": n, "window"?: w}, got ${JSON.stringify(payload)}`);
  }
  const { openStudyStorage, runTrial } = await import('../../tune/index.js');
  const config = loadConfig(process.env);
  const opened = await openStudyStorage(config.metadataUri);
  try {
    return await runTrial(
      { study: p.study, trial: p.trial as number, window: p.window as number | undefined },
      { storage: opened.storage, runsDir: homePath(config, 'runs'), threads: Math.max(1, ctx.threads), signal: ctx.signal, retryable: (e) => !TRIAL_PERMANENT.has(e.code) },
    );
  } finally {
    await opened.close();
  }
}

async function runCaptured(args: string[]): Promise<unknown> {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) } });
  if (code !== 0) {
    const last = err.trim().split('\n').pop() ?? '';
    try {
      throw AimassError.fromJSON(JSON.parse(last));
    } catch (e) {
      if (e instanceof AimassError) throw e;
      throw new AimassError('INTERNAL', `aimass ${args.slice(1).join(' ')} failed: ${err.trim() || `exit code ${code}`}`);
    }
  }
  const line = out.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    return { output: out.trim() };
  }
}
