// The training spec `aimass train --spec` reads: model, data, optimizer, schedule, epochs, batch size,
// seed. Unknown fields and bad values are rejected before any work starts, each problem listed.
import { z } from 'zod';
import { parseWith } from '../core/index.js';
import { OptimizerSchema } from '../engine/index.js';
import { ModelSpecSchema } from '../models/index.js';

const positive = z.number().int().positive();

export const DataSpecSchema = z
  .object({
    /** 'csv': header row, numeric features, a label column. 'image-csv': label then pixels (MNIST style). */
    format: z.enum(['csv', 'image-csv']),
    train: z.string().min(1),
    test: z.string().min(1).optional(),
    /** A fraction of the training file held out for validation each epoch, or a separate file. */
    validation: z.union([z.number().gt(0).lt(1), z.string().min(1)]).optional(),
    /** csv: the label column. */
    label: z.string().min(1).default('label'),
    /** csv: feature columns (default: all but the label). */
    features: z.array(z.string().min(1)).optional(),
    /** image-csv: multiplies each pixel (default 1/255). */
    scale: z.number().positive().optional(),
  })
  .strict();

export const ScheduleSchema = z
  .object({
    type: z.enum(['constant', 'step', 'cosine']).default('constant'),
    /** Linear warm-up from 0 over this many steps. */
    warmupSteps: z.number().int().min(0).default(0),
    /** step: multiply the rate by gamma every stepEpochs epochs. */
    stepEpochs: positive.default(1),
    gamma: z.number().positive().max(1).default(0.1),
    /** cosine: the rate it decays to. */
    minLr: z.number().min(0).default(0),
  })
  .strict();

export const EarlyStoppingSchema = z
  .object({
    monitor: z.enum(['val_loss', 'val_accuracy']).default('val_loss'),
    patience: positive.default(3),
    minDelta: z.number().min(0).default(0),
  })
  .strict();

export const TrainSpecSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, dot, dash and underscore only').optional(),
    model: ModelSpecSchema,
    data: DataSpecSchema,
    optimizer: OptimizerSchema.default({ type: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }),
    schedule: ScheduleSchema.default({ type: 'constant', warmupSteps: 0, stepEpochs: 1, gamma: 0.1, minLr: 0 }),
    regularization: z.object({ l1: z.number().min(0).default(0), l2: z.number().min(0).default(0) }).strict().default({ l1: 0, l2: 0 }),
    epochs: positive.max(100_000).default(10),
    batchSize: positive.max(1 << 16).default(64),
    seed: z.number().int().min(0).default(0),
    /** ONNX Runtime intra-op threads (default: AIMASS_THREADS, i.e. the CPUs). */
    threads: positive.optional(),
    earlyStopping: EarlyStoppingSchema.optional(),
  })
  .strict();

export type TrainSpec = z.infer<typeof TrainSpecSchema>;
export type TrainSpecInput = z.input<typeof TrainSpecSchema>;
export type DataSpec = z.infer<typeof DataSpecSchema>;
export type ScheduleSpec = z.infer<typeof ScheduleSchema>;

export function parseTrainSpec(value: unknown): TrainSpec {
  return parseWith(TrainSpecSchema, value, 'training spec');
}
