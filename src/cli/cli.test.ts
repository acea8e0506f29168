import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimassError, errors } from '../core/index.js';
import { aimass } from '../../test/support/cli.js';
import { buildProgram, createContext, formatError, runCli, type CliContext } from './index.js';

function captured(env: Record<string, string | undefined> = {}) {
  let out = '';
  let err = '';
  const io = { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) }, env };
  return { io, out: () => out, err: () => err };
}

test('aimass --help exits 0 and lists the commands on stdout', async () => {
  const { code, stdout, stderr } = await aimass(['--help']);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Usage: aimass/);
  assert.match(stdout, /\binfo\b/);
  assert.match(stdout, /AIMASS_HOME/);
  assert.equal(stderr, '');
});

test('an unknown command exits 2 with a clear message on stderr', async () => {
  const { code, stdout, stderr } = await aimass(['infp']);
  assert.equal(code, 2);
  assert.equal(stdout, '');
  assert.equal(stderr, "error [INVALID_ARGUMENT]: unknown command 'infp' (did you mean info?); run `aimass --help` for usage\n");
});

test('--json turns errors into JSON the client can rebuild', async () => {
  const { code, stderr } = await aimass(['--json', 'bogus']);
  assert.equal(code, 2);
  const rebuilt = AimassError.fromJSON(JSON.parse(stderr));
  assert.equal(rebuilt.code, 'INVALID_ARGUMENT');
  assert.match(rebuilt.message, /unknown command 'bogus'/);
});

test('aimass info --json reports versions and config from the environment', async () => {
  const { code, stdout, stderr } = await aimass(['info', '--json'], { AIMASS_HOME: '/tmp/aimass-cli-test', AIMASS_THREADS: '3' });
  assert.equal(code, 0, stderr);
  const info = JSON.parse(stdout);
  assert.equal(info.home, '/tmp/aimass-cli-test');
  assert.equal(info.threads, 3);
  assert.equal(info.node, process.version);
  assert.match(info.onnxruntimeNode, /^\d+\.\d+\.\d+/);
  assert.match(info.aimass, /^\d+\.\d+\.\d+/);
});

test('a bad environment variable fails with exit 1, naming it', async () => {
  const out = captured({ AIMASS_PORT: 'eighty' });
  const code = await runCli(['info'], out.io);
  assert.equal(code, 1);
  assert.match(out.err(), /^error \[INVALID_ARGUMENT\]: Invalid environment variable AIMASS_PORT/);
  assert.match(out.err(), /\n {2}- AIMASS_PORT="eighty" is invalid: expected a whole number/);
  assert.equal(out.out(), '');
});

test('buildProgram exposes the command tree for tests; given a command line, it loads only that command', async () => {
  const program = await buildProgram(createContext(captured().io));
  assert.equal(program.name(), 'aimass');
  const all = program.commands.map((c) => c.name());
  for (const name of ['info', 'train', 'data', 'datasets', 'models', 'runs', 'backup', 'storage', 'serve', 'predict', 'tasks', 'worker', 'cluster', 'tune']) assert.ok(all.includes(name), name);
  assert.equal(new Set(all).size, all.length, 'each command once');
  const one = await buildProgram(createContext(captured().io), ['--json', 'runs', 'list']);
  assert.deepEqual(one.commands.map((c) => c.name()), ['runs']);
  const worker = await buildProgram(createContext(captured().io), ['worker']);
  assert.deepEqual(worker.commands.map((c) => c.name()).sort(), ['tasks', 'worker']);
  const unknown = await buildProgram(createContext(captured().io), ['tarin']);
  assert.equal(unknown.commands.length, all.length, 'an unknown command loads all, so the suggestion can name the right one');
});

test('--version prints the package version', async () => {
  const out = captured();
  assert.equal(await runCli(['--version'], out.io), 0);
  assert.match(out.out(), /^\d+\.\d+\.\d+\n$/);
});

test('formatError lists problems one per line, then other details', () => {
  const text = formatError(errors.invalidSpec('Training spec has 2 problems; fix them and rerun', ['epochs: must be >= 1', 'lr: required'], { file: 'spec.ts' }));
  assert.equal(
    text,
    [
      'error [INVALID_SPEC]: Training spec has 2 problems; fix them and rerun',
      '  - epochs: must be >= 1',
      '  - lr: required',
      '  file: spec.ts',
      '',
    ].join('\n'),
  );
});

test('an unexpected exception becomes INTERNAL with exit 1 and its stack', async () => {
  const out = captured();
  const code = await runCli(['boom'], out.io, async (context) => {
    const program = await buildProgram(context);
    program.command('boom').action(() => {
      throw new TypeError('kaput');
    });
    return program;
  });
  assert.equal(code, 1);
  assert.match(out.err(), /^error \[INTERNAL\]: kaput \(unexpected TypeError; please report it/);
  assert.match(out.err(), /\n {2}TypeError: kaput\n/);
});

test('an AimassError from a command keeps its code; --json prints its JSON', async () => {
  const build = async (context: CliContext) => {
    const program = await buildProgram(context);
    program.command('find').action(() => {
      throw errors.notFound('Model', 'digits', 'list models with `aimass models`');
    });
    return program;
  };
  const text = captured();
  assert.equal(await runCli(['find'], text.io, build), 1);
  assert.equal(text.err(), 'error [NOT_FOUND]: Model "digits" was not found; list models with `aimass models`\n  what: Model\n  id: digits\n');
  const json = captured();
  assert.equal(await runCli(['find', '--json'], json.io, build), 1);
  assert.deepEqual(JSON.parse(json.err()).error.code, 'NOT_FOUND');
});
