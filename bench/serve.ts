// npm run bench:serve — model serving over HTTP. Trains the reference CNN of bench:engine (1 epoch; cached in
// bench/scratch/serve), registers it, starts `aimass serve` as a child process and drives
// POST /v2/models/<name>/infer with single-sample Open Inference Protocol requests from autocannon, which runs in
// this process (not the server's; both share the machine's cores).
//
// The goals are measured as a deployment for throughput would run: the server with one HTTP process per core
// (`--processes`, AIMASS_BENCH_PROCESSES overrides) and requests carrying their tensor as binary data (the OIP
// binary tensor data extension, which Triton's HTTP client uses by default): concurrency 1 and 64, then 64 with
// batching off (--max-batch-size 1) for the batching gain. Also printed: the same server with the same requests
// as JSON; a server of one process (the default) with JSON and binary requests; a no-model Fastify route that
// parses the same JSON (the floor of one Node process on this machine and load generator); and the same model
// in-process on ONNX Runtime (batch 64) as the ceiling of the model itself. When wrk is installed (apt-get install
// wrk), both servers are also driven by wrk at concurrency 64, JSON and binary: a load generator that leaves the
// server most of the CPU autocannon takes. Prints one JSON line with the figures, the goals and whether each is met.
//
// AIMASS_BENCH_SECONDS sets the length of each measured load run (default 10).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { procStat } from '../test/support/processes.js';
import { printResult, referenceData, repoRoot, round } from './common.js';

const MODEL = 'bench-serve-cnn';
const SECONDS = Number(process.env.AIMASS_BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const RAW_BATCH = 64;
const GOALS = { p50_ms_c1_max: 0.5, http_rps_c64_min: 15_000, batching_gain_min: 2 };

const scratch = join(repoRoot, 'bench', 'scratch', 'serve');
const home = join(scratch, 'home');
const aimass = join(repoRoot, 'bin', 'aimass.js');
const cores = availableParallelism();

// --- the model: trained once, then reused from the scratch home ---------------------------------------------

interface Trained {
  model: string;
  version: number;
  modelPath: string;
  testAcc: number;
}

function trainedModel(): Trained {
  const marker = join(scratch, 'trained.json');
  if (existsSync(marker) && existsSync(home)) return JSON.parse(readFileSync(marker, 'utf8')) as Trained;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const data = referenceData();
  const spec = {
    name: MODEL,
    model: { type: 'cnn', input: [1, 28, 28], classes: 10, blocks: [{ filters: 16, kernel: 3, pool: 2 }, { filters: 32, kernel: 3, pool: 2 }], dense: [64] },
    data: { format: 'image-csv', train: join(data, 'mnist_train.csv'), test: join(data, 'mnist_test.csv') },
    optimizer: { type: 'adam', lr: 1e-3 },
    epochs: 1,
    batchSize: 64,
    seed: 0,
    threads: Math.min(2, cores),
  };
  const specPath = join(scratch, 'spec.json');
  writeFileSync(specPath, JSON.stringify(spec, null, 2));
  const out = execFileSync(process.execPath, [aimass, '--json', 'train', '--spec', specPath, '--register', MODEL, '--no-progress'], {
    env: { ...process.env, AIMASS_HOME: home },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { model: string; test: { accuracy: number }; registered: { model: string; version: number } };
  const trained: Trained = { model: r.registered.model, version: r.registered.version, modelPath: r.model, testAcc: r.test.accuracy };
  writeFileSync(marker, JSON.stringify(trained));
  return trained;
}

// --- the servers: `aimass serve`, and the floor, each in a child process -------------------------------------

interface Server {
  url: string;
  child: ChildProcess;
}

async function startAimass(args: string[], logName: string): Promise<Server> {
  // The server's log (JSON lines on stderr) goes to a file, as a deployment would keep it, and not through this
  // process, which is generating the load.
  const logPath = join(scratch, `${logName}.log`);
  const log = openSync(logPath, 'w');
  const child = spawn(process.execPath, [aimass, 'serve', '--port', '0', ...args], { env: { ...process.env, AIMASS_HOME: home }, stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = once(child, 'exit');
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const m = /listening on (http:\/\/\S+)/.exec(readFileSync(logPath, 'utf8'));
    if (m) return { url: m[1], child };
    if (child.exitCode !== null) break;
    await Promise.race([exited, new Promise((r) => setTimeout(r, 100))]);
  }
  child.kill('SIGKILL');
  throw new Error(`aimass serve did not start listening within 60 s; its log:\n${readFileSync(logPath, 'utf8')}`);
}

async function startFloor(): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench', 'serve-floor-child.ts')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: (JSON.parse(line.toString()) as { url: string }).url, child };
}

async function stop(server: Server, how: 'signal' | 'stdin'): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = once(server.child, 'exit');
  if (how === 'signal') server.child.kill('SIGTERM');
  else server.child.stdin!.end();
  await exited;
}

/**
 * CPU seconds a process and its child processes (a server's HTTP processes) have used, all their threads (Linux
 * /proc; undefined elsewhere).
 */
function cpuSeconds(pid: number): number | undefined {
  try {
    let ticks = 0;
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      const f = procStat(p); // undefined: the process ended meanwhile
      if (f && (Number(p) === pid || Number(f[1]) === pid)) ticks += Number(f[11]) + Number(f[12]); // utime + stime, 1/100 s
    }
    return ticks / 100;
  } catch {
    return undefined;
  }
}

// --- the load: autocannon, with every response time kept (its histogram rounds to whole milliseconds) ---------

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, result: AutocannonResult) => void) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  /** CPU of this process (the load generator) per answered request, µs. */
  loadgenUs: number;
  /** CPU of the server process per answered request, µs (undefined without /proc). */
  serverUs?: number;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

async function load(server: Server, body: string | Buffer, connections: number, seconds: number, headers: Record<string, string> = JSON_HEADERS): Promise<LoadResult> {
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  const server0 = cpuSeconds(server.child.pid!);
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon({ url: server.url, method: 'POST', headers, body, connections, pipelining: 1, duration: seconds }, (err, r) =>
      err ? reject(err) : resolve(r),
    );
    instance.on('response', (_client, statusCode, _bytes, ms) => {
      if (statusCode === 200) times.push(ms);
    });
  });
  const cpu = process.cpuUsage(cpu0);
  const server1 = cpuSeconds(server.child.pid!);
  if (result.errors || result.non2xx) throw new Error(`${result.errors} errors (${result.timeouts} timeouts) and ${result.non2xx} non-2xx answers at concurrency ${connections}; see ${scratch}/*.log`);
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(times.length * q))];
  return {
    rps: times.length / result.duration,
    p50: at(0.5),
    p99: at(0.99),
    loadgenUs: (cpu.user + cpu.system) / times.length,
    serverUs: server0 === undefined || server1 === undefined ? undefined : ((server1 - server0) * 1e6) / times.length,
  };
}

/** A single-sample request of the model's input from the first test image, scaled as training scaled it. */
async function requestBody(url: string): Promise<string> {
  const meta = (await (await fetch(`${url}/v2/models/${MODEL}`)).json()) as { inputs: { name: string; shape: number[]; datatype: string }[] };
  const [input] = meta.inputs;
  const shape = input.shape.map((d) => (d < 0 ? 1 : d));
  const row = readFileSync(join(referenceData(), 'mnist_test.csv'), 'utf8').split('\n', 1)[0].split(',').slice(1).map(Number);
  if (row.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`the model takes [${input.shape}], but a test image has ${row.length} pixels`);
  return JSON.stringify({ inputs: [{ name: input.name, shape, datatype: input.datatype, data: row.map((p) => p / 255) }] });
}

async function checkAnswer(url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const answer = (await res.json()) as { outputs?: { shape: number[] }[] };
  if (res.status !== 200 || !answer.outputs?.some((o) => o.shape.join() === '1,10')) throw new Error(`${url} answered ${res.status} ${JSON.stringify(answer)}`);
}

/**
 * The same request with the Open Inference Protocol's binary tensor data extension: a JSON header naming the
 * input and its byte size, then the pixels as little-endian float32, so the server parses 100 bytes of JSON
 * instead of 7.5 KB.
 */
function binaryRequest(jsonBody: string): { body: Buffer; headers: Record<string, string> } {
  const { inputs } = JSON.parse(jsonBody) as { inputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };
  const pixels = Buffer.from(Float32Array.from(inputs[0].data).buffer);
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: inputs[0].name, shape: inputs[0].shape, datatype: 'FP32', parameters: { binary_data_size: pixels.length } }] }));
  return { body: Buffer.concat([header, pixels]), headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) } };
}

type RequestKind = 'json' | 'binary';

/** What a server run measured: autocannon loads by `${kind}_c${concurrency}`, and wrk's at 64 when asked. */
interface Runs {
  body: string;
  loads: Record<string, LoadResult>;
  /** Concurrency 64 from wrk, JSON and binary requests (when wrk is installed and asked for). */
  wrk?: { json: number; binary: number };
}

/**
 * Starts `aimass serve` with `args`, loads and warms the model, runs each autocannon load in turn, then, if asked
 * and wrk is installed, wrk at concurrency 64 with JSON and with binary requests.
 */
async function aimassRuns(args: string[], logName: string, loads: { kind: RequestKind; c: number }[], o: { wrk?: boolean } = {}): Promise<Runs> {
  const server = await startAimass(args, logName);
  try {
    const body = await requestBody(server.url);
    const b = binaryRequest(body);
    const infer: Server = { url: `${server.url}/v2/models/${MODEL}/infer`, child: server.child };
    await checkAnswer(infer.url, body); // loads and warms the model
    await load(infer, b.body, 64, WARMUP_SECONDS, b.headers);
    const runs: Runs = { body, loads: {} };
    for (const { kind, c } of loads) runs.loads[`${kind}_c${c}`] = kind === 'json' ? await load(infer, body, c, SECONDS) : await load(infer, b.body, c, SECONDS, b.headers);
    if (o.wrk && WRK) runs.wrk = { json: wrkLoad(infer.url, body, JSON_HEADERS), binary: wrkLoad(infer.url, b.body, b.headers) };
    return runs;
  } finally {
    await stop(server, 'signal');
  }
}

// --- a second load generator: wrk, written in C, when the machine has it ------------------------------------

const WRK = (() => {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as { status?: number }).status === 1; // wrk --version prints its version and exits 1
  }
})();

/**
 * Requests/s of wrk (1 thread, 64 connections, after a 2-second warm-up) posting `body`. autocannon costs this
 * machine ~30–40 µs of CPU per request on the cores the server uses too; wrk costs a fraction of that, so its
 * figure is closer to what the server does with a load generator elsewhere.
 */
function wrkLoad(url: string, body: string | Buffer, headers: Record<string, string>): number {
  const bodyFile = join(scratch, 'wrk-body');
  writeFileSync(bodyFile, body);
  const script = join(scratch, 'wrk-post.lua');
  writeFileSync(
    script,
    ['wrk.method = "POST"', ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`), `local f = io.open(${JSON.stringify(bodyFile)}, "rb")`, 'wrk.body = f:read("*a")', 'f:close()'].join('\n'),
  );
  const run = (seconds: number) => execFileSync('wrk', ['-t1', '-c64', `-d${seconds}s`, '-s', script, url], { encoding: 'utf8' });
  run(WARMUP_SECONDS);
  const out = run(SECONDS);
  const failed = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (failed) throw new Error(`wrk saw failures against ${url}: ${failed[0]}\n${out}`);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`wrk printed no Requests/sec:\n${out}`);
  return Number(rps[1]);
}

async function floorRun(body: string): Promise<LoadResult> {
  const server = await startFloor();
  try {
    await checkAnswer(server.url, body);
    await load(server, body, 64, WARMUP_SECONDS);
    return await load(server, body, 64, SECONDS);
  } finally {
    await stop(server, 'stdin');
  }
}

// --- the ceiling: the same model in this process, batch 64 --------------------------------------------------

async function rawOrt(modelPath: string): Promise<{ samplesPerS: number; singleUs: number }> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: cores, graphOptimizationLevel: 'all' });
  const inputName = session.inputNames[0];
  const batch = { [inputName]: new ort.Tensor('float32', new Float32Array(RAW_BATCH * 784).fill(0.5), [RAW_BATCH, 1, 28, 28]) };
  for (let i = 0; i < 20; i++) await session.run(batch);
  let runs = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 3000) {
    await session.run(batch);
    runs++;
  }
  const samplesPerS = (runs * RAW_BATCH) / ((performance.now() - t0) / 1000);
  const one = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const single = { [inputName]: new ort.Tensor('float32', new Float32Array(784).fill(0.5), [1, 1, 28, 28]) };
  const times: number[] = [];
  for (let i = 0; i < 2200; i++) {
    const t = performance.now();
    await one.run(single);
    if (i >= 200) times.push((performance.now() - t) * 1000);
  }
  times.sort((a, b) => a - b);
  await session.release();
  await one.release();
  return { samplesPerS, singleUs: times[times.length >> 1] };
}

// --- the run ------------------------------------------------------------------------------------------------

const trained = trainedModel();
const loadBefore = loadavg()[0];
// The goals are measured on the server as deployed for throughput — one HTTP process per core — with requests
// in binary tensor data, the Open Inference Protocol extension Triton's HTTP client sends by default
// (set_data_from_numpy(binary_data=True)). The same requests as JSON, and a server of one process, follow.
const PROCESSES = Number(process.env.AIMASS_BENCH_PROCESSES ?? cores);
const serverArgs = ['--processes', String(PROCESSES), '--task-slots', '0'];
const main = await aimassRuns(
  serverArgs,
  'server-batching',
  [
    { kind: 'binary', c: 1 },
    { kind: 'binary', c: 64 },
    { kind: 'json', c: 64 },
  ],
  { wrk: true },
);
const unbatchedArgs = [...serverArgs, '--max-batch-size', '1'];
const unbatched = await aimassRuns(unbatchedArgs, 'server-no-batching', [{ kind: 'binary', c: 64 }]);
const oneProcessArgs = ['--processes', '1', '--task-slots', '0'];
const one = await aimassRuns(
  oneProcessArgs,
  'server-one-process',
  [
    { kind: 'json', c: 1 },
    { kind: 'binary', c: 64 },
    { kind: 'json', c: 64 },
  ],
  { wrk: true },
);
const floor = await floorRun(main.body);
const raw = await rawOrt(trained.modelPath);
const loadAfter = loadavg()[0];

const c1 = main.loads.binary_c1;
const c64 = main.loads.binary_c64;
const figures = {
  raw_ort_samples_per_s: round(raw.samplesPerS),
  http_rps_c64: round(c64.rps),
  p50_ms_c1: round(c1.p50, 3),
  p99_ms_c64: round(c64.p99, 3),
  batching_gain: round(c64.rps / unbatched.loads.binary_c64.rps, 2),
};
const perRequest = (us: number | undefined) => (us === undefined ? null : round(us));
printResult({
  bench: 'serve',
  ...figures,
  goals: GOALS,
  met: {
    p50_ms_c1: figures.p50_ms_c1 <= GOALS.p50_ms_c1_max,
    http_rps_c64: figures.http_rps_c64 >= GOALS.http_rps_c64_min,
    batching_gain: figures.batching_gain >= GOALS.batching_gain_min,
  },
  cores,
  http_rps_c1: round(c1.rps),
  p99_ms_c1: round(c1.p99, 3),
  p50_ms_c64: round(c64.p50, 3),
  http_rps_c64_no_batching: round(unbatched.loads.binary_c64.rps),
  p99_ms_c64_no_batching: round(unbatched.loads.binary_c64.p99, 3),
  // the same server, the same requests as OIP JSON (784 numbers as text)
  http_rps_c64_json: round(main.loads.json_c64.rps),
  p99_ms_c64_json: round(main.loads.json_c64.p99, 3),
  // a server of one process (--processes 1, the default of aimass serve)
  http_rps_c64_one_process: round(one.loads.binary_c64.rps),
  http_rps_c64_json_one_process: round(one.loads.json_c64.rps),
  p50_ms_c1_json_one_process: round(one.loads.json_c1.p50, 3),
  // the same servers driven by wrk (C) instead of autocannon, when installed
  wrk_rps_c64: main.wrk ? round(main.wrk.binary) : null,
  wrk_rps_c64_json: main.wrk ? round(main.wrk.json) : null,
  wrk_rps_c64_one_process: one.wrk ? round(one.wrk.binary) : null,
  wrk_rps_c64_json_one_process: one.wrk ? round(one.wrk.json) : null,
  // a Fastify route parsing the same JSON and answering a constant, no model, one process: the most this machine
  // and load generator reach with JSON over HTTP from one Node process
  http_rps_c64_floor: round(floor.rps),
  server_cpu_us_per_req_c64: perRequest(c64.serverUs),
  server_cpu_us_per_req_c64_json: perRequest(main.loads.json_c64.serverUs),
  floor_cpu_us_per_req_c64: perRequest(floor.serverUs),
  loadgen_cpu_us_per_req_c64: round(c64.loadgenUs),
  raw_ort_latency_us_batch1: round(raw.singleUs),
  raw_ort_threads: cores,
  // the 1-minute load average before and after: well above ~2 means other work shared the cores
  load_avg_1m: [round(loadBefore, 1), round(loadAfter, 1)],
  seconds_per_run: SECONDS,
  server_args: serverArgs,
  server_args_no_batching: unbatchedArgs,
  server_args_one_process: oneProcessArgs,
  load_generator: 'autocannon in the bench process; aimass serve in child processes; all share the cores',
  request: 'single sample [1,1,28,28] FP32, binary tensor data (OIP extension); *_json: the same as OIP JSON',
  model: `${trained.model}:${trained.version}`,
  test_acc: round(trained.testAcc, 4),
});
