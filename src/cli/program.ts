/**
 * The `aimass` command tree. Each command lives in its own file under `commands/` and is added here with one
 * line; commands stay thin and call the modules that do the work.
 */
import { Command } from 'commander';
import { registerBackupCommands } from './commands/backup.js';
import { registerDataCommand } from './commands/data.js';
import { registerDatasetsCommand } from './commands/datasets.js';
import { registerInfoCommand } from './commands/info.js';
import { registerModelsCommand } from './commands/models.js';
import { registerRunsCommand } from './commands/runs.js';
import { registerServeCommand } from './commands/serve.js';
import { registerPredictCommand } from './commands/predict.js';
import { registerTasksCommand } from './commands/tasks.js';
import { registerClusterCommand } from './commands/cluster.js';
import { registerTrainCommand } from './commands/train.js';
import { createContext, type CliContext } from './context.js';
import { aimassVersion } from './package-info.js';

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
export function buildProgram(context: CliContext = createContext()): Command {
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

  registerInfoCommand(program, context);
  registerTrainCommand(program, context);
  registerDataCommand(program, context);
  registerDatasetsCommand(program, context);
  registerModelsCommand(program, context);
  registerRunsCommand(program, context);
  registerBackupCommands(program, context);
  registerServeCommand(program, context);
  registerPredictCommand(program, context);
  registerTasksCommand(program, context);
  registerClusterCommand(program, context);

  return program;
}
