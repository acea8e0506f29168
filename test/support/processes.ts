// Whether a process is still running, for tests that check a process went away. A process that has exited but
// was not yet reaped (a zombie) still answers kill(pid, 0); an orphan's zombie waits for PID 1, which in some
// containers reaps late or never. So on Linux a zombie counts as gone.
import { readFileSync } from 'node:fs';

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false; // gone between the two looks
  }
}
