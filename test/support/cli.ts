// Runs the real `aimass` executable the way a user does (a child process of bin/aimass.js), for CLI tests.
import { spawn } from 'node:child_process';
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
  const baseEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AIMASS_')));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [aimassBin, ...args], { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
