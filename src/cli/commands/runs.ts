/**
 * `aimass runs …`: the tracked training runs — list (filter by status, order by a metric), show (params,
 * metrics, per-epoch history, artifacts), compare (side by side, differing params first).
 */
import type { Command } from 'commander';
import { AimassError } from '../../core/index.js';
import { compareRuns, flattenParams } from '../../registry/index.js';
import type { RunRecord, RunStatus } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { emit, formatMetrics, table } from '../output.js';
import { withRegistry } from './models.js';

const STATUSES: RunStatus[] = ['running', 'finished', 'failed', 'killed'];

/** A param as the text tables show it (and compare it): its JSON, "-" when a run does not have it. */
const shown = (v: unknown): string => (v === undefined ? '-' : JSON.stringify(v));

async function getRun(context: CliContext, id: string, fn: (run: RunRecord) => Promise<void>): Promise<void> {
  await withRegistry(context, async (r) => {
    const run = await r.meta.getRun(id);
    if (!run) throw new AimassError('NOT_FOUND', `no run "${id}"; \`aimass runs list\` shows the runs`, { run: id });
    await fn(run);
  });
}

export function registerRunsCommand(program: Command, context: CliContext): void {
  const runs = program.command('runs').description('tracked training runs: params, metrics, status, artifacts');

  runs
    .command('list')
    .description('runs, newest first (or ordered by a metric)')
    .option('--status <status>', `only runs with this status (${STATUSES.join(', ')})`)
    .option('--name <text>', 'only runs whose name contains this')
    .option('--order-by <metric>', 'order by a metric, best (highest) first; prefix with - for lowest first')
    .option('-n, --limit <n>', 'at most this many', '50')
    .action(async (o: { status?: string; name?: string; orderBy?: string; limit: string }, cmd: Command) => {
      if (o.status && !STATUSES.includes(o.status as RunStatus)) throw new AimassError('INVALID_ARGUMENT', `--status must be one of ${STATUSES.join(', ')}, got "${o.status}"`);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new AimassError('INVALID_ARGUMENT', `--limit must be a positive whole number, got "${o.limit}"`);
      const orderBy = o.orderBy ? { metric: o.orderBy.replace(/^-/, ''), descending: !o.orderBy.startsWith('-') } : undefined;
      await withRegistry(context, async (r) => {
        const list = await r.meta.searchRuns({ status: o.status as RunStatus | undefined, nameContains: o.name, orderBy, limit });
        emit(context, cmd, list, () =>
          table(
            ['ID', 'NAME', 'STATUS', 'METRICS', 'STARTED'],
            list.map((x) => [x.id, x.name, x.status, formatMetrics(x.metrics, 3), x.startedAt]),
            o.status || o.name ? 'no runs match' : 'no runs yet (aimass train records one per run)',
          ),
        );
      });
    });

  runs
    .command('show')
    .description('one run: params, final metrics, per-epoch history, artifacts')
    .argument('<id>')
    .action(async (id: string, _o, cmd: Command) => {
      await getRun(context, id, async (run) => {
        await withRegistry(context, async (r) => {
          const history = await r.meta.metricHistory(id);
          emit(context, cmd, { ...run, history }, () => {
            const steps = [...new Set(history.map((p) => p.step))].sort((a, b) => a - b);
            const keys = [...new Set(history.map((p) => p.key))];
            const at = new Map(history.map((p) => [`${p.key}@${p.step}`, p.value]));
            return [
              `run ${run.id} (${run.name}): ${run.status}${run.error ? ` — ${run.error}` : ''}`,
              `started ${run.startedAt}${run.endedAt ? `, ended ${run.endedAt}` : ''}`,
              '',
              'params:',
              table(['PARAM', 'VALUE'], [...flattenParams(run.params)].map(([k, v]) => [k, shown(v)])),
              '',
              `metrics: ${formatMetrics(run.metrics, 20)}`,
              '',
              'history:',
              table(['STEP', ...keys], steps.map((s) => [s, ...keys.map((k) => (at.has(`${k}@${s}`) ? at.get(`${k}@${s}`)!.toFixed(4) : '-'))])),
              '',
              'artifacts:',
              table(['NAME', 'URI'], Object.entries(run.artifacts)),
            ].join('\n');
          });
        });
      });
    });

  runs
    .command('compare')
    .description('runs side by side: the params that differ, then every metric')
    .argument('<ids...>')
    .action(async (ids: string[], _o, cmd: Command) => {
      if (ids.length < 2) throw new AimassError('INVALID_ARGUMENT', 'give at least two run ids to compare');
      await withRegistry(context, async (r) => {
        const list: RunRecord[] = [];
        for (const id of ids) {
          const run = await r.meta.getRun(id);
          if (!run) throw new AimassError('NOT_FOUND', `no run "${id}"`, { run: id });
          list.push(run);
        }
        const { ids: runIds, differingParams, metrics, params } = compareRuns(list);
        const differing = Object.keys(differingParams);
        const metricKeys = Object.keys(metrics);
        const result = { runs: runIds, differingParams, metrics };
        emit(context, cmd, result, () =>
          [
            table(['PARAM', ...list.map((x) => x.id)], differing.map((k) => [k, ...params.map((p) => shown(p.get(k)))]), 'params: all the same'),
            '',
            table(['METRIC', ...list.map((x) => x.id)], metricKeys.map((k) => [k, ...list.map((x) => (x.metrics[k] === undefined ? '-' : x.metrics[k].toFixed(4)))])),
          ].join('\n'),
        );
      });
    });
}
