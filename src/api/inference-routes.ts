/**
 * Model inference over HTTP as the Open Inference Protocol v2 (KServe) defines it, under /v2: server and model
 * health, model metadata from the registered signature, and JSON inference requests run through a ModelCache
 * (which loads a model on its first request, batches, and swaps versions).
 *
 * A bare model name means the production alias when set, else the latest version; `/versions/:version` names
 * one exactly. Failures answer OIP's body `{"error": "message"}` rather than the catalog's, with OIP's statuses:
 * 400 bad request, 404 unknown model or version, 413 body over the limit, 415 media type, 503 overloaded (with
 * Retry-After) or unavailable, 504 timeout.
 *
 * Tensors of every OIP datatype but FP16 pass (see oip-tensors.ts), as JSON `data` or, with the binary tensor
 * data extension, as raw bytes after the JSON: the header `Inference-Header-Content-Length: N` says the first
 * N bytes of the body are the JSON request, and each input with `"parameters": {"binary_data_size": k}` takes
 * the next k bytes, in the order of the inputs. Outputs come back binary when the request asks (`binary_data`
 * on an output, `binary_data_output` on the request), with the same header on the response.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { AimassError, type ErrorCode } from '../core/index.js';
import type { Registry } from '../registry/index.js';
import type { HostTensor, HostTensors, ModelCache } from '../serve/index.js';
import { toApiError } from './error-handler.js';
import { noteServedModel } from './metrics.js';
import { DATATYPES, type Datatype, datatypeOf, datatypeOfHost, fromBinary, fromJson, hostTypeOf, metadataDatatype, toBinary, toJson } from './oip-tensors.js';
import { MODEL_NAME } from './schemas.js';

export interface InferenceRoutesOptions {
  registry: Registry;
  modelCache: ModelCache;
  /** The server version `GET /v2` reports. */
  serverVersion: string;
  /** The alias a bare model name follows in metadata when set (default "production", as ModelCache's). */
  defaultAlias?: string;
  /** Largest inference request body, in bytes (default 64 MiB). */
  maxRequestBytes?: number;
}

export const DEFAULT_INFER_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024;
export const TIMEOUT_HEADER = 'x-aimass-timeout-ms';
/** The binary tensor data extension's header: bytes of JSON at the start of the body (or response). */
export const INFERENCE_HEADER_LENGTH = 'inference-header-content-length';
/** Media types an inference body with binary tensor data may have (and application/json). */
export const BINARY_MEDIA_TYPES = ['application/octet-stream', 'application/vnd.aimass.oip+binary'] as const;

const TAGS = ['inference'];

/** The status OIP clients expect for a catalog code (others keep the catalog's status). */
const OIP_STATUS: Partial<Record<ErrorCode, number>> = {
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 503,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  DATA_CORRUPT: 500,
};

// --- schemas -----------------------------------------------------------------------------------------------

const VERSION_PARAM = { type: 'string', pattern: '^[1-9][0-9]{0,9}$', description: 'a version number (1, 2, …)' } as const;
const nameParams = { type: 'object', required: ['name'], properties: { name: MODEL_NAME } } as const;
const versionParams = { type: 'object', required: ['name', 'version'], properties: { name: MODEL_NAME, version: VERSION_PARAM } } as const;
const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

const OIP_ERROR = { type: 'object', required: ['error'], properties: { error: { type: 'string' } } } as const;
const OIP_ERRORS = { 400: OIP_ERROR, 404: OIP_ERROR, 413: OIP_ERROR, 415: OIP_ERROR, 500: OIP_ERROR, 503: OIP_ERROR, 504: OIP_ERROR } as const;

const TENSOR_METADATA = {
  type: 'object',
  required: ['name', 'datatype', 'shape'],
  properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' }, description: '-1 for a variable dimension' } },
} as const;

const MODEL_METADATA = {
  type: 'object',
  required: ['name', 'versions', 'platform', 'inputs', 'outputs'],
  properties: {
    name: { type: 'string' },
    versions: { type: 'array', items: { type: 'string' } },
    platform: { type: 'string' },
    inputs: { type: 'array', items: TENSOR_METADATA },
    outputs: { type: 'array', items: TENSOR_METADATA },
  },
} as const;

const MODEL_READY = { type: 'object', required: ['name', 'ready'], properties: { name: { type: 'string' }, ready: { type: 'boolean' } } } as const;

const INFER_HEADERS = {
  type: 'object',
  properties: {
    [TIMEOUT_HEADER]: { type: 'integer', minimum: 1, maximum: 3_600_000, description: `deadline in ms (default ${DEFAULT_INFER_TIMEOUT_MS})` },
    [INFERENCE_HEADER_LENGTH]: { type: 'integer', minimum: 0, description: 'binary tensor data: the body is this many bytes of JSON, then the inputs\' bytes' },
  },
} as const;

const BINARY_DATA_SIZE = { type: 'integer', minimum: 0, description: 'binary tensor data: the bytes of this tensor after the JSON' } as const;

const INFER_BODY = {
  type: 'object',
  required: ['inputs'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', maxLength: 256 },
    parameters: { type: 'object', properties: { binary_data_output: { type: 'boolean', description: 'every output as binary tensor data unless it says otherwise' } } },
    inputs: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1 },
          shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          datatype: { type: 'string', enum: DATATYPES },
          parameters: { type: 'object', properties: { binary_data_size: BINARY_DATA_SIZE } },
          data: { type: 'array', description: 'the elements in row-major order, flat or nested: numbers, true/false for BOOL, strings for BYTES' },
        },
      },
    },
    outputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1 },
          parameters: { type: 'object', properties: { binary_data: { type: 'boolean', description: 'this output as binary tensor data' } } },
        },
      },
    },
  },
} as const;

const INFER_RESPONSE = {
  type: 'object',
  required: ['model_name', 'model_version', 'outputs'],
  properties: {
    model_name: { type: 'string' },
    model_version: { type: 'string' },
    id: { type: 'string' },
    outputs: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype'],
        properties: {
          name: { type: 'string' },
          shape: { type: 'array', items: { type: 'integer' } },
          datatype: { type: 'string' },
          data: { type: 'array', items: { type: ['number', 'boolean', 'string'] } },
          parameters: { type: 'object', properties: { binary_data_size: BINARY_DATA_SIZE } },
        },
      },
    },
  },
} as const;

// --- request types -----------------------------------------------------------------------------------------

interface NameParams {
  name: string;
  version?: string;
}

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

// --- the plugin --------------------------------------------------------------------------------------------

export const inferenceRoutes: FastifyPluginAsync<InferenceRoutesOptions> = async (app, o) => {
  const { registry, modelCache } = o;
  const alias = o.defaultAlias ?? 'production';
  // A log line per inference call in and out costs more than this CNN's model run (≈30 µs of ≈190 µs of server
  // CPU per request, measured by npm run bench:serve): at the default level, info, infer logs warnings and errors
  // only (refusals and access lines from debug on; /metrics counts every call).
  const inferLogLevel = app.log.level === 'info' ? 'warn' : undefined;

  app.setErrorHandler((error: unknown, request, reply) => {
    const e = toApiError(error, request);
    const status = OIP_STATUS[e.code] ?? e.status;
    if (status >= 500) request.log.error({ err: error, code: e.code }, 'inference request failed');
    else request.log.info({ code: e.code, message: e.message }, 'inference request refused');
    if (e.code === 'RESOURCE_EXHAUSTED') void reply.header('retry-after', '1');
    const hint = e.code === 'PAYLOAD_TOO_LARGE' ? ' (fewer samples per request, or binary tensor data, which is smaller than JSON); the server sets the limit with aimass serve --max-request-bytes' : '';
    void reply.removeHeader(INFERENCE_HEADER_LENGTH);
    void reply.code(status).type('application/json; charset=utf-8').send({ error: e.message + hint });
  });

  // One parser for JSON and binary tensor data bodies, in this plugin only: with the header, the body is JSON
  // and then the inputs' bytes; without it, all JSON (so a JSON client may send either media type).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', ...BINARY_MEDIA_TYPES], { parseAs: 'buffer' }, (request, body, done) => {
    const buffer = body as Buffer;
    const header = request.headers[INFERENCE_HEADER_LENGTH];
    if (header === undefined) return parseJson(request, buffer.toString('utf8'), done);
    const jsonLength = Number(header);
    if (!/^\d+$/.test(String(header)) || jsonLength > buffer.length) {
      return done(
        new AimassError('INVALID_ARGUMENT', `${INFERENCE_HEADER_LENGTH} is "${String(header)}", but it must be the byte length of the JSON at the start of the ${buffer.length}-byte body`, {
          header: INFERENCE_HEADER_LENGTH,
        }),
      );
    }
    parseJson(request, buffer.toString('utf8', 0, jsonLength), (error, json) => {
      if (error) return done(error);
      try {
        attachBinaryData(json, buffer.subarray(jsonLength));
        done(null, json);
      } catch (e) {
        done(e as Error);
      }
    });
  });

  /** The version metadata describes: exact, else the default alias, else the latest. */
  const resolve = async (name: string, version?: string) => {
    if (version !== undefined) return registry.resolve(name, Number(version));
    try {
      return await registry.resolve(name, alias);
    } catch (e) {
      if (e instanceof AimassError && e.code === 'NOT_FOUND' && e.details?.alias === alias) return registry.resolve(name, 'latest');
      throw e;
    }
  };

  const SERVER_METADATA = {
    type: 'object',
    required: ['name', 'version', 'extensions'],
    properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } },
  } as const;
  app.get('/v2', { schema: { tags: TAGS, summary: 'server metadata', querystring: noQuery, response: { 200: SERVER_METADATA } } }, async () => ({
    name: 'aimass',
    version: o.serverVersion,
    extensions: ['binary_tensor_data'],
  }));

  const health = (key: 'live' | 'ready') => ({ type: 'object', required: [key], properties: { [key]: { type: 'boolean' } } });
  app.get('/v2/health/live', { schema: { tags: TAGS, summary: 'server liveness', querystring: noQuery, response: { 200: health('live') } } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { schema: { tags: TAGS, summary: 'server readiness', querystring: noQuery, response: { 200: health('ready') } } }, async () => ({ ready: true }));

  for (const versioned of [false, true]) {
    const base = versioned ? '/v2/models/:name/versions/:version' : '/v2/models/:name';
    const params = versioned ? versionParams : nameParams;
    const which = versioned ? 'a version of a model' : 'a model (production alias, else latest version)';

    app.get<{ Params: NameParams }>(
      base,
      { schema: { tags: TAGS, summary: `metadata of ${which}: inputs and outputs`, params, querystring: noQuery, response: { 200: MODEL_METADATA, ...OIP_ERRORS } } },
      async (request) => {
        const { name, version } = request.params;
        const record = await resolve(name, version);
        const details = await registry.describe(name);
        const meta = (t: TensorSignature) => ({ name: t.name, datatype: metadataDatatype(t.dtype), shape: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) });
        return {
          name: record.model,
          versions: details.versions.map((v) => String(v.version)),
          platform: 'onnxruntime',
          inputs: record.signature.inputs.map(meta),
          outputs: record.signature.outputs.map(meta),
        };
      },
    );

    app.get<{ Params: NameParams }>(
      `${base}/ready`,
      {
        schema: {
          tags: TAGS,
          summary: `readiness of ${which}: 200 once loaded and warmed up; 400 (OIP: a 4xx means false) while registered but not loaded; 404 when unknown`,
          params,
          querystring: noQuery,
          response: { 200: MODEL_READY, ...OIP_ERRORS, 400: MODEL_READY },
        },
      },
      async (request, reply) => {
        const { name, version } = request.params;
        if (modelCache.isReady(name, version === undefined ? undefined : Number(version))) return reply.code(200).send({ name, ready: true });
        await resolve(name, version); // an unknown model or version is 404, not "not ready"
        return reply.code(400).send({ name, ready: false });
      },
    );

    app.post<{ Params: NameParams; Body: InferRequest; Headers: { [TIMEOUT_HEADER]?: number } }>(
      `${base}/infer`,
      {
        bodyLimit: o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
        logLevel: inferLogLevel,
        config: { inferenceMetrics: true },
        schema: {
          tags: TAGS,
          summary: `run ${which} on a request: JSON, or JSON then binary tensor data`,
          consumes: ['application/json', ...BINARY_MEDIA_TYPES],
          params,
          querystring: noQuery,
          headers: INFER_HEADERS,
          body: INFER_BODY,
          response: { 200: INFER_RESPONSE, ...OIP_ERRORS },
        },
      },
      async (request, reply: FastifyReply) => {
        const { name, version } = request.params;
        const ref = version === undefined ? name : `${name}:${version}`;
        const model = await modelCache.get(ref);
        noteServedModel(request, model.name, model.version);
        const feeds = toFeeds(request.body.inputs, model.record.signature.inputs);
        const wanted = request.body.outputs?.map((x) => x.name);
        const outputNames = model.record.signature.outputs.map((x) => x.name);
        for (const w of wanted ?? []) {
          if (!outputNames.includes(w)) throw new AimassError('INVALID_ARGUMENT', `unknown output "${w}"; the model has ${outputNames.join(', ')}`);
        }
        const timeoutMs = request.headers[TIMEOUT_HEADER] ?? DEFAULT_INFER_TIMEOUT_MS;
        const out = await modelCache.infer(ref, feeds, { timeoutMs });
        const names = wanted ?? Object.keys(out);
        const binaryByDefault = request.body.parameters?.binary_data_output === true;
        const binary = (n: string) => request.body.outputs?.find((x) => x.name === n)?.parameters?.binary_data ?? binaryByDefault;
        return sendInferResponse(reply, {
          model_name: model.name,
          model_version: String(model.version),
          ...(request.body.id === undefined ? {} : { id: request.body.id }),
          outputs: names.map((n) => ({ name: n, tensor: out[n], binary: binary(n) })),
        });
      },
    );
  }
};

// --- conversions -------------------------------------------------------------------------------------------

/** Each input's bytes from a binary tensor data body, by the input object the JSON part parsed into. */
const binaryData = new WeakMap<object, Uint8Array>();

/**
 * Gives each input that has `parameters.binary_data_size` its slice of `binary`, in the order of the inputs;
 * the sizes must add up to the bytes there are. A body whose JSON is not a request is left to the schema.
 */
function attachBinaryData(json: unknown, binary: Uint8Array): void {
  const inputs = (json as { inputs?: unknown } | null)?.inputs;
  let at = 0;
  for (const input of Array.isArray(inputs) ? inputs : []) {
    if (typeof input !== 'object' || input === null) continue;
    const { name, parameters, data } = input as { name?: unknown; parameters?: { binary_data_size?: unknown }; data?: unknown };
    const size = parameters?.binary_data_size;
    if (size === undefined) continue;
    const label = `input ${JSON.stringify(name) ?? '(unnamed)'}`;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new AimassError('INVALID_ARGUMENT', `${label} has binary_data_size ${JSON.stringify(size)}; it must be a whole number of bytes`, { input: name });
    }
    if (data !== undefined) throw new AimassError('INVALID_ARGUMENT', `${label} has both data and binary_data_size; give one`, { input: name });
    if (at + size > binary.length) {
      throw new AimassError('INVALID_ARGUMENT', `${label} has binary_data_size ${size}, but only ${binary.length - at} bytes of binary data remain after the inputs before it`, { input: name });
    }
    binaryData.set(input, binary.subarray(at, at + size));
    at += size;
  }
  if (at !== binary.length) {
    throw new AimassError('INVALID_ARGUMENT', `the body has ${binary.length} bytes of binary tensor data after the JSON, but the inputs' binary_data_size add up to ${at}`, { binaryBytes: binary.length, claimed: at });
  }
}

/** The request's inputs as host tensors, checked against the model's inputs; failures name the input. */
export function toFeeds(inputs: InferInput[], signature: readonly TensorSignature[]): HostTensors {
  const expected = signature.map((s) => s.name).join(', ');
  const feeds: HostTensors = {};
  for (const input of inputs) {
    const sig = signature.find((s) => s.name === input.name);
    if (!sig) throw new AimassError('INVALID_ARGUMENT', `unknown input "${input.name}"; the model takes ${expected}`, { input: input.name });
    if (feeds[input.name]) throw new AimassError('INVALID_ARGUMENT', `input "${input.name}" is given twice`, { input: input.name });
    const datatype = datatypeOf(sig.dtype);
    const type = datatype === undefined ? undefined : hostTypeOf(datatype);
    if (!datatype || !type) throw new AimassError('UNSUPPORTED', `input "${input.name}" has element type ${sig.dtype}, which serving does not pass`, { input: input.name });
    if (input.datatype !== datatype) {
      throw new AimassError('INVALID_ARGUMENT', `input "${input.name}" has datatype ${input.datatype}, but the model takes ${datatype}`, { input: input.name });
    }
    const rankOk = input.shape.length === sig.shape.length;
    if (!rankOk || sig.shape.some((d, i) => typeof d === 'number' && d >= 0 && d !== input.shape[i])) {
      const want = sig.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
      throw new AimassError('INVALID_ARGUMENT', `input "${input.name}" has shape [${input.shape}], but the model takes [${want}] (-1: any size)`, { input: input.name });
    }
    const bytes = binaryData.get(input);
    let data;
    if (bytes) data = fromBinary(type, bytes, input.shape, input.name);
    else if (input.data) data = fromJson(type, input.data, input.shape, input.name);
    else throw new AimassError('INVALID_ARGUMENT', `input "${input.name}" has no data; give "data", or "parameters": {"binary_data_size": …} with the bytes after the JSON`, { input: input.name });
    feeds[input.name] = { type, data, dims: input.shape };
  }
  const missing = signature.filter((s) => !feeds[s.name]).map((s) => s.name);
  if (missing.length) throw new AimassError('INVALID_ARGUMENT', `missing input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`, { missing });
  return feeds;
}

interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; tensor: HostTensor; binary: boolean }[];
}

/**
 * Answers in JSON, or, when any output is to go as binary tensor data, as the JSON (its length in the
 * Inference-Header-Content-Length header) followed by those outputs' bytes in the order they are listed.
 */
function sendInferResponse(reply: FastifyReply, r: InferResponse): FastifyReply {
  const chunks: Uint8Array[] = [];
  const outputs = r.outputs.map(({ name, tensor, binary }) => {
    const head = { name, shape: [...tensor.dims], datatype: datatypeOfHost(tensor.type) };
    if (!binary) return { ...head, data: toJson(tensor) };
    const bytes = toBinary(tensor);
    chunks.push(bytes);
    return { ...head, parameters: { binary_data_size: bytes.length } };
  });
  const body = { model_name: r.model_name, model_version: r.model_version, ...(r.id === undefined ? {} : { id: r.id }), outputs };
  if (chunks.length === 0) return reply.send(body);
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  return reply
    .header(INFERENCE_HEADER_LENGTH, json.length)
    .type(BINARY_MEDIA_TYPES[0])
    .send(Buffer.concat([json, ...chunks]));
}
