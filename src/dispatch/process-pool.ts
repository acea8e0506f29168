// A worker's pool of long-lived child processes (node:child_process fork of child-entry.mjs). Each child has
// a profile, its thread count (AIMASS_THREADS / OMP_NUM_THREADS) and memory cap (--max-old-space-size for the
// JavaScript heap, plus a resident-size limit sampled from /proc for native memory such as ONNX Runtime's);
// an idle child with the task's profile is reused, so a cheap task costs one IPC round trip. Short tasks of one
// profile can go to a child as a batch (runBatch): one message for all, run one after another, each answered on
// its own; the task at the head of a child's batch is the one running, and its timeout and memory cap are watched.
//
// A child that crashes, runs out of memory or overruns its task's timeout (SIGTERM, then SIGKILL after the
// grace period) is thrown away and a fresh one of the same profile is started in its place. Whatever a task
// does to its child, the worker and the other children carry on.
import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AimassError } from '../core/index.js';
import type { FromChild, RunMessage, SkipMessage } from './child-protocol.js';

export interface ProcessPoolOptions {
  /** Children at most (busy and idle together). */
  maxChildren: number;
  /** Between SIGTERM and SIGKILL (default 2000 ms). */
  graceMs?: number;
  /** Resident-size limit of a child for a task of `memoryMb` (default 2 × memoryMb + 192 MB). */
  rssLimitMb?: (memoryMb: number) => number;
  /** How often a busy child's resident size is checked (default 250 ms; Linux only). */
  rssCheckMs?: number;
  /** Extra environment for the children. */
  env?: Record<string, string>;
}

/** What a child is sent (the run message's fields), and the limits the pool enforces around it. */
export interface ChildJob extends Omit<RunMessage, 'type'> {
  memoryMb: number;
  timeoutMs: number;
}

export type ChildOutcome =
  | { kind: 'succeeded'; result: unknown }
  /** Waited in a batch behind a task whose child died or was killed: it never ran; run it again. */
  | { kind: 'not-started'; message: string }
  | { kind: 'failed'; error: { code: string; message: string; retryable: boolean } }
  | { kind: 'crashed'; message: string }
  | { kind: 'oom'; message: string }
  | { kind: 'timed-out'; message: string }
  | { kind: 'stopped'; message: string };

export interface ChildRun {
  pid: number;
  outcome: Promise<ChildOutcome>;
  /** Stops the task (SIGTERM, then SIGKILL); its outcome becomes "stopped" with `reason`. */
  stop(reason: string): void;
}

/** The smallest heap a child can start with (tsx and the runtime need some). */
const MIN_HEAP_MB = 64;
const STDERR_TAIL = 8192;
const ENTRY = fileURLToPath(new URL('./child-entry.mjs', import.meta.url));

/** A task sent to a child and not answered yet. */
interface Sent {
  job: ChildJob;
  settled: boolean;
  resolve(outcome: ChildOutcome): void;
}

interface Child {
  proc: ChildProcess;
  /** Sent, in the order the child runs them; the head is running (or about to). */
  queue: Sent[];
  deadline?: NodeJS.Timeout;
  rssTimer?: NodeJS.Timeout;
  profile: string;
  threads: number;
  memoryMb: number;
  ready: Promise<void>;
  busy: boolean;
  alive: boolean;
  stderr: string;
  /** Set when the pool kills the child on purpose: what the running task's outcome becomes. */
  killedFor?: ChildOutcome;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export class ProcessPool {
  private readonly children = new Set<Child>();
  private readonly graceMs: number;
  private readonly rssLimitMb: (memoryMb: number) => number;
  private readonly rssCheckMs: number;
  private closing = false;
  /** Children started since the pool opened (replacements included). */
  spawned = 0;

  constructor(private readonly options: ProcessPoolOptions) {
    if (!Number.isInteger(options.maxChildren) || options.maxChildren < 1) {
      throw new AimassError('INVALID_ARGUMENT', `maxChildren must be a whole number ≥ 1, got ${options.maxChildren}`);
    }
    this.graceMs = options.graceMs ?? 2000;
    this.rssLimitMb = options.rssLimitMb ?? ((mb) => 2 * mb + 192);
    this.rssCheckMs = options.rssCheckMs ?? 250;
  }

  stats(): { children: number; busy: number; spawned: number } {
    let busy = 0;
    for (const c of this.children) if (c.busy) busy++;
    return { children: this.children.size, busy, spawned: this.spawned };
  }

  /** Starts `job` in an idle child of its profile (or a new one); resolves once the task was handed over. */
  async run(job: ChildJob): Promise<ChildRun> {
    return (await this.runBatch([job]))[0];
  }

  /**
   * Hands `jobs` (one profile: threads and memory) to one idle child in one message; it runs them in order.
   * Resolves once they were handed over. A stop of a task still waiting its turn drops it from the batch.
   */
  async runBatch(jobs: readonly ChildJob[]): Promise<ChildRun[]> {
    if (this.closing) throw new AimassError('UNAVAILABLE', 'the process pool is closing; the task was not started', { retryable: true });
    if (jobs.length === 0) return [];
    const { threads, memoryMb } = jobs[0];
    if (jobs.some((j) => j.threads !== threads || j.memoryMb !== memoryMb)) {
      throw new AimassError('INVALID_ARGUMENT', 'the tasks of a batch must share one profile (threads and memory)');
    }
    const child = this.acquire(threads, Math.max(MIN_HEAP_MB, memoryMb));
    child.busy = true;
    try {
      await child.ready;
    } catch (e) {
      this.children.delete(child);
      child.busy = false;
      const message = (e as Error).message;
      return jobs.map((_, i) => ({
        pid: child.proc.pid ?? -1,
        outcome: Promise.resolve<ChildOutcome>(i === 0 ? { kind: 'crashed', message } : { kind: 'not-started', message }),
        stop: () => undefined,
      }));
    }
    const sent = jobs.map((job) => {
      let resolve!: (o: ChildOutcome) => void;
      const outcome = new Promise<ChildOutcome>((r) => (resolve = r));
      const entry: Sent = { job, settled: false, resolve: (o) => ((entry.settled = true), resolve(o)) };
      return { entry, outcome };
    });
    const idle = child.queue.length === 0;
    child.queue.push(...sent.map((s) => s.entry));
    if (idle) this.watchHead(child);
    const runs = jobs.map((j): RunMessage => ({ type: 'run', taskId: j.taskId, attempt: j.attempt, taskType: j.taskType, handler: j.handler, payload: j.payload, threads: j.threads }));
    child.proc.send(runs.length === 1 ? runs[0] : { type: 'run-batch', runs }, (e) => {
      if (e) this.kill(child, { kind: 'crashed', message: `could not hand the task to its process: ${e.message}` }, 0);
    });
    return sent.map(({ entry, outcome }) => ({
      pid: child.proc.pid ?? -1,
      outcome,
      stop: (reason) => this.stopOne(child, entry, reason),
    }));
  }

  /** Stops every child (SIGTERM, SIGKILL after the grace period) and waits for them to exit. */
  async close(): Promise<void> {
    this.closing = true;
    const all = [...this.children];
    for (const c of all) this.kill(c, { kind: 'stopped', message: 'the worker is shutting down' });
    await Promise.all(all.map((c) => c.exited));
  }

  private acquire(threads: number, memoryMb: number): Child {
    const profile = `${threads}:${memoryMb}`;
    for (const c of this.children) if (!c.busy && c.alive && c.profile === profile) return c;
    if (this.children.size >= this.options.maxChildren) {
      // Make room: retire an idle child of another profile.
      const idle = [...this.children].find((c) => !c.busy);
      if (!idle) throw new AimassError('RESOURCE_EXHAUSTED', `all ${this.options.maxChildren} child processes are busy`, { retryable: true });
      this.retire(idle);
    }
    return this.spawn(threads, memoryMb);
  }

  private spawn(threads: number, memoryMb: number): Child {
    const proc = fork(ENTRY, [], {
      execArgv: [`--max-old-space-size=${memoryMb}`],
      env: { ...process.env, ...this.options.env, AIMASS_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.spawned++;
    const child: Child = {
      proc,
      queue: [],
      profile: `${threads}:${memoryMb}`,
      threads,
      memoryMb,
      busy: false,
      alive: true,
      stderr: '',
      ready: Promise.resolve(),
      exited: new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal }))),
    };
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      child.stderr = (child.stderr + chunk).slice(-STDERR_TAIL);
    });
    proc.on('error', () => undefined);
    child.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromChild) => {
        if (m.type === 'ready') {
          proc.off('message', onMessage);
          resolve();
        }
      };
      proc.on('message', onMessage);
      void child.exited.then(({ code, signal }) =>
        reject(new Error(`the task's process exited while starting (${signal ?? `code ${code}`}): ${child.stderr.trim().slice(-500)}`)),
      );
    });
    child.ready.catch(() => undefined);
    proc.on('message', (m: FromChild) => this.onAnswer(child, m));
    void child.exited.then(({ code, signal }) => {
      child.alive = false;
      this.children.delete(child);
      this.onExit(child, code, signal);
    });
    this.children.add(child);
    return child;
  }

  /** The child answered a task: the next in its batch is running now. */
  private onAnswer(child: Child, m: FromChild): void {
    if (child.killedFor || (m.type !== 'done' && m.type !== 'error' && m.type !== 'skipped')) return;
    const head = child.queue[0];
    if (!head || head.job.taskId !== m.taskId) return;
    child.queue.shift();
    this.unwatch(child);
    if (!head.settled) {
      if (m.type === 'done') head.resolve({ kind: 'succeeded', result: m.result });
      else if (m.type === 'error') head.resolve({ kind: 'failed', error: m.error });
      else head.resolve({ kind: 'stopped', message: 'stopped before it started' });
    }
    if (child.queue.length > 0) this.watchHead(child);
    else child.busy = false;
  }

  /** Watches the running task of a child: its timeout, and the child's resident size against its cap. */
  private watchHead(child: Child): void {
    const { job } = child.queue[0];
    child.deadline = setTimeout(
      () => this.kill(child, { kind: 'timed-out', message: `the task ran past its timeout of ${job.timeoutMs} ms and its process was killed` }),
      job.timeoutMs,
    );
    const limit = this.rssLimitMb(job.memoryMb);
    child.rssTimer = setInterval(() => {
      void residentMb(child.proc.pid).then((mb) => {
        if (mb !== undefined && mb > limit && child.queue[0]?.job === job) {
          this.kill(child, { kind: 'oom', message: `the task's process used ${Math.round(mb)} MB, over its limit of ${limit} MB, and was killed` }, 0);
        }
      });
    }, this.rssCheckMs);
    child.rssTimer.unref();
  }

  private unwatch(child: Child): void {
    clearTimeout(child.deadline);
    clearInterval(child.rssTimer);
  }

  /** Stops one task: the running one by killing its child; one waiting its turn by dropping it. */
  private stopOne(child: Child, entry: Sent, reason: string): void {
    if (entry.settled) return;
    if (child.queue[0] === entry) return this.kill(child, { kind: 'stopped', message: reason });
    entry.resolve({ kind: 'stopped', message: reason });
    const skip: SkipMessage = { type: 'skip', taskId: entry.job.taskId };
    child.proc.send(skip, () => undefined);
  }

  /** The child is gone: its running task ends as `why` (or how it died), the ones waiting behind it never ran. */
  private onExit(child: Child, code: number | null, signal: NodeJS.Signals | null): void {
    this.unwatch(child);
    const queue = child.queue.splice(0);
    if (queue.length === 0) return;
    const outcome = child.killedFor ?? this.exitOutcome(child, code, signal);
    queue[0].resolve(outcome);
    for (const s of queue.slice(1)) if (!s.settled) s.resolve({ kind: 'not-started', message: `its process ended before its turn: ${outcome.kind}` });
  }

  private retire(child: Child): void {
    this.children.delete(child);
    this.kill(child, { kind: 'stopped', message: 'retired to make room for another profile' }, 0);
  }

  /** Kills a child on purpose (its task's outcome is `why`) and, unless closing, starts a warm replacement. */
  private kill(child: Child, why: ChildOutcome, graceMs = this.graceMs): void {
    if (child.killedFor || !child.alive) return;
    child.killedFor = why;
    const replace = this.children.has(child) && !this.closing;
    this.children.delete(child);
    if (graceMs > 0) {
      child.proc.kill('SIGTERM');
      const hard = setTimeout(() => child.proc.kill('SIGKILL'), graceMs);
      void child.exited.then(() => clearTimeout(hard));
    } else {
      child.proc.kill('SIGKILL');
    }
    if (replace) this.spawn(child.threads, child.memoryMb);
  }

  /** How a child's unplanned exit ends its task; also starts a replacement. */
  private exitOutcome(child: Child, code: number | null, signal: NodeJS.Signals | null): ChildOutcome {
    if (!this.closing && this.children.size < this.options.maxChildren) this.spawn(child.threads, child.memoryMb);
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (/heap out of memory|Allocation failed|allocation failure/i.test(child.stderr)) {
      return { kind: 'oom', message: `the task's process ran out of memory (its heap cap is ${child.memoryMb} MB) and died (${how})` };
    }
    const tail = child.stderr.trim().split('\n').slice(-3).join(' | ');
    return { kind: 'crashed', message: `the task's process died (${how})${tail ? `: ${tail}` : ''}` };
  }
}

/** Resident set size of a process in MB, from /proc (undefined where there is no /proc). */
async function residentMb(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined || process.platform !== 'linux') return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
