// Checkpoints that let a killed run resume exactly: every tensor of the run (weights, buffers, optimizer
// state, best weights so far), the shuffling generator's state, the step count and the history. Written as
// checkpoint-<epoch>.bin (float32 tensors back to back) and then checkpoint.json (everything else, with the
// tensor index, the bin's name and its sha256), each through a temp file and a rename. Renaming the json is
// the commit: a process killed at any moment leaves either the previous checkpoint or the new one, whole.
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError, type RngState, sha256Hex } from '../core/index.js';
import type { TensorMap } from '../engine/index.js';
import type { EpochRecord } from './history.js';

export interface CheckpointMeta {
  version: 1;
  /** Epochs completed. */
  epoch: number;
  steps: number;
  rng: RngState;
  history: EpochRecord[];
  best?: { epoch: number; value: number };
  /** Epochs since the monitored metric last improved. */
  stale: number;
  /** Early stopping ended the run (a resume then trains nothing more). */
  stoppedEarly?: boolean;
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
  /** The tensor file this json commits to. */
  binFile: string;
  sha256: string;
  savedAt: string;
}

export interface Checkpoint {
  meta: Omit<CheckpointMeta, 'tensors' | 'sha256' | 'savedAt' | 'version' | 'binFile'>;
  tensors: TensorMap;
  shapes: Map<string, number[]>;
}

async function writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function saveCheckpoint(dir: string, c: Checkpoint): Promise<void> {
  await mkdir(dir, { recursive: true });
  let total = 0;
  const index: CheckpointMeta['tensors'] = [];
  for (const [name, t] of c.tensors) {
    index.push({ name, shape: c.shapes.get(name) ?? [t.length], offset: total, length: t.length });
    total += t.length;
  }
  const flat = new Float32Array(total);
  for (const e of index) flat.set(c.tensors.get(e.name)!, e.offset);
  const bytes = new Uint8Array(flat.buffer);
  const binFile = `checkpoint-${c.meta.epoch}.bin`;
  const meta: CheckpointMeta = { version: 1, ...c.meta, tensors: index, binFile, sha256: sha256Hex(bytes), savedAt: new Date().toISOString() };
  await writeAtomic(join(dir, binFile), bytes);
  await writeAtomic(join(dir, 'checkpoint.json'), JSON.stringify(meta, null, 1));
  // only now is the previous tensor file unreferenced
  for (const f of await readdir(dir)) if (/^checkpoint-\d+\.bin$/.test(f) && f !== binFile) await rm(join(dir, f), { force: true });
}

export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8')) as CheckpointMeta;
  } catch (e) {
    throw new AimassError('NOT_FOUND', `no readable checkpoint in ${dir}: ${(e as Error).message}`, { dir });
  }
  let buf: Buffer;
  try {
    buf = await readFile(join(dir, meta.binFile));
  } catch (e) {
    throw new AimassError('NOT_FOUND', `checkpoint in ${dir} names ${meta.binFile}, which cannot be read: ${(e as Error).message}`, { dir });
  }
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (sha256Hex(bytes) !== meta.sha256) {
    throw new AimassError('DATA_FORMAT', `checkpoint in ${dir} is corrupt: ${meta.binFile} does not match the checksum in checkpoint.json`, { dir });
  }
  const flat = new Float32Array(bytes.slice().buffer);
  const tensors: TensorMap = new Map();
  const shapes = new Map<string, number[]>();
  for (const e of meta.tensors) {
    tensors.set(e.name, flat.slice(e.offset, e.offset + e.length));
    shapes.set(e.name, e.shape);
  }
  const { tensors: _t, sha256: _s, savedAt: _a, version: _v, binFile: _b, ...rest } = meta;
  return { meta: rest, tensors, shapes };
}
