// Processes seen from /proc (Linux), for tests and benches that check what a server started or left behind.
import { readFileSync } from 'node:fs';

/**
 * The fields of /proc/<pid>/stat after the command name (state, ppid, …, utime at [11], stime at [12]), or
 * undefined when the process is gone. The name is in parentheses and may hold spaces, so fields start after
 * the last ")".
 */
export function procStat(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * Whether a process is still running, for tests that check a process went away. A process that has exited but
 * was not yet reaped (a zombie) still answers kill(pid, 0); an orphan's zombie waits for PID 1, which in some
 * containers reaps late or never. So on Linux a zombie counts as gone.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  const state = procStat(pid)?.[0];
  return state !== undefined && state !== 'Z'; // undefined: gone between the two looks
}
