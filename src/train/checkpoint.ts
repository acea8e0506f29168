// Checkpoints that let a killed run resume exactly: every tensor of the run (weights, buffers, optimizer
// state, best weights so far), the shuffling generator's state, the step count and the history. Written as
// checkpoint.bin (float32 tensors back to back) and checkpoint.json (everything else, with the tensor index
// and the bin's sha256), each atomically (write to a temp file, then rename).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
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
  tensors: { name: string; shape: number[]; offset: number; length: number }[];
  sha256: string;
  savedAt: string;
}

export interface Checkpoint {
  meta: Omit<CheckpointMeta, 'tensors' | 'sha256' | 'savedAt' | 'version'>;
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
  const meta: CheckpointMeta = { version: 1, ...c.meta, tensors: index, sha256: sha256Hex(bytes), savedAt: new Date().toISOString() };
  await writeAtomic(join(dir, 'checkpoint.bin'), bytes);
  await writeAtomic(join(dir, 'checkpoint.json'), JSON.stringify(meta, null, 1));
}

export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(await readFile(join(dir, 'checkpoint.json'), 'utf8')) as CheckpointMeta;
  } catch (e) {
    throw new AimassError('NOT_FOUND', `no readable checkpoint in ${dir}: ${(e as Error).message}`, { dir });
  }
  const buf = await readFile(join(dir, 'checkpoint.bin'));
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (sha256Hex(bytes) !== meta.sha256) {
    throw new AimassError('DATA_FORMAT', `checkpoint in ${dir} is corrupt: checkpoint.bin does not match the checksum in checkpoint.json`, { dir });
  }
  const flat = new Float32Array(bytes.slice().buffer);
  const tensors: TensorMap = new Map();
  const shapes = new Map<string, number[]>();
  for (const e of meta.tensors) {
    tensors.set(e.name, flat.slice(e.offset, e.offset + e.length));
    shapes.set(e.name, e.shape);
  }
  const { tensors: _t, sha256: _s, savedAt: _a, version: _v, ...rest } = meta;
  return { meta: rest, tensors, shapes };
}
