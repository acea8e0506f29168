/**
 * The JSON Schemas of the HTTP API: the records it returns (models, versions, aliases, alias events, runs), the
 * error body every failure uses, and the path parameters shared by several routes. Plain JSON Schema `as const`
 * objects: Fastify validates requests and serializes responses with them, and @fastify/swagger turns them into
 * the OpenAPI document, so one definition serves all three.
 *
 * Response schemas must list every field: Fastify's serializer drops properties a schema does not name.
 */
import { ERROR_CODES } from '../core/index.js';

// --- names and references in paths -------------------------------------------------------------------------

/** Model names: also folder names in artifact keys, so no slashes, spaces or leading dots. */
export const MODEL_NAME = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  maxLength: 128,
  description: 'a model name (letters, digits, "_", "." and "-", starting with a letter or digit, at most 128)',
} as const;

/** Alias names start with a letter, so that they never read as version numbers. */
export const ALIAS_NAME = {
  type: 'string',
  pattern: '^[A-Za-z][A-Za-z0-9_.-]*$',
  maxLength: 64,
  description: 'an alias name such as production (letters, digits, "_", "." and "-", starting with a letter, at most 64)',
} as const;

export const VERSION_NUMBER = { type: 'integer', minimum: 1, description: 'a version number (1, 2, …)' } as const;

/** A version as a number, an alias or `latest` (as `aimass models export NAME@REF` takes it). */
export const VERSION_REF = {
  type: 'string',
  pattern: '^(?:[1-9][0-9]{0,9}|[A-Za-z][A-Za-z0-9_.-]{0,63})$',
  description: 'a version number (1, 2, …), an alias name, or latest',
} as const;

export const RUN_ID = {
  type: 'string',
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$',
  maxLength: 128,
  description: 'a run id such as run-20260101-120000-ab12cd',
} as const;

export const REASON = { type: 'string', maxLength: 1000, description: 'why (kept in the alias history)' } as const;

/** The header naming who acts; recorded on alias moves and as a version's creator. */
export const ACTOR_HEADERS = {
  type: 'object',
  properties: {
    'x-aimass-user': { type: 'string', minLength: 1, maxLength: 128, description: 'who acts (default: the server\'s user)' },
  },
} as const;

// --- records -----------------------------------------------------------------------------------------------

const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } } as const;
const NUMBER_MAP = { type: 'object', additionalProperties: { type: 'number' } } as const;
const ANY_MAP = { type: 'object', additionalProperties: true } as const;
const TIMESTAMP = { type: 'string', description: 'ISO 8601 time' } as const;

export const MODEL = {
  type: 'object',
  required: ['name', 'description', 'tags', 'createdAt', 'updatedAt', 'latestVersion'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    tags: STRING_MAP,
    createdAt: TIMESTAMP,
    updatedAt: TIMESTAMP,
    latestVersion: { type: 'integer', description: 'highest version number handed out so far (0 before the first)' },
  },
} as const;

export const ALIAS = {
  type: 'object',
  required: ['model', 'alias', 'version', 'updatedAt', 'updatedBy'],
  properties: {
    model: { type: 'string' },
    alias: { type: 'string' },
    version: { type: 'integer' },
    updatedAt: TIMESTAMP,
    updatedBy: { type: 'string' },
  },
} as const;

export const ALIAS_EVENT = {
  type: 'object',
  description: 'one move of an alias: from null = created, to null = deleted',
  required: ['id', 'model', 'alias', 'from', 'to', 'actor', 'reason', 'at'],
  properties: {
    id: { type: 'integer' },
    model: { type: 'string' },
    alias: { type: 'string' },
    from: { type: ['integer', 'null'] },
    to: { type: ['integer', 'null'] },
    actor: { type: 'string' },
    reason: { type: 'string' },
    at: TIMESTAMP,
  },
} as const;

const TENSOR_SIGNATURE = {
  type: 'object',
  required: ['name', 'dtype', 'shape'],
  properties: {
    name: { type: 'string' },
    dtype: { type: 'string' },
    shape: { type: 'array', items: { type: ['integer', 'string'] }, description: 'dimensions; symbolic ones by name' },
  },
} as const;

export const VERSION = {
  type: 'object',
  required: [
    'model', 'version', 'artifactUri', 'files', 'signature', 'source', 'framework', 'params', 'metrics', 'datasetHash',
    'runId', 'parentVersion', 'createdBy', 'description', 'tags', 'size', 'createdAt',
  ],
  properties: {
    model: { type: 'string' },
    version: { type: 'integer' },
    artifactUri: { type: 'string' },
    files: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'size', 'sha256'],
        properties: { path: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string' } },
      },
    },
    signature: {
      type: 'object',
      required: ['inputs', 'outputs'],
      properties: { inputs: { type: 'array', items: TENSOR_SIGNATURE }, outputs: { type: 'array', items: TENSOR_SIGNATURE } },
    },
    source: { type: 'string', enum: ['trained', 'imported'] },
    framework: { type: 'string' },
    params: ANY_MAP,
    metrics: NUMBER_MAP,
    datasetHash: { type: ['string', 'null'] },
    runId: { type: ['string', 'null'] },
    parentVersion: { type: ['integer', 'null'] },
    createdBy: { type: 'string' },
    description: { type: 'string' },
    tags: STRING_MAP,
    size: { type: 'integer', description: 'sum of the file sizes in bytes' },
    createdAt: TIMESTAMP,
  },
} as const;

const RUN_PROPERTIES = {
  id: { type: 'string' },
  name: { type: 'string' },
  status: { type: 'string', enum: ['running', 'finished', 'failed', 'killed'] },
  params: ANY_MAP,
  metrics: { ...NUMBER_MAP, description: 'latest value of each metric' },
  artifacts: { ...STRING_MAP, description: 'artifact URIs the run produced, by name' },
  tags: STRING_MAP,
  startedAt: TIMESTAMP,
  endedAt: { type: ['string', 'null'] },
  error: { type: ['string', 'null'] },
} as const;

const RUN_REQUIRED = ['id', 'name', 'status', 'params', 'metrics', 'artifacts', 'tags', 'startedAt', 'endedAt', 'error'] as const;

export const RUN = { type: 'object', required: RUN_REQUIRED, properties: RUN_PROPERTIES } as const;

export const METRIC_POINT = {
  type: 'object',
  required: ['key', 'step', 'value', 'at'],
  properties: { key: { type: 'string' }, step: { type: 'integer' }, value: { type: 'number' }, at: TIMESTAMP },
} as const;

/** A run with the history of every metric it logged. */
export const RUN_WITH_HISTORY = {
  type: 'object',
  required: [...RUN_REQUIRED, 'history'],
  properties: { ...RUN_PROPERTIES, history: { type: 'array', items: METRIC_POINT } },
} as const;

// --- errors ------------------------------------------------------------------------------------------------

/** The body of every failure (AimassError.toJSON): clients branch on `code`, people read `message`. */
export const ERROR_BODY = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'status', 'title', 'message'],
      properties: {
        code: { type: 'string', enum: ERROR_CODES },
        status: { type: 'integer' },
        title: { type: 'string' },
        message: { type: 'string', description: 'what went wrong and what to do' },
        details: { type: 'object', additionalProperties: true, description: 'e.g. problems: one line per invalid field' },
      },
    },
  },
} as const;

/** Spread into every route's `response`: failures are documented (and serialized) the same way everywhere. */
export const ERROR_RESPONSES = {
  '4xx': { description: 'the request cannot be served as sent (see error.code)', ...ERROR_BODY },
  '5xx': { description: 'the server failed (INTERNAL, DATA_CORRUPT, UNAVAILABLE, TIMEOUT)', ...ERROR_BODY },
} as const;
