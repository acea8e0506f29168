/**
 * The inference fast lane: `POST /v2/models/{name}[/versions/{v}]/infer` answered straight from Node's HTTP
 * server, in front of Fastify. A Fastify route with its hooks, schemas, per-request logger and reply pipeline
 * costs tens of microseconds per request, which at thousands of single-sample requests a second is more than
 * the model run; this lane reads the body, calls the same `runInference` the route calls, and writes the bytes.
 *
 * It takes only requests it understands completely before reading their bodies — the exact path with no query
 * string or percent-escapes, POST, a media type inference takes — and hands everything else to Fastify
 * untouched (so odd requests get the route's answers and 404/405/415 as before). What it answers it counts in
 * the same metrics series as the route and logs as the route would (failures from 500 up as errors).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AimassError } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { ModelCache, ServedModel } from '../serve/index.js';
import type { RequestRecorder } from './metrics.js';
import { DEFAULT_MAX_REQUEST_BYTES, INFERENCE_HEADER_LENGTH, INFER_MEDIA_TYPES, OIP_ERROR_CONTENT_TYPE, TIMEOUT_HEADER, oipFailure, runInference } from './oip-infer.js';

export interface FastLaneOptions {
  modelCache: ModelCache;
  /** Largest body, in bytes (default 64 MiB), as the route's bodyLimit. */
  maxRequestBytes?: number;
  /** Where the lane's requests are counted (the app's metrics). */
  recorder?: RequestRecorder;
  logger?: Logger;
}

/** Returns true when it took the request (and will answer it), false to leave it to Fastify. */
export type FastLane = (req: IncomingMessage, res: ServerResponse) => boolean;

const INFER_PATH = /^\/v2\/models\/([A-Za-z0-9][A-Za-z0-9_.-]*)(?:\/versions\/([0-9]+))?\/infer$/;

export function inferFastLane(o: FastLaneOptions): FastLane {
  const lane: Lane = { ...o, limit: o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES, logRefusals: o.logger?.isLevelEnabled('debug') ?? false };
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const m = INFER_PATH.exec(req.url ?? '');
    if (!m) return false;
    const type = req.headers['content-type'];
    if (type === undefined) return false;
    const semi = type.indexOf(';');
    const media = (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase();
    if (!INFER_MEDIA_TYPES.includes(media)) return false;
    const exchange = new Exchange(lane, req, res, m[1], m[2]);
    if (Number(req.headers['content-length']) > lane.limit) {
      exchange.tooLarge();
      return true;
    }
    // Inline, unnamed listeners: the transpiler names every named closure on creation, which costs per request.
    req.on('data', (chunk: Buffer) => exchange.data(chunk));
    req.on('end', () => exchange.end());
    req.on('error', () => {}); // a client that went away: nothing to answer
    return true;
  };
}

interface Lane extends FastLaneOptions {
  limit: number;
  logRefusals: boolean;
}

/** One request taken by the lane, from its first byte to the answer. */
class Exchange {
  private readonly started = performance.now();
  private chunks: Buffer[] = [];
  private size = 0;
  private over = false;
  private served?: ServedModel;

  constructor(
    private readonly lane: Lane,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly name: string,
    private readonly version: string | undefined,
  ) {}

  data(chunk: Buffer): void {
    if (this.over) return;
    this.size += chunk.length;
    if (this.size > this.lane.limit) {
      this.over = true;
      this.chunks = [];
      this.tooLarge();
    } else this.chunks.push(chunk);
  }

  end(): void {
    if (this.over) return;
    const { chunks, req } = this;
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.size);
    const call = { name: this.name, version: this.version, body, headerLength: req.headers[INFERENCE_HEADER_LENGTH], timeout: req.headers[TIMEOUT_HEADER] };
    runInference(this.lane.modelCache, call, (model) => (this.served = model)).then(
      (answer) => this.finish(200, answer.contentType, answer.body, answer.headerLength === undefined ? undefined : { [INFERENCE_HEADER_LENGTH]: answer.headerLength }),
      (error: unknown) => this.fail(error),
    );
  }

  /** Answers 413 without reading the rest of the body, and closes the connection after the answer. */
  tooLarge(): void {
    const { limit } = this.lane;
    this.fail(new AimassError('PAYLOAD_TOO_LARGE', `the request body is over this route's limit of ${limit} bytes; send less per request`, { limit }), { connection: 'close' });
    this.req.resume();
  }

  fail(error: unknown, extra?: Record<string, string>): void {
    const { lane } = this;
    const e = error instanceof AimassError ? error : new AimassError('INTERNAL', 'internal error while serving an inference request; the server log has the details');
    const failure = oipFailure(e);
    if (failure.status >= 500) lane.logger?.error({ err: error, code: e.code, url: this.req.url }, 'inference request failed');
    else if (lane.logRefusals) lane.logger?.info({ code: e.code, message: e.message, url: this.req.url }, 'inference request refused');
    lane.recorder?.error(e.code);
    this.finish(failure.status, OIP_ERROR_CONTENT_TYPE, failure.body, failure.retryAfter ? { ...extra, 'retry-after': failure.retryAfter } : extra);
  }

  finish(status: number, contentType: string, body: string | Buffer, extra?: Record<string, string | number>): void {
    const { res, served } = this;
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string | number> = { 'content-type': contentType, 'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length };
    if (extra) Object.assign(headers, extra);
    res.writeHead(status, headers);
    res.end(body);
    this.lane.recorder?.inference(this.name, this.version, served && { model: served.name, version: served.version }, status, (performance.now() - this.started) / 1000);
  }
}
