/**
 * Process entry of the CLI, loaded by `bin/aimass.js`: runs the command line and exits with its code.
 */
import { runCli } from './run.js';

// `aimass … | head` closes the pipe early; that is the reader's choice, not a failure worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await runCli(process.argv.slice(2));
