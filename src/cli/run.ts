/**
 * Runs the CLI once and turns every outcome into an exit code: 0 success, 1 a failure reported as an
 * AimassError, 2 a usage error (unknown command or option, missing argument). Errors print as
 * `error [CODE]: message` with details below, or as the error's JSON with `--json`, always on stderr.
 */
import { CommanderError, type Command } from 'commander';
import { AimassError, toAimassError } from '../core/index.js';
import { createContext, type CliContext, type CliIo } from './context.js';
import { buildProgram } from './program.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * @param argv arguments after the executable and script, e.g. `['info', '--json']`.
 * @param build the command tree; tests pass one with extra commands.
 */
export async function runCli(
  argv: readonly string[],
  io: Partial<CliIo> = {},
  build: (context: CliContext, argv: readonly string[]) => Command | Promise<Command> = buildProgram,
): Promise<number> {
  const context = createContext(io);
  const json = wantsJson(argv);
  try {
    await (await build(context, argv)).parseAsync(json ? jsonFirst(argv) : [...argv], { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      if (e.exitCode === 0) return EXIT_OK;
      // Help shown because no command was given: commander already printed it.
      if (e.code === 'commander.help') return EXIT_USAGE;
      const message = e.message
        .replace(/^error:\s*/, '')
        .replace(/\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)');
      const usage = new AimassError('INVALID_ARGUMENT', `${message}; run \`aimass --help\` for usage`, {
        usage: e.code,
      });
      context.stderr.write(json ? `${JSON.stringify(usage)}\n` : formatError(usage));
      return EXIT_USAGE;
    }
    const error = toAimassError(e);
    context.stderr.write(json ? `${JSON.stringify(error)}\n` : formatError(error));
    return EXIT_FAILURE;
  }
}

/**
 * Human-readable form: the code and message, then `details.problems` one per line, then any other details as
 * `key: value`. An INTERNAL error also shows its cause's stack, since it is a bug to report.
 */
export function formatError(error: AimassError): string {
  const lines = [`error [${error.code}]: ${error.message}`];
  const { problems, ...rest } = error.details ?? {};
  if (Array.isArray(problems)) for (const problem of problems) lines.push(`  - ${String(problem)}`);
  for (const [key, value] of Object.entries(rest)) {
    if (key === 'usage') continue;
    lines.push(`  ${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  if (error.code === 'INTERNAL' && error.cause instanceof Error && error.cause.stack) {
    lines.push(error.cause.stack.replace(/^/gm, '  '));
  }
  return `${lines.join('\n')}\n`;
}

/** `--json` anywhere before a `--` terminator; read from argv so even a parse failure can answer in JSON. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** The program's options are positional (see `buildProgram`), so the global `--json` goes first wherever it was given. */
function jsonFirst(argv: readonly string[]): string[] {
  let end = argv.indexOf('--');
  if (end === -1) end = argv.length;
  return ['--json', ...argv.slice(0, end).filter((a) => a !== '--json'), ...argv.slice(end)];
}
