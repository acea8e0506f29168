/**
 * `aimass serve`: the HTTP API (registry and runs under /api/v1, OpenAPI at /docs) over the configured stores —
 * the embedded default is SQLite and file:// under AIMASS_HOME — optionally backing the registry up on a
 * schedule. Runs until SIGINT or SIGTERM, then stops taking requests, lets the ones in flight finish, waits for a
 * running backup, unloads the served models and closes the stores. Models are served for inference under /v2
 * (Open Inference Protocol v2), each loaded from the registry on its first request.
 *
 * It also runs queued tasks (training runs, backups, … submitted with `aimass tasks submit` or by other commands)
 * on the embedded dispatcher, a task at a time by default, so one process is the whole platform on a laptop;
 * `--task-slots 0` turns that off (e.g. when separate `aimass worker` nodes run them).
 *
 * `--processes N` answers HTTP from N processes sharing the port (serve-cluster.ts); this process then runs the
 * task slots and backups, and the others serve.
 */
import { availableParallelism, hostname } from 'node:os';
import type { Command } from 'commander';
import { buildApp, metricsRegistryOf } from '../../api/index.js';
import { AimassError, createLogger } from '../../core/index.js';
import { BackupScheduler, defaultBackupUri, openRegistry, parseInterval } from '../../registry/index.js';
import { ModelCache, type ModelCacheOptions } from '../../serve/index.js';
import { type ArtifactStore, openArtifactStore } from '../../storage/index.js';
import { TaskWorker } from '../../dispatch/index.js';
import { nextSignal } from '../api-server.js';
import { isServeProcess, leavePrimary, metricsFromPrimary, offerMetricsToPrimary, startServeProcesses, stopRequested } from '../serve-cluster.js';
import type { CliContext } from '../context.js';
import { wholeNumber } from '../output.js';
import { builtinHandlers, openTaskBroker } from './tasks.js';

interface ServeOptions {
  port?: string;
  host?: string;
  backupEvery?: string;
  backupKeep?: string;
  backupTo?: string;
  workers?: string;
  intraOpThreads?: string;
  maxBatchSize?: string;
  maxQueueDelayUs?: string;
  maxRequestBytes?: string;
  taskSlots?: string;
  processes?: string;
}

const DEFAULT_BACKUP_KEEP = 10;

/** `--processes`: a whole number ≥ 1, or `auto` for one per core (default 1). */
function processCount(text: string | undefined): number {
  if (text === undefined) return 1;
  return text === 'auto' ? availableParallelism() : wholeNumber(text, '--processes', 1, 'auto (one per core)');
}

export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('serve the HTTP API (models, versions, aliases, runs; docs at /docs) until Ctrl-C')
    .option('-p, --port <n>', 'port to listen on (default $AIMASS_PORT or 8080; 0 picks a free one)')
    .option('--host <host>', 'interface to bind (default $AIMASS_HOST or 127.0.0.1)')
    .option('--backup-every <interval>', 'back the registry up on this interval, e.g. 6h or 1d')
    .option('--backup-keep <n>', `with --backup-every: keep the newest n backups (default ${DEFAULT_BACKUP_KEEP})`)
    .option('--backup-to <uri>', 'with --backup-every: artifact store URI to back up into (default file://$AIMASS_HOME/backups)')
    .option('--workers <n>', 'worker threads per served model version, each with its own ONNX Runtime session (default 1)')
    .option('--intra-op-threads <n>', 'ONNX Runtime threads per worker (default 1)')
    .option('--max-batch-size <n>', 'most samples merged into one batch by dynamic batching; 1 turns batching off (default 16)')
    .option('--max-request-bytes <size>', 'largest inference request body, e.g. 16MiB or 1000000; larger ones are refused with 413 (default 64MiB)')
    .option('--max-queue-delay-us <n>', 'longest a request waits for others to share its batch while every worker is busy, in µs (default 500)')
    .option('--task-slots <n>', 'queued tasks (training runs, backups, …) this server runs at once on the embedded dispatcher; 0: none (default 1)')
    .option('--processes <n>', 'HTTP processes sharing the port, each loading the models it serves, or auto: one per core; more than 1 serves more requests when the HTTP thread is the limit (default 1)')
    .action(async (o: ServeOptions) => {
      const processes = processCount(o.processes);
      const plan = servePlan(context, o);
      if (isServeProcess()) return serveProcess(plan);
      if (processes > 1) return servePrimary(context, plan, processes);
      const http = await openHttp(plan);
      let once: RunOnce | undefined;
      try {
        once = await runOnce(plan, http.registry);
        context.stderr.write(`AI Mass API listening on ${http.url} (docs at ${http.url}/docs, inference at ${http.url}/v2)${banner(plan, once)}; Ctrl-C stops\n`);
        const signal = await nextSignal(() => {
          context.stderr.write('stopping now, without waiting for requests or backups in flight\n');
          process.exit(1);
        });
        context.stderr.write(`${signal}: finishing requests${once.tasks ? ' and tasks' : ''} in flight and closing\n`);
        await http.stop();
      } finally {
        await once?.close();
        await http.close();
      }
    });
}

/** What `aimass serve` was asked for, checked. */
interface ServePlan {
  config: ReturnType<CliContext['config']>;
  env: CliContext['env'];
  port: number;
  host: string;
  backup?: { every: string; everyMs: number; keep: number; to?: string };
  serving: ModelCacheOptions;
  maxRequestBytes?: number;
  taskSlots: number;
  logger: ReturnType<typeof createLogger>;
}

function servePlan(context: CliContext, o: ServeOptions): ServePlan {
  const config = context.config();
  return {
    config,
    env: context.env,
    port: o.port === undefined ? config.port : portNumber(o.port),
    host: o.host ?? config.host,
    backup: backupPlan(o),
    serving: servingOptions(o),
    maxRequestBytes: o.maxRequestBytes === undefined ? undefined : byteSize(o.maxRequestBytes, '--max-request-bytes'),
    taskSlots: o.taskSlots === undefined ? 1 : wholeNumber(o.taskSlots, '--task-slots', 0),
    logger: createLogger({ level: config.logLevel, name: 'api' }),
  };
}

/** The API server listening (with the model cache /v2 serves from) and the registry under it. */
interface OpenHttp {
  url: string;
  registry: Awaited<ReturnType<typeof openRegistry>>;
  /** Stops taking requests and lets the ones in flight finish (once; later calls wait for the same). */
  stop(): Promise<void>;
  /** Stops (if not yet), then unloads the models and closes the registry. */
  close(): Promise<void>;
}

/** `inCluster`: an HTTP process of a `--processes N` server, whose GET /metrics sums every process's. */
async function openHttp(plan: ServePlan, inCluster = false): Promise<OpenHttp> {
  const { logger, port, host } = plan;
  const registry = await openRegistry(plan.config, plan.env);
  const modelCache = new ModelCache(registry, {
    ...plan.serving,
    // a moved alias (e.g. `aimass models alias` or a rollback from another process) reaches requests within a second
    refreshIntervalMs: 1000,
    onRefreshError: (e, route) => logger.warn({ err: e, route }, `could not switch ${route} to the version it now names; the loaded one keeps serving`),
  });
  const app = buildApp({ registry, logger, modelCache, maxRequestBytes: plan.maxRequestBytes, gatherMetrics: inCluster ? metricsFromPrimary() : undefined });
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= app.close());
  const close = async () => {
    await stop();
    await modelCache.close();
    await registry.close();
  };
  try {
    if (inCluster) offerMetricsToPrimary(metricsRegistryOf(app)!);
    const url = await app.listen({ port, host }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') throw new AimassError('UNAVAILABLE', `port ${port} on ${host} is already in use; stop what holds it or choose another with --port`, { port, host });
      if (e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND') throw new AimassError('INVALID_ARGUMENT', `cannot listen on host "${host}" (${e.code}); give an address of this machine with --host`, { host });
      throw e;
    });
    return { url, registry, stop, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** What one server runs once, however many HTTP processes it has: scheduled backups and the task slots. */
interface RunOnce {
  tasks?: { worker: TaskWorker; close(): Promise<void> };
  scheduler?: BackupScheduler;
  close(): Promise<void>;
}

async function runOnce(plan: ServePlan, registry?: OpenHttp['registry']): Promise<RunOnce> {
  const { backup, logger } = plan;
  let target: ArtifactStore | undefined;
  let scheduler: BackupScheduler | undefined;
  let tasks: RunOnce['tasks'];
  let ownRegistry: OpenHttp['registry'] | undefined;
  const close = async () => {
    await tasks?.close();
    await scheduler?.stop();
    await target?.close();
    await ownRegistry?.close();
  };
  try {
    if (backup) {
      const uri = backup.to ?? defaultBackupUri(plan.config);
      target = await openArtifactStore(uri);
      const from = registry ?? (ownRegistry = await openRegistry(plan.config, plan.env));
      scheduler = new BackupScheduler(
        from,
        target,
        backup.everyMs,
        backup.keep,
        (s, pruned) => logger.info({ backup: s.id, copied: s.copied, bytes: s.bytes, pruned }, `backup ${s.id} written to ${uri}`),
        (e) => logger.error({ err: e }, `backup into ${uri} failed; the next one is tried on schedule`),
      );
      scheduler.start();
    }
    if (plan.taskSlots > 0) tasks = await startTaskWorker(plan.config, plan.taskSlots, logger);
    return { tasks, scheduler, close };
  } catch (e) {
    await close();
    throw e;
  }
}

function banner(plan: ServePlan, once: RunOnce): string {
  return `${once.scheduler ? `; backing up every ${plan.backup?.every}` : ''}${once.tasks ? `; running queued tasks (${plan.taskSlots} at a time)` : ''}`;
}

/** An HTTP process of a `--processes N` server: the API and its model cache, until the primary says stop. */
async function serveProcess(plan: ServePlan): Promise<void> {
  try {
    const http = await openHttp(plan, true);
    try {
      await stopRequested(() => process.exit(1));
      await http.stop();
    } finally {
      await http.close();
    }
  } finally {
    leavePrimary(); // also after a failed start, or the open channel would keep this process alive
  }
}

/** The primary of a `--processes N` server: starts the HTTP processes, runs backups and tasks, stops them all. */
async function servePrimary(context: CliContext, plan: ServePlan, processes: number): Promise<void> {
  const { logger } = plan;
  const group = await startServeProcesses({
    processes,
    host: plan.host,
    onReplace: (pid, how) => logger.error({ pid, how }, `HTTP process ${pid ?? ''} exited (${how}); started another in its place`),
  });
  let once: RunOnce | undefined;
  try {
    once = await runOnce(plan);
    const { url } = group;
    context.stderr.write(`AI Mass API listening on ${url} (docs at ${url}/docs, inference at ${url}/v2; ${processes} HTTP processes)${banner(plan, once)}; Ctrl-C stops\n`);
    const signal = await Promise.race([
      nextSignal(() => {
        context.stderr.write('stopping now, without waiting for requests or backups in flight\n');
        group.kill();
        process.exit(1);
      }),
      group.failed,
    ]);
    context.stderr.write(`${signal}: finishing requests${once.tasks ? ' and tasks' : ''} in flight and closing\n`);
  } finally {
    await group.stop();
    await once?.close();
  }
}

/** A task worker node on the embedded dispatcher (the configured metadata store), as `aimass worker` runs one. */
async function startTaskWorker(config: ReturnType<CliContext['config']>, slots: number, logger: ReturnType<typeof createLogger>): Promise<{ worker: TaskWorker; close(): Promise<void> }> {
  const broker = await openTaskBroker(config);
  const node = { id: `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}-serve`, cpu: config.threads, memoryMb: 4096, kinds: ['any' as const], labels: {} };
  const worker = new TaskWorker({ broker, node, handlers: builtinHandlers(), logger, maxConcurrent: slots });
  worker.on('task-started', (t: { taskId: string }) => logger.info({ task: t.taskId }, `task ${t.taskId} started`));
  worker.on('task-ended', (t: { taskId: string; outcome?: string }) => logger.info({ task: t.taskId, outcome: t.outcome }, `task ${t.taskId} ended: ${t.outcome ?? ''}`));
  worker.start();
  return {
    worker,
    close: async () => {
      await worker.stop({ drain: true });
      await broker.close();
    },
  };
}

function portNumber(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new AimassError('INVALID_ARGUMENT', `--port must be a whole number from 0 to 65535, got "${text}"`);
  return Number(text);
}

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

/** "1000000", "512KiB", "16MB", … as a whole number of bytes ≥ 1. */
function byteSize(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const bytes = m && m[2].toLowerCase() in BYTE_UNITS ? Math.floor(Number(m[1]) * BYTE_UNITS[m[2].toLowerCase()]) : NaN;
  if (!(bytes >= 1) || !Number.isSafeInteger(bytes)) throw new AimassError('INVALID_ARGUMENT', `${flag} must be a size in bytes, e.g. 1000000, 512KiB or 16MiB, got "${text}"`);
  return bytes;
}

/** ModelCache options from the command line; what is not given keeps ModelCache's default. */
function servingOptions(o: ServeOptions): ModelCacheOptions {
  const whole = (text: string | undefined, flag: string, min: number): number | undefined => (text === undefined ? undefined : wholeNumber(text, flag, min));
  const maxBatchSize = whole(o.maxBatchSize, '--max-batch-size', 1);
  const maxQueueDelayUs = whole(o.maxQueueDelayUs, '--max-queue-delay-us', 0);
  return {
    workers: whole(o.workers, '--workers', 1),
    intraOpNumThreads: whole(o.intraOpThreads, '--intra-op-threads', 1),
    batching: { ...(maxBatchSize === undefined ? {} : { maxBatchSize }), ...(maxQueueDelayUs === undefined ? {} : { maxQueueDelayUs }) },
  };
}

function backupPlan(o: ServeOptions): ServePlan['backup'] {
  if (o.backupEvery === undefined) {
    const stray = o.backupKeep !== undefined ? '--backup-keep' : o.backupTo !== undefined ? '--backup-to' : undefined;
    if (stray) throw new AimassError('INVALID_ARGUMENT', `${stray} needs --backup-every, e.g. --backup-every 6h`);
    return undefined;
  }
  const keep = o.backupKeep === undefined ? DEFAULT_BACKUP_KEEP : Number(o.backupKeep);
  if (!Number.isInteger(keep) || keep < 1) throw new AimassError('INVALID_ARGUMENT', `--backup-keep must be a positive whole number, got "${o.backupKeep}"`);
  return { every: o.backupEvery, everyMs: parseInterval(o.backupEvery), keep, to: o.backupTo };
}
