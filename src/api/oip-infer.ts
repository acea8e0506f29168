/**
 * One Open Inference Protocol v2 inference call, from the request's bytes to the response's bytes, with no HTTP
 * framework in it: the model named by the path, the body (JSON, or JSON then binary tensor data), the timeout
 * header. Both doors to inference use it — the Fastify route (inference-routes.ts, which `inject()` tests and
 * every non-hot request reach) and the server's fast lane (infer-fast-lane.ts) — so they cannot drift apart.
 *
 * It checks the body by hand rather than through a JSON schema validator: the schema in inference-routes.ts
 * documents the request, and this file enforces the same rules with messages that name the field. On the hot
 * path that saves validating every element of `data`, which the tensor conversion checks anyway.
 *
 * Failures are thrown as AimassError; `oipFailure` turns one into OIP's status and `{"error": "..."}` body.
 */
import { AimassError, type ErrorCode } from '../core/index.js';
import type { HostTensor, HostTensors, ModelCache, ServedModel } from '../serve/index.js';
import { DATATYPES, type Datatype, datatypeOf, datatypeOfHost, fromBinary, fromJson, hostTypeOf, toBinary, toJson } from './oip-tensors.js';

export const DEFAULT_INFER_TIMEOUT_MS = 30_000;
export const MAX_INFER_TIMEOUT_MS = 3_600_000;
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024;
export const TIMEOUT_HEADER = 'x-aimass-timeout-ms';
/** The binary tensor data extension's header: bytes of JSON at the start of the body (or response). */
export const INFERENCE_HEADER_LENGTH = 'inference-header-content-length';
/** Media types an inference body with binary tensor data may have (and application/json). */
export const BINARY_MEDIA_TYPES = ['application/octet-stream', 'application/vnd.aimass.oip+binary'] as const;
export const INFER_MEDIA_TYPES: readonly string[] = ['application/json', ...BINARY_MEDIA_TYPES];

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const MODEL_NAME_MAX = 128;
const VERSION = /^[1-9][0-9]{0,9}$/;
const JSON_TYPE = 'application/json; charset=utf-8';

// --- request types -----------------------------------------------------------------------------------------

export interface InferInput {
  name: string;
  shape: number[];
  datatype: Datatype;
  /** Absent when the input's bytes follow the JSON (binary tensor data). */
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

export interface InferRequest {
  id?: string;
  parameters?: { binary_data_output?: boolean };
  inputs: InferInput[];
  outputs?: { name: string; parameters?: { binary_data?: boolean } }[];
}

interface TensorSignature {
  name: string;
  dtype: string;
  shape: readonly (number | string)[];
}

/** What arrived: the path's model name and version, the raw body and the two headers inference reads. */
export interface InferCall {
  name: string;
  version?: string;
  body: Uint8Array;
  headerLength?: string | string[];
  timeout?: string | string[];
}

/** What goes back on success: the bytes and their media type, and the header binary outputs need. */
export interface InferAnswer {
  body: string | Buffer;
  contentType: string;
  /** Set when binary outputs follow the JSON: its length in bytes. */
  headerLength?: number;
}

const invalid = (message: string, details?: Record<string, unknown>) => new AimassError('INVALID_ARGUMENT', message, details);

/**
 * Runs one inference call. `served` hears which version took the request as soon as it is known (before the
 * inputs are checked), so that metrics can label even refused requests by version.
 */
export async function runInference(cache: ModelCache, call: InferCall, served?: (model: ServedModel) => void): Promise<InferAnswer> {
  const { name, version } = call;
  if (name.length > MODEL_NAME_MAX || !MODEL_NAME.test(name)) {
    throw invalid(`"${name}" is not a model name: letters, digits, _ . - (starting with a letter or digit), at most ${MODEL_NAME_MAX}`, { name });
  }
  if (version !== undefined && !VERSION.test(version)) throw invalid(`"${version}" is not a version number (1, 2, …)`, { version });
  const timeoutMs = parseTimeout(call.timeout);
  const request = decodeRequest(call.body, call.headerLength);
  const v = version === undefined ? undefined : Number(version);
  // Looking up a loaded version and submitting to it happen in one synchronous step, so a version swap cannot
  // slip between them (the old version would refuse as draining).
  const model = cache.peek(name, v) ?? (await cache.get(v === undefined ? name : `${name}:${v}`));
  served?.(model);
  const feeds = toFeeds(request.inputs, model.record.signature.inputs);
  const outputNames = model.record.signature.outputs.map((x) => x.name);
  for (const o of request.outputs ?? []) {
    if (!outputNames.includes(o.name)) throw invalid(`unknown output "${o.name}"; the model has ${outputNames.join(', ')}`, { output: o.name });
  }
  const out = await model.infer(feeds, { timeoutMs });
  return encodeResponse(model, request, out);
}

function parseTimeout(header: string | string[] | undefined): number {
  if (header === undefined) return DEFAULT_INFER_TIMEOUT_MS;
  const text = Array.isArray(header) ? header.join(',') : header;
  const ms = /^\d{1,7}$/.test(text.trim()) ? Number(text) : NaN;
  if (!(ms >= 1 && ms <= MAX_INFER_TIMEOUT_MS)) {
    throw invalid(`header ${TIMEOUT_HEADER} is "${text}"; it must be a whole number of milliseconds from 1 to ${MAX_INFER_TIMEOUT_MS}`, { header: TIMEOUT_HEADER });
  }
  return ms;
}

// --- the body ----------------------------------------------------------------------------------------------

/** Each input's bytes from a binary tensor data body, by the input object the JSON part parsed into. */
const binaryData = new WeakMap<object, Uint8Array>();

/** The request in `body`: all JSON, or, with the length header, JSON and then the inputs' bytes. */
export function decodeRequest(body: Uint8Array, headerLength: string | string[] | undefined): InferRequest {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let jsonLength = bytes.length;
  if (headerLength !== undefined) {
    const text = Array.isArray(headerLength) ? headerLength.join(',') : headerLength;
    jsonLength = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(jsonLength <= bytes.length)) {
      throw invalid(`${INFERENCE_HEADER_LENGTH} is "${text}", but it must be the byte length of the JSON at the start of the ${bytes.length}-byte body`, {
        header: INFERENCE_HEADER_LENGTH,
      });
    }
  }
  const json = parseJson(bytes.toString('utf8', 0, jsonLength));
  const request = checkRequest(json);
  if (headerLength !== undefined) attachBinaryData(request, bytes.subarray(jsonLength));
  return request;
}

function parseJson(text: string): unknown {
  if (text.length === 0) throw invalid('the body is empty; send an inference request: {"inputs": [{"name", "shape", "datatype", "data"}]}');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw invalid(`the body is not valid JSON: ${(e as Error).message}`);
  }
  // As Fastify's parser does for every other route: no __proto__ keys, no constructor.prototype, anywhere.
  if (text.includes('__proto__') || text.includes('constructor')) refusePrototypeKeys(json);
  return json;
}

function refusePrototypeKeys(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) refusePrototypeKeys(v);
    return;
  }
  if (Object.hasOwn(value, '__proto__')) throw invalid('the body has a "__proto__" key, which is not allowed');
  const ctor = (value as Record<string, unknown>).constructor;
  if (Object.hasOwn(value, 'constructor') && typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')) {
    throw invalid('the body has a "constructor" key holding "prototype", which is not allowed');
  }
  for (const v of Object.values(value)) refusePrototypeKeys(v);
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isWhole = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], where: string, problems: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) problems.push(`${where} has an unknown field "${k}" (allowed: ${allowed.join(', ')})`);
}

/** The schema's rules, by hand: every problem found is listed in one INVALID_ARGUMENT. */
export function checkRequest(json: unknown): InferRequest {
  const problems: string[] = [];
  if (!isObject(json)) throw invalid('the body must be a JSON object: {"inputs": [{"name", "shape", "datatype", "data"}]}');
  onlyKeys(json, ['id', 'parameters', 'inputs', 'outputs'], 'the request', problems);
  if (json.id !== undefined && (typeof json.id !== 'string' || json.id.length > 256)) problems.push('"id" must be a string of at most 256 characters');
  const parameters = json.parameters;
  if (parameters !== undefined) {
    if (!isObject(parameters)) problems.push('"parameters" must be an object');
    else if (parameters.binary_data_output !== undefined && typeof parameters.binary_data_output !== 'boolean') problems.push('"parameters.binary_data_output" must be true or false');
  }
  const inputs = json.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) problems.push('"inputs" must be a list of at least one input');
  else {
    inputs.forEach((input: unknown, i) => {
      const where = `inputs[${i}]`;
      if (!isObject(input)) return problems.push(`${where} must be an object with name, shape, datatype and data`);
      onlyKeys(input, ['name', 'shape', 'datatype', 'parameters', 'data'], where, problems);
      const label = typeof input.name === 'string' && input.name.length > 0 ? `input "${input.name}"` : where;
      if (typeof input.name !== 'string' || input.name.length === 0) problems.push(`${where} needs a "name" (a non-empty string)`);
      if (!Array.isArray(input.shape) || !input.shape.every(isWhole)) problems.push(`${label} needs a "shape": a list of whole numbers ≥ 0`);
      if (typeof input.datatype !== 'string' || !(DATATYPES as readonly string[]).includes(input.datatype)) {
        problems.push(`${label} has datatype ${JSON.stringify(input.datatype) ?? 'missing'}; it must be one of ${DATATYPES.join(', ')}`);
      }
      if (input.parameters !== undefined) {
        if (!isObject(input.parameters)) problems.push(`${label}: "parameters" must be an object`);
        else if (input.parameters.binary_data_size !== undefined && !isWhole(input.parameters.binary_data_size)) {
          problems.push(`${label} has binary_data_size ${JSON.stringify(input.parameters.binary_data_size)}; it must be a whole number of bytes`);
        }
      }
      if (input.data !== undefined && !Array.isArray(input.data)) problems.push(`${label}: "data" must be a list of elements (flat or nested)`);
    });
  }
  const outputs = json.outputs;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs)) problems.push('"outputs" must be a list of {"name"}');
    else {
      outputs.forEach((output: unknown, i) => {
        const where = `outputs[${i}]`;
        if (!isObject(output)) return problems.push(`${where} must be an object with a name`);
        onlyKeys(output, ['name', 'parameters'], where, problems);
        if (typeof output.name !== 'string' || output.name.length === 0) problems.push(`${where} needs a "name" (a non-empty string)`);
        if (output.parameters !== undefined) {
          if (!isObject(output.parameters)) problems.push(`${where}: "parameters" must be an object`);
          else if (output.parameters.binary_data !== undefined && typeof output.parameters.binary_data !== 'boolean') problems.push(`${where}: "parameters.binary_data" must be true or false`);
        }
      });
    }
  }
  if (problems.length > 0) throw invalid(`invalid inference request: ${problems.join('; ')}`, { problems });
  return json as unknown as InferRequest;
}

/**
 * Gives each input that has `parameters.binary_data_size` its slice of `binary`, in the order of the inputs;
 * the sizes must add up to the bytes there are.
 */
function attachBinaryData(request: InferRequest, binary: Uint8Array): void {
  let at = 0;
  for (const input of request.inputs) {
    const size = input.parameters?.binary_data_size;
    if (size === undefined) continue;
    const label = `input ${JSON.stringify(input.name)}`;
    if (input.data !== undefined) throw invalid(`${label} has both data and binary_data_size; give one`, { input: input.name });
    if (at + size > binary.length) {
      throw invalid(`${label} has binary_data_size ${size}, but only ${binary.length - at} bytes of binary data remain after the inputs before it`, { input: input.name });
    }
    binaryData.set(input, binary.subarray(at, at + size));
    at += size;
  }
  if (at !== binary.length) {
    throw invalid(`the body has ${binary.length} bytes of binary tensor data after the JSON, but the inputs' binary_data_size add up to ${at}`, { binaryBytes: binary.length, claimed: at });
  }
}

/** The request's inputs as host tensors, checked against the model's inputs; failures name the input. */
export function toFeeds(inputs: InferInput[], signature: readonly TensorSignature[]): HostTensors {
  const feeds: HostTensors = {};
  for (const input of inputs) {
    const sig = signature.find((s) => s.name === input.name);
    if (!sig) throw invalid(`unknown input "${input.name}"; the model takes ${signature.map((s) => s.name).join(', ')}`, { input: input.name });
    if (feeds[input.name]) throw invalid(`input "${input.name}" is given twice`, { input: input.name });
    const datatype = datatypeOf(sig.dtype);
    const type = datatype === undefined ? undefined : hostTypeOf(datatype);
    if (!datatype || !type) throw new AimassError('UNSUPPORTED', `input "${input.name}" has element type ${sig.dtype}, which serving does not pass`, { input: input.name });
    if (input.datatype !== datatype) throw invalid(`input "${input.name}" has datatype ${input.datatype}, but the model takes ${datatype}`, { input: input.name });
    const rankOk = input.shape.length === sig.shape.length;
    if (!rankOk || sig.shape.some((d, i) => typeof d === 'number' && d >= 0 && d !== input.shape[i])) {
      const want = sig.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
      throw invalid(`input "${input.name}" has shape [${input.shape}], but the model takes [${want}] (-1: any size)`, { input: input.name });
    }
    const bytes = binaryData.get(input);
    let data;
    if (bytes) data = fromBinary(type, bytes, input.shape, input.name);
    else if (input.data) data = fromJson(type, input.data, input.shape, input.name);
    else throw invalid(`input "${input.name}" has no data; give "data", or "parameters": {"binary_data_size": …} with the bytes after the JSON`, { input: input.name });
    feeds[input.name] = { type, data, dims: input.shape };
  }
  const missing = signature.filter((s) => !feeds[s.name]).map((s) => s.name);
  if (missing.length) throw invalid(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`, { missing });
  return feeds;
}

// --- the response ------------------------------------------------------------------------------------------

/**
 * The response as text: JSON written directly (outputs are arrays of numbers; JSON.stringify of each is the
 * fast part), or, when any output is to go as binary tensor data, that JSON followed by those outputs' bytes in
 * the order they are listed, its length in the Inference-Header-Content-Length header.
 */
function encodeResponse(model: ServedModel, request: InferRequest, out: HostTensors): InferAnswer {
  const names = request.outputs?.map((o) => o.name) ?? Object.keys(out);
  const binaryByDefault = request.parameters?.binary_data_output === true;
  const chunks: Uint8Array[] = [];
  let json = `{"model_name":${JSON.stringify(model.name)},"model_version":"${model.version}"`;
  if (request.id !== undefined) json += `,"id":${JSON.stringify(request.id)}`;
  json += ',"outputs":[';
  names.forEach((name, i) => {
    const tensor: HostTensor = out[name];
    const binary = request.outputs?.find((o) => o.name === name)?.parameters?.binary_data ?? binaryByDefault;
    json += `${i > 0 ? ',' : ''}{"name":${JSON.stringify(name)},"shape":[${tensor.dims.join(',')}],"datatype":"${datatypeOfHost(tensor.type)}",`;
    if (binary) {
      const bytes = toBinary(tensor);
      chunks.push(bytes);
      json += `"parameters":{"binary_data_size":${bytes.length}}}`;
    } else json += `"data":${JSON.stringify(toJson(tensor))}}`;
  });
  json += ']}';
  if (chunks.length === 0) return { body: json, contentType: JSON_TYPE };
  const head = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([head, ...chunks]), contentType: BINARY_MEDIA_TYPES[0], headerLength: head.length };
}

// --- failures ----------------------------------------------------------------------------------------------

/** The status OIP clients expect for a catalog code (others keep the catalog's status). */
const OIP_STATUS: Partial<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 503,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  DATA_CORRUPT: 500,
};

export interface OipFailure {
  status: number;
  body: string;
  /** Retry-After, in seconds, for an overloaded model. */
  retryAfter?: string;
}

/** An error as OIP answers it: its status and `{"error": "message"}`, with a hint where one helps. */
export function oipFailure(e: AimassError): OipFailure {
  const status = OIP_STATUS[e.code] ?? e.status;
  const hint =
    e.code === 'PAYLOAD_TOO_LARGE' ? ' (fewer samples per request, or binary tensor data, which is smaller than JSON); the server sets the limit with aimass serve --max-request-bytes' : '';
  return { status, body: JSON.stringify({ error: e.message + hint }), ...(e.code === 'RESOURCE_EXHAUSTED' ? { retryAfter: '1' } : {}) };
}

export const OIP_ERROR_CONTENT_TYPE = JSON_TYPE;
