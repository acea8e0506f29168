// A training process killed with SIGKILL (no chance to clean up) resumes from its last epoch checkpoint
// with `aimass train --resume`, and ends with exactly the model an uninterrupted run produces (one thread,
// same seed).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { Rng } from '../core/index.js';
import { aimass, aimassBin } from '../../test/support/cli.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('kill');

async function writeData(dir: string): Promise<void> {
  const rng = new Rng(11);
  const rows = ['label,' + Array.from({ length: 16 }, (_, j) => `f${j}`).join(',')];
  for (let i = 0; i < 6000; i++) {
    const c = i % 4;
    rows.push(`${c},` + Array.from({ length: 16 }, (_, j) => ((j % 4 === c ? 1.5 : 0) + rng.normal()).toFixed(4)).join(','));
  }
  await writeFile(join(dir, 'train.csv'), rows.join('\n'));
  const spec = {
    model: { type: 'mlp', input: 16, hidden: [128, 128], classes: 4 },
    data: { format: 'csv', train: 'train.csv', validation: 0.1 },
    optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 },
    schedule: { type: 'cosine' },
    epochs: 12,
    batchSize: 16,
    seed: 3,
    threads: 1,
  };
  await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
}

const checkpointEpoch = (run: string): number => {
  try {
    return JSON.parse(readFileSync(join(run, 'checkpoint.json'), 'utf8')).epoch;
  } catch {
    return 0;
  }
};

test('a SIGKILLed run resumes with --resume and ends with the uninterrupted run’s model', { timeout: 180_000 }, async () => {
  const dir = await tempDir();
  await writeData(dir);
  const full = await aimass(['train', '--spec', join(dir, 'spec.json'), '--out', join(dir, 'full'), '--no-progress'], {}, 120_000);
  assert.equal(full.code, 0, full.stderr);

  const run = join(dir, 'killed');
  const child = spawn(process.execPath, [aimassBin, 'train', '--spec', join(dir, 'spec.json'), '--out', run, '--no-progress'], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  while (checkpointEpoch(run) < 3) {
    assert.equal(child.exitCode, null, 'the run ended before it could be killed; make it longer');
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const at = checkpointEpoch(run);
  assert.ok(at >= 3 && at < 12, `killed after epoch ${at}`);
  assert.equal(existsSync(join(run, 'model.onnx')), false, 'the killed run never exported');

  const resumed = await aimass(['train', '--resume', run, '--no-progress'], {}, 120_000);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`resuming after epoch ${at}`));
  const metrics = JSON.parse(readFileSync(join(run, 'metrics.json'), 'utf8'));
  assert.equal(metrics.history.length, 12);
  assert.ok(readFileSync(join(run, 'model.onnx')).equals(readFileSync(join(dir, 'full', 'model.onnx'))), 'same model.onnx bytes');
});
