// `npm run bench:dispatch`: no-op tasks per second from submit to completion, and each task's latency, through
// AI Mass's dispatcher — embedded (SQLite) and cluster (NATS JetStream at 127.0.0.1:4222 + PostgreSQL at
// 127.0.0.1:5432) — each with 2 worker nodes in this process whose tasks run in their child processes, and
// through BullMQ on Redis at 127.0.0.1:6379 with 2 workers, in the same run. Prints one JSON line.
//
// The two differ in what a task is: AI Mass runs every task in a separate child process (isolation: a crash or
// leak cannot hurt the worker) and keeps task records in SQL; BullMQ runs its processor in the worker's own
// process and keeps jobs in Redis. The figures are the throughput each design gives for the smallest task.
// BullMQ runs three times: with its processor in the worker's process (its default), sandboxed in child processes
// it keeps (the isolation AI Mass gives every task), and in-process again on a Redis of its own that flushes every
// write to disk before answering (appendfsync always: the durability of AI Mass's task records, which PostgreSQL
// flushes on commit; the shared Redis keeps nothing on disk). That last run needs redis-server installed.
//
// BENCH_TASKS (default 10000: at 2000 a run lasts about a second and measures mostly its ramp) and BENCH_WINDOW
// (the JetStream broker's claim window, default 8) change the run; BENCH_ONLY=embedded,nats,bullmq,bullmq-sandboxed,bullmq-durable
// picks the parts to run (the others print 0).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker as BullWorker, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { builtinHandlers } from '../src/cli/commands/tasks.js';
import { type TaskBroker, type TaskEnded, TaskWorker, openEmbeddedBroker, openJetStreamBroker } from '../src/dispatch/index.js';
import { openPostgresDriver, openSqliteDriver } from '../src/storage/index.js';
import { freePort } from '../test/support/ports.js';
import { printResult, round } from './common.js';

const TASKS = Number(process.env.BENCH_TASKS ?? 10_000);
const WORKERS = 2;
const PG_URL = 'postgresql://postgres@127.0.0.1:5432/test';

interface Figures {
  tasksPerS: number;
  p50Ms: number;
  p99Ms: number;
}

function summarize(latencies: number[], seconds: number): Figures {
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))];
  return { tasksPerS: latencies.length / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** Submits TASKS no-ops as fast as the broker takes them, with 2 worker nodes running them, until all succeeded. */
async function throughAimass(open: () => Promise<{ submitter: TaskBroker; workerBrokers: TaskBroker[] }>): Promise<Figures> {
  const { submitter, workerBrokers } = await open();
  const workers = workerBrokers.map(
    (broker, i) => new TaskWorker({ broker, node: { id: `bench-${i}`, cpu: 2, memoryMb: 4096, kinds: ['any'], labels: {} }, handlers: builtinHandlers(), maxConcurrent: 2, claimWaitMs: 1000 }),
  );
  try {
    for (const w of workers) w.start();
    // warm the child processes up
    const warm = await Promise.all(Array.from({ length: 8 }, () => submitter.submit({ type: 'noop' })));
    await waitAll(submitter, new Set(warm.map((w) => w.task.id)));
    // Done when every task's outcome is recorded: the workers say so (task-ended comes after the write), as
    // BullMQ's completed events do for it, rather than the database being polled.
    const ended = new Set<string>();
    const failures: TaskEnded[] = [];
    let changed = () => undefined as void;
    const onEnded = (e: TaskEnded) => {
      ended.add(e.taskId);
      if (e.outcome !== 'succeeded') failures.push(e);
      changed();
    };
    for (const w of workers) w.on('task-ended', onEnded);
    const ids = new Set<string>();
    const t0 = performance.now();
    const chunk = 50;
    for (let i = 0; i < TASKS; i += chunk) {
      const batch = await submitter.submitMany(Array.from({ length: Math.min(chunk, TASKS - i) }, () => ({ type: 'noop' })));
      for (const b of batch) ids.add(b.task.id);
    }
    await new Promise<void>((resolve, reject) => {
      changed = () => {
        if (failures.length > 0) reject(new Error(`tasks failed: ${JSON.stringify(failures.slice(0, 3))}`));
        else if (ended.size >= TASKS && [...ids].every((id) => ended.has(id))) resolve();
      };
      changed();
    });
    const seconds = (performance.now() - t0) / 1000;
    const tasks = (await submitter.list({ states: ['succeeded'], limit: TASKS + 100 })).filter((t) => ids.has(t.id));
    const latencies = tasks.map((t) => Date.parse(t.endedAt!) - Date.parse(t.createdAt));
    return summarize(latencies, seconds);
  } finally {
    for (const w of workers) await w.stop();
    for (const b of new Set([submitter, ...workerBrokers])) await b.close();
  }
}

async function waitAll(broker: TaskBroker, ids: Set<string>): Promise<void> {
  while (ids.size) {
    for (const id of [...ids]) if ((await broker.get(id))?.state === 'succeeded') ids.delete(id);
    if (ids.size) await new Promise((r) => setTimeout(r, 50));
  }
}

async function embedded(): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'aimass-bench-dispatch-'));
  try {
    const uri = `sqlite:${join(dir, 'tasks.db')}`;
    return await throughAimass(async () => {
      const broker = await openEmbeddedBroker(await openSqliteDriver(uri), { maxQueued: TASKS * 2 });
      return { submitter: broker, workerBrokers: [broker, broker] };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function nats(): Promise<Figures> {
  const schema = `bench_dispatch_${process.pid}`;
  const stream = `BENCH_${process.pid}`;
  const open = async () =>
    openJetStreamBroker(await openPostgresDriver(PG_URL, { schema }), { servers: 'nats://127.0.0.1:4222', stream, subjectPrefix: `bench${process.pid}`, maxQueued: TASKS * 2, window: Number(process.env.BENCH_WINDOW ?? 8) });
  try {
    return await throughAimass(async () => {
      const submitter = await open();
      const workerBrokers = [await open(), await open()];
      return { submitter, workerBrokers };
    });
  } finally {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    const { connect } = await import('@nats-io/transport-node');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc.close();
  }
}

/**
 * BullMQ with 2 workers of concurrency 2. `sandboxed` runs the processor in child processes BullMQ keeps (its
 * sandboxed processors), as AI Mass runs every task: the same isolation. Otherwise the processor runs inside the
 * worker's own process, BullMQ's default and its fastest.
 */
async function bullmq(sandboxed: boolean, port = 6379): Promise<Figures> {
  const connections: Redis[] = [];
  const redis = () => {
    const r = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
    connections.push(r);
    return r;
  };
  const connection = redis();
  const name = `aimass-bench-${process.pid}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection: redis() });
  await events.waitUntilReady();
  const submittedAt = new Map<string, number>();
  const latencies: number[] = [];
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  events.on('completed', ({ jobId }) => {
    const t = submittedAt.get(jobId);
    if (t === undefined) return;
    latencies.push(Date.now() - t);
    if (latencies.length === TASKS) finished();
  });
  const processor = sandboxed ? join(import.meta.dirname, 'bullmq-noop-processor.cjs') : async () => ({ ok: true });
  const workers = Array.from({ length: WORKERS }, () => new BullWorker(name, processor, { connection: redis(), concurrency: 2 }));
  try {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    await warmUp(queue, events);
    const t0 = performance.now();
    const chunk = 50;
    for (let i = 0; i < TASKS; i += chunk) {
      const jobs = await queue.addBulk(Array.from({ length: Math.min(chunk, TASKS - i) }, () => ({ name: 'noop', data: {}, opts: { removeOnComplete: true, attempts: 3 } })));
      const now = Date.now();
      for (const j of jobs) submittedAt.set(j.id!, now);
    }
    await all;
    return summarize(latencies, (performance.now() - t0) / 1000);
  } finally {
    for (const w of workers) await w.close();
    await events.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    // Connections handed to BullMQ stay open until closed here; left open, they keep the process alive.
    for (const r of connections) r.disconnect();
  }
}

/** Runs 8 jobs to the end before the measured ones, as the AI Mass runs warm their child processes up. */
async function warmUp(queue: Queue, events: QueueEvents): Promise<void> {
  const jobs = await queue.addBulk(Array.from({ length: 8 }, () => ({ name: 'warm-up', data: {}, opts: { removeOnComplete: true } })));
  await Promise.all(jobs.map((j) => j.waitUntilFinished(events, 60_000)));
}

/**
 * BullMQ (processor in-process) on a Redis that keeps every write on disk before answering (appendonly,
 * appendfsync always): the durability AI Mass gives a task's record (PostgreSQL commits are flushed before they
 * are acknowledged), where the shared Redis at 6379 keeps nothing on disk. Starts its own redis-server on a free
 * port in a temporary folder; null when redis-server is not installed.
 */
async function bullmqDurable(): Promise<Figures | null> {
  const dir = mkdtempSync(join(tmpdir(), 'aimass-bench-redis-'));
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always'], { stdio: 'ignore' });
  const failed = new Promise<null>((resolve) => server.once('error', () => resolve(null)));
  try {
    const up = await Promise.race([failed, waitForRedis(port)]);
    if (up === null) return null;
    return await bullmq(false, port);
  } finally {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function waitForRedis(port: number): Promise<true> {
  for (const deadline = Date.now() + 10_000; ; ) {
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await r.connect();
      await r.ping();
      return true;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`the redis-server started for the durable BullMQ run did not answer on port ${port}: ${(e as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      r.disconnect();
    }
  }
}

const only = new Set((process.env.BENCH_ONLY ?? 'embedded,nats,bullmq,bullmq-sandboxed,bullmq-durable').split(','));
const skipped: Figures = { tasksPerS: 0, p50Ms: 0, p99Ms: 0 };
const e = only.has('embedded') ? await embedded() : skipped;
const n = only.has('nats') ? await nats() : skipped;
const b = only.has('bullmq') ? await bullmq(false) : skipped;
const bs = only.has('bullmq-sandboxed') ? await bullmq(true) : skipped;
const bd = only.has('bullmq-durable') ? await bullmqDurable() : skipped;
printResult({
  bench: 'dispatch',
  embedded_tasks_per_s: round(e.tasksPerS),
  nats_tasks_per_s: round(n.tasksPerS),
  bullmq_tasks_per_s: round(b.tasksPerS),
  p50_ms: round(n.p50Ms, 1),
  p99_ms: round(n.p99Ms, 1),
  embedded_p50_ms: round(e.p50Ms, 1),
  embedded_p99_ms: round(e.p99Ms, 1),
  bullmq_p50_ms: round(b.p50Ms, 1),
  bullmq_p99_ms: round(b.p99Ms, 1),
  bullmq_sandboxed_tasks_per_s: round(bs.tasksPerS),
  bullmq_sandboxed_p50_ms: round(bs.p50Ms, 1),
  // BullMQ on a Redis that flushes every write to disk before answering (null: redis-server not installed)
  bullmq_durable_tasks_per_s: bd ? round(bd.tasksPerS) : null,
  goal: { nats_tasks_per_s_min: 2000, at_least_bullmq: true },
  met: {
    nats_tasks_per_s: n.tasksPerS >= 2000,
    at_least_bullmq: n.tasksPerS >= b.tasksPerS,
    at_least_bullmq_sandboxed: n.tasksPerS >= bs.tasksPerS,
    at_least_bullmq_durable: bd ? n.tasksPerS >= bd.tasksPerS : null,
  },
  tasks: TASKS,
  workers: WORKERS,
  concurrency_per_worker: 2,
  note: 'AI Mass runs each task in a worker child process with SQL task records flushed to disk on commit; BullMQ keeps jobs in Redis and runs the processor in-process (bullmq_*) or in its sandbox child processes (bullmq_sandboxed_*), on the shared Redis with nothing on disk, or on one flushing every write (bullmq_durable_*)',
});
