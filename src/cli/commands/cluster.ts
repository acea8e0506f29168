/**
 * `aimass cluster status|drain` and the cluster side of `aimass worker --join`: worker nodes join the NATS
 * membership (JetStream KV, records with a TTL) with their capabilities, report their load with every task
 * started or ended, drain when asked, and leave on exit. The NATS URL comes from `--nats URL` or AIMASS_NATS_URL.
 */
import type { Command } from 'commander';
import { AimassError, type Config, type Logger } from '../../core/index.js';
import { openMembership, type Membership, type NodeView } from '../../cluster/index.js';
import { TaskStore, type NodeCapacity, type TaskCounts, type TaskWorker } from '../../dispatch/index.js';
import { migrate, openPostgresDriver, openSqliteDriver } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { emit, table } from '../output.js';

/** `--nats URL`, else AIMASS_NATS_URL, else none (embedded). */
export function natsUrlFrom(option: string | undefined): string | undefined {
  const url = option ?? process.env.AIMASS_NATS_URL;
  return url === undefined || url === '' ? undefined : url;
}

function requireNats(option: string | undefined): string {
  const url = natsUrlFrom(option);
  if (!url) throw new AimassError('INVALID_ARGUMENT', 'no NATS URL: pass --nats nats://host:4222 or set AIMASS_NATS_URL');
  return url;
}

/** Joins `worker` to the membership at `natsUrl`; its load is reported on every task start and end. */
export async function joinCluster(
  natsUrl: string,
  worker: TaskWorker,
  node: NodeCapacity,
  logger: Logger,
): Promise<{ drainRequested: Promise<void>; leave(): Promise<void> }> {
  const membership = openMembership(natsUrl);
  const loadNow = () => {
    const l = worker.load();
    return { runningTasks: worker.running().length, freeCpuThreads: l.cpu - l.usedCpu, freeMemoryMb: l.memoryMb - l.usedMemoryMb };
  };
  const handle = await membership.join({
    id: node.id,
    capabilities: { cpuThreads: node.cpu, memoryMb: node.memoryMb, kinds: [...node.kinds], labels: { ...node.labels } },
    load: loadNow(),
  });
  const report = () => void handle.report(loadNow()).catch((e: Error) => logger.warn({ err: e.message }, 'reporting load failed'));
  worker.on('task-started', report);
  worker.on('task-ended', report);
  return {
    drainRequested: handle.drainRequested,
    leave: async () => {
      worker.off('task-started', report);
      worker.off('task-ended', report);
      await handle.leave().catch((e: Error) => logger.warn({ err: e.message }, 'leaving the membership failed'));
      await membership.close();
    },
  };
}

async function taskCounts(config: Config): Promise<TaskCounts> {
  const uri = config.metadataUri;
  const driver = uri.startsWith('sqlite:') ? await openSqliteDriver(uri) : await openPostgresDriver(uri);
  try {
    await migrate(driver);
    return await new TaskStore(driver).counts();
  } finally {
    await driver.close();
  }
}

async function withMembership<T>(url: string, fn: (m: Membership) => Promise<T>): Promise<T> {
  const membership = openMembership(url);
  try {
    return await fn(membership);
  } finally {
    await membership.close();
  }
}

export function registerClusterCommand(program: Command, context: CliContext): void {
  const cluster = program.command('cluster').description('worker nodes of the cluster: their capabilities, load, health and tasks');

  cluster
    .command('status')
    .description('nodes (capabilities, load, health, state) and task counts')
    .option('--nats <url>', 'NATS URL (default: AIMASS_NATS_URL)')
    .action(async (o: { nats?: string }, cmd: Command) => {
      const url = requireNats(o.nats);
      const nodes: NodeView[] = await withMembership(url, (m) => m.list());
      const tasks = await taskCounts(context.config());
      emit(context, cmd, { nodes, tasks }, () =>
        [
          table(
            ['NODE', 'HOST', 'STATE', 'HEALTH', 'CPU FREE/ALL', 'MEM MB FREE/ALL', 'KINDS', 'LABELS', 'RUNNING', 'HEARTBEAT'],
            nodes.map((n) => [
              n.id,
              n.host,
              n.state,
              n.health,
              `${n.load.freeCpuThreads}/${n.capabilities.cpuThreads}`,
              `${n.load.freeMemoryMb}/${n.capabilities.memoryMb}`,
              n.capabilities.kinds.join(','),
              Object.entries(n.capabilities.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-',
              n.load.runningTasks,
              `${(n.heartbeatAgeMs / 1000).toFixed(1)} s ago`,
            ]),
            '(no nodes)',
          ),
          `tasks: ${Object.entries(tasks).map(([state, n]) => `${state} ${n}`).join(', ')}`,
        ].join('\n'),
      );
    });

  cluster
    .command('drain')
    .description('stop new work reaching a node; it finishes its running tasks, then leaves')
    .argument('<node>', 'node id, as in `aimass cluster status`')
    .option('--nats <url>', 'NATS URL (default: AIMASS_NATS_URL)')
    .action(async (id: string, o: { nats?: string }, cmd: Command) => {
      await withMembership(requireNats(o.nats), (m) => m.drain(id));
      emit(context, cmd, { node: id, state: 'draining' }, () => `node ${id} is draining: it takes no new tasks and leaves when its running ones end`);
    });
}
