#!/usr/bin/env node
// Runs the test suite: every *.test.ts under src/ and test/, through Node's own test runner with tsx loading
// TypeScript. Usage:
//   node scripts/run-tests.mjs                      all tests
//   node scripts/run-tests.mjs core cli/            only files whose path contains "core" or "cli/"
//   node scripts/run-tests.mjs --test-name-pattern=rng core
// Arguments starting with "-" are passed to `node --test` unchanged. Exits with the runner's exit code, so one
// failing test fails `npm test` and CI.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SEARCH_ROOTS = ['src', 'test'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage']);

function findTests(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (e.code === 'ENOENT') return out;
    throw e;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) findTests(full, out);
    } else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
      out.push(path.relative(root, full));
    }
  }
  return out;
}

const args = process.argv.slice(2);
const runnerFlags = args.filter((a) => a.startsWith('-'));
const filters = args.filter((a) => !a.startsWith('-'));

const all = SEARCH_ROOTS.flatMap((dir) => findTests(path.join(root, dir), [])).sort();
// Compare with forward slashes so filters written as "core/rng" work on every platform.
const files = filters.length === 0 ? all : all.filter((f) => filters.some((needle) => f.split(path.sep).join('/').includes(needle)));

if (files.length === 0) {
  const what = filters.length === 0 ? `under ${SEARCH_ROOTS.join('/, ')}/` : `matching ${filters.map((f) => JSON.stringify(f)).join(' or ')}`;
  console.error(`run-tests: no *.test.ts files ${what}; nothing to run`);
  process.exit(1);
}

// A test that hangs fails after 5 minutes instead of holding CI until its own limit.
const timeout = runnerFlags.some((f) => f.startsWith('--test-timeout')) ? [] : ['--test-timeout=300000'];
const nodeArgs = ['--import', 'tsx', '--test', '--test-concurrency=2', ...timeout, ...runnerFlags, ...files];
const child = spawn(process.execPath, nodeArgs, { cwd: root, stdio: 'inherit' });

// Pass Ctrl-C and CI cancellation on so the runner can close its children.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}

child.on('error', (e) => {
  console.error(`run-tests: could not start node: ${e.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal) {
    console.error(`run-tests: test runner was killed by ${signal}`);
    process.exit(1);
  }
  process.exit(code ?? 1);
});
