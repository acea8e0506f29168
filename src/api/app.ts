/**
 * The Fastify application of the AI Mass HTTP API: one plugin per capability (models, runs) under /api/v1 and,
 * given a model cache, inference as Open Inference Protocol v2 under /v2; the error handling every route shares,
 * the OpenAPI document generated from the route schemas (served at /docs/json, browsable at /docs),
 * GET /healthz, and Prometheus metrics at GET /metrics (always: errors and process metrics; with a model cache,
 * inference and model metrics too).
 *
 * The app owns no resources: the registry, and the model cache /v2 serves inference from when given, are opened
 * and closed by whoever builds the app (`aimass serve`, tests). `buildApp` is synchronous; plugins load on
 * `ready()`, `listen()` or the first `inject()`.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry as PromRegistry } from 'prom-client';
import type { Logger } from '../core/index.js';
import type { Registry } from '../registry/index.js';
import type { ModelCache } from '../serve/index.js';
import { installErrorHandling } from './error-handler.js';
import { type FastLane, inferFastLane } from './infer-fast-lane.js';
import { inferenceRoutes } from './inference-routes.js';
import { installMetrics, requestRecorderOf } from './metrics.js';
import { modelsRoutes } from './models-routes.js';
import { predictRoutes } from './predict-routes.js';
import { runsRoutes } from './runs-routes.js';
import { ERROR_RESPONSES } from './schemas.js';

export interface AppOptions {
  registry: Registry;
  /** Request and error logs; none when omitted. */
  logger?: Logger;
  /** Largest ONNX upload accepted, in bytes (default 2 GiB). */
  maxUploadBytes?: number;
  /** Files up to this size are verified in memory before sending, larger ones through a temporary copy (default 16 MiB). */
  bufferFilesUpTo?: number;
  /** Serves model inference under /v2 (Open Inference Protocol) from this cache; no /v2 routes when omitted. */
  modelCache?: ModelCache;
  /** Largest inference request body, in bytes (default 64 MiB); past it a request is refused with 413. */
  maxRequestBytes?: number;
  /** Adds prom-client's Node.js process metrics to /metrics (default true). */
  processMetrics?: boolean;
  /** Makes the text of GET /metrics from the app's registry (default: its metrics; see MetricsOptions.gather). */
  gatherMetrics?: (local: PromRegistry) => Promise<string>;
  /**
   * Answers POST /v2/…/infer over a socket from the server's request handler, in front of Fastify, through the
   * same code as the route (default true; see infer-fast-lane.ts). `inject()` always reaches the route.
   */
  inferFastLane?: boolean;
}

export const API_PREFIX = '/api/v1';

export function buildApp(o: AppOptions): FastifyInstance {
  let lane: FastLane | undefined;
  const app: FastifyInstance = Fastify({
    // Node's server, with the inference fast lane in front of Fastify's handler once the lane exists.
    serverFactory: (handler, options) => {
      const server = createServer(options.http ?? {}, (req, res) => {
        if (lane?.(req, res)) return;
        handler(req, res);
      });
      // Fastify's defaults, as it sets them on the server it makes itself
      server.keepAliveTimeout = Number(options.keepAliveTimeout ?? 72_000);
      server.requestTimeout = Number(options.requestTimeout ?? 0);
      server.setTimeout(Number(options.connectionTimeout ?? 0));
      return server;
    },
    // pino's Logger is a FastifyBaseLogger; naming the base type keeps the instance type the default one
    ...(o.logger ? { loggerInstance: o.logger as FastifyBaseLogger } : { logger: false }),
    ajv: {
      customOptions: {
        // every problem at once, not just the first
        allErrors: true,
        // unknown fields are refused, not silently dropped: a misspelt `expected` must not turn a
        // compare-and-set into a blind move
        removeAdditional: false,
        // errors carry the failing value and schema, so messages can quote them
        verbose: true,
      },
    },
  });

  installErrorHandling(app);

  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'AI Mass API',
        version: packageVersion(),
        description: 'The model registry (versions, aliases, rollback, verified downloads, ONNX upload) and tracked training runs. Every error is {"error":{"code","status","title","message","details"}}.',
      },
      tags: [
        { name: 'models', description: 'registered models, versions, files and aliases' },
        { name: 'runs', description: 'tracked training runs' },
        { name: 'system', description: 'health' },
        ...(o.modelCache ? [{ name: 'inference', description: 'Open Inference Protocol v2 (KServe): health, model metadata and inference; errors are {"error":"message"}' }] : []),
      ],
    },
    transformObject: (d) => optionalBodies('openapiObject' in d ? d.openapiObject : d.swaggerObject),
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
  // after @fastify/swagger, so that the document lists GET /metrics; its hooks still see every route
  installMetrics(app, { modelCache: o.modelCache, processMetrics: o.processMetrics, gather: o.gatherMetrics });

  // inside a plugin, so that it is added after @fastify/swagger has loaded and the document lists it
  void app.register(async (scope) => {
    scope.get(
      '/healthz',
      {
        schema: {
          tags: ['system'],
          summary: 'liveness: 200 while the server runs',
          response: { 200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } }, ...ERROR_RESPONSES },
        },
      },
      async () => ({ status: 'ok' as const }),
    );
  });

  void app.register(modelsRoutes, { prefix: API_PREFIX, registry: o.registry, maxUploadBytes: o.maxUploadBytes, bufferFilesUpTo: o.bufferFilesUpTo });
  void app.register(runsRoutes, { prefix: API_PREFIX, registry: o.registry });
  if (o.modelCache) void app.register(predictRoutes, { prefix: API_PREFIX, modelCache: o.modelCache, maxRequestBytes: o.maxRequestBytes });
  if (o.modelCache) void app.register(inferenceRoutes, { registry: o.registry, modelCache: o.modelCache, serverVersion: packageVersion(), maxRequestBytes: o.maxRequestBytes });
  if (o.modelCache && (o.inferFastLane ?? true)) {
    lane = inferFastLane({ modelCache: o.modelCache, maxRequestBytes: o.maxRequestBytes, recorder: requestRecorderOf(app), logger: o.logger });
  }
  return app;
}

/**
 * @fastify/swagger marks every request body as required, but a route whose body schema admits null (rollback)
 * takes a request with no body at all; the document should say so.
 */
function optionalBodies<D>(doc: D): D {
  type Operation = { requestBody?: { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> } };
  const paths = (doc as { paths?: Record<string, Record<string, Operation>> }).paths ?? {};
  for (const operations of Object.values(paths)) {
    for (const op of Object.values(operations)) {
      const content = op?.requestBody?.content;
      if (content && Object.values(content).some((c) => c.schema?.nullable === true)) op.requestBody!.required = false;
    }
  }
  return doc;
}

function packageVersion(): string {
  try {
    return String((JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version);
  } catch {
    return '0.0.0';
  }
}
