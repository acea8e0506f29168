// Temporary folders for tests: each call makes a fresh folder under the OS temp dir, and all of them are removed
// when the test file finishes, pass or fail.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** Call at the top level of a test file; returns the maker of fresh folders named `aimass-<prefix>-…`. */
export function useTempDirs(prefix: string): () => Promise<string> {
  const dirs: string[] = [];
  after(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), `aimass-${prefix}-`));
    dirs.push(dir);
    return dir;
  };
}
