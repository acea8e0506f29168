// Where a pipeline's steps keep their results, and how a step knows it has nothing to redo. Each step run is
// keyed by the sha256 of everything it depends on (its own settings and the keys or content hashes of its
// inputs) and gets its own folder, `<AIMASS_HOME>/pipelines/<name>/steps/<step>-<key>`. `result.json` in that
// folder is written last, atomically: it exists only when the step finished, so a run that was interrupted
// finds every finished step by its key and starts again at the first unfinished one (whose folder may hold
// partial work it can pick up, such as the trainer's epoch checkpoints). Changing one setting changes the keys
// of the steps that depend on it, and of no other.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** JSON with object keys sorted at every level, so equal values always hash alike. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/** The key of a step: sha256 (hex) over its inputs, given as one JSON-able value. */
export function stepKey(inputs: unknown): string {
  return createHash('sha256').update(canonicalJson(inputs)).digest('hex');
}

/** sha256 (hex) of a file's bytes, streamed. */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** What a finished step leaves in its result.json: its outcome and the one-line summary shown for it. */
export interface StoredStep<T> {
  step: string;
  key: string;
  finishedAt: string;
  summary: string;
  result: T;
}

const RESULT_FILE = 'result.json';

export class StepStore {
  /** @param root the pipeline's folder, `<AIMASS_HOME>/pipelines/<name>` */
  constructor(readonly root: string) {}

  /** The folder of one step run; keys are shortened to 16 hex digits (64 bits) in folder names. */
  dir(step: string, key: string): string {
    return join(this.root, 'steps', `${step}-${key.slice(0, 16)}`);
  }

  /** The finished result of this step and key, or undefined when it never finished. */
  async finished<T>(step: string, key: string): Promise<StoredStep<T> | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir(step, key), RESULT_FILE), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const stored = JSON.parse(text) as StoredStep<T>;
      return stored.key === key ? stored : undefined;
    } catch {
      return undefined; // a result.json that does not parse was not written by a finished step: redo it
    }
  }

  /** Marks the step finished with `result` (written to a temporary name and renamed, so never half-written). */
  async finish<T>(step: string, key: string, summary: string, result: T): Promise<StoredStep<T>> {
    const dir = this.dir(step, key);
    await mkdir(dir, { recursive: true });
    const stored: StoredStep<T> = { step, key, finishedAt: new Date().toISOString(), summary, result };
    const tmp = join(dir, `${RESULT_FILE}.${process.pid}.tmp`);
    await writeFile(tmp, `${JSON.stringify(stored, null, 1)}\n`);
    await rename(tmp, join(dir, RESULT_FILE));
    return stored;
  }

  /** Writes a JSON file beside the steps (e.g. the last run's summary), atomically. */
  async writeJson(name: string, value: unknown): Promise<string> {
    await mkdir(this.root, { recursive: true });
    const path = join(this.root, name);
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(value, null, 1)}\n`);
    await rename(tmp, path);
    return path;
  }
}
