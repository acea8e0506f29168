// Training: the spec, data loading for a spec, the trainer loop (epochs, seeded shuffling, validation, early
// stopping, LR schedules, checkpoints and resume, metric history) and the worker-thread runner.
// Imports engine, models, data and core.
export * from './checkpoint.js';
export * from './data.js';
export type { EpochRecord } from './history.js';
export * from './job.js';
export * from './metrics.js';
export * from './schedule.js';
export * from './spec.js';
export * from './trainer.js';
export * from './worker.js';
export * from './tracking.js';
export * from './lbfgs.js';
export * from './logistic.js';
