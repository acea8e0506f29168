/**
 * The `aimass` command tree. Each command lives in its own file under `commands/` and is added here with one
 * line; commands stay thin and call the modules that do the work. Command modules load on demand: `aimass
 * models list` imports the registry, not the engine, the server or the data tools, which keeps a command's start
 * well under a second; help and unknown commands load them all.
 */
import { Command } from 'commander';
import { createContext, type CliContext } from './context.js';
import { aimassVersion } from './package-info.js';

type Register = (program: Command, context: CliContext) => void;

/** Every command by name, in the order help lists them, with the module that adds it. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  info: async () => (await import('./commands/info.js')).registerInfoCommand,
  train: async () => (await import('./commands/train.js')).registerTrainCommand,
  tune: async () => (await import('./commands/tune.js')).registerTuneCommand,
  run: async () => (await import('./commands/run.js')).registerRunCommand,
  quickstart: async () => (await import('./commands/quickstart.js')).registerQuickstartCommand,
  data: async () => (await import('./commands/data.js')).registerDataCommand,
  datasets: async () => (await import('./commands/datasets.js')).registerDatasetsCommand,
  models: async () => (await import('./commands/models.js')).registerModelsCommand,
  runs: async () => (await import('./commands/runs.js')).registerRunsCommand,
  backup: async () => (await import('./commands/backup.js')).registerBackupCommands,
  storage: async () => (await import('./commands/backup.js')).registerBackupCommands,
  serve: async () => (await import('./commands/serve.js')).registerServeCommand,
  predict: async () => (await import('./commands/predict.js')).registerPredictCommand,
  tasks: async () => (await import('./commands/tasks.js')).registerTasksCommand,
  worker: async () => (await import('./commands/tasks.js')).registerTasksCommand,
  cluster: async () => (await import('./commands/cluster.js')).registerClusterCommand,
};

const DESCRIPTION =
  'AI Mass: prepare data, train, tune, evaluate, register and serve models on ONNX Runtime, ' +
  'from one process on a laptop (the embedded default) to a cluster.';

const ENVIRONMENT_HELP = `
Environment:
  AIMASS_HOME           where metadata, artifacts and runs live (default ./.aimass)
  AIMASS_LOG_LEVEL      trace, debug, info, warn, error, fatal or silent (default info); logs go to stderr
  AIMASS_THREADS        ONNX Runtime threads and worker pool size (default: number of CPUs)
  AIMASS_PORT           port of \`aimass serve\` (default 8080)
  AIMASS_METADATA_URI   sqlite:<path> or postgresql://… (default sqlite:$AIMASS_HOME/aimass.db)
  AIMASS_ARTIFACT_URI   file://, s3://, hdfs:// or nats:// (default file://$AIMASS_HOME/artifacts)
  AIMASS_NATS_URL       NATS server for cluster mode (unset: embedded)`;

/**
 * Builds a fresh program. Commander is told not to exit or print errors itself: `runCli` turns its usage errors
 * into the same `error [CODE]: …` output as every other failure.
 *
 * The program's own options are positional (they go before the command): otherwise `aimass --version` would
 * swallow a command's option of the same name, and `models delete NAME --version 2` would print the AI Mass
 * version. `runCli` moves `--json` to the front, so it still works anywhere.
 */
export async function buildProgram(context: CliContext = createContext(), argv?: readonly string[]): Promise<Command> {
  const program = new Command('aimass')
    .description(DESCRIPTION)
    .version(aimassVersion(), '-V, --version', 'print the AI Mass version')
    .option('--json', 'print results and errors as JSON on stdout/stderr')
    .helpOption('-h, --help', 'show help for aimass or a command')
    .showSuggestionAfterError(true)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
      outputError: () => {},
    })
    .addHelpText('after', ENVIRONMENT_HELP);

  const first = argv?.find((a) => !a.startsWith('-'));
  const versionOnly = first === undefined && argv !== undefined && argv.some((a) => a === '-V' || a === '--version');
  const loaders = versionOnly ? [] : first !== undefined && Object.hasOwn(COMMANDS, first) ? [COMMANDS[first]] : Object.values(COMMANDS);
  // one module may add several commands (backup and storage; tasks and worker): add each module once
  for (const register of new Set(await Promise.all(loaders.map((load) => load())))) register(program, context);

  return program;
}
