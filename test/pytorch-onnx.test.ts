// A model trained and exported elsewhere, served as a user would serve it: ONNX files exported from PyTorch by
// scripts/make-pytorch-fixture.py (committed in test/fixtures/ with PyTorch's own outputs, so no Python runs
// here), imported with `aimass models import`, served by `aimass serve`, and asked over HTTP through the Open
// Inference Protocol. The server must describe each model with PyTorch's input and output names and shapes, and
// answer with PyTorch's numbers.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { request } from 'undici';
import { aimass, aimassBin, jsonOf } from './support/cli.js';
import { useTempDirs } from './support/temp-dirs.js';

/** What the generator wrote beside each .onnx: the signature, the inputs it fed and what PyTorch answered. */
interface Expected {
  torch: string;
  exporter: string;
  inputs: Record<string, TensorData>;
  outputs: Record<string, TensorData>;
}

interface TensorData {
  datatype: 'FP32' | 'INT64';
  shape: number[];
  data: unknown[];
}

const FIXTURES = ['pytorch-mlp', 'pytorch-two-inputs'] as const;
const fixture = (name: string, ext: string) => fileURLToPath(new URL(`./fixtures/${name}.${ext}`, import.meta.url));
const expected: Record<string, Expected> = Object.fromEntries(FIXTURES.map((f) => [f, JSON.parse(readFileSync(fixture(f, 'expected.json'), 'utf8')) as Expected]));

const TOLERANCE = 1e-5;
const tempDir = useTempDirs('pytorch-onnx');

function flat(data: unknown[]): number[] {
  return (data as unknown[]).flat(Infinity) as number[];
}

/** The batch size of a fixture's inputs (dim 0, shared by every input). */
function rowsOf(e: Expected): number {
  return (Object.values(e.inputs)[0].data as unknown[]).length;
}

function assertClose(actual: number[], wanted: number[], what: string): void {
  assert.equal(actual.length, wanted.length, `${what}: element count`);
  actual.forEach((a, i) => assert.ok(Math.abs(a - wanted[i]) <= TOLERANCE, `${what}[${i}]: served ${a}, PyTorch ${wanted[i]}`));
}

/** An OIP request for rows [from, to) of a fixture's inputs. */
function inferBody(e: Expected, from = 0, to = rowsOf(e)) {
  return {
    id: `rows-${from}-${to}`,
    inputs: Object.entries(e.inputs).map(([name, t]) => ({ name, datatype: t.datatype, shape: [to - from, ...t.shape.slice(1)], data: t.data.slice(from, to) })),
  };
}

test('the committed fixtures hold what PyTorch computed: ONNX Runtime in-process reproduces it', async () => {
  for (const name of FIXTURES) {
    const e = expected[name];
    assert.match(e.exporter, /opset 17/, `${name}: exported at opset 17`);
    const session = await ort.InferenceSession.create(fixture(name, 'onnx'));
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [input, t] of Object.entries(e.inputs)) {
        const dims = [rowsOf(e), ...t.shape.slice(1)];
        feeds[input] = t.datatype === 'INT64' ? new ort.Tensor('int64', BigInt64Array.from(flat(t.data), BigInt), dims) : new ort.Tensor('float32', Float32Array.from(flat(t.data)), dims);
      }
      const out = await session.run(feeds);
      for (const [output, t] of Object.entries(e.outputs)) assertClose(Array.from(out[output].data as Float32Array), flat(t.data), `${name} ${output}`);
    } finally {
      await session.release();
    }
  }
});

/** Starts `aimass serve` on a free port over `home`; `url` resolves once it listens. */
function startServer(home: string): { url: Promise<string>; child: ChildProcess; stderr: () => string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMASS_')));
  const child = spawn(process.execPath, [aimassBin, 'serve', '--port', '0'], { env: { ...env, AIMASS_HOME: home, AIMASS_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`aimass serve exited with ${code} before listening; stderr:\n${stderr}`)));
  });
  url.catch(() => {}); // awaited later; a failure before then must not count as unhandled
  return { url, child, stderr: () => stderr };
}

/** An OIP inference response (or, on failure, `{ error }`). */
interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await request(url, { headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, body: await res.body.json() };
}

async function postInfer(url: string, body: unknown): Promise<{ status: number; body: InferResponse }> {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), headersTimeout: 10_000, bodyTimeout: 10_000 });
  return { status: res.statusCode, body: (await res.body.json()) as InferResponse };
}

test('PyTorch exports imported with `aimass models import` serve over `aimass serve` with their own names, shapes and numbers', { timeout: 30_000 }, async () => {
  const home = await tempDir();
  const labels = join(home, 'labels.txt');
  await writeFile(labels, 'setosa\nversicolor\nvirginica\n');
  const env = { AIMASS_HOME: home, AIMASS_USER: 'importer' };
  // The server starts while the models are imported: it loads each one from the shared registry on first request.
  const server = startServer(home);
  try {
    const imports = await Promise.all([
      aimass(['models', 'import', 'pytorch-mlp', fixture('pytorch-mlp', 'onnx'), '--labels', labels, '--json'], env),
      aimass(['models', 'import', 'pytorch-two-inputs', fixture('pytorch-two-inputs', 'onnx'), '--json'], env),
    ]);
    for (const [i, name] of FIXTURES.entries()) {
      const v = jsonOf<{ model: string; version: number; signature: { inputs: { name: string }[]; outputs: { name: string }[] } }>(imports[i]);
      assert.equal(v.model, name);
      assert.equal(v.version, 1);
      assert.deepEqual(v.signature.inputs.map((x) => x.name), Object.keys(expected[name].inputs), `${name}: the registry read PyTorch's input names`);
      assert.deepEqual(v.signature.outputs.map((x) => x.name), Object.keys(expected[name].outputs));
    }
    const url = await server.url;

    // both models at once: each loads (worker threads, warm-up) on its first request
    const check = async (name: (typeof FIXTURES)[number]) => {
      const e = expected[name];
      const meta = await getJson(`${url}/v2/models/${name}`);
      assert.equal(meta.status, 200, JSON.stringify(meta.body));
      const tensors = (ts: Record<string, TensorData>) => Object.entries(ts).map(([n, t]) => ({ name: n, datatype: t.datatype, shape: t.shape }));
      assert.deepEqual(meta.body, { name, versions: ['1'], platform: 'onnxruntime', inputs: tensors(e.inputs), outputs: tensors(e.outputs) }, `${name}: PyTorch's names, the batch axis as -1`);

      // all rows in one request
      const all = await postInfer(`${url}/v2/models/${name}/infer`, inferBody(e));
      assert.equal(all.status, 200, JSON.stringify(all.body));
      assert.equal(all.body.model_name, name);
      assert.equal(all.body.model_version, '1');
      assert.equal(all.body.id, `rows-0-${rowsOf(e)}`);
      for (const [output, t] of Object.entries(e.outputs)) {
        const got = all.body.outputs.find((o) => o.name === output);
        assert.ok(got, `${name}: output "${output}" in ${JSON.stringify(all.body.outputs.map((o) => o.name))}`);
        assert.equal(got.datatype, t.datatype);
        assert.deepEqual(got.shape, [rowsOf(e), ...t.shape.slice(1)]);
        assertClose(got.data, flat(t.data), `${name} ${output}`);
      }

      // one row per request, all at once: the server may batch them, and each must get its own row back
      const singles = await Promise.all(Array.from({ length: rowsOf(e) }, (_, r) => postInfer(`${url}/v2/models/${name}/versions/1/infer`, inferBody(e, r, r + 1))));
      singles.forEach((res, r) => {
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal(res.body.id, `rows-${r}-${r + 1}`);
        for (const [output, t] of Object.entries(e.outputs)) {
          const got = res.body.outputs.find((o) => o.name === output);
          assert.ok(got, `${name}: output "${output}" in row ${r}`);
          assert.deepEqual(got.shape, [1, ...t.shape.slice(1)]);
          assertClose(got.data, flat([t.data[r]]), `${name} ${output} row ${r}`);
        }
      });
      assert.deepEqual((await getJson(`${url}/v2/models/${name}/ready`)).body, { name, ready: true });
    };
    await Promise.all(FIXTURES.map(check));
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, server.stderr());
  } finally {
    if (server.child.exitCode === null) server.child.kill('SIGKILL');
  }
});
