// Distributions and declarative search spaces: validation that lists every problem by parameter, log/step/int
// encodings and bounds, and conditional parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AimassError, Rng } from '../core/index.js';
import {
  containsValue,
  createStudy,
  floatDistribution,
  fromUnit,
  intDistribution,
  isActive,
  parseSearchSpace,
  sampleSearchSpace,
  toUnit,
  RandomSampler,
  type Distribution,
  type ParamValue,
} from './index.js';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AimassError, String(e));
    return (e.details?.problems as string[]) ?? [];
  }
  assert.fail('expected an error');
}

test('a space with several mistakes lists every one, each naming its parameter', () => {
  const problems = problemsOf(() =>
    parseSearchSpace({
      lr: { type: 'float', low: 0, high: 0.1, log: true },
      layers: { type: 'int', low: 4, high: 1 },
      units: { type: 'int', low: 8, high: 100, step: 16 },
      act: { type: 'categorical', choices: ['relu', 'relu'] },
      drop: { type: 'float', low: 0, high: 1, step: 0.1, log: true },
      extra: { type: 'float', low: 0, high: 1, bogus: 1 },
      kind: { type: 'gaussian' },
      momentum: { type: 'float', low: 0, high: 1, when: { optimizer: 'sgd' } },
    }),
  );
  const text = problems.join('\n');
  assert.match(text, /extra\.bogus: unknown field/);
  assert.match(text, /kind/);
  // zod problems stop before semantic checks; fix them and the rest are listed together
  const semantic = problemsOf(() =>
    parseSearchSpace({
      lr: { type: 'float', low: 0, high: 0.1, log: true },
      layers: { type: 'int', low: 4, high: 1 },
      units: { type: 'int', low: 8, high: 100, step: 16 },
      act: { type: 'categorical', choices: ['relu', 'relu'] },
      drop: { type: 'float', low: 0.1, high: 1, step: 0.1, log: true },
      momentum: { type: 'float', low: 0, high: 1, when: { optimizer: 'sgd' } },
      beta: { type: 'float', low: 0, high: 1, when: { act: 'gelu' } },
    }),
  );
  assert.deepEqual(
    semantic.map((p) => p.split(':')[0]),
    ['lr', 'layers', 'units', 'act', 'drop', 'momentum', 'beta'],
  );
  assert.match(semantic[0], /log scale needs low > 0/);
  assert.match(semantic[4], /step cannot be combined with a log scale/);
  assert.match(semantic[2], /not a whole number of steps of 16; set high to 88/);
  assert.match(semantic[5], /refers to "optimizer", which is not a parameter/);
  assert.match(semantic[6], /act = "gelu", which act can never take/);
});

test('cycles between conditional parameters are reported', () => {
  const problems = problemsOf(() =>
    parseSearchSpace({
      a: { type: 'categorical', choices: [1, 2], when: { b: 1 } },
      b: { type: 'categorical', choices: [1, 2], when: { a: 1 } },
    }),
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0], /cycle \(a -> b -> a\)/);
});

test('suggest* rejects bad ranges with INVALID_ARGUMENT naming the parameter', () => {
  assert.throws(() => floatDistribution('lr', 0, 1, { log: true }), (e: AimassError) => e.code === 'INVALID_ARGUMENT' && /"lr"/.test(e.message));
  assert.throws(() => intDistribution('n', 1.5, 3), /integer bounds/);
  assert.throws(() => intDistribution('n', 1, 9, { step: 2, log: true }), /log scale/);
});

test('unit encodings: log ranges, steps and ints map to [0, 1] and back onto their grids', () => {
  const lr = floatDistribution('lr', 1e-4, 1, { log: true });
  assert.ok(Math.abs(toUnit(lr, 1e-2) - 0.5) < 1e-12);
  assert.ok(Math.abs(fromUnit(lr, 0.25) - 1e-3) < 1e-15);
  const drop = floatDistribution('drop', 0, 0.5, { step: 0.1 });
  assert.equal(fromUnit(drop, 0.55), 0.3);
  assert.equal(fromUnit(drop, 1), 0.5);
  assert.equal(fromUnit(drop, 0), 0);
  const units = intDistribution('units', 8, 64, { step: 8 });
  const rng = new Rng(3);
  const counts = new Map<number, number>();
  for (let i = 0; i < 8000; i++) {
    const v = fromUnit(units, rng.next());
    assert.ok(containsValue(units, v), `${v}`);
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  // half-step widening gives every grid value an equal share, the end points included
  assert.equal(counts.size, 8);
  for (const c of counts.values()) assert.ok(c > 850 && c < 1150, `${[...counts]}`);
  const logInt = intDistribution('k', 1, 1000, { log: true });
  for (let u = 0; u <= 1; u += 0.01) {
    const v = fromUnit(logInt, u);
    assert.ok(Number.isInteger(v) && v >= 1 && v <= 1000);
  }
});

test('conditional parameters exist only when their parent takes a listed value', async () => {
  const space = parseSearchSpace({
    momentum: { type: 'float', low: 0, high: 0.99, when: { optimizer: ['sgd'] } },
    optimizer: { type: 'categorical', choices: ['sgd', 'adam'] },
    beta2: { type: 'float', low: 0.9, high: 0.9999, when: { optimizer: 'adam' } },
    nesterov: { type: 'categorical', choices: [true, false], when: { momentum: [0.5] } },
  });
  // parents are drawn first whatever the declaration order
  assert.deepEqual(space.params.map((p) => p.name).slice(0, 2), ['optimizer', 'momentum']);
  const study = await createStudy({ sampler: new RandomSampler({ seed: 1 }) });
  const seen = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const trial = await study.ask(space);
    const p = trial.params;
    seen.add(String(p.optimizer));
    assert.equal('momentum' in p, p.optimizer === 'sgd');
    assert.equal('beta2' in p, p.optimizer === 'adam');
    assert.equal('nesterov' in p, false); // momentum is continuous: never exactly 0.5
    await study.tell(trial, 1);
  }
  assert.deepEqual([...seen].sort(), ['adam', 'sgd']);
  assert.equal(isActive(space.params[1], { optimizer: 'adam' }), false);
});

test('sampleSearchSpace drives any suggester', () => {
  const space = parseSearchSpace({ a: { type: 'int', low: 1, high: 1 }, b: { type: 'categorical', choices: ['x'] } });
  const calls: string[] = [];
  const values = sampleSearchSpace(
    {
      suggest(name: string, d: Distribution): ParamValue {
        calls.push(name);
        return d.type === 'categorical' ? d.choices[0] : d.low;
      },
    },
    space,
  );
  assert.deepEqual(values, { a: 1, b: 'x' });
  assert.deepEqual(calls, ['a', 'b']);
});
