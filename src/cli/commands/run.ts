/**
 * `aimass run pipeline.yaml`: runs a pipeline spec (YAML or JSON; every problem listed before any work) —
 * data → features → train → evaluate → gate → register → promote — with a line per step, progress bars with ETA
 * and a summary table, then serves the promoted model until Ctrl-C (`--no-serve` exits instead). Finished steps
 * are reused when their inputs have not changed; Ctrl-C stops after the current training step and the next run
 * resumes there. A failing gate leaves the alias alone, names the failing rules and exits with 1.
 */
import type { Command } from 'commander';
import { AimassError } from '../../core/index.js';
import { type PipelineResult, readPipelineSpec, runPipeline } from '../../pipeline/index.js';
import { openRegistry } from '../../registry/index.js';
import { nextSignal, startApiServer } from '../api-server.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { PipelineProgress, formatSummary, servingHints } from '../pipeline-output.js';

interface RunOptions {
  serve: boolean;
  port?: string;
  host?: string;
  force?: boolean;
  threads?: string;
  progress: boolean;
  check?: boolean;
}

function whole(text: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new AimassError('INVALID_ARGUMENT', `${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  return Number(text);
}

/** Runs `fn` with an AbortSignal that the first Ctrl-C aborts (the second exits at once). */
export async function withInterrupt<T>(say: (line: string) => void, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const second = () => {
    say('stopping now');
    process.exit(130);
  };
  const first = () => {
    say('stopping after the current step (Ctrl-C again to stop at once); the next run resumes from the last finished step');
    controller.abort();
    process.off('SIGINT', first);
    process.once('SIGINT', second);
  };
  process.on('SIGINT', first);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', first);
    process.off('SIGINT', second);
  }
}

/** The error a failed gate ends the command with (after the summary): the rules that failed, the alias kept. */
export function gateFailure(r: PipelineResult): AimassError {
  const kept = r.aliasKept ? `; ${r.aliasKept.model}@${r.aliasKept.alias} stays ${r.aliasKept.version === null ? 'unset' : `at version ${r.aliasKept.version}`}` : '';
  return new AimassError('CONFLICT', `pipeline ${r.name}: the gate failed${r.rounds > 1 ? ` after ${r.rounds} training rounds` : ''} (${r.failedRules.join('; ')}); nothing was registered${kept}`, {
    problems: r.gate?.rules.filter((x) => !x.passed).map((x) => `${x.text}: ${x.message}`) ?? [],
    report: r.report?.html,
  });
}

export function registerRunCommand(program: Command, context: CliContext): void {
  program
    .command('run')
    .description('run a pipeline spec: data → features → train → evaluate → gate → register → promote → serve')
    .argument('<pipeline>', 'the pipeline spec, YAML (.yaml, .yml) or JSON (.json); paths in it are relative to it')
    .option('--no-serve', 'exit when the pipeline is done instead of serving the model until Ctrl-C')
    .option('-p, --port <n>', 'port to serve on (default: the spec, else $AIMASS_PORT or 8080)')
    .option('--host <host>', 'interface to serve on (default: the spec, else $AIMASS_HOST or 127.0.0.1)')
    .option('--force', 'redo every step, even those that finished before with the same inputs')
    .option('-t, --threads <n>', 'ONNX Runtime threads for training and evaluation (default AIMASS_THREADS)')
    .option('--no-progress', 'no progress bars (lines only)')
    .option('--check', 'validate the spec (every problem listed) and exit')
    .addHelpText(
      'after',
      `
Example (examples/digits.pipeline.yaml, after \`aimass datasets export mnist\`):
  name: digits
  data:  { format: image-csv, train: ../data/mnist_train.csv, test: ../data/mnist_test.csv, validation: 0.1 }
  model: { type: cnn, input: [1, 28, 28], blocks: [{ filters: 16, pool: 2 }, { filters: 32, pool: 2 }], dense: [64] }
  train: { epochs: 2, optimizer: { type: adam, lr: 0.001 }, grid: { optimizer.lr: [0.001, 0.003] } }
  gate: accuracy >= 0.95 and min_class_recall >= 0.85 and p99_latency_ms <= 25 and accuracy >= baseline.accuracy - 0.005
  on_fail: { action: retrain, max_rounds: 1, epochs_factor: 2 }
  register: { model: digits, alias: production }
  serve: { port: 8080 }
Sections: name, description, data, features (text), model, train (+ grid, select), evaluate, gate, on_fail
(stop | retrain; retune comes with the tune step), register (or false), serve (or false). tune: is reserved for
src/tune. Steps are cached under $AIMASS_HOME/pipelines/<name>.`,
    )
    .action(async (file: string, o: RunOptions, command: Command) => {
      const json = (command.optsWithGlobals() as GlobalOptions).json ?? false;
      const port = whole(o.port, '--port', 0, 65535);
      const threads = whole(o.threads, '--threads', 1);
      const spec = await readPipelineSpec(file);
      if (o.check) {
        context.stdout.write(json ? `${JSON.stringify({ valid: true, name: spec.name })}\n` : `${file}: valid pipeline "${spec.name}"\n`);
        return;
      }
      const config = context.config();
      const say = (line: string) => context.stderr.write(`${line}\n`);
      const progress = new PipelineProgress(context.stderr as { write(s: string): unknown; isTTY?: boolean }, { bars: Boolean((context.stderr as { isTTY?: boolean }).isTTY) && o.progress });
      const registry = await openRegistry(config, context.env);
      let result: PipelineResult;
      try {
        result = await withInterrupt(say, (signal) => runPipeline(spec, { config, registry, threads, force: o.force, signal, onEvent: progress.onEvent }));
      } finally {
        progress.close();
        await registry.close();
      }
      if (!json) context.stdout.write(`\n${formatSummary(result)}\n`);
      if (!result.passed) {
        if (json) context.stdout.write(`${JSON.stringify(result)}\n`);
        throw gateFailure(result);
      }
      const serveSpec = spec.serve;
      if (!o.serve || !serveSpec || !result.serveRef) {
        if (json) context.stdout.write(`${JSON.stringify(result)}\n`);
        else if (result.serveRef) context.stdout.write(`\nserve it with: npx aimass serve   (then POST /api/v1/predict/${result.serveRef})\n`);
        return;
      }
      const server = await startApiServer(config, context.env, { port: port ?? serveSpec.port, host: o.host ?? serveSpec.host });
      try {
        const model = result.serveRef.split(/[@:]/)[0];
        if (json) context.stdout.write(`${JSON.stringify({ ...result, url: server.url })}\n`);
        else context.stdout.write(`\nserving ${result.serveRef} at ${server.url} until Ctrl-C; try:\n${servingHints(server.url, model, result.dataKind)}\n`);
        const signal = await nextSignal(() => process.exit(1));
        say(`${signal}: finishing requests in flight and closing`);
      } finally {
        await server.close();
      }
    });
}
