import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AimassError } from '../core/index.js';
import { parseTrainSpec } from './spec.js';

const good = {
  model: { type: 'cnn', input: [1, 28, 28], classes: 10, blocks: [{ filters: 16, pool: 2 }], dense: [64] },
  data: { format: 'image-csv', train: 'a.csv' },
};

test('a minimal spec gets the documented defaults', () => {
  const s = parseTrainSpec(good);
  assert.equal(s.optimizer.type, 'adam');
  assert.equal(s.optimizer.lr, 1e-3);
  assert.equal(s.batchSize, 64);
  assert.equal(s.epochs, 10);
  assert.equal(s.seed, 0);
});

test('unknown fields and bad values are all listed, each with its path', () => {
  try {
    parseTrainSpec({
      ...good,
      model: { ...good.model, blocks: [{ filters: 0, pool: 2, strides: 2 }] },
      optimizer: { type: 'adam', lr: -1 },
      epochs: 2.5,
      colour: 'blue',
    });
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof AimassError);
    assert.equal(e.code, 'INVALID_SPEC');
    const problems = e.details!.problems as string[];
    for (const want of ['model.blocks[0].filters', 'model.blocks[0].strides: unknown field', 'optimizer.lr', 'epochs', 'colour: unknown field']) {
      assert.ok(problems.some((p) => p.startsWith(want)), `missing "${want}" in ${JSON.stringify(problems)}`);
    }
  }
});

test('an unknown model type names the known ones', () => {
  assert.throws(() => parseTrainSpec({ ...good, model: { type: 'resnet' } }), (e: AimassError) => /mlp.*cnn/.test((e.details!.problems as string[])[0]));
});
