/**
 * `aimass serve --processes N`: the HTTP side of the server in N processes sharing one port (node:cluster: the
 * primary accepts each connection and hands it to the next process in turn). One Node process answers HTTP on
 * one thread, and at thousands of small inference requests a second that thread is what limits a server, not
 * the model; on a 2-core machine two processes answered about 40% more requests a second than one.
 *
 * The primary holds no HTTP server and no models. It starts the processes (and reports the address once all
 * listen), starts another in place of one that dies (and gives up on a crash loop), runs what must run once
 * (the task slots of the embedded dispatcher, scheduled backups: serve.ts), sums every process's metrics for
 * GET /metrics, and stops them all on SIGINT or SIGTERM, letting each finish its requests in flight.
 *
 * Each HTTP process is a whole API server over the same stores with its own model cache: a model is loaded in
 * every process that serves it (its memory times N), and a moved alias reaches each process through its cache's
 * registry refresh, as it reaches a server in another process.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { AimassError } from '../core/index.js';

/** Set in the environment of the HTTP processes a primary forks. */
export const SERVE_PROCESS_ENV = 'AIMASS_SERVE_PROCESS';

/** Processes that exit this soon after starting count towards a crash loop. */
const EARLY_EXIT_MS = 10_000;
/** Early exits in a row after which the primary stops replacing processes and fails. */
const CRASH_LOOP = 3;
/** How long an HTTP process may take to finish its requests and close after being told to stop. */
const STOP_GRACE_MS = 30_000;
const METRICS_TIMEOUT_MS = 10_000;

type ToPrimary = { type: 'aimass:metrics-request'; id: number };
type ToProcess = { type: 'aimass:metrics'; id: number; text?: string; error?: string } | { type: 'aimass:stop' };

/** True in an HTTP process of a `serve --processes N` primary. */
export function isServeProcess(): boolean {
  return cluster.isWorker && process.env[SERVE_PROCESS_ENV] === '1';
}

// --- the HTTP processes ------------------------------------------------------------------------------------

/** In an HTTP process: offers `registry` to the primary's sums of every process's metrics. */
export function offerMetricsToPrimary(registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // installs prom-client's answer to the primary's requests for this process's metrics
}

/**
 * In an HTTP process: how GET /metrics gets the sum of every process from the primary (this process's own
 * metrics when the primary is gone).
 */
export function metricsFromPrimary(): (local: Registry) => Promise<string> {
  let next = 1;
  const waiting = new Map<number, (m: Extract<ToProcess, { type: 'aimass:metrics' }>) => void>();
  process.on('message', (m: ToProcess) => {
    if (m?.type === 'aimass:metrics') waiting.get(m.id)?.(m);
  });
  return (local) => {
    if (!process.connected) return local.metrics();
    const id = next++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new AimassError('UNAVAILABLE', `the server's primary process did not sum the metrics within ${METRICS_TIMEOUT_MS / 1000} s; retry`));
      }, METRICS_TIMEOUT_MS);
      waiting.set(id, (m) => {
        waiting.delete(id);
        clearTimeout(timer);
        if (m.text !== undefined) resolve(m.text);
        else reject(new AimassError('INTERNAL', `the server's primary process could not sum the metrics: ${m.error ?? 'no reason given'}`));
      });
      const request: ToPrimary = { type: 'aimass:metrics-request', id };
      process.send!(request);
    });
  };
}

/**
 * In an HTTP process: resolves when it is to stop — the primary says so, the primary is gone, or SIGTERM comes
 * to this process. SIGINT is ignored: Ctrl-C in a terminal reaches every process of the group, and the primary
 * stops them in order. A second SIGTERM calls `force`.
 */
export function stopRequested(force: () => void): Promise<string> {
  process.on('SIGINT', () => undefined);
  return new Promise((resolve) => {
    let stopped = false;
    const stop = (why: string) => {
      if (stopped) return;
      stopped = true;
      process.once('SIGTERM', force);
      resolve(why);
    };
    process.on('message', (m: ToProcess) => {
      if (m?.type === 'aimass:stop') stop('stop');
    });
    process.once('disconnect', () => stop('primary gone'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

/** In an HTTP process, once closed: lets go of the primary's channel so that the process can exit. */
export function leavePrimary(): void {
  if (process.connected) process.disconnect();
}

// --- the primary ---------------------------------------------------------------------------------------------

export interface ServeProcessesOptions {
  processes: number;
  /** Where the processes listen (for the URL reported). */
  host: string;
  /** Told of processes that died and were replaced. */
  onReplace?: (pid: number | undefined, how: string) => void;
}

export interface ServeProcesses {
  /** http://host:port, once every process listens. */
  url: string;
  /** Rejects when processes keep dying (a crash loop) and the primary gave up. */
  failed: Promise<never>;
  /** Tells every process to stop, waits for them (SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** Kills every process at once. */
  kill(): void;
}

/**
 * Forks `processes` HTTP processes of this same command (they find SERVE_PROCESS_ENV set) and resolves once all
 * listen. If one exits before that (a port in use, a bad store URI), the others are killed and it rejects; the
 * process printed its own error.
 */
export async function startServeProcesses(o: ServeProcessesOptions): Promise<ServeProcesses> {
  if (!cluster.isPrimary) throw new AimassError('INTERNAL', 'only the primary process starts serve processes');
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let earlyExits = 0;
  let fail!: (e: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const started = new Map<Worker, number>();

  const fork = (): Worker => {
    const worker = cluster.fork({ [SERVE_PROCESS_ENV]: '1' });
    started.set(worker, Date.now());
    worker.on('message', (m: ToPrimary) => {
      if (m?.type !== 'aimass:metrics-request') return;
      aggregator.clusterMetrics().then(
        (text) => send(worker, { type: 'aimass:metrics', id: m.id, text }),
        (e: Error) => send(worker, { type: 'aimass:metrics', id: m.id, error: e.message }),
      );
    });
    return worker;
  };

  // Start them all and wait until each listens, or until one exits first.
  const listening = new Set<Worker>();
  let address: { address: string; port: number } | undefined;
  await new Promise<void>((resolve, reject) => {
    const onListening = (worker: Worker, a: { address: string; port: number }) => {
      listening.add(worker);
      address ??= a;
      if (listening.size === o.processes) done();
    };
    const onExit = (worker: Worker, code: number | null, signal: string | null) => {
      if (listening.has(worker)) return;
      done(new AimassError('UNAVAILABLE', `an HTTP process of the server exited while starting (${signal ?? `code ${code}`}); its error is above`));
    };
    const done = (e?: Error) => {
      cluster.off('listening', onListening);
      cluster.off('exit', onExit);
      if (e) {
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
        reject(e);
      } else resolve();
    };
    cluster.on('listening', onListening);
    cluster.on('exit', onExit);
    for (let i = 0; i < o.processes; i++) fork();
  });

  // From now on, a process that dies is replaced, unless they keep dying.
  cluster.on('exit', (worker, code, signal) => {
    const startedAt = started.get(worker) ?? 0;
    started.delete(worker);
    if (stopping) return;
    const how = signal ?? `code ${code}`;
    earlyExits = Date.now() - startedAt < EARLY_EXIT_MS ? earlyExits + 1 : 0;
    if (earlyExits >= CRASH_LOOP) {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      fail(new AimassError('UNAVAILABLE', `HTTP processes of the server exited ${CRASH_LOOP} times in a row within ${EARLY_EXIT_MS / 1000} s of starting (last: ${how}); stopped`));
      return;
    }
    o.onReplace?.(worker.process.pid, how);
    fork();
  });

  const host = address!.address.includes(':') ? `[${address!.address}]` : address!.address;
  return {
    url: `http://${o.host === '0.0.0.0' || o.host === '::' ? host : o.host.includes(':') ? `[${o.host}]` : o.host}:${address!.port}`,
    failed,
    async stop() {
      stopping = true;
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && !w.isDead());
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              const timer = setTimeout(() => w.process.kill('SIGKILL'), STOP_GRACE_MS);
              w.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              send(w, { type: 'aimass:stop' });
            }),
        ),
      );
    },
    kill() {
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    },
  };
}

function send(worker: Worker, message: ToProcess): void {
  if (!worker.isConnected()) return;
  worker.send(message, undefined, () => undefined);
}
