/**
 * Public entry of `api/`: the Fastify app of the HTTP API (models and runs under /api/v1, OpenAPI at /docs), its
 * plugins for embedding in another Fastify app, the error mapping they share, and the Prometheus metrics.
 *
 * api/ may import any module; nothing but cli/ imports api/.
 */
export { API_PREFIX, buildApp, type AppOptions } from './app.js';
export { toApiError } from './error-handler.js';
export {
  BINARY_MEDIA_TYPES,
  DEFAULT_INFER_TIMEOUT_MS,
  DEFAULT_MAX_REQUEST_BYTES,
  INFERENCE_HEADER_LENGTH,
  TIMEOUT_HEADER,
  inferenceRoutes,
  type InferenceRoutesOptions,
} from './inference-routes.js';
export { METRICS_PATH, installMetrics, metricsRegistryOf, noteServedModel, type MetricsOptions } from './metrics.js';
export { DEFAULT_MAX_UPLOAD_BYTES, actingRegistry, modelsRoutes, type ModelsRoutesOptions } from './models-routes.js';
export { compareRunsResponse, runsRoutes, type RunsRoutesOptions } from './runs-routes.js';
