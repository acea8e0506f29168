import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { AimassError, Rng } from '../core/index.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';
import { type Checkpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';

const tempDir = useTempDirs('ckpt');

function checkpoint(epoch: number): Checkpoint {
  return {
    meta: { epoch, steps: epoch * 10, rng: new Rng(epoch).state(), history: [], stale: 0 },
    tensors: new Map([['w', Float32Array.from([epoch, 2, 3, 4])], ['b', Float32Array.from([epoch])]]),
    shapes: new Map([['w', [2, 2]], ['b', [1]]]),
  };
}

test('a checkpoint round-trips, and only the committed tensor file is kept', async () => {
  const dir = await tempDir();
  await saveCheckpoint(dir, checkpoint(1));
  await saveCheckpoint(dir, checkpoint(2));
  const back = await loadCheckpoint(dir);
  assert.equal(back.meta.epoch, 2);
  assert.deepEqual(Array.from(back.tensors.get('w')!), [2, 2, 3, 4]);
  assert.deepEqual(back.shapes.get('w'), [2, 2]);
  assert.deepEqual((await readdir(dir)).sort(), ['checkpoint-2.bin', 'checkpoint.json']);
});

test('a crash after the new tensor file but before the json leaves the previous checkpoint loadable', async () => {
  const dir = await tempDir();
  await saveCheckpoint(dir, checkpoint(1));
  // what a kill between the two renames leaves: the next epoch's tensors, the old json
  await writeFile(join(dir, 'checkpoint-2.bin'), new Uint8Array(20));
  assert.equal((await loadCheckpoint(dir)).meta.epoch, 1);
});

test('a damaged tensor file is refused by its checksum', async () => {
  const dir = await tempDir();
  await saveCheckpoint(dir, checkpoint(3));
  const bin = join(dir, 'checkpoint-3.bin');
  const bytes = await readFile(bin);
  bytes[0] ^= 1;
  await writeFile(bin, bytes);
  await assert.rejects(loadCheckpoint(dir), (e: unknown) => e instanceof AimassError && e.code === 'DATA_FORMAT' && /checksum/.test(e.message));
});
