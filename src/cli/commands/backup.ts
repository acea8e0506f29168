/**
 * `aimass backup create|list|restore` and `aimass storage gc`: whole-registry backups into any artifact store
 * URI (default file://$AIMASS_HOME/backups), and removal of artifacts no version references.
 */
import type { Command } from 'commander';
import { AimassError } from '../../core/index.js';
import { createBackup, defaultBackupUri, listBackups, parseInterval, pruneBackups, restoreBackup } from '../../registry/index.js';
import { openArtifactStore } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { emit, formatBytes, table } from '../output.js';
import { withRegistry } from './models.js';

async function withTarget<T>(uri: string, fn: (target: Awaited<ReturnType<typeof openArtifactStore>>) => Promise<T>): Promise<T> {
  const target = await openArtifactStore(uri);
  try {
    return await fn(target);
  } finally {
    await target.close();
  }
}

export function registerBackupCommands(program: Command, context: CliContext): void {
  const backup = program.command('backup').description('back up and restore the whole registry (metadata and every artifact)');
  const targetOption = '--to <uri>';

  backup
    .command('create')
    .description('take a backup: a consistent metadata snapshot plus every artifact not already in the target')
    .option(targetOption, 'artifact store URI to back up into (file://, s3://, hdfs://, nats://)')
    .option('--keep <n>', 'then delete the oldest backups beyond this many')
    .action(async (o: { to?: string; keep?: string }, cmd: Command) => {
      // checked first: pruning to 0 (or to NaN, which slices like 0) would delete every backup, this one too
      if (o.keep !== undefined && !(/^\d+$/.test(o.keep) && Number(o.keep) >= 1)) {
        throw new AimassError('INVALID_ARGUMENT', `--keep must be a positive whole number (this backup counts), got "${o.keep}"`);
      }
      const keep = o.keep === undefined ? 0 : Number(o.keep);
      const uri = o.to ?? defaultBackupUri(context.config());
      await withRegistry(context, (r) =>
        withTarget(uri, async (target) => {
          const s = await createBackup(r, target);
          const pruned = keep ? await pruneBackups(target, keep) : [];
          emit(context, cmd, { ...s, target: uri, pruned }, () => `backup ${s.id} in ${uri}: ${s.models} models, ${s.versions} versions, ${s.runs} runs, ${formatBytes(s.bytes)} (${s.copied} new blobs)${pruned.length ? `; pruned ${pruned.join(', ')}` : ''}`);
        }),
      );
    });

  backup
    .command('list')
    .description('backups in a target, newest first')
    .option('--from <uri>', 'artifact store URI holding the backups')
    .action(async (o: { from?: string }, cmd: Command) => {
      const uri = o.from ?? defaultBackupUri(context.config());
      await withTarget(uri, async (target) => {
        const list = await listBackups(target);
        emit(context, cmd, list, () => table(['ID', 'CREATED', 'MODELS', 'VERSIONS', 'RUNS', 'SIZE'], list.map((b) => [b.id, b.createdAt, b.models, b.versions, b.runs, formatBytes(b.bytes)]), `no backups in ${uri}`));
      });
    });

  backup
    .command('restore')
    .description('restore a backup into an empty registry, verifying every checksum first')
    .argument('<id>')
    .option('--from <uri>', 'artifact store URI holding the backup')
    .action(async (id: string, o: { from?: string }, cmd: Command) => {
      const uri = o.from ?? defaultBackupUri(context.config());
      await withRegistry(context, (r) =>
        withTarget(uri, async (target) => {
          const rep = await restoreBackup(r, target, id);
          emit(context, cmd, rep, () => `restored ${rep.id}: ${rep.models} models, ${rep.versions} versions, ${rep.runs} runs, ${rep.files} files (${formatBytes(rep.bytes)}), every checksum verified`);
        }),
      );
    });

  const storage = program.command('storage').description('artifact storage maintenance');
  storage
    .command('gc')
    .description('delete artifacts no version references (left by registrations killed midway)')
    .option('--dry-run', 'only list them')
    .option('--grace <interval>', 'spare objects younger than this (e.g. 30m, 1h)', '1h')
    .action(async (o: { dryRun?: boolean; grace: string }, cmd: Command) => {
      const graceMs = parseInterval(o.grace);
      await withRegistry(context, async (r) => {
        const orphans = await r.gc({ graceMs, dryRun: o.dryRun });
        const bytes = orphans.reduce((a, x) => a + x.size, 0);
        emit(context, cmd, { orphans, bytes, deleted: !o.dryRun }, () =>
          orphans.length ? `${o.dryRun ? 'would delete' : 'deleted'} ${orphans.length} unreferenced objects (${formatBytes(bytes)}):\n${orphans.map((x) => `  ${x.key}`).join('\n')}` : 'no unreferenced artifacts',
        );
      });
    });
}
