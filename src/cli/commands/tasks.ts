/**
 * `aimass tasks …` and `aimass worker`: the task dispatcher from the command line. Tasks (training runs, backups,
 * no-ops, any registered type) are queued in the metadata store — the SQLite file of the embedded default, or
 * PostgreSQL — and run by worker nodes in child processes: `aimass worker` is one such node; any number of them
 * on this machine (or, on PostgreSQL, on machines sharing the database) take tasks as they fit. With a NATS URL
 * (`--nats`/`--join` or AIMASS_NATS_URL) the task ids travel over a JetStream work queue instead, and
 * `aimass worker --join nats://host:4222` also joins the cluster membership (see cluster.ts).
 */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { AimassError, type Config, createLogger } from '../../core/index.js';
import {
  HandlerRegistry,
  PRIORITY_LANES,
  TASK_STATES,
  type TaskBroker,
  type TaskKind,
  type TaskRecord,
  type TaskSpec,
  type TaskState,
  TaskWorker,
  openEmbeddedBroker,
  openJetStreamBroker,
  waitForTask,
} from '../../dispatch/index.js';
import { openPostgresDriver, openSqliteDriver } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { joinCluster, natsUrlFrom } from './cluster.js';
import { emit, table, wholeNumber } from '../output.js';

/**
 * The broker over the configured metadata store: embedded, or JetStream when a NATS URL is given (then the
 * metadata store is normally PostgreSQL, shared by every node). `leaseMs`: how long a task this process claims
 * stays its own without a heartbeat, i.e. how soon a killed worker's task runs elsewhere (the brokers' default: 30 s).
 */
export async function openTaskBroker(config: Config, natsUrl?: string, o: { leaseMs?: number } = {}): Promise<TaskBroker> {
  const uri = config.metadataUri;
  const driver = uri.startsWith('sqlite:') ? await openSqliteDriver(uri) : await openPostgresDriver(uri);
  return natsUrl ? openJetStreamBroker(driver, { servers: natsUrl, leaseMs: o.leaseMs }) : openEmbeddedBroker(driver, { leaseMs: o.leaseMs });
}

async function withBroker<T>(context: CliContext, fn: (b: TaskBroker) => Promise<T>, natsUrl?: string): Promise<T> {
  const broker = await openTaskBroker(context.config(), natsUrl);
  try {
    return await fn(broker);
  } finally {
    await broker.close();
  }
}

/** The task types every worker runs, from builtin-handlers.ts. */
export function builtinHandlers(): HandlerRegistry {
  const module = fileURLToPath(new URL('../tasks/builtin-handlers.ts', import.meta.url));
  const registry = new HandlerRegistry();
  for (const type of ['noop', 'sleep', 'train', 'trial', 'backup']) registry.register(type, { module, export: type });
  return registry;
}


function summary(t: TaskRecord): (string | number)[] {
  const error = t.error ? `${t.error.code}: ${t.error.message}`.slice(0, 60) : '';
  return [t.id, t.type, t.state, t.attempts, t.node ?? '', t.createdAt, error];
}

export function registerTasksCommand(program: Command, context: CliContext): void {
  const tasks = program.command('tasks').description('queued, running and finished tasks (training runs, backups, …) run by `aimass worker`');

  tasks
    .command('submit')
    .description('queue a task; --wait waits for its result')
    .argument('<type>', 'task type, e.g. train, backup, sleep, noop')
    .option('--payload <json>', 'the task input as JSON, e.g. \'{"spec":"examples/mnist-cnn.json"}\'', '{}')
    .option('--priority <lane>', `${Object.keys(PRIORITY_LANES).join(', ')} or a whole number (higher first)`, 'normal')
    .option('--timeout <ms>', 'kill the attempt after this long')
    .option('--max-attempts <n>', 'attempts before the task is dead')
    .option('--cpu <n>', 'CPU threads it needs')
    .option('--memory-mb <n>', 'memory it needs')
    .option('--kind <kind>', 'image, text or any')
    .option('--key <key>', 'idempotency key: submitting the same key again returns the first task')
    .option('--wait', 'wait for the task to finish and print it')
    .option('--nats <url>', 'queue through NATS JetStream at this URL (default: AIMASS_NATS_URL; none: embedded)')
    .action(async (type: string, o: Record<string, string | boolean | undefined>, cmd: Command) => {
      let payload: unknown;
      try {
        payload = JSON.parse(String(o.payload));
      } catch (e) {
        throw new AimassError('INVALID_ARGUMENT', `--payload is not JSON: ${(e as Error).message}`);
      }
      const priority = /^-?\d+$/.test(String(o.priority)) ? Number(o.priority) : (o.priority as TaskSpec['priority']);
      const spec: TaskSpec = { type, payload, priority };
      if (o.timeout !== undefined) spec.timeoutMs = wholeNumber(String(o.timeout), '--timeout', 1);
      if (o.maxAttempts !== undefined) spec.retry = { maxAttempts: wholeNumber(String(o.maxAttempts), '--max-attempts', 1) };
      const resources: TaskSpec['resources'] = {};
      if (o.cpu !== undefined) resources.cpu = wholeNumber(String(o.cpu), '--cpu', 1);
      if (o.memoryMb !== undefined) resources.memoryMb = wholeNumber(String(o.memoryMb), '--memory-mb', 1);
      if (o.kind !== undefined) resources.kind = o.kind as TaskKind;
      if (Object.keys(resources).length) spec.resources = resources;
      if (o.key !== undefined) spec.idempotencyKey = String(o.key);
      await withBroker(context, async (broker) => {
        const { task, created } = await broker.submit(spec);
        const final = o.wait ? await waitForTask(broker, task.id, { timeoutMs: 24 * 3600_000, pollMs: 500 }) : task;
        emit(context, cmd, final, () => `${created ? 'queued' : 'already queued (same key)'} task ${task.id} (${task.type})${o.wait ? `\n${describe(final)}` : ''}`);
        if (o.wait && final.state !== 'succeeded') process.exitCode = 1;
      }, natsUrlFrom(o.nats as string | undefined));
    });

  tasks
    .command('list')
    .description('tasks, newest first')
    .option('--state <state>', `only tasks in this state (${TASK_STATES.join(', ')})`)
    .option('--type <type>', 'only tasks of this type')
    .option('-n, --limit <n>', 'at most this many', '50')
    .action(async (o: { state?: string; type?: string; limit: string }, cmd: Command) => {
      if (o.state && !TASK_STATES.includes(o.state as TaskState)) throw new AimassError('INVALID_ARGUMENT', `--state must be one of ${TASK_STATES.join(', ')}, got "${o.state}"`);
      const limit = wholeNumber(o.limit, '--limit', 1);
      await withBroker(context, async (broker) => {
        const list = await broker.list({ states: o.state ? [o.state as TaskState] : undefined, type: o.type, limit });
        const counts = await broker.counts();
        emit(context, cmd, { tasks: list, counts }, () =>
          `${table(['ID', 'TYPE', 'STATE', 'ATTEMPTS', 'NODE', 'CREATED', 'ERROR'], list.map(summary), 'no tasks')}\n${TASK_STATES.map((s) => `${s} ${counts[s]}`).join(', ')}`,
        );
      });
    });

  tasks
    .command('show')
    .description('one task: payload, result or error, and every attempt')
    .argument('<id>')
    .action(async (id: string, _o, cmd: Command) => {
      await withBroker(context, async (broker) => {
        const task = await broker.get(id);
        if (!task) throw new AimassError('NOT_FOUND', `no task "${id}"; \`aimass tasks list\` shows the tasks`, { task: id });
        emit(context, cmd, task, () => describe(task));
      });
    });

  tasks
    .command('cancel')
    .description('cancel a queued or running task (a running one is stopped)')
    .argument('<id>')
    .action(async (id: string, _o, cmd: Command) => {
      await withBroker(context, async (broker) => {
        const { task } = await broker.cancel(id, 'cancelled from the command line');
        emit(context, cmd, task, () => `task ${task.id} is ${task.state}`);
      });
    });

  program
    .command('worker')
    .description('run tasks from the queue on this machine until Ctrl-C (then finish the running ones)')
    .option('--id <id>', 'node id (default: host-pid)')
    .option('--cpu <n>', 'CPU threads to offer (default: all)')
    .option('--memory-mb <n>', 'memory to offer (default: 4096)')
    .option('--kinds <list>', 'task kinds to take: image,text or any', 'any')
    .option('--label <key=value...>', 'node labels tasks can require')
    .option('--max-concurrent <n>', 'tasks at once (default: --cpu)')
    .option('--join <url>', 'join the cluster at this NATS URL: tasks over JetStream, membership with load (default: AIMASS_NATS_URL)')
    .option('--lease-ms <ms>', 'a task this worker took goes back to the queue this long after the worker dies (heartbeats renew it; default 30000)')
    .action(async (o: { id?: string; cpu?: string; memoryMb?: string; kinds: string; label?: string[]; maxConcurrent?: string; join?: string; leaseMs?: string }) => {
      const config = context.config();
      const labels: Record<string, string> = {};
      for (const l of o.label ?? []) {
        const m = /^([^=]+)=(.*)$/.exec(l);
        if (!m) throw new AimassError('INVALID_ARGUMENT', `--label must be key=value, got "${l}"`);
        labels[m[1]] = m[2];
      }
      const kinds = o.kinds.split(',').map((k) => k.trim()) as TaskKind[];
      for (const k of kinds) if (!['image', 'text', 'any'].includes(k)) throw new AimassError('INVALID_ARGUMENT', `--kinds takes image, text or any, got "${k}"`);
      const node = {
        id: o.id ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${process.pid}`,
        cpu: o.cpu === undefined ? config.threads : wholeNumber(o.cpu, '--cpu', 1),
        memoryMb: o.memoryMb === undefined ? 4096 : wholeNumber(o.memoryMb, '--memory-mb', 64),
        kinds,
        labels,
      };
      const logger = createLogger({ level: config.logLevel, name: 'worker' });
      const natsUrl = natsUrlFrom(o.join);
      const broker = await openTaskBroker(config, natsUrl, { leaseMs: o.leaseMs === undefined ? undefined : wholeNumber(o.leaseMs, '--lease-ms', 100) });
      const worker = new TaskWorker({ broker, node, handlers: builtinHandlers(), logger, maxConcurrent: o.maxConcurrent === undefined ? undefined : wholeNumber(o.maxConcurrent, '--max-concurrent', 1) });
      worker.on('task-started', (t: { taskId: string; type?: string }) => logger.info({ task: t.taskId }, `task ${t.taskId} started`));
      worker.on('task-ended', (t: { taskId: string; outcome?: string }) => logger.info({ task: t.taskId, outcome: t.outcome }, `task ${t.taskId} ended: ${t.outcome ?? ''}`));
      worker.start();
      const member = natsUrl ? await joinCluster(natsUrl, worker, node, logger) : undefined;
      context.stderr.write(`worker ${node.id} taking tasks (${node.cpu} CPU, ${node.memoryMb} MB, kinds ${kinds.join(',')}) from ${config.metadataUri.replace(/\/\/[^@/]*@/, '//…@')}${natsUrl ? ` over ${natsUrl.replace(/\/\/[^@/]*@/, '//…@')}` : ''}; Ctrl-C finishes the running tasks and stops\n`);
      const signal = await new Promise<NodeJS.Signals | 'drain'>((resolve) => {
        void member?.drainRequested.then(() => resolve('drain'));
        const on = (s: NodeJS.Signals) => {
          process.off('SIGINT', on);
          process.off('SIGTERM', on);
          process.once('SIGINT', () => process.exit(1));
          process.once('SIGTERM', () => process.exit(1));
          resolve(s);
        };
        process.on('SIGINT', on);
        process.on('SIGTERM', on);
      });
      context.stderr.write(`${signal === 'drain' ? 'drain requested' : signal}: finishing ${worker.running().length} running task(s); a second signal stops at once\n`);
      await worker.stop({ drain: true });
      await member?.leave();
      await broker.close();
    });
}

function describe(t: TaskRecord): string {
  const lines = [
    `task ${t.id}  type ${t.type}  state ${t.state}  attempts ${t.attempts}/${t.retry.maxAttempts}  priority ${t.priority}`,
    `created ${t.createdAt}${t.startedAt ? `  started ${t.startedAt}` : ''}${t.endedAt ? `  ended ${t.endedAt}` : ''}`,
    `payload ${JSON.stringify(t.payload)}`,
  ];
  if (t.result !== null && t.result !== undefined) lines.push(`result ${JSON.stringify(t.result)}`);
  if (t.error) lines.push(`error [${t.error.code}] ${t.error.message}`);
  for (const a of t.history) lines.push(`  attempt ${a.attempt} on ${a.node}: ${a.outcome}${a.error ? ` (${a.error.code}: ${a.error.message})` : ''}`);
  return lines.join('\n');
}
