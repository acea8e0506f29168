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
import type { FastifyPluginAsync } from 'fastify';
import { AimassError } from '../core/index.js';
import type { Registry } from '../registry/index.js';
import type { ModelCache } from '../serve/index.js';
import { toApiError } from './error-handler.js';
import { noteServedModel } from './metrics.js';
import {
  BINARY_MEDIA_TYPES,
  DEFAULT_INFER_TIMEOUT_MS,
  DEFAULT_MAX_REQUEST_BYTES,
  INFERENCE_HEADER_LENGTH,
  INFER_MEDIA_TYPES,
  OIP_ERROR_CONTENT_TYPE,
  TIMEOUT_HEADER,
  oipFailure,
  runInference,
} from './oip-infer.js';
import { DATATYPES, metadataDatatype } from './oip-tensors.js';
import { MODEL_NAME } from './schemas.js';

export { BINARY_MEDIA_TYPES, DEFAULT_INFER_TIMEOUT_MS, DEFAULT_MAX_REQUEST_BYTES, INFERENCE_HEADER_LENGTH, TIMEOUT_HEADER } from './oip-infer.js';

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

const TAGS = ['inference'];

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

interface NameParams {
  name: string;
  version?: string;
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
    const failure = oipFailure(e);
    if (failure.status >= 500) request.log.error({ err: error, code: e.code }, 'inference request failed');
    else request.log.info({ code: e.code, message: e.message }, 'inference request refused');
    if (failure.retryAfter) void reply.header('retry-after', failure.retryAfter);
    void reply.removeHeader(INFERENCE_HEADER_LENGTH);
    void reply.code(failure.status).type(OIP_ERROR_CONTENT_TYPE).send(failure.body);
  });

  // Inference bodies reach the handler as bytes: runInference parses them (JSON, or JSON then binary tensor
  // data), as the server's fast lane does.
  app.removeAllContentTypeParsers(); // in this plugin: any other media type (text/plain too) is 415
  app.addContentTypeParser(INFER_MEDIA_TYPES as string[], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

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

    app.post<{ Params: NameParams; Body: Buffer }>(
      `${base}/infer`,
      {
        bodyLimit: o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
        logLevel: inferLogLevel,
        config: { inferenceMetrics: true },
        // The schemas document the request; runInference checks params, headers and body itself (as the fast
        // lane needs it to), with messages naming the field.
        validatorCompiler: () => () => true,
        schema: {
          tags: TAGS,
          summary: `run ${which} on a request: JSON, or JSON then binary tensor data`,
          consumes: INFER_MEDIA_TYPES as string[],
          params,
          querystring: noQuery,
          headers: INFER_HEADERS,
          body: INFER_BODY,
          response: { 200: INFER_RESPONSE, ...OIP_ERRORS },
        },
      },
      async (request, reply) => {
        if (Object.keys(request.query as object).length > 0) throw new AimassError('INVALID_ARGUMENT', `inference takes no query parameters; got ${Object.keys(request.query as object).join(', ')}`);
        const answer = await runInference(
          modelCache,
          { ...request.params, body: request.body, headerLength: request.headers[INFERENCE_HEADER_LENGTH], timeout: request.headers[TIMEOUT_HEADER] },
          (model) => noteServedModel(request, model.name, model.version),
        );
        if (answer.headerLength !== undefined) void reply.header(INFERENCE_HEADER_LENGTH, answer.headerLength);
        return reply.type(answer.contentType).send(answer.body);
      },
    );
  }
};
