/**
 * Public entry of `cli/`: the `aimass` command tree and the runner that maps outcomes to exit codes. The executable
 * is `bin/aimass.js`, which loads `main.ts`; tests call `buildProgram` or `runCli` directly.
 *
 * cli/ may import any module; commands stay thin and delegate to them.
 */
export { buildProgram } from './program.js';
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, formatError, runCli } from './run.js';
export { createContext, type CliContext, type CliIo, type GlobalOptions } from './context.js';
