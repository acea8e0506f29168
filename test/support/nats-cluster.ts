// Real nats-server processes for tests: one JetStream server, or a JetStream cluster of several, all on free
// loopback ports with their stores in a temp folder. Each server can be stopped (gracefully or killed) and started
// again on the same ports and store, so tests can restart a server or take one out of a cluster. Readiness is
// awaited, never slept for: a server is up when its monitoring endpoint answers, and a cluster is ready when
// JetStream's meta group has a leader and every peer is current.
//
// Servers left running when the test process exits (a crash, a forgotten close) are killed from an exit hook.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';

/** Where the Debian package puts the binary; AIMASS_NATS_SERVER overrides it. */
export const NATS_SERVER_BINARY = process.env.AIMASS_NATS_SERVER ?? '/usr/sbin/nats-server';

/** Why real nats-server processes cannot be started here, or undefined when they can. */
export function natsServerUnavailable(): string | undefined {
  return existsSync(NATS_SERVER_BINARY) ? undefined : `nats-server binary not found at ${NATS_SERVER_BINARY}; install nats-server or set AIMASS_NATS_SERVER`;
}

export interface TestNatsServer {
  /** The `--server_name`, e.g. `n1`. */
  readonly name: string;
  /** Client port on 127.0.0.1. */
  readonly port: number;
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  /** Monitoring (HTTP) port. */
  readonly monitorPort: number;
  /** JetStream store folder; kept across stop/start. */
  readonly storeDir: string;
  /** Process id while running. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Starts the server again on the same ports and store, and waits until it answers. */
  start(): Promise<void>;
  /** SIGTERM (a clean shutdown) or SIGKILL (a crash); resolves when the process has exited. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** GET on the monitoring endpoint, e.g. `/jsz`, parsed as JSON. */
  monitor<T = Record<string, unknown>>(endpoint: string): Promise<T>;
}

export interface TestNatsCluster {
  readonly servers: readonly TestNatsServer[];
  /** Client URLs of all servers, for `connect({ servers })`. */
  readonly urls: string[];
  /** Waits until the JetStream meta group has a leader and every running server is a current peer. */
  waitForJetStream(timeoutMs?: number): Promise<void>;
  /** Name of the server leading the JetStream meta group. */
  metaLeader(): Promise<string>;
  /** Stops every server and removes the stores. */
  close(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

interface ServerSpec {
  name: string;
  port: number;
  monitorPort: number;
  storeDir: string;
  cluster?: { name: string; port: number; routes: number[] };
}

class ServerProcess implements TestNatsServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  constructor(private readonly spec: ServerSpec) {}

  get name(): string {
    return this.spec.name;
  }
  get port(): number {
    return this.spec.port;
  }
  get url(): string {
    return `nats://127.0.0.1:${this.spec.port}`;
  }
  get monitorPort(): number {
    return this.spec.monitorPort;
  }
  get storeDir(): string {
    return this.spec.storeDir;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const { spec } = this;
    const args = ['-a', '127.0.0.1', '-p', String(spec.port), '-m', String(spec.monitorPort), '-js', '-sd', spec.storeDir, '--server_name', spec.name];
    if (spec.cluster) {
      const routes = spec.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(',');
      args.push('--cluster_name', spec.cluster.name, '--cluster', `nats://127.0.0.1:${spec.cluster.port}`, '--routes', routes);
    }
    const child = spawn(NATS_SERVER_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    running.add(child);
    this.log = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      // Only the tail is kept, for the error message of a server that fails to start.
      this.log = (this.log + text).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', () => {
        running.delete(child);
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (text: string) => {
        if (text.includes('Server is ready')) {
          child.stderr!.off('data', onData);
          resolve();
        }
      };
      child.stderr!.on('data', onData);
      child.on('error', (e) => reject(new Error(`could not start ${NATS_SERVER_BINARY}: ${e.message}`)));
      child.on('exit', (code, signal) => reject(new Error(`nats-server ${spec.name} exited (${signal ?? code}) while starting:\n${this.log}`)));
    });
    await withTimeout(ready, 10_000, () => `nats-server ${spec.name} did not become ready in 10 s:\n${this.log}`);
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await withTimeout(this.exited, 15_000, () => `nats-server ${this.name} did not exit after ${signal}`);
  }

  async monitor<T>(endpoint: string): Promise<T> {
    const response = await fetch(`http://127.0.0.1:${this.spec.monitorPort}${endpoint}`);
    if (!response.ok) throw new Error(`GET ${endpoint} on ${this.name}: HTTP ${response.status}`);
    return (await response.json()) as T;
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message())), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One JetStream server on a free loopback port, store in a fresh temp folder; `close()` stops it and removes it. */
export async function startNatsServer(options: { name?: string } = {}): Promise<TestNatsServer & { close(): Promise<void> }> {
  const root = await mkdtemp(path.join(tmpdir(), 'aimass-nats-'));
  const server = new ServerProcess({
    name: options.name ?? 'single',
    port: await freePort(),
    monitorPort: await freePort(),
    storeDir: path.join(root, 'store'),
  });
  try {
    await server.start();
  } catch (e) {
    await rm(root, { recursive: true, force: true });
    throw e;
  }
  return Object.assign(server, {
    close: async () => {
      await server.stop('SIGKILL');
      await rm(root, { recursive: true, force: true });
    },
  });
}

interface JszMeta {
  meta_cluster?: { leader?: string; cluster_size?: number; replicas?: { name: string; current: boolean; offline?: boolean }[] };
}

/** A JetStream cluster of `size` servers (`n1`, `n2`, …) routed to each other on loopback, ready when it returns. */
export async function startNatsCluster(size = 3, options: { clusterName?: string } = {}): Promise<TestNatsCluster> {
  const root = await mkdtemp(path.join(tmpdir(), 'aimass-nats-cluster-'));
  const clusterName = options.clusterName ?? `aimass-test-${process.pid}`;
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort(), monitor: await freePort() })));
  const servers = ports.map(
    (p, i) =>
      new ServerProcess({
        name: `n${i + 1}`,
        port: p.client,
        monitorPort: p.monitor,
        storeDir: path.join(root, `n${i + 1}`),
        cluster: { name: clusterName, port: p.route, routes: ports.filter((_, j) => j !== i).map((q) => q.route) },
      }),
  );

  const cluster: TestNatsCluster = {
    servers,
    urls: servers.map((s) => s.url),
    async metaLeader() {
      const up = servers.find((s) => s.running);
      if (!up) throw new Error('no server of the cluster is running');
      const jsz = await up.monitor<JszMeta>('/jsz');
      const leader = jsz.meta_cluster?.leader;
      if (!leader) throw new Error('the JetStream meta group has no leader');
      return leader;
    },
    async waitForJetStream(timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last = 'not asked yet';
      for (;;) {
        const up = servers.filter((s) => s.running);
        try {
          const views = await Promise.all(up.map(async (s) => ({ name: s.name, meta: (await s.monitor<JszMeta>('/jsz')).meta_cluster })));
          const leaders = new Set(views.map((v) => v.meta?.leader));
          const leader = views.find((v) => v.meta?.leader !== undefined && v.name === v.meta.leader);
          // The leader lists the others as replicas; every running one must be current.
          const peers = leader?.meta?.replicas ?? [];
          const current = up.every((s) => s.name === leader?.name || peers.some((r) => r.name === s.name && r.current && !r.offline));
          if (leader && leaders.size === 1 && current) return;
          last = JSON.stringify(views);
        } catch (e) {
          last = (e as Error).message;
        }
        if (Date.now() > deadline) throw new Error(`JetStream cluster not ready after ${timeoutMs} ms: ${last}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async close() {
      await Promise.all(servers.map((s) => s.stop('SIGKILL')));
      await rm(root, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(servers.map((s) => s.start()));
    await cluster.waitForJetStream();
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}
