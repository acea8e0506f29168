// Runs the real `aimass` executable the way a user does (a child process of bin/aimass.js), for CLI tests.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const aimassBin = fileURLToPath(new URL('../../bin/aimass.js', import.meta.url));

export interface CliOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `aimass ...args` with a clean AIMASS_* environment plus `env`. A run that outlives `timeoutMs` is
 * killed (its code is then null), so a hung command fails its test instead of the whole suite.
 */
export function aimass(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [aimassBin, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `aimass ...args` like `aimass` does, output ignored, and returns the process: for tests that kill it. */
export function spawnAimass(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [aimassBin, ...args], { env: cleanEnv(env), stdio: 'ignore' });
}

/** This process's environment without its AIMASS_* variables, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMASS_'))), ...env };
}

/** The stdout of a run that must have succeeded; otherwise fails with its stderr. */
export function stdoutOf(r: CliOutcome): string {
  assert.equal(r.code, 0, `exit code; stderr:\n${r.stderr}`);
  return r.stdout;
}

/** What a successful `--json` run printed. */
export function jsonOf<T>(r: CliOutcome): T {
  return JSON.parse(stdoutOf(r)) as T;
}

/** A failed run: its exit code, stderr matching `pattern`, nothing on stdout. */
export function assertFailed(r: CliOutcome, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `exit code; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stderr, pattern);
  assert.equal(r.stdout, '');
}
