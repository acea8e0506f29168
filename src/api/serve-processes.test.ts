// `aimass serve --processes 2` end to end: the real executable, a model imported into a fresh AIMASS_HOME, two
// HTTP processes behind one port answering inference over separate connections, GET /metrics summing both, a
// killed HTTP process replaced, queued tasks run by the primary, and SIGTERM stopping every process.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, request } from 'undici';
import { aimass, aimassBin, jsonOf } from '../../test/support/cli.js';
import { isRunning, procStat } from '../../test/support/processes.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('api-serve-processes');
const MODEL = fileURLToPath(new URL('../../test/fixtures/pytorch-mlp.onnx', import.meta.url));
const linux = process.platform === 'linux';

function start(home: string, args: string[]): { child: ChildProcess; url: Promise<string>; stderr: () => string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMASS_')));
  const child = spawn(process.execPath, [aimassBin, 'serve', '--port', '0', ...args], { env: { ...env, AIMASS_HOME: home, AIMASS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL within 60 s; stderr:\n${stderr}`)), 60_000);
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`aimass serve exited with ${code} before listening; stderr:\n${stderr}`)));
  });
  url.catch(() => {});
  return { child, url, stderr: () => stderr };
}

/** Pids of the HTTP processes of the server `pid` (its children running `serve`), from /proc. */
function httpProcesses(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(procStat(entry)?.[1]);
      if (ppid === pid && readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes('serve')) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a - b);
}

/** One inference request of the fixture's input, over its own connection. */
async function inferOnce(url: string): Promise<{ status: number; body: { outputs?: { name: string; shape: number[] }[]; error?: string } }> {
  const client = new Client(url);
  try {
    const res = await client.request({
      path: '/v2/models/mlp/infer',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 6], data: [0.1, -0.2, 0.3, 0.4, -0.5, 0.6] }] }),
      headersTimeout: 20_000,
    });
    return { status: res.statusCode, body: (await res.body.json()) as { outputs?: { name: string; shape: number[] }[] } };
  } finally {
    await client.close();
  }
}

async function metric(url: string, line: RegExp): Promise<number | undefined> {
  const text = await (await request(`${url}/metrics`)).body.text();
  const m = line.exec(text);
  return m ? Number(m[1]) : undefined;
}

test('aimass serve --processes 2: two HTTP processes on one port, metrics summed, a killed one replaced, SIGTERM stops all', { skip: !linux && 'reads /proc', timeout: 180_000 }, async () => {
  const home = await tempDir();
  const imported = jsonOf<{ model: string; version: number; signature: { inputs: { name: string }[] } }>(await aimass(['models', 'import', 'mlp', MODEL, '--json'], { AIMASS_HOME: home }));
  assert.equal(imported.model, 'mlp');
  assert.deepEqual(
    imported.signature.inputs.map((i) => i.name),
    ['input'],
  );
  const server = start(home, ['--processes', '2']);
  try {
    const url = await server.url;
    assert.match(server.stderr(), /2 HTTP processes\); running queued tasks \(1 at a time\)/);
    const workers = httpProcesses(server.child.pid!);
    assert.equal(workers.length, 2, `two HTTP processes under the primary, found ${workers}`);

    // each new connection goes to the next process in turn: both load the model and answer
    const answers = await Promise.all(Array.from({ length: 12 }, () => inferOnce(url)));
    for (const a of answers) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.deepEqual(
        a.body.outputs?.map((o) => [o.name, o.shape]),
        [['output', [1, 3]]],
      );
    }
    // GET /metrics answers for the whole server, whichever process takes it
    for (let i = 0; i < 4; i++) {
      assert.equal(await metric(url, /^aimass_inference_requests_total\{model="mlp",version="1",status="200"\} (\d+)$/m), 12);
      assert.equal(await metric(url, /^aimass_models_loaded (\d+)$/m), 2, 'the model is loaded in both processes');
    }

    // the primary runs queued tasks; its HTTP processes do not
    const done = jsonOf<{ state: string }>(await aimass(['--json', 'tasks', 'submit', 'noop', '--wait'], { AIMASS_HOME: home }, 60_000));
    assert.equal(done.state, 'succeeded');

    // an HTTP process that dies is replaced, and the server keeps answering
    process.kill(workers[0], 'SIGKILL');
    let now: number[] = [];
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      now = httpProcesses(server.child.pid!);
      if (now.length === 2 && !now.includes(workers[0])) break;
    }
    assert.equal(now.length, 2, `a replacement started: ${now}`);
    assert.ok(!now.includes(workers[0]));
    const after = await Promise.all(Array.from({ length: 6 }, () => inferOnce(url)));
    for (const a of after) assert.equal(a.status, 200, JSON.stringify(a.body));

    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, server.stderr());
    assert.match(server.stderr(), /SIGTERM: finishing requests and tasks in flight and closing/);
    for (const pid of now) {
      for (const deadline = Date.now() + 10_000; isRunning(pid) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
      assert.equal(isRunning(pid), false, `HTTP process ${pid} stopped with the server`);
    }
  } finally {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  }
});

test('aimass serve --processes auto starts one HTTP process per core', { skip: !linux && 'reads /proc', timeout: 120_000 }, async () => {
  const cores = availableParallelism();
  const server = start(await tempDir(), ['--processes', 'auto', '--task-slots', '0']);
  try {
    await server.url;
    // one core: no HTTP processes of its own, the server answers in its one process as without --processes
    if (cores > 1) assert.match(server.stderr(), new RegExp(`; ${cores} HTTP processes\\)`));
    assert.equal(httpProcesses(server.child.pid!).length, cores > 1 ? cores : 0);
  } finally {
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    await exited;
  }
});

test('aimass serve --processes 2 on a port in use fails with the reason, leaving no process behind', { skip: !linux && 'reads /proc', timeout: 120_000 }, async () => {
  const home = await tempDir();
  const first = start(home, ['--task-slots', '0']);
  try {
    const port = new URL(await first.url).port;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMASS_')));
    const child = spawn(process.execPath, [aimassBin, 'serve', '--port', port, '--processes', '2', '--task-slots', '0'], { env: { ...env, AIMASS_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const [code] = await once(child, 'exit');
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    assert.match(stderr, /an HTTP process of the server exited while starting/);
    assert.deepEqual(httpProcesses(child.pid!), []);
  } finally {
    first.child.kill('SIGKILL');
  }
});
