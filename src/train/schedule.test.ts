import assert from 'node:assert/strict';
import { test } from 'node:test';
import { learningRate } from './schedule.js';
import { ScheduleSchema } from './spec.js';

const sched = (o: object) => ScheduleSchema.parse(o);
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);

test('constant keeps the base rate', () => {
  for (const s of [0, 10, 999]) close(learningRate(0.1, sched({}), s, 1000, 100), 0.1);
});

test('warm-up rises linearly to the base rate, then the schedule takes over', () => {
  const s = sched({ warmupSteps: 4 });
  assert.deepEqual([0, 1, 2, 3].map((i) => learningRate(1, s, i, 100, 10)), [0.25, 0.5, 0.75, 1]);
  close(learningRate(1, s, 4, 100, 10), 1);
});

test('step decay multiplies by gamma every stepEpochs epochs', () => {
  const s = sched({ type: 'step', stepEpochs: 2, gamma: 0.5 });
  close(learningRate(1, s, 0, 100, 10), 1);
  close(learningRate(1, s, 19, 100, 10), 1);
  close(learningRate(1, s, 20, 100, 10), 0.5);
  close(learningRate(1, s, 45, 100, 10), 0.25);
});

test('cosine goes from the base rate to minLr over the run', () => {
  const s = sched({ type: 'cosine', minLr: 0.1 });
  close(learningRate(1, s, 0, 100, 10), 1);
  close(learningRate(1, s, 50, 100, 10), 0.55);
  close(learningRate(1, s, 100, 100, 10), 0.1);
});
