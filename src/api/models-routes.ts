/**
 * The model registry over HTTP, under /api/v1/models: what `aimass models …` does from the command line — list,
 * show, versions, download a version's files (checksums verified before a byte is sent), register by uploading
 * an ONNX file, aliases (read, compare-and-set, delete, history), rollback, delete.
 *
 * Who acts (recorded on alias moves and as a version's creator) is the `x-aimass-user` header when present, else
 * the registry's own actor. The header is trusted as sent: authentication is not part of this API yet.
 */
import { rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AimassError } from '../core/index.js';
import { Registry } from '../registry/index.js';
import { DEFAULT_BUFFER_UP_TO, sendVerifiedFile } from './file-download.js';
import {
  ACTOR_HEADERS,
  ALIAS,
  ALIAS_EVENT,
  ALIAS_NAME,
  ERROR_RESPONSES,
  MODEL,
  MODEL_NAME,
  REASON,
  VERSION,
  VERSION_NUMBER,
  VERSION_REF,
} from './schemas.js';
import { UPLOAD_MEDIA_TYPE, acceptUploads, discardUpload, uploadedFile } from './uploads.js';

export interface ModelsRoutesOptions {
  registry: Registry;
  /** Largest ONNX upload accepted, in bytes (default 2 GiB, the most a protobuf-encoded ONNX file can hold). */
  maxUploadBytes?: number;
  /** Files up to this size are verified in memory before sending, larger ones through a temporary copy. */
  bufferFilesUpTo?: number;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024;

const TAGS = ['models'];

// --- request schemas ---------------------------------------------------------------------------------------

const nameParams = { type: 'object', required: ['name'], properties: { name: MODEL_NAME } } as const;
const versionParams = { type: 'object', required: ['name', 'version'], properties: { name: MODEL_NAME, version: VERSION_REF } } as const;
const versionNumberParams = { type: 'object', required: ['name', 'version'], properties: { name: MODEL_NAME, version: VERSION_NUMBER } } as const;
const fileParams = {
  type: 'object',
  required: ['name', 'version', 'path'],
  properties: { name: MODEL_NAME, version: VERSION_REF, path: { type: 'string', minLength: 1, maxLength: 255, description: 'a file of the version, e.g. model.onnx' } },
} as const;
const aliasParams = { type: 'object', required: ['name', 'alias'], properties: { name: MODEL_NAME, alias: ALIAS_NAME } } as const;
const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

const EXPECTED = {
  type: ['integer', 'null'],
  minimum: 1,
  description: 'compare-and-set: the version the alias must hold now (null: it must not exist); omit to move it unconditionally',
} as const;

const ALIAS_BODY = {
  type: 'object',
  required: ['version'],
  additionalProperties: false,
  properties: { version: VERSION_NUMBER, expected: EXPECTED, reason: REASON },
} as const;

const ROLLBACK_BODY = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { alias: { ...ALIAS_NAME, default: 'production' }, reason: REASON },
} as const;

const UPLOAD_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    description: { type: 'string', maxLength: 2000, description: 'what this version is' },
    framework: { type: 'string', maxLength: 200, default: 'onnx', description: 'where it was trained, e.g. "pytorch 2.1"' },
    filename: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', maxLength: 255, description: 'the original file name (recorded in meta.json)' },
  },
} as const;

const DELETE_MODEL_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { confirm: { type: 'boolean', description: 'must be true: deleting a model removes every version and its files' } },
} as const;

const DELETE_ALIAS_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: { expected: { ...VERSION_NUMBER, description: 'compare-and-set: delete only if the alias holds this version' }, reason: REASON },
} as const;

// --- response schemas --------------------------------------------------------------------------------------

const MODEL_SUMMARY = {
  ...MODEL,
  required: [...MODEL.required, 'aliases'],
  properties: { ...MODEL.properties, aliases: { type: 'array', items: ALIAS } },
} as const;

const MODEL_DETAILS = {
  type: 'object',
  required: ['model', 'versions', 'aliases'],
  properties: { model: MODEL, versions: { type: 'array', items: VERSION }, aliases: { type: 'array', items: ALIAS } },
} as const;

const DELETED = {
  type: 'object',
  required: ['deleted'],
  properties: {
    deleted: { type: 'object', required: ['model'], properties: { model: { type: 'string' }, version: { type: 'integer' } } },
  },
} as const;

const FILE_RESPONSE = {
  description: 'the file, verified against its sha256 (also sent as x-aimass-sha256)',
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
} as const;

// --- request types -----------------------------------------------------------------------------------------

interface NameParams {
  name: string;
}
interface VersionParams extends NameParams {
  version: string;
}
interface AliasParams extends NameParams {
  alias: string;
}
interface ActorHeaders {
  'x-aimass-user'?: string;
}

/** The registry acting as the request's user (`x-aimass-user`), or as itself. */
export function actingRegistry(registry: Registry, request: FastifyRequest): Registry {
  const user = request.headers['x-aimass-user'];
  return typeof user === 'string' && user !== '' && user !== registry.actor ? new Registry(registry.meta, registry.artifacts, user) : registry;
}

export const modelsRoutes: FastifyPluginAsync<ModelsRoutesOptions> = async (app, o) => {
  const { registry } = o;
  acceptUploads(app, { maxBytes: o.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES, fileName: 'model.onnx' });

  app.get(
    '/models',
    {
      schema: {
        tags: TAGS,
        summary: 'registered models with their latest version and aliases',
        querystring: noQuery,
        response: { 200: { type: 'object', required: ['models'], properties: { models: { type: 'array', items: MODEL_SUMMARY } } }, ...ERROR_RESPONSES },
      },
    },
    async () => {
      const models = await registry.listModels();
      return { models: await Promise.all(models.map(async (m) => ({ ...m, aliases: await registry.meta.listAliases(m.name) }))) };
    },
  );

  app.get<{ Params: NameParams }>(
    '/models/:name',
    {
      schema: {
        tags: TAGS,
        summary: 'a model with its versions and aliases',
        params: nameParams,
        querystring: noQuery,
        response: { 200: MODEL_DETAILS, ...ERROR_RESPONSES },
      },
    },
    async (request) => registry.describe(request.params.name),
  );

  app.delete<{ Params: NameParams; Querystring: { confirm?: boolean } }>(
    '/models/:name',
    {
      schema: {
        tags: TAGS,
        summary: 'delete a model with every version, alias and file (needs ?confirm=true)',
        params: nameParams,
        querystring: DELETE_MODEL_QUERY,
        response: { 200: DELETED, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name } = request.params;
      if (request.query.confirm !== true) {
        throw new AimassError('INVALID_ARGUMENT', `deleting model "${name}" removes every version and its files; add ?confirm=true to confirm`, { model: name });
      }
      await registry.deleteModel(name);
      return { deleted: { model: name } };
    },
  );

  // --- versions ------------------------------------------------------------------------------------------

  app.get<{ Params: NameParams }>(
    '/models/:name/versions',
    {
      schema: {
        tags: TAGS,
        summary: "a model's versions with lineage, checksums and signature",
        params: nameParams,
        querystring: noQuery,
        response: { 200: { type: 'object', required: ['versions'], properties: { versions: { type: 'array', items: VERSION } } }, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name } = await registry.getModel(request.params.name);
      return { versions: await registry.meta.listVersions(name) };
    },
  );

  app.post<{ Params: NameParams; Querystring: { description?: string; framework: string; filename?: string }; Headers: ActorHeaders }>(
    '/models/:name/versions',
    {
      config: { upload: true },
      schema: {
        tags: TAGS,
        summary: 'register an ONNX model trained elsewhere as the next version (the body is the .onnx file)',
        description:
          'The file is validated by loading it in ONNX Runtime; its signature is read from it. The model is created on first use. ' +
          'The body must be application/octet-stream.',
        params: nameParams,
        querystring: UPLOAD_QUERY,
        headers: ACTOR_HEADERS,
        // what the client sends; the handler gets the spooled file from uploadedFile()
        body: { content: { [UPLOAD_MEDIA_TYPE]: { schema: { type: 'string', format: 'binary' } } } },
        response: { 201: { ...VERSION, description: 'the new version' }, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const { description, framework, filename } = request.query;
      try {
        const spooled = uploadedFile(request);
        let file = spooled;
        if (filename) {
          file = join(dirname(spooled), filename);
          await rename(spooled, file);
        }
        const v = await importUpload(actingRegistry(registry, request), name, file, { description, framework });
        return reply.code(201).header('location', `${request.url.split('?')[0]}/${v.version}`).send(v);
      } finally {
        await discardUpload(request);
      }
    },
  );

  app.get<{ Params: VersionParams }>(
    '/models/:name/versions/:version',
    {
      schema: {
        tags: TAGS,
        summary: 'one version, by number, alias or latest',
        params: versionParams,
        querystring: noQuery,
        response: { 200: VERSION, ...ERROR_RESPONSES },
      },
    },
    async (request) => registry.resolve(request.params.name, request.params.version),
  );

  app.delete<{ Params: { name: string; version: number } }>(
    '/models/:name/versions/:version',
    {
      schema: {
        tags: TAGS,
        summary: 'delete a version and its files (no alias may point at it)',
        params: versionNumberParams,
        querystring: noQuery,
        response: { 200: DELETED, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name, version } = request.params;
      await registry.deleteVersion(name, version);
      return { deleted: { model: name, version } };
    },
  );

  app.get<{ Params: VersionParams & { path: string } }>(
    '/models/:name/versions/:version/files/:path',
    {
      schema: {
        tags: TAGS,
        summary: "download a version's file (model.onnx, pipeline.json, meta.json, …), verified against its sha256",
        description: 'Every byte is checked against the recorded sha256 before the first is sent; a corrupted file fails with DATA_CORRUPT and is never served.',
        params: fileParams,
        querystring: noQuery,
        response: { 200: FILE_RESPONSE, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { name, version, path } = request.params;
      return sendVerifiedFile(reply, registry, await registry.resolve(name, version), path, { bufferUpTo: o.bufferFilesUpTo ?? DEFAULT_BUFFER_UP_TO });
    },
  );

  // --- aliases -------------------------------------------------------------------------------------------

  app.get<{ Params: NameParams }>(
    '/models/:name/aliases',
    {
      schema: {
        tags: TAGS,
        summary: "a model's aliases",
        params: nameParams,
        querystring: noQuery,
        response: { 200: { type: 'object', required: ['aliases'], properties: { aliases: { type: 'array', items: ALIAS } } }, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name } = await registry.getModel(request.params.name);
      return { aliases: await registry.meta.listAliases(name) };
    },
  );

  app.get<{ Params: AliasParams }>(
    '/models/:name/aliases/:alias',
    {
      schema: {
        tags: TAGS,
        summary: 'the version an alias points at',
        params: aliasParams,
        querystring: noQuery,
        response: { 200: ALIAS, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      await registry.getModel(name);
      const record = await registry.meta.getAlias(name, alias);
      if (!record) throw new AimassError('NOT_FOUND', `model "${name}" has no alias "${alias}"`, { model: name, alias });
      return record;
    },
  );

  app.put<{ Params: AliasParams; Body: { version: number; expected?: number | null; reason?: string }; Headers: ActorHeaders }>(
    '/models/:name/aliases/:alias',
    {
      schema: {
        tags: TAGS,
        summary: 'point an alias at a version (compare-and-set with expected: 409 CONFLICT when the alias moved meanwhile)',
        params: aliasParams,
        querystring: noQuery,
        headers: ACTOR_HEADERS,
        body: ALIAS_BODY,
        response: { 200: { ...ALIAS_EVENT, description: 'the move, as recorded in the alias history' }, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      if (alias === 'latest') throw new AimassError('INVALID_ARGUMENT', 'params.alias: "latest" always names the newest version and cannot be an alias; choose another name', { alias });
      const { version, expected, reason } = request.body;
      return actingRegistry(registry, request).setAlias(name, alias, version, { expected, reason });
    },
  );

  app.delete<{ Params: AliasParams; Querystring: { expected?: number; reason?: string }; Headers: ActorHeaders }>(
    '/models/:name/aliases/:alias',
    {
      schema: {
        tags: TAGS,
        summary: 'delete an alias (the versions stay)',
        params: aliasParams,
        querystring: DELETE_ALIAS_QUERY,
        headers: ACTOR_HEADERS,
        response: { 200: { ...ALIAS_EVENT, description: 'the deletion, as recorded in the alias history' }, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { name, alias } = request.params;
      return actingRegistry(registry, request).deleteAlias(name, alias, { expected: request.query.expected, reason: request.query.reason });
    },
  );

  app.get<{ Params: AliasParams }>(
    '/models/:name/aliases/:alias/history',
    {
      schema: {
        tags: TAGS,
        summary: 'every move of an alias, oldest first',
        params: aliasParams,
        querystring: noQuery,
        response: { 200: { type: 'object', required: ['events'], properties: { events: { type: 'array', items: ALIAS_EVENT } } }, ...ERROR_RESPONSES },
      },
    },
    async (request) => ({ events: await registry.aliasHistory(request.params.name, request.params.alias) }),
  );

  app.post<{ Params: NameParams; Body: { alias?: string; reason?: string } | null; Headers: ActorHeaders }>(
    '/models/:name/rollback',
    {
      schema: {
        tags: TAGS,
        summary: 'move an alias back to the version it held before (repeat to keep walking back)',
        description: 'Compare-and-set against the version the alias holds: a concurrent move makes it fail with 409 CONFLICT. The body may be omitted (alias production).',
        params: nameParams,
        querystring: noQuery,
        headers: ACTOR_HEADERS,
        body: ROLLBACK_BODY,
        response: { 200: { ...ALIAS_EVENT, description: 'the rollback move, as recorded in the alias history' }, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { alias = 'production', reason = '' } = request.body ?? {};
      return actingRegistry(registry, request).rollback(request.params.name, alias, reason);
    },
  );
};

/** Imports the uploaded file; a refusal names "the uploaded file", not the server's temporary path. */
async function importUpload(registry: Registry, name: string, file: string, o: { description?: string; framework: string }) {
  try {
    return await registry.importOnnx(name, file, o);
  } catch (e) {
    if (e instanceof AimassError && e.message.includes(file)) {
      const { path: _path, ...details } = e.details ?? {};
      throw new AimassError(e.code, e.message.split(file).join('the uploaded file'), Object.keys(details).length ? details : undefined, { cause: e });
    }
    throw e;
  }
}
