/**
 * `aimass models …`: the registry from the command line — list, show, versions, register, import, export,
 * alias (set, move with compare-and-set, delete, history), rollback, delete. Every read command takes --json.
 */
import { readFile, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AimassError } from '../../core/index.js';
import { type Registry, openRegistry } from '../../registry/index.js';
import type { TensorSignature } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { emit, formatBytes, formatMetrics, table } from '../output.js';

export async function withRegistry<T>(context: CliContext, fn: (r: Registry) => Promise<T>): Promise<T> {
  const registry = await openRegistry(context.config(), context.env);
  try {
    return await fn(registry);
  } finally {
    await registry.close();
  }
}

function versionNumber(text: string, what = 'version'): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new AimassError('INVALID_ARGUMENT', `${what} must be a positive whole number, got "${text}"`);
  return Number(text);
}

/** NAME or NAME@REF (REF: a version number, an alias, or latest). */
function parseRef(text: string): { name: string; ref: string } {
  const at = text.lastIndexOf('@');
  return at > 0 ? { name: text.slice(0, at), ref: text.slice(at + 1) } : { name: text, ref: 'latest' };
}

export function registerModelsCommand(program: Command, context: CliContext): void {
  const models = program.command('models').description('the model registry: versions, aliases, rollback, import and export');

  models
    .command('list')
    .description('registered models with their latest version and aliases')
    .action(async (_o, cmd: Command) => {
      await withRegistry(context, async (r) => {
        const all = await r.listModels();
        const rows = await Promise.all(all.map(async (m) => ({ ...m, aliases: await r.meta.listAliases(m.name) })));
        emit(context, cmd, rows, () =>
          table(
            ['NAME', 'LATEST', 'ALIASES', 'UPDATED'],
            rows.map((m) => [m.name, m.latestVersion, m.aliases.map((a) => `${a.alias}→${a.version}`).join(' ') || '-', m.updatedAt]),
            'no registered models yet (aimass train --register NAME, or aimass models import NAME model.onnx)',
          ),
        );
      });
    });

  models
    .command('show')
    .description('a model: its versions, aliases and the history of alias moves')
    .argument('<name>')
    .action(async (name: string, _o, cmd: Command) => {
      await withRegistry(context, async (r) => {
        const d = await r.describe(name);
        const history = await r.aliasHistory(name);
        emit(context, cmd, { ...d, aliasHistory: history }, () => {
          const byVersion = new Map<number, string[]>();
          for (const a of d.aliases) byVersion.set(a.version, [...(byVersion.get(a.version) ?? []), a.alias]);
          return [
            `model ${d.model.name}${d.model.description ? ` — ${d.model.description}` : ''}`,
            '',
            table(
              ['VERSION', 'ALIASES', 'SOURCE', 'SIZE', 'METRICS', 'CREATED', 'BY'],
              d.versions.map((v) => [v.version, (byVersion.get(v.version) ?? []).join(',') || '-', v.source, formatBytes(v.size), formatMetrics(v.metrics), v.createdAt, v.createdBy]),
            ),
            '',
            'alias history:',
            table(
              ['WHEN', 'ALIAS', 'FROM', 'TO', 'BY', 'WHY'],
              history.slice(-15).map((e) => [e.at, e.alias, e.from ?? '-', e.to ?? '(deleted)', e.actor, e.reason || '-']),
            ),
          ].join('\n');
        });
      });
    });

  models
    .command('versions')
    .description("a model's versions with lineage, checksums and signature")
    .argument('<name>')
    .action(async (name: string, _o, cmd: Command) => {
      await withRegistry(context, async (r) => {
        const d = await r.describe(name);
        emit(context, cmd, d.versions, () =>
          d.versions
            .map((v) =>
              [
                `version ${v.version}  (${v.source}, ${v.framework}, ${formatBytes(v.size)}, ${v.createdAt} by ${v.createdBy})`,
                `  artifacts: ${v.artifactUri}`,
                ...v.files.map((f) => `    ${f.path}  ${formatBytes(f.size)}  sha256 ${f.sha256}`),
                `  inputs:  ${v.signature.inputs.map((i) => `${i.name} ${i.dtype}[${i.shape.join(', ')}]`).join('; ')}`,
                `  outputs: ${v.signature.outputs.map((i) => `${i.name} ${i.dtype}[${i.shape.join(', ')}]`).join('; ')}`,
                `  metrics: ${formatMetrics(v.metrics, 10)}`,
                `  lineage: run ${v.runId ?? '-'}, dataset ${v.datasetHash ?? '-'}, parent ${v.parentVersion ?? '-'}`,
              ].join('\n'),
            )
            .join('\n\n') || 'no versions',
        );
      });
    });

  models
    .command('register')
    .description('register a folder holding model.onnx (e.g. a training run folder) as the next version')
    .argument('<name>')
    .argument('<dir>')
    .option('-d, --description <text>', 'what this version is')
    .action(async (name: string, dir: string, o: { description?: string }, cmd: Command) => {
      await withRegistry(context, async (r) => {
        const v = await r.register(name, resolve(dir), { files: await runFiles(resolve(dir)), description: o.description });
        emit(context, cmd, v, () => `registered ${name} version ${v.version} (${v.files.length} files, ${formatBytes(v.size)})`);
      });
    });

  models
    .command('import')
    .description('register an ONNX model trained elsewhere (validated with ONNX Runtime, signature read from it)')
    .argument('<name>')
    .argument('<file>', 'the .onnx file')
    .option('--labels <file>', 'class names, one per line (kept in pipeline.json)')
    .option('-d, --description <text>', 'what this version is')
    .option('--framework <name>', 'where it was trained, e.g. "pytorch 2.1"', 'onnx')
    .action(async (name: string, file: string, o: { labels?: string; description?: string; framework: string }, cmd: Command) => {
      let labels: string[] | undefined;
      if (o.labels) {
        const text = await readFile(resolve(o.labels), 'utf8').catch((e: Error) => {
          throw new AimassError('NOT_FOUND', `cannot read labels file ${o.labels}: ${e.message}`);
        });
        labels = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      }
      await withRegistry(context, async (r) => {
        const v = await r.importOnnx(name, resolve(file), { labels, description: o.description, framework: o.framework });
        const tensors = (list: TensorSignature[]) => list.map((t) => `${t.name} ${t.dtype}[${t.shape.join(',')}]`).join(', ');
        emit(context, cmd, v, () => `imported ${file} as ${name} version ${v.version}: inputs ${tensors(v.signature.inputs)}; outputs ${tensors(v.signature.outputs)}`);
      });
    });

  models
    .command('export')
    .description('write the files of a version (NAME, NAME@VERSION or NAME@ALIAS) into a folder, checksums verified')
    .argument('<ref>', 'NAME[@VERSION|@ALIAS|@latest]')
    .argument('<dir>')
    .action(async (refText: string, dir: string, _o, cmd: Command) => {
      const { name, ref } = parseRef(refText);
      await withRegistry(context, async (r) => {
        const v = await r.resolve(name, ref);
        const files = await r.export(v, resolve(dir));
        emit(context, cmd, { model: name, version: v.version, files }, () => `wrote version ${v.version} of ${name}: ${files.join(', ')}`);
      });
    });

  models
    .command('alias')
    .description('point ALIAS at VERSION (or show the alias history, or delete the alias)')
    .argument('<name>')
    .argument('[alias]')
    .argument('[version]')
    .option('--expect <version>', 'only if the alias now holds this version ("none": only if it does not exist)')
    .option('--reason <text>', 'why (kept in the alias history)', '')
    .option('--delete', 'delete the alias')
    .option('--history', 'show the history of moves')
    .action(async (name: string, alias: string | undefined, version: string | undefined, o: { expect?: string; reason: string; delete?: boolean; history?: boolean }, cmd: Command) => {
      const expected = o.expect === undefined ? undefined : o.expect === 'none' ? null : versionNumber(o.expect, '--expect');
      await withRegistry(context, async (r) => {
        if (o.history || !alias) {
          const h = await r.aliasHistory(name, alias);
          emit(context, cmd, h, () => table(['WHEN', 'ALIAS', 'FROM', 'TO', 'BY', 'WHY'], h.map((e) => [e.at, e.alias, e.from ?? '-', e.to ?? '(deleted)', e.actor, e.reason || '-'])));
          return;
        }
        if (o.delete) {
          const e = await r.deleteAlias(name, alias, { expected, reason: o.reason });
          emit(context, cmd, e, () => `deleted alias ${alias} of ${name} (was version ${e.from})`);
          return;
        }
        if (!version) throw new AimassError('INVALID_ARGUMENT', `give the version to point ${alias} at: aimass models alias ${name} ${alias} VERSION`);
        const e = await r.setAlias(name, alias, versionNumber(version), { expected, reason: o.reason });
        emit(context, cmd, e, () => `${name}@${alias}: ${e.from ?? '(new)'} → ${e.to}`);
      });
    });

  models
    .command('rollback')
    .description('move an alias back to the version it held before (repeat to keep walking back)')
    .argument('<name>')
    .option('-a, --alias <alias>', 'the alias to move back', 'production')
    .option('--reason <text>', 'why (kept in the alias history)', '')
    .action(async (name: string, o: { alias: string; reason: string }, cmd: Command) => {
      await withRegistry(context, async (r) => {
        const e = await r.rollback(name, o.alias, o.reason);
        emit(context, cmd, e, () => `rolled back ${name}@${o.alias}: ${e.from} → ${e.to}`);
      });
    });

  models
    .command('delete')
    .description('delete a version (no alias may point at it) or, without --version, the whole model')
    .argument('<name>')
    .option('-v, --version <n>', 'only this version')
    .option('-y, --yes', 'needed to delete a whole model')
    .action(async (name: string, o: { version?: string; yes?: boolean }, cmd: Command) => {
      await withRegistry(context, async (r) => {
        if (o.version) {
          await r.deleteVersion(name, versionNumber(o.version));
          emit(context, cmd, { deleted: { model: name, version: Number(o.version) } }, () => `deleted version ${o.version} of ${name}`);
          return;
        }
        if (!o.yes) throw new AimassError('INVALID_ARGUMENT', `deleting model "${name}" removes every version and its files; add --yes to confirm`);
        await r.deleteModel(name);
        emit(context, cmd, { deleted: { model: name } }, () => `deleted model ${name}`);
      });
    });
}

/** The files of a training run folder that make a model version (not checkpoints or the train graph). */
export async function runFiles(dir: string): Promise<string[] | undefined> {
  const names = await readdir(dir).catch(() => [] as string[]);
  if (!names.includes('train_step.onnx')) return undefined; // not a run folder: take everything
  return ['model.onnx', 'pipeline.json', 'meta.json', 'metrics.json', 'spec.json'].filter((f) => names.includes(f));
}
