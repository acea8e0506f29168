/**
 * Public entry of `api/`: the Fastify app of the HTTP API (models and runs under /api/v1, OpenAPI at /docs), its
 * plugins for embedding in another Fastify app, and the error mapping they share.
 *
 * api/ may import any module; nothing but cli/ imports api/.
 */
export { API_PREFIX, buildApp, type AppOptions } from './app.js';
export { toApiError } from './error-handler.js';
export { DEFAULT_INFER_TIMEOUT_MS, TIMEOUT_HEADER, inferenceRoutes, type InferenceRoutesOptions } from './inference-routes.js';
export { DEFAULT_MAX_UPLOAD_BYTES, actingRegistry, modelsRoutes, type ModelsRoutesOptions } from './models-routes.js';
export { compareRunsResponse, runsRoutes, type RunsRoutesOptions } from './runs-routes.js';
