// A worker process for cluster fault tests, to be killed with SIGKILL mid-work. Run with
// `node --import tsx test/support/cluster-child.ts <mode> <json options>`; it prints one JSON line when it holds
// what the test wants it to hold, then waits to be killed.
//   join  {"uri","id","timing"}                        joins membership and heartbeats
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openMembership, type MembershipTiming } from '../../src/cluster/index.js';

interface JoinOptions {
  uri: string;
  id: string;
  timing: MembershipTiming;
}

/** Starts the child and resolves with it and its first output line (parsed) once it prints one. */
export async function startClusterChild(mode: 'join', options: JoinOptions, waitMs?: number): Promise<{ child: ChildProcess; line: Record<string, unknown> }>;
/** Rejects (after killing the child) when it prints nothing within `waitMs`. */
export async function startClusterChild(mode: string, options: object, waitMs = 10_000): Promise<{ child: ChildProcess; line: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), mode, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cluster child (${mode}) printed nothing within ${waitMs} ms`));
    }, waitMs);
    lines.once('line', (text) => {
      clearTimeout(timer);
      resolve(JSON.parse(text) as Record<string, unknown>);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`cluster child (${mode}) exited (${signal ?? code}) before reporting`));
    });
  });
  return { child, line };
}

/** SIGKILL, and wait until the process is really gone. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function main(mode: string, raw: string): Promise<void> {
  if (mode === 'join') {
    const options = JSON.parse(raw) as JoinOptions;
    const membership = openMembership(options.uri, { timing: options.timing });
    const node = await membership.join({ id: options.id, capabilities: { cpuThreads: 2, memoryMb: 1024 } });
    console.log(JSON.stringify({ joined: node.id, pid: process.pid }));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
  setInterval(() => undefined, 60_000);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv[2], process.argv[3]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
