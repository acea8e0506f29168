// The Open Inference Protocol's tensor forms beyond FP32 JSON, over a real registry, ModelCache and ONNX Runtime
// workers: BOOL, BYTES, INT32 and FP64 inputs and outputs (a model of Not and Identity ops), the binary tensor
// data extension both ways (compared with the JSON path, over a real socket too), and the request size limit
// and media types (413 and 415 with OIP error bodies).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { request } from 'undici';
import { ModelCache } from '../serve/index.js';
import { typedOnnx } from '../../test/support/typed-onnx-model.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type ApiFixture, openApiFixture, oipError } from './fixtures/api-fixture.js';

const tempDir = useTempDirs('api-tensors');

let fx: ApiFixture;
let cache: ModelCache;
let app: FastifyInstance;
before(async () => {
  const root = await tempDir();
  fx = await openApiFixture(join(root, 'home'));
  cache = new ModelCache(fx.registry, { batching: { maxQueueDelayUs: 0 } });
  app = await fx.appWith({ modelCache: cache });
  await fx.register('iris', 1);
  const typed = join(root, 'typed');
  await mkdir(typed);
  await writeFile(join(typed, 'model.onnx'), typedOnnx());
  await fx.registry.register('typed', typed);
});
after(async () => {
  await cache?.close();
  await fx?.close();
});

const rows = [
  [0.5, -1, 2, 0.25],
  [1, 0, -0.5, 3],
];

/** A typed-model request: two samples of every input, as JSON. */
const typedInputs = () => [
  { name: 'flag', shape: [2, 2], datatype: 'BOOL', data: [[true, false], [false, true]] },
  { name: 'text', shape: [2], datatype: 'BYTES', data: ['héllo wörld', ''] },
  { name: 'count', shape: [2], datatype: 'INT32', data: [2147483647, -5] },
  { name: 'score', shape: [2, 3], datatype: 'FP64', data: [0.1, 1e-300, -2.5, 3, 1 / 3, 1e300] },
];

const infer = (route: string, payload: object, target = app) => target.inject({ method: 'POST', url: `/v2/models/${route}/infer`, payload });

type Output = { name: string; datatype: string; shape: number[]; data?: unknown[]; parameters?: { binary_data_size?: number } };

const byName = (outputs: Output[]) => Object.fromEntries(outputs.map((o) => [o.name, o]));

/** A body of JSON then binary tensor data, with the header saying where the JSON ends. */
function binaryRequest(json: object, parts: Uint8Array[]): { headers: Record<string, string>; payload: Buffer } {
  const head = Buffer.from(JSON.stringify(json));
  return { headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(head.length) }, payload: Buffer.concat([head, ...parts]) };
}

/** The JSON part and the bytes after it of a binary tensor data response. */
function splitBinaryResponse(body: Buffer, headers: Record<string, unknown>): { json: { outputs: Output[] }; rest: Buffer } {
  const n = Number(headers['inference-header-content-length']);
  assert.ok(Number.isInteger(n) && n > 0, `inference-header-content-length: ${String(headers['inference-header-content-length'])}`);
  return { json: JSON.parse(body.subarray(0, n).toString('utf8')), rest: body.subarray(n) };
}

const bytesOf = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** BYTES elements in binary form: each a 4-byte little-endian length, then the UTF-8 bytes. */
function encodeStrings(xs: string[]): Buffer {
  return Buffer.concat(
    xs.flatMap((x) => {
      const b = Buffer.from(x, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(b.length);
      return [length, b];
    }),
  );
}

test('model metadata names BOOL, BYTES, INT32 and FP64 tensors', async () => {
  const res = await app.inject({ method: 'GET', url: '/v2/models/typed' });
  assert.equal(res.statusCode, 200, res.body);
  const { inputs, outputs } = res.json();
  assert.deepEqual(inputs.map((t: Output) => [t.name, t.datatype, t.shape]), [
    ['flag', 'BOOL', [-1, 2]],
    ['text', 'BYTES', [-1]],
    ['count', 'INT32', [-1]],
    ['score', 'FP64', [-1, 3]],
  ]);
  assert.deepEqual(outputs.map((t: Output) => t.datatype), ['BOOL', 'BYTES', 'INT32', 'FP64']);
});

test('BOOL, BYTES, INT32 and FP64 inputs reach the model and its outputs come back with their datatypes', async () => {
  const res = await infer('typed', { inputs: typedInputs() });
  assert.equal(res.statusCode, 200, res.body);
  const out = byName(res.json().outputs);
  assert.deepEqual(out.not_flag, { name: 'not_flag', shape: [2, 2], datatype: 'BOOL', data: [false, true, true, false] });
  assert.deepEqual(out.text_out, { name: 'text_out', shape: [2], datatype: 'BYTES', data: ['héllo wörld', ''] });
  assert.deepEqual(out.count_out, { name: 'count_out', shape: [2], datatype: 'INT32', data: [2147483647, -5] });
  assert.deepEqual(out.score_out, { name: 'score_out', shape: [2, 3], datatype: 'FP64', data: [0.1, 1e-300, -2.5, 3, 1 / 3, 1e300] });
});

test('concurrent typed requests are batched and each gets its own rows back', async () => {
  // a cache of its own that waits for company, so that the requests share batches
  const batching = new ModelCache(fx.registry, { batching: { maxQueueDelayUs: 20_000 } });
  const batches: number[] = [];
  batching.observe({ onBatch: (_name, _version, samples) => batches.push(samples) });
  const target = await fx.appWith({ modelCache: batching });
  await batching.get('typed');
  const one = (i: number) => ({
    inputs: [
      { name: 'flag', shape: [1, 2], datatype: 'BOOL', data: [i % 2 === 0, true] },
      { name: 'text', shape: [1], datatype: 'BYTES', data: [`request ${i}`] },
      { name: 'count', shape: [1], datatype: 'INT32', data: [i] },
      { name: 'score', shape: [1, 3], datatype: 'FP64', data: [i, i / 7, 100 - i] },
    ],
  });
  const all = await Promise.all(Array.from({ length: 12 }, (_, i) => infer('typed', one(i), target))).finally(() => batching.close());
  all.forEach((res, i) => {
    assert.equal(res.statusCode, 200, res.body);
    const out = byName(res.json().outputs);
    assert.deepEqual(out.not_flag.data, [i % 2 !== 0, false]);
    assert.deepEqual(out.text_out.data, [`request ${i}`]);
    assert.deepEqual(out.count_out.data, [i]);
    assert.deepEqual(out.score_out.data, [i, i / 7, 100 - i]);
  });
  assert.equal(batches.reduce((a, b) => a + b, 0), 12, `batches: ${batches}`);
  assert.ok(Math.max(...batches) > 1, `the requests were not batched: ${batches}`);
});

test('values that do not fit the datatype, and wrong datatypes, are 400 naming the input', async () => {
  const withInput = (name: string, patch: object) => ({ inputs: typedInputs().map((t) => (t.name === name ? { ...t, ...patch } : t)) });
  assert.match(oipError(await infer('typed', withInput('flag', { data: [1, 0, 0, 1] })), 400), /input "flag" is BOOL but holds 1, which is not true or false/);
  assert.match(oipError(await infer('typed', withInput('text', { data: [1, 2] })), 400), /input "text" is BYTES but holds 1, which is not a string/);
  assert.match(oipError(await infer('typed', withInput('count', { data: [2147483648, 0] })), 400), /input "count" is INT32 but holds 2147483648, which is not a whole number from -2147483648 to 2147483647/);
  assert.match(oipError(await infer('typed', withInput('count', { data: [1.5, 0] })), 400), /input "count" is INT32 but holds 1.5/);
  assert.match(oipError(await infer('typed', withInput('score', { datatype: 'FP32' })), 400), /input "score" has datatype FP32, but the model takes FP64/);
  assert.match(oipError(await infer('typed', withInput('flag', { datatype: 'UINT8', data: [1, 0, 0, 1] })), 400), /input "flag" has datatype UINT8, but the model takes BOOL/);
  assert.match(oipError(await infer('typed', withInput('text', { data: undefined })), 400), /input "text" has no data/);
});

test('binary tensor data: FP32 bytes give the same outputs as JSON, and outputs come back binary when asked', async () => {
  const json = await infer('iris', { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: rows }] });
  assert.equal(json.statusCode, 200, json.body);
  const expected = byName(json.json().outputs);

  const features = Float32Array.from(rows.flat());
  const binaryInput = { name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: features.byteLength } };
  for (const type of ['application/octet-stream', 'application/vnd.aimass.oip+binary', 'application/json']) {
    const r = binaryRequest({ inputs: [binaryInput] }, [bytesOf(features)]);
    const res = await app.inject({ method: 'POST', url: '/v2/models/iris/infer', headers: { ...r.headers, 'content-type': type }, payload: r.payload });
    assert.equal(res.statusCode, 200, `${type}: ${res.body}`);
    assert.match(String(res.headers['content-type']), /^application\/json/, 'no binary outputs asked for: a JSON answer');
    assert.deepEqual(byName(res.json().outputs), expected, type);
  }

  // probabilities binary, logits as JSON
  const r = binaryRequest({ inputs: [binaryInput], outputs: [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'logits' }] }, [bytesOf(features)]);
  const res = await app.inject({ method: 'POST', url: '/v2/models/iris/infer', ...r });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/octet-stream/);
  const { json: head, rest } = splitBinaryResponse(res.rawPayload, res.headers);
  const [probabilities, logits] = head.outputs;
  assert.deepEqual(probabilities, { name: 'probabilities', shape: [2, 3], datatype: 'FP32', parameters: { binary_data_size: 24 } });
  assert.deepEqual(logits, expected.logits);
  assert.equal(rest.length, 24);
  const probs = new Float32Array(Uint8Array.from(rest).buffer);
  assert.deepEqual(Array.from(probs), expected.probabilities.data);
});

test('binary tensor data: BOOL, BYTES, INT32 and FP64 both ways, all outputs binary with binary_data_output', async () => {
  const flag = Uint8Array.of(1, 0, 0, 1);
  const text = encodeStrings(['héllo wörld', '']);
  const count = Int32Array.of(2147483647, -5);
  const score = Float64Array.of(0.1, 1e-300, -2.5, 3, 1 / 3, 1e300);
  const inputs = [
    { name: 'flag', shape: [2, 2], datatype: 'BOOL', parameters: { binary_data_size: flag.length } },
    { name: 'text', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: text.length } },
    { name: 'count', shape: [2], datatype: 'INT32', parameters: { binary_data_size: count.byteLength } },
    { name: 'score', shape: [2, 3], datatype: 'FP64', parameters: { binary_data_size: score.byteLength } },
  ];
  const r = binaryRequest({ inputs, parameters: { binary_data_output: true } }, [bytesOf(flag), text, bytesOf(count), bytesOf(score)]);
  const res = await app.inject({ method: 'POST', url: '/v2/models/typed/infer', ...r });
  assert.equal(res.statusCode, 200, res.body);
  const { json, rest } = splitBinaryResponse(res.rawPayload, res.headers);
  assert.deepEqual(json.outputs.map((o) => [o.name, o.datatype, o.parameters?.binary_data_size, o.data]), [
    ['not_flag', 'BOOL', 4, undefined],
    ['text_out', 'BYTES', text.length, undefined],
    ['count_out', 'INT32', 8, undefined],
    ['score_out', 'FP64', 48, undefined],
  ]);
  assert.deepEqual(rest, Buffer.concat([Buffer.from([0, 1, 1, 0]), text, bytesOf(count), bytesOf(score)]));
});

test('binary tensor data that does not add up is 400 naming the input or the header', async () => {
  const features = bytesOf(Float32Array.from(rows.flat()));
  const input = (size: number) => ({ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: size } });
  const send = (r: { headers: Record<string, string>; payload: Buffer }) => app.inject({ method: 'POST', url: '/v2/models/iris/infer', ...r });

  assert.match(oipError(await send(binaryRequest({ inputs: [input(16)] }, [features.subarray(0, 16)])), 400), /input "features" has binary_data_size 16, but shape \[2,4\] of FP32 takes 32 bytes/);
  assert.match(oipError(await send(binaryRequest({ inputs: [input(40)] }, [features])), 400), /input "features" has binary_data_size 40, but only 32 bytes/);
  assert.match(oipError(await send(binaryRequest({ inputs: [input(16)] }, [features])), 400), /32 bytes of binary tensor data after the JSON, but the inputs' binary_data_size add up to 16/);
  assert.match(oipError(await send(binaryRequest({ inputs: [{ ...input(32), data: rows }] }, [features])), 400), /input "features" has both data and binary_data_size/);
  const bad = binaryRequest({ inputs: [input(32)] }, [features]);
  assert.match(oipError(await send({ ...bad, headers: { ...bad.headers, 'inference-header-content-length': '99999' } }), 400), /inference-header-content-length is "99999"/);
});

test('binary BYTES and BOOL data that does not decode is 400 naming the input', async () => {
  const strings = binaryRequest({ inputs: typedInputs().map((t) => (t.name === 'text' ? { name: 'text', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: 6 } } : t)) }, [Buffer.from([9, 0, 0, 0, 65, 66])]);
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/typed/infer', ...strings }), 400), /input "text" is BYTES but element 0 claims 9 bytes and only 2 remain/);
  const bools = binaryRequest({ inputs: typedInputs().map((t) => (t.name === 'flag' ? { name: 'flag', shape: [2, 2], datatype: 'BOOL', parameters: { binary_data_size: 4 } } : t)) }, [Buffer.from([1, 0, 2, 1])]);
  assert.match(oipError(await app.inject({ method: 'POST', url: '/v2/models/typed/infer', ...bools }), 400), /input "flag" is BOOL but its element 2 is the byte 2/);
});

test('binary tensor data over a real socket matches the JSON path', async () => {
  const served = await fx.appWith({ modelCache: cache });
  const url = await served.listen({ port: 0, host: '127.0.0.1' });
  const viaJson = await request(`${url}/v2/models/iris/versions/1/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: rows }], outputs: [{ name: 'probabilities' }] }),
  });
  assert.equal(viaJson.statusCode, 200);
  const expected = ((await viaJson.body.json()) as { outputs: Output[] }).outputs[0].data as number[];

  const features = Float32Array.from(rows.flat());
  const r = binaryRequest(
    { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: features.byteLength } }], outputs: [{ name: 'probabilities', parameters: { binary_data: true } }] },
    [bytesOf(features)],
  );
  const res = await request(`${url}/v2/models/iris/versions/1/infer`, { method: 'POST', headers: r.headers, body: r.payload });
  assert.equal(res.statusCode, 200);
  const { json, rest } = splitBinaryResponse(Buffer.from(await res.body.arrayBuffer()), res.headers);
  assert.equal(json.outputs[0].parameters?.binary_data_size, 24);
  assert.deepEqual(Array.from(new Float32Array(Uint8Array.from(rest).buffer)), expected);
});

test('an infer body over maxRequestBytes is 413 naming the limit; an unknown media type is 415', async () => {
  const small = await fx.appWith({ modelCache: cache, maxRequestBytes: 1024 });
  const big = { inputs: [{ name: 'features', shape: [64, 4], datatype: 'FP32', data: Array.from({ length: 64 }, () => rows[0]) }] };
  assert.ok(JSON.stringify(big).length > 1024);
  const tooLarge = oipError(await infer('iris', big, small), 413);
  assert.match(tooLarge, /limit of 1024 bytes/);
  assert.match(tooLarge, /--max-request-bytes/);
  assert.equal((await infer('iris', { inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: rows }] }, small)).statusCode, 200, 'a request within the limit passes');

  // over a real socket too: the client reads the 413 rather than a reset connection
  const url = await small.listen({ port: 0, host: '127.0.0.1' });
  const res = await request(`${url}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(big) });
  assert.equal(res.statusCode, 413);
  assert.match(((await res.body.json()) as { error: string }).error, /limit of 1024 bytes/);

  const media = await app.inject({ method: 'POST', url: '/v2/models/iris/infer', headers: { 'content-type': 'text/csv' }, payload: '1,2,3,4' });
  assert.match(oipError(media, 415), /text\/csv/);
});
