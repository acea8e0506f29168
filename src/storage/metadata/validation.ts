// What the metadata store accepts: name rules for models, aliases, runs and metrics, and zod schemas for the
// records callers hand in (new versions, snapshots). Bad input fails with INVALID_ARGUMENT listing every problem,
// before any database work.
import { z } from 'zod';
import { AimassError, describeIssues } from '../../core/index.js';

/** Model names and run ids: they appear in URLs, folder names and `model@alias` references. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Alias names start with a letter, so `model@3` (a version) and `model@prod` (an alias) never collide. */
export const ALIAS_PATTERN = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;

const NAME_RULE = 'start with a letter or digit and use only letters, digits, ".", "_" and "-" (at most 128 characters)';
const ALIAS_RULE = 'start with a letter and use only letters, digits, ".", "_" and "-" (at most 64 characters)';

export function checkModelName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new AimassError('INVALID_ARGUMENT', `Model name ${JSON.stringify(name)} is invalid: a model name must ${NAME_RULE}`, { name });
  }
  return name;
}

export function checkAliasName(alias: unknown): string {
  if (typeof alias !== 'string' || !ALIAS_PATTERN.test(alias)) {
    throw new AimassError('INVALID_ARGUMENT', `Alias name ${JSON.stringify(alias)} is invalid: an alias must ${ALIAS_RULE}`, { alias });
  }
  return alias;
}

export function checkRunId(id: unknown): string {
  if (typeof id !== 'string' || !NAME_PATTERN.test(id)) {
    throw new AimassError('INVALID_ARGUMENT', `Run id ${JSON.stringify(id)} is invalid: a run id must ${NAME_RULE}`, { id });
  }
  return id;
}

export function checkVersionNumber(version: unknown, what = 'Version'): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new AimassError('INVALID_ARGUMENT', `${what} ${JSON.stringify(version)} is invalid: versions are whole numbers from 1`, { version });
  }
  return version;
}

/** Parses `value` with `schema`, or throws INVALID_ARGUMENT with one line per problem. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  throw new AimassError('INVALID_ARGUMENT', `Invalid ${what}: ${problems.join('; ')}`, { problems });
}

const nonEmpty = z.string().min(1);
const stringMap = z.record(z.string(), z.string());
const metricMap = z.record(z.string(), z.number());
/** Anything JSON can carry and give back unchanged. */
const jsonObject = z.record(z.string(), z.unknown()).refine(isJsonSafe, 'must be JSON: plain objects, arrays, strings, finite numbers, booleans, null');

const modelName = z.string().regex(NAME_PATTERN, `a model name must ${NAME_RULE}`);
const aliasName = z.string().regex(ALIAS_PATTERN, `an alias must ${ALIAS_RULE}`);
const runId = z.string().regex(NAME_PATTERN, `a run id must ${NAME_RULE}`);
const versionNumber = z.number().int().positive();
const timestamp = z.iso.datetime();

export const NewModelSchema = z.object({
  name: modelName,
  description: z.string().optional(),
  tags: stringMap.optional(),
});

const ArtifactFileSchema = z.object({
  path: nonEmpty,
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits'),
});

const TensorSignatureSchema = z.object({
  name: z.string(),
  dtype: nonEmpty,
  shape: z.array(z.union([z.number().int(), z.string()])),
});

const SignatureSchema = z.object({ inputs: z.array(TensorSignatureSchema), outputs: z.array(TensorSignatureSchema) });

const filesSchema = z.array(ArtifactFileSchema).refine((files) => new Set(files.map((f) => f.path)).size === files.length, 'file paths must be unique');

export const NewVersionSchema = z.object({
  model: modelName,
  artifactUri: nonEmpty,
  files: filesSchema,
  signature: SignatureSchema,
  source: z.enum(['trained', 'imported']),
  framework: z.string(),
  params: jsonObject,
  metrics: metricMap,
  datasetHash: nonEmpty.optional(),
  runId: nonEmpty.optional(),
  parentVersion: versionNumber.optional(),
  createdBy: nonEmpty,
  description: z.string().optional(),
  tags: stringMap.optional(),
});

export const AliasMoveSchema = z.object({
  model: modelName,
  alias: aliasName,
  to: versionNumber.nullable(),
  expected: versionNumber.nullable().optional(),
  actor: nonEmpty,
  reason: z.string(),
});

export const NewRunSchema = z.object({
  id: runId,
  name: z.string(),
  params: jsonObject,
  tags: stringMap.optional(),
});

export const MetricPointsSchema = z.array(
  z.object({
    key: z.string().min(1).max(250),
    step: z.number().int().nonnegative(),
    // z.number() already refuses NaN and ±Infinity, which neither JSON nor SQLite can store.
    value: z.number(),
  }),
);

export const RunQuerySchema = z.object({
  status: z.enum(['running', 'finished', 'failed', 'killed']).optional(),
  nameContains: z.string().optional(),
  orderBy: z.object({ metric: z.string().min(1), descending: z.boolean().optional() }).optional(),
  limit: z.number().int().positive().optional(),
});

const runStatus = z.enum(['running', 'finished', 'failed', 'killed']);

export const SnapshotSchema = z.object({
  schemaVersion: z.number().int().positive(),
  takenAt: z.string(),
  models: z.array(
    z.object({
      name: modelName,
      description: z.string(),
      tags: stringMap,
      createdAt: timestamp,
      updatedAt: timestamp,
      latestVersion: z.number().int().nonnegative(),
    }),
  ),
  versions: z.array(
    NewVersionSchema.extend({
      version: versionNumber,
      size: z.number().int().nonnegative(),
      createdAt: timestamp,
      datasetHash: nonEmpty.nullable(),
      runId: nonEmpty.nullable(),
      parentVersion: versionNumber.nullable(),
      description: z.string(),
      tags: stringMap,
    }),
  ),
  aliases: z.array(z.object({ model: modelName, alias: aliasName, version: versionNumber, updatedAt: timestamp, updatedBy: nonEmpty })),
  aliasEvents: z.array(
    z.object({
      id: z.number().int().positive(),
      model: modelName,
      alias: aliasName,
      from: versionNumber.nullable(),
      to: versionNumber.nullable(),
      actor: nonEmpty,
      reason: z.string(),
      at: timestamp,
    }),
  ),
  runs: z.array(
    z.object({
      id: runId,
      name: z.string(),
      status: runStatus,
      params: jsonObject,
      metrics: metricMap,
      artifacts: stringMap,
      tags: stringMap,
      startedAt: timestamp,
      endedAt: timestamp.nullable(),
      error: z.string().nullable(),
    }),
  ),
  metrics: z.array(
    z.object({ runId, key: z.string().min(1).max(250), step: z.number().int().nonnegative(), value: z.number(), at: timestamp }),
  ),
});

function isJsonSafe(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isJsonSafe);
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    // An undefined property is dropped, as JSON.stringify drops it; anything else must survive the round trip.
    return (proto === Object.prototype || proto === null) && Object.values(value as object).every((v) => v === undefined || isJsonSafe(v));
  }
  return false;
}
