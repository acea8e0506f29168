/**
 * Tracked training runs over HTTP, under /api/v1/runs: what `aimass runs …` does from the command line — list
 * (filter by status or name, order by a metric), one run with its per-epoch metric history, and a comparison of
 * runs side by side (the params that differ, then every metric). Read-only: runs are written by training.
 */
import type { FastifyPluginAsync } from 'fastify';
import { AimassError } from '../core/index.js';
import { type Registry, compareRuns } from '../registry/index.js';
import type { RunRecord, RunStatus } from '../storage/index.js';
import { ERROR_RESPONSES, RUN, RUN_ID, RUN_WITH_HISTORY } from './schemas.js';

export interface RunsRoutesOptions {
  /** Runs live in the registry's metadata store. */
  registry: Registry;
}

const TAGS = ['runs'];
const MAX_COMPARED = 20;

const LIST_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['running', 'finished', 'failed', 'killed'] },
    name: { type: 'string', maxLength: 200, description: 'only runs whose name contains this' },
    orderBy: { type: 'string', pattern: '^[A-Za-z0-9_.:/-]+$', maxLength: 200, description: 'a metric to order by (default: newest first)' },
    descending: { type: 'boolean', default: true, description: 'with orderBy: highest first (default) or lowest first' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
  },
} as const;

const COMPARE_QUERY = {
  type: 'object',
  required: ['ids'],
  additionalProperties: false,
  properties: {
    ids: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*(?:,[A-Za-z0-9][A-Za-z0-9_.-]*)+$',
      maxLength: 4000,
      description: `two to ${MAX_COMPARED} run ids separated by commas`,
    },
  },
} as const;

const COMPARISON = {
  type: 'object',
  required: ['ids', 'runs', 'differingParams', 'metrics'],
  properties: {
    ids: { type: 'array', items: { type: 'string' } },
    runs: { type: 'array', items: RUN },
    differingParams: {
      type: 'object',
      description: 'params (nested ones as dotted keys) whose values differ, one value per run in the order of ids (null: not set)',
      additionalProperties: { type: 'array', items: {} },
    },
    metrics: {
      type: 'object',
      description: 'every metric, one value per run in the order of ids (null: not logged)',
      additionalProperties: { type: 'array', items: { type: ['number', 'null'] } },
    },
  },
} as const;

interface ListQuery {
  status?: RunStatus;
  name?: string;
  orderBy?: string;
  descending: boolean;
  limit: number;
}

export const runsRoutes: FastifyPluginAsync<RunsRoutesOptions> = async (app, { registry }) => {
  const meta = registry.meta;

  async function getRun(id: string): Promise<RunRecord> {
    const run = await meta.getRun(id);
    if (!run) throw new AimassError('NOT_FOUND', `no run "${id}"; GET /api/v1/runs lists the runs`, { run: id });
    return run;
  }

  app.get<{ Querystring: ListQuery }>(
    '/runs',
    {
      schema: {
        tags: TAGS,
        summary: 'runs, newest first or ordered by a metric',
        querystring: LIST_QUERY,
        response: { 200: { type: 'object', required: ['runs'], properties: { runs: { type: 'array', items: RUN } } }, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const q = request.query;
      const runs = await meta.searchRuns({
        status: q.status,
        nameContains: q.name,
        orderBy: q.orderBy === undefined ? undefined : { metric: q.orderBy, descending: q.descending },
        limit: q.limit,
      });
      return { runs };
    },
  );

  // a static segment: the router matches it before /runs/:id whatever the order of registration
  app.get<{ Querystring: { ids: string } }>(
    '/runs/compare',
    {
      schema: {
        tags: TAGS,
        summary: 'runs side by side: the params that differ, then every metric',
        querystring: COMPARE_QUERY,
        response: { 200: COMPARISON, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const ids = request.query.ids.split(',');
      if (ids.length > MAX_COMPARED) throw new AimassError('INVALID_ARGUMENT', `querystring.ids: compare at most ${MAX_COMPARED} runs at once, got ${ids.length}`);
      const runs: RunRecord[] = [];
      for (const id of ids) runs.push(await getRun(id));
      return compareRunsResponse(runs);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/runs/:id',
    {
      schema: {
        tags: TAGS,
        summary: 'one run: params, latest metrics, per-step metric history, artifacts',
        params: { type: 'object', required: ['id'], properties: { id: RUN_ID } },
        querystring: { type: 'object', additionalProperties: false, properties: {} },
        response: { 200: RUN_WITH_HISTORY, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const run = await getRun(request.params.id);
      return { ...run, history: await meta.metricHistory(run.id) };
    },
  );
};

/** The comparison `aimass runs compare` prints, with params kept as values rather than display text. */
export function compareRunsResponse(runs: RunRecord[]) {
  const { ids, differingParams, metrics } = compareRuns(runs);
  return { ids, runs, differingParams, metrics };
}
