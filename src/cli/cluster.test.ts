// Pins cluster mode from the command line with real processes: a private nats-server, `aimass worker --join`
// as a child process sharing the SQLite metadata file, `aimass tasks submit --nats … --wait` run by that worker,
// `aimass cluster status` listing the node with its load and the task counts, and `aimass cluster drain` making
// the worker finish, leave the membership and exit 0.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { aimass, aimassBin, assertFailed, jsonOf } from '../../test/support/cli.js';
import { natsServerUnavailable, startNatsServer, type TestNatsServer } from '../../test/support/nats-cluster.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-cluster');
const unavailable = natsServerUnavailable();

interface Status {
  nodes: { id: string; health: string; state: string; capabilities: { cpuThreads: number } }[];
  tasks: Record<string, number>;
}

describe('aimass worker --join, cluster status and drain', { skip: unavailable !== undefined && !process.env.CI ? unavailable : false }, () => {
  let server: (TestNatsServer & { close(): Promise<void> }) | undefined;
  let env: Record<string, string>;
  let worker: ChildProcess | undefined;
  let log = '';

  before(async () => {
    server = await startNatsServer();
    env = { AIMASS_HOME: await tempDir(), AIMASS_NATS_URL: server.url };
  });
  after(async () => {
    worker?.kill('SIGKILL');
    await server?.close();
  });

  test('a joined worker runs a task submitted through NATS and shows in cluster status', async () => {
    worker = spawn(process.execPath, [aimassBin, 'worker', '--join', server!.url, '--id', 'node-a', '--cpu', '2'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    worker.stderr!.on('data', (d) => (log += d));
    const done = jsonOf<{ state: string; history: { node: string }[] }>(await aimass(['--json', 'tasks', 'submit', 'noop', '--nats', server!.url, '--wait'], env, 60_000));
    assert.equal(done.state, 'succeeded', log);
    assert.equal(done.history[0].node, 'node-a');
    const status = jsonOf<Status>(await aimass(['--json', 'cluster', 'status'], env));
    const node = status.nodes.find((n) => n.id === 'node-a');
    assert.ok(node, JSON.stringify(status));
    assert.equal(node.health, 'alive');
    assert.equal(node.state, 'active');
    assert.equal(node.capabilities.cpuThreads, 2);
    assert.equal(status.tasks.succeeded, 1);
  });

  test('drain makes the worker finish, leave and exit 0; an unknown node is NOT_FOUND', async () => {
    const exited = new Promise<number | null>((resolve) => worker!.once('exit', resolve));
    jsonOf(await aimass(['--json', 'cluster', 'drain', 'node-a'], env));
    assert.equal(await exited, 0, log);
    worker = undefined;
    const status = jsonOf<Status>(await aimass(['--json', 'cluster', 'status'], env));
    assert.ok(!status.nodes.some((n) => n.id === 'node-a'), JSON.stringify(status));
    assertFailed(await aimass(['cluster', 'drain', 'node-zz'], env), 1, /error \[NOT_FOUND\]/);
  });

  test('without a NATS URL, cluster commands say how to give one', async () => {
    assertFailed(await aimass(['cluster', 'status'], { AIMASS_HOME: env.AIMASS_HOME, AIMASS_NATS_URL: '' }), 1, /error \[INVALID_ARGUMENT\]: no NATS URL/);
  });
});
