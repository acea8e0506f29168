// Learning-rate schedules, computed per step outside the graph (the rate is a train-step input).
import type { ScheduleSpec } from './spec.js';

/** The rate for 0-based optimizer step `step` of `totalSteps`, with `stepsPerEpoch` steps an epoch. */
export function learningRate(base: number, s: ScheduleSpec, step: number, totalSteps: number, stepsPerEpoch: number): number {
  if (s.warmupSteps > 0 && step < s.warmupSteps) return (base * (step + 1)) / s.warmupSteps;
  switch (s.type) {
    case 'constant':
      return base;
    case 'step':
      return base * s.gamma ** Math.floor(step / stepsPerEpoch / s.stepEpochs);
    case 'cosine': {
      const span = Math.max(1, totalSteps - s.warmupSteps);
      const t = Math.min(1, (step - s.warmupSteps) / span);
      return s.minLr + ((base - s.minLr) * (1 + Math.cos(Math.PI * t))) / 2;
    }
  }
}
