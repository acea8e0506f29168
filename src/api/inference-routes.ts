/**
 * Model inference over HTTP as the Open Inference Protocol v2 (KServe) defines it, under /v2: server and model
 * health, model metadata from the registered signature, and JSON inference requests run through a ModelCache
 * (which loads a model on its first request, batches, and swaps versions).
 *
 * A bare model name means the production alias when set, else the latest version; `/versions/:version` names
 * one exactly. Failures answer OIP's body `{"error": "message"}` rather than the catalog's, with OIP's statuses:
 * 400 bad request, 404 unknown model or version, 503 overloaded (with Retry-After) or unavailable, 504 timeout.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { AimassError, type ErrorCode } from '../core/index.js';
import type { Registry } from '../registry/index.js';
import type { HostTensor, HostTensors, ModelCache } from '../serve/index.js';
import { toApiError } from './error-handler.js';
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
export const TIMEOUT_HEADER = 'x-aimass-timeout-ms';

const TAGS = ['inference'];

/** OIP datatypes; only FP32 and INT64 reach a model, the rest are refused naming the input. */
const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'] as const;
type Datatype = (typeof DATATYPES)[number];

const DATATYPE_OF: Record<string, Datatype> = { float32: 'FP32', int64: 'INT64' };

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
const OIP_ERRORS = { 400: OIP_ERROR, 404: OIP_ERROR, 500: OIP_ERROR, 503: OIP_ERROR, 504: OIP_ERROR } as const;

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
  properties: { [TIMEOUT_HEADER]: { type: 'integer', minimum: 1, maximum: 3_600_000, description: `deadline in ms (default ${DEFAULT_INFER_TIMEOUT_MS})` } },
} as const;

const INFER_BODY = {
  type: 'object',
  required: ['inputs'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', maxLength: 256 },
    parameters: { type: 'object' },
    inputs: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['name', 'shape', 'datatype', 'data'],
        additionalProperties: false,
        properties: {
          name: { type: 'string', minLength: 1 },
          shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          datatype: { type: 'string', enum: DATATYPES },
          parameters: { type: 'object' },
          data: { type: 'array', description: 'the elements in row-major order, flat or nested' },
        },
      },
    },
    outputs: {
      type: 'array',
      items: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1 }, parameters: { type: 'object' } } },
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
        required: ['name', 'shape', 'datatype', 'data'],
        properties: { name: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } }, datatype: { type: 'string' }, data: { type: 'array', items: { type: 'number' } } },
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
  data: unknown[];
}

export interface InferRequest {
  id?: string;
  inputs: InferInput[];
  outputs?: { name: string }[];
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

  app.setErrorHandler((error: unknown, request, reply) => {
    const e = toApiError(error, request);
    const status = OIP_STATUS[e.code] ?? e.status;
    if (status >= 500) request.log.error({ err: error, code: e.code }, 'inference request failed');
    else request.log.info({ code: e.code, message: e.message }, 'inference request refused');
    if (e.code === 'RESOURCE_EXHAUSTED') void reply.header('retry-after', '1');
    void reply.code(status).type('application/json; charset=utf-8').send({ error: e.message });
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
    extensions: [] as string[],
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
        const meta = (t: TensorSignature) => ({ name: t.name, datatype: DATATYPE_OF[t.dtype] ?? t.dtype.toUpperCase(), shape: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) });
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
      { schema: { tags: TAGS, summary: `readiness of ${which}: 200 once loaded and warmed up, else 503`, params, querystring: noQuery, response: { 200: MODEL_READY, ...OIP_ERRORS, 503: MODEL_READY } } },
      async (request, reply) => {
        const { name, version } = request.params;
        const ready = modelCache.isReady(name, version === undefined ? undefined : Number(version));
        return reply.code(ready ? 200 : 503).send({ name, ready });
      },
    );

    app.post<{ Params: NameParams; Body: InferRequest; Headers: { [TIMEOUT_HEADER]?: number } }>(
      `${base}/infer`,
      {
        bodyLimit: o.maxRequestBytes ?? 64 * 1024 * 1024,
        schema: { tags: TAGS, summary: `run ${which} on a JSON request`, params, querystring: noQuery, headers: INFER_HEADERS, body: INFER_BODY, response: { 200: INFER_RESPONSE, ...OIP_ERRORS } },
      },
      async (request, reply: FastifyReply) => {
        const { name, version } = request.params;
        const ref = version === undefined ? name : `${name}:${version}`;
        const model = await modelCache.get(ref);
        const feeds = toFeeds(request.body.inputs, model.record.signature.inputs);
        const wanted = request.body.outputs?.map((x) => x.name);
        const outputNames = model.record.signature.outputs.map((x) => x.name);
        for (const w of wanted ?? []) {
          if (!outputNames.includes(w)) throw new AimassError('INVALID_ARGUMENT', `unknown output "${w}"; the model has ${outputNames.join(', ')}`);
        }
        const timeoutMs = request.headers[TIMEOUT_HEADER] ?? DEFAULT_INFER_TIMEOUT_MS;
        const out = await modelCache.infer(ref, feeds, { timeoutMs });
        const names = wanted ?? Object.keys(out);
        return reply.send({
          model_name: model.name,
          model_version: String(model.version),
          ...(request.body.id === undefined ? {} : { id: request.body.id }),
          outputs: names.map((n) => toOutput(n, out[n])),
        });
      },
    );
  }
};

// --- conversions -------------------------------------------------------------------------------------------

/** The request's inputs as host tensors, checked against the model's inputs; failures name the input. */
export function toFeeds(inputs: InferInput[], signature: readonly TensorSignature[]): HostTensors {
  const expected = signature.map((s) => s.name).join(', ');
  const feeds: HostTensors = {};
  for (const input of inputs) {
    const sig = signature.find((s) => s.name === input.name);
    if (!sig) throw new AimassError('INVALID_ARGUMENT', `unknown input "${input.name}"; the model takes ${expected}`, { input: input.name });
    if (feeds[input.name]) throw new AimassError('INVALID_ARGUMENT', `input "${input.name}" is given twice`, { input: input.name });
    const datatype = DATATYPE_OF[sig.dtype];
    if (!datatype) throw new AimassError('UNSUPPORTED', `input "${input.name}" has element type ${sig.dtype}; serving takes FP32 and INT64 inputs`, { input: input.name });
    if (input.datatype !== datatype) {
      throw new AimassError('INVALID_ARGUMENT', `input "${input.name}" has datatype ${input.datatype}, but the model takes ${datatype}`, { input: input.name });
    }
    const rankOk = input.shape.length === sig.shape.length;
    if (!rankOk || sig.shape.some((d, i) => typeof d === 'number' && d >= 0 && d !== input.shape[i])) {
      const want = sig.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
      throw new AimassError('INVALID_ARGUMENT', `input "${input.name}" has shape [${input.shape}], but the model takes [${want}] (-1: any size)`, { input: input.name });
    }
    const flat = flatten(input.data, input.name);
    const size = input.shape.reduce((a, b) => a * b, 1);
    if (flat.length !== size) {
      throw new AimassError('INVALID_ARGUMENT', `input "${input.name}" has ${flat.length} elements, but shape [${input.shape}] needs ${size}`, { input: input.name });
    }
    feeds[input.name] = datatype === 'FP32' ? { type: 'float32', data: Float32Array.from(flat), dims: input.shape } : { type: 'int64', data: toInt64(flat, input.name), dims: input.shape };
  }
  const missing = signature.filter((s) => !feeds[s.name]).map((s) => s.name);
  if (missing.length) throw new AimassError('INVALID_ARGUMENT', `missing input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `"${m}"`).join(', ')}`, { missing });
  return feeds;
}

function flatten(data: unknown[], name: string): number[] {
  const out: number[] = [];
  const walk = (xs: unknown[]) => {
    for (const x of xs) {
      if (Array.isArray(x)) walk(x);
      else if (typeof x === 'number' && Number.isFinite(x)) out.push(x);
      else throw new AimassError('INVALID_ARGUMENT', `input "${name}" holds ${JSON.stringify(x) ?? String(x)}, which is not a number`, { input: name });
    }
  };
  walk(data);
  return out;
}

function toInt64(flat: number[], name: string): BigInt64Array {
  const data = new BigInt64Array(flat.length);
  flat.forEach((x, i) => {
    if (!Number.isSafeInteger(x)) throw new AimassError('INVALID_ARGUMENT', `input "${name}" is INT64 but holds ${x}, which is not a whole number (within ±2^53)`, { input: name });
    data[i] = BigInt(x);
  });
  return data;
}

function toOutput(name: string, t: HostTensor) {
  const data = t.type === 'float32' ? Array.from(t.data as Float32Array) : Array.from(t.data as BigInt64Array, (x) => Number(x));
  return { name, shape: [...t.dims], datatype: DATATYPE_OF[t.type], data };
}
