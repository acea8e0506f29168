/**
 * How every failure of the HTTP API is answered: one error handler and one not-found handler, both replying with
 * the catalog's JSON (`{"error":{"code","status","title","message","details"}}`) and the code's HTTP status.
 *
 * - AimassError: as it is.
 * - Fastify validation failures: 400 INVALID_ARGUMENT, one line per problem in `details.problems`
 *   ("body.version: must be integer"), so a client fixes all of them in one go.
 * - A body over the route's byte limit: 413 PAYLOAD_TOO_LARGE naming the limit; a body of a media type no
 *   parser takes: 415 UNSUPPORTED_MEDIA_TYPE.
 * - Other client errors Fastify raises (malformed JSON, …): INVALID_ARGUMENT with Fastify's message.
 * - Anything else: 500 INTERNAL with a generic message and the request id; the error and its stack go to the
 *   server log only.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AimassError, isAimassError } from '../core/index.js';

/** One Ajv error as Fastify hands it over (kept structural so no Ajv import is needed). */
interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  /** Present because the app runs Ajv with `verbose`: the failing value and the schema holding the keyword. */
  data?: unknown;
  parentSchema?: { description?: string };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    const e = toApiError(error, request);
    if (e.status >= 500) request.log.error({ err: error, code: e.code }, 'request failed');
    else request.log.info({ code: e.code, message: e.message }, 'request refused');
    sendError(reply, e);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    sendError(reply, new AimassError('NOT_FOUND', `no route ${request.method} ${path}; the API is under /api/v1 and its documentation at /docs`, { method: request.method, path }));
  });
}

function sendError(reply: FastifyReply, e: AimassError): void {
  // a download route may have set headers about the file it was going to send; they do not describe this body
  for (const h of ['content-disposition', 'x-aimass-sha256', 'content-length']) reply.removeHeader(h);
  void reply.code(e.status).type('application/json; charset=utf-8').send(e.toJSON());
}

/** What toApiError reads of a request: its id, and where there are, its headers and the route's body limit. */
export type ErrorContext = Pick<FastifyRequest, 'id'> & { headers?: FastifyRequest['headers']; routeOptions?: { bodyLimit?: number } };

/** The catalog error to answer `error` with. */
export function toApiError(error: unknown, request: ErrorContext): AimassError {
  if (isAimassError(error)) return error;
  const fe = error as Partial<FastifyError> & { validation?: ValidationIssue[] };
  if (Array.isArray(fe.validation)) return validationError(fe.validation, fe.validationContext ?? 'request');
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 404) return new AimassError('NOT_FOUND', String(fe.message));
  if (status === 413 || fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const limit = request.routeOptions?.bodyLimit;
    return new AimassError('PAYLOAD_TOO_LARGE', `the request body is over this route's limit${limit === undefined ? '' : ` of ${limit} bytes`}; send less per request`, {
      fastifyCode: fe.code,
      ...(limit === undefined ? {} : { limit }),
    });
  }
  if (status === 415) {
    const type = request.headers?.['content-type'];
    return new AimassError(
      'UNSUPPORTED_MEDIA_TYPE',
      `${type === undefined ? 'a body without a media type' : `the media type "${type}"`} is not one this route takes; send application/json, or application/octet-stream where a route takes a file or binary tensor data`,
      { fastifyCode: fe.code, contentType: type ?? null },
    );
  }
  if (status >= 400 && status < 500) return new AimassError('INVALID_ARGUMENT', String(fe.message), { fastifyCode: fe.code });
  return new AimassError('INTERNAL', `internal error while serving request ${request.id}; the server log has the details`, { requestId: request.id });
}

function validationError(issues: ValidationIssue[], part: string): AimassError {
  const problems = [...new Set(issues.map((i) => describeIssue(part, i)))];
  return new AimassError('INVALID_ARGUMENT', `invalid ${part}: ${problems.join('; ')}`, { part, problems });
}

/** "body.version: must be integer"; names the field for `required` and unknown-field failures too. */
function describeIssue(part: string, issue: ValidationIssue): string {
  const segments = issue.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const at = (extra?: string) => [part, ...segments, ...(extra === undefined ? [] : [extra])].join('.');
  const p = issue.params;
  switch (issue.keyword) {
    case 'required':
      return `${at(String(p.missingProperty))}: is required`;
    case 'additionalProperties':
      return `${at(String(p.additionalProperty))}: is not a known field`;
    case 'pattern': {
      // patterns are unreadable; schemas carry a description saying what is expected instead
      const expected = issue.parentSchema?.description;
      return expected ? `${at()}: must be ${expected} (got ${preview(issue.data)})` : `${at()}: ${issue.message ?? issue.keyword}`;
    }
    case 'enum':
      return `${at()}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return `${at()}: ${issue.message ?? issue.keyword}`;
  }
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
