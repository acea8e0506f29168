/**
 * Prometheus metrics of one app, served as text at GET /metrics: failed requests by catalog error code (every
 * route), the Node.js process metrics prom-client collects, and, given a model cache, inference metrics —
 * requests by model, version and HTTP status, their latency, each loaded version's queue depth, batch sizes
 * and load time, and how many versions are loaded.
 *
 * Every app has its own prom-client Registry (never the global one), so several apps in one process, as tests
 * build them, count apart. Cache events (loads, unloads, batches) arrive through `ModelCache.observe`, attached
 * while the app is open; queue depth and loaded models are read from the cache at scrape time.
 *
 * A route counts as inference when its config says `inferenceMetrics: true`; its handler names the model
 * version that served the request with `noteServedModel`. A request that never reached a model counts under
 * the model and version it named only where those are loaded, else under "" (so that clients sending arbitrary
 * names cannot grow the number of series).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelCache } from '../serve/index.js';
import { toApiError } from './error-handler.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Requests of the route count in the inference metrics (by model, version and status). */
    inferenceMetrics?: boolean;
  }
}

export interface MetricsOptions {
  /** Adds the inference and model metrics, observed from this cache. */
  modelCache?: ModelCache;
  /** Collects prom-client's Node.js process metrics too (default true). */
  processMetrics?: boolean;
  /**
   * Makes the text GET /metrics answers with, given this app's registry (default: that registry's metrics). A
   * server of several processes asks its primary for every process's metrics summed (serve-cluster.ts).
   */
  gather?: (local: Registry) => Promise<string>;
}

export const METRICS_PATH = '/metrics';

/** Latency buckets from 100 µs to 10 s: a warm small model answers in well under a millisecond. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/**
 * What a server path outside Fastify's hooks (the inference fast lane) reports per request, so that it counts
 * in the same series as the route.
 */
export interface RequestRecorder {
  /** A finished inference request; `model`/`version` undefined when it reached no model. */
  inference(name: string, version: string | undefined, served: { model: string; version: number } | undefined, status: number, seconds: number): void;
  /** A failed request, by catalog error code. */
  error(code: string): void;
}

const recorders = new WeakMap<FastifyInstance, RequestRecorder>();
const registries = new WeakMap<FastifyInstance, Registry>();

/** The prom-client registry of `app`'s metrics (installMetrics has run on it), if any. */
export function metricsRegistryOf(app: FastifyInstance): Registry | undefined {
  return registries.get(app);
}

/** The recorder of `app`'s metrics (installMetrics has run on it), if any. */
export function requestRecorderOf(app: FastifyInstance): RequestRecorder | undefined {
  return recorders.get(app);
}

/** The model version that served each request, as its handler noted it. */
const served = new WeakMap<FastifyRequest, { model: string; version: string }>();

/** Records that `request` was served by `version` of `model` (its inference metrics carry these labels). */
export function noteServedModel(request: FastifyRequest, model: string, version: number): void {
  served.set(request, { model, version: String(version) });
}

/** Adds the metrics hooks to `app` (the root instance, so they see every route) and GET /metrics. */
export function installMetrics(app: FastifyInstance, o: MetricsOptions = {}): Registry {
  const registry = new Registry();
  registries.set(app, registry);
  if (o.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const gather = o.gather ?? ((local: Registry) => local.metrics());

  const errors = new Counter({ name: 'aimass_errors_total', help: 'failed requests by catalog error code, over every route', labelNames: ['code'], registers: [registry] });
  app.addHook('onError', async (request, _reply, error) => {
    errors.inc({ code: toApiError(error, request).code });
  });

  const cache = o.modelCache;
  const inference = cache ? installInferenceMetrics(app, registry, cache) : undefined;
  recorders.set(app, {
    inference: (name, version, served, status, seconds) => inference?.(served ? { model: served.model, version: String(served.version) } : unservedLabels(cache!, name, version), status, seconds),
    error: (code) => errors.inc({ code }),
  });

  void app.register(async (scope) => {
    scope.get(
      METRICS_PATH,
      {
        schema: {
          tags: ['system'],
          summary: 'Prometheus metrics (text exposition format)',
          produces: ['text/plain'],
          response: { 200: { type: 'string', description: 'Prometheus text format 0.0.4' } },
        },
      },
      async (_request, reply) => reply.type(registry.contentType).send(await gather(registry)),
    );
  });
  return registry;
}

type Labels = { model: string; version: string };

/** Installs the inference metrics; returns how to record one request (what the onResponse hook does). */
function installInferenceMetrics(app: FastifyInstance, registry: Registry, cache: ModelCache): (labels: Labels, status: number, seconds: number) => void {
  const registers = [registry];
  const requests = new Counter({
    name: 'aimass_inference_requests_total',
    help: 'inference requests by model, version and HTTP status',
    labelNames: ['model', 'version', 'status'],
    registers,
  });
  const latency = new Histogram({
    name: 'aimass_inference_request_duration_seconds',
    help: 'inference request latency, from the request arriving to the response sent, by model and version',
    labelNames: ['model', 'version'],
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const batchSize = new Histogram({ name: 'aimass_inference_batch_size', help: 'samples per batch run, by model and version', labelNames: ['model', 'version'], buckets: BATCH_BUCKETS, registers });
  const loadSeconds = new Gauge({
    name: 'aimass_model_load_seconds',
    help: 'how long each loaded model version took to load and warm up',
    labelNames: ['model', 'version'],
    registers,
  });
  new Gauge({
    name: 'aimass_inference_queue_depth',
    help: 'samples waiting in each loaded model version\'s batching queue',
    labelNames: ['model', 'version'],
    registers,
    collect() {
      this.reset();
      for (const m of cache.list()) this.set({ model: m.name, version: String(m.version) }, m.queued);
    },
  });
  new Gauge({
    name: 'aimass_models_loaded',
    help: 'model versions loaded and ready',
    registers,
    collect() {
      this.set(cache.list().filter((m) => m.state === 'ready').length);
    },
  });

  const stop = cache.observe({
    onLoad: (model, version, seconds) => loadSeconds.set({ model, version: String(version) }, seconds),
    onUnload: (model, version) => loadSeconds.remove({ model, version: String(version) }),
    onBatch: (model, version, samples) => batchSize.observe({ model, version: String(version) }, samples),
  });
  app.addHook('onClose', async () => {
    stop();
  });

  // prom-client hashes the labels on every call; the children for each label set are kept instead.
  const children = new Map<string, { requests: { inc(): void }; latency: { observe(v: number): void } }>();
  const record = (labels: Labels, status: number, seconds: number) => {
    const key = `${labels.model}\u0000${labels.version}\u0000${status}`;
    let child = children.get(key);
    if (!child) {
      if (children.size > 10_000) children.clear(); // bounded: the series themselves are bounded by unservedLabels
      child = { requests: requests.labels({ ...labels, status: String(status) }), latency: latency.labels(labels) };
      children.set(key, child);
    }
    child.requests.inc();
    child.latency.observe(seconds);
  };
  app.addHook('onResponse', async (request, reply) => {
    if (!request.routeOptions.config.inferenceMetrics) return;
    const { name, version } = (request.params ?? {}) as { name?: unknown; version?: unknown };
    const labels = served.get(request) ?? unservedLabels(cache, name, version);
    record(labels, reply.statusCode, reply.elapsedTime / 1000);
  });
  return record;
}

/** Labels of a request that reached no model: the model and version it named where loaded, else "". */
function unservedLabels(cache: ModelCache, name: unknown, version: unknown): Labels {
  const loaded = cache.list().filter((m) => m.name === name);
  if (loaded.length === 0) return { model: '', version: '' };
  return { model: String(name), version: loaded.some((m) => String(m.version) === version) ? String(version) : '' };
}
