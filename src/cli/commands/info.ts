/**
 * `aimass info`: where AI Mass keeps its files and what it runs on. The first thing to paste into a bug report.
 */
import type { Command } from 'commander';
import type { CliContext, GlobalOptions } from '../context.js';
import { aimassVersion, dependencyVersion } from '../package-info.js';

export interface InfoReport {
  aimass: string;
  node: string;
  onnxruntimeNode: string | null;
  platform: string;
  home: string;
  threads: number;
  metadataUri: string;
  artifactUri: string;
  natsUrl: string | null;
}

export function collectInfo(context: CliContext): InfoReport {
  const config = context.config();
  return {
    aimass: aimassVersion(),
    node: process.version,
    onnxruntimeNode: dependencyVersion('onnxruntime-node') ?? null,
    platform: `${process.platform}-${process.arch}`,
    home: config.home,
    threads: config.threads,
    metadataUri: config.metadataUri,
    artifactUri: config.artifactUri,
    natsUrl: config.natsUrl ?? null,
  };
}

export function registerInfoCommand(program: Command, context: CliContext): void {
  program
    .command('info')
    .description('show versions, AIMASS_HOME, thread count and the configured stores')
    .action((_options: unknown, command: Command) => {
      const info = collectInfo(context);
      if ((command.optsWithGlobals() as GlobalOptions).json) {
        context.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const rows: [string, string][] = [
        ['aimass', info.aimass],
        ['node', info.node],
        ['onnxruntime-node', info.onnxruntimeNode ?? 'not installed (run npm install)'],
        ['platform', info.platform],
        ['home', info.home],
        ['threads', String(info.threads)],
        ['metadata', info.metadataUri],
        ['artifacts', info.artifactUri],
        ['nats', info.natsUrl ?? 'none (embedded mode)'],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      context.stdout.write(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');
    });
}
