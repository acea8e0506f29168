// Shared pieces of the bench:* scripts: where the reference data and peers live, running a peer, and
// printing the one JSON result line.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** ../shared/bench beside the repository (override with AIMASS_SHARED_BENCH). */
export function sharedBench(): string {
  const dir = process.env.AIMASS_SHARED_BENCH ?? resolve(repoRoot, '..', 'shared', 'bench');
  if (!existsSync(join(dir, 'export_datasets.cjs'))) {
    throw new Error(`the shared benchmark folder is not at ${dir}; set AIMASS_SHARED_BENCH to the folder holding export_datasets.cjs`);
  }
  return dir;
}

/** Writes the reference data sets with the shared exporter (packages resolved from this repository). */
export function referenceData(): string {
  const out = join(repoRoot, 'bench', 'out', 'data');
  if (!existsSync(join(out, 'mnist_train.csv')) || !existsSync(join(out, 'spam.jsonl'))) {
    mkdirSync(out, { recursive: true });
    execFileSync(process.execPath, [join(sharedBench(), 'export_datasets.cjs'), out], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return out;
}

/** Runs a peer script with Debian's python3 and returns its key=value fields. */
export function runPeer(script: string, args: string[]): Record<string, number> {
  const python = process.env.AIMASS_PEER_PYTHON ?? '/usr/bin/python3';
  let text: string;
  try {
    text = execFileSync(python, [join(sharedBench(), script), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  } catch (e) {
    throw new Error(`peer ${script} failed (${(e as Error).message}); install the peers with: apt-get install -y python3-torch python3-sklearn python3-optuna`);
  }
  const fields: Record<string, number> = {};
  for (const m of text.matchAll(/(\w+)=([-\d.eE+]+)/g)) fields[m[1]] = Number(m[2]);
  return fields;
}

export function printResult(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export const round = (x: number, digits = 0): number => Number(x.toFixed(digits));
