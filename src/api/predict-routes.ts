/**
 * Predictions from raw records over HTTP: `POST /api/v1/predict/{model}` where the model is `name` (production
 * alias, else latest), `name@alias` or `name:version`. The body is `{"inputs": [record, …], "top_k"?: k}`; each
 * record is what the model's pipeline.json takes — a string (text), a base64 picture (PNG, JPEG, WebP; bare, as a
 * data: URL or as {"image": …}), an object of column values (table), or an array of numbers (no pipeline). The
 * answer is `{"model", "model_version", "predictions": [{"label", "score", "scores": [{label, score}, …]}]}`, or
 * `{"value"}` per record for a regression output. Errors are the catalog's; a full queue is 429 with Retry-After.
 */
import type { FastifyPluginAsync } from 'fastify';
import { AimassError } from '../core/index.js';
import { MAX_TOP_K, type ModelCache } from '../serve/index.js';
import { TIMEOUT_HEADER } from './inference-routes.js';
import { noteServedModel } from './metrics.js';
import { ERROR_RESPONSES } from './schemas.js';

export interface PredictRoutesOptions {
  modelCache: ModelCache;
  /** Largest request body in bytes (default 64 MiB). */
  maxRequestBytes?: number;
  /** Default deadline per request, ms (default 30 s); the x-aimass-timeout-ms header overrides it. */
  defaultTimeoutMs?: number;
}

/** Records per request: larger jobs belong in batch prediction, and a bound keeps one request from hogging a model. */
export const MAX_RECORDS = 10_000;

const PARAMS = {
  type: 'object',
  required: ['model'],
  properties: {
    model: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*(?::(?:[1-9][0-9]{0,9}|latest)|@[A-Za-z][A-Za-z0-9_.-]*)?$',
      maxLength: 200,
      description: 'name (production alias, else latest), name@alias, name:version or name:latest',
    },
  },
} as const;

const BODY = {
  type: 'object',
  required: ['inputs'],
  additionalProperties: false,
  properties: {
    inputs: { type: 'array', minItems: 1, maxItems: MAX_RECORDS, items: {}, description: 'raw records: strings, base64 images, objects of columns, or arrays of numbers' },
    top_k: { type: 'integer', minimum: 1, maximum: MAX_TOP_K, default: 5, description: 'classes listed per prediction' },
  },
} as const;

const SCORE = { type: 'object', required: ['label', 'score'], properties: { label: { type: 'string' }, score: { type: 'number' } } } as const;

const RESPONSE = {
  type: 'object',
  required: ['model', 'model_version', 'predictions'],
  properties: {
    model: { type: 'string' },
    model_version: { type: 'string' },
    predictions: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          label: { type: 'string' },
          score: { type: 'number' },
          scores: { type: 'array', items: SCORE },
          value: { anyOf: [{ type: 'number' }, { type: 'array', items: { type: 'number' } }] },
        },
      },
    },
  },
} as const;

const HEADERS = {
  type: 'object',
  properties: { [TIMEOUT_HEADER]: { type: 'integer', minimum: 1, maximum: 3_600_000, description: 'deadline in ms' } },
} as const;

export const predictRoutes: FastifyPluginAsync<PredictRoutesOptions> = async (app, o) => {
  app.post<{ Params: { model: string }; Body: { inputs: unknown[]; top_k?: number }; Headers: { [TIMEOUT_HEADER]?: number } }>(
    '/predict/:model',
    {
      bodyLimit: o.maxRequestBytes ?? 64 * 1024 * 1024,
      config: { inferenceMetrics: true },
      schema: {
        tags: ['inference'],
        summary: 'predict labels (or values) for raw records through the model’s pipeline',
        params: PARAMS,
        headers: HEADERS,
        body: BODY,
        response: { 200: RESPONSE, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const timeoutMs = request.headers[TIMEOUT_HEADER] ?? o.defaultTimeoutMs ?? 30_000;
      try {
        const model = await o.modelCache.get(request.params.model);
        noteServedModel(request, model.name, model.version);
        const r = await model.predict(request.body.inputs, { topK: request.body.top_k, timeoutMs });
        return { model: r.model, model_version: String(r.version), predictions: r.predictions };
      } catch (e) {
        if (e instanceof AimassError && (e.code === 'RESOURCE_EXHAUSTED' || e.code === 'UNAVAILABLE')) void reply.header('retry-after', '1');
        throw e;
      }
    },
  );
};
