// Model specs: the JSON a user writes to pick a model and its sizes, validated with zod (unknown fields
// and bad values are rejected, each problem listed), and turned into engine ModelDefinitions.
import { z } from 'zod';

const activation = z.enum(['relu', 'leaky_relu', 'sigmoid', 'tanh', 'gelu']);
const positive = z.number().int().positive();
const dropout = z.number().min(0).lt(1);

/** What the model predicts: class ids, a 0/1 label, or real values. */
const head = {
  task: z.enum(['multiclass', 'binary', 'regression']).default('multiclass'),
  /** Number of classes (multiclass). */
  classes: positive.optional(),
  /** Number of regression targets. */
  outputs: positive.optional(),
};

export const MlpSpec = z
  .object({
    type: z.literal('mlp'),
    input: positive.describe('number of input features'),
    hidden: z.array(positive).default([64]),
    activation: activation.default('relu'),
    dropout: dropout.default(0),
    batchNorm: z.boolean().default(false),
    ...head,
  })
  .strict();

const ConvBlock = z
  .object({
    filters: positive,
    kernel: z.union([positive, z.tuple([positive, positive])]).default(3),
    stride: positive.default(1),
    padding: z.union([z.enum(['same', 'valid']), z.number().int().min(0)]).default('valid'),
    activation: activation.default('relu'),
    batchNorm: z.boolean().default(false),
    /** Pooling after the block: max or average over a window of this size (stride = window). */
    pool: positive.optional(),
    poolType: z.enum(['max', 'avg']).default('max'),
  })
  .strict();

export const CnnSpec = z
  .object({
    type: z.literal('cnn'),
    input: z.tuple([positive, positive, positive]).describe('[channels, height, width]'),
    blocks: z.array(ConvBlock).min(1),
    /** Global average pooling instead of flattening before the dense layers. */
    globalPool: z.boolean().default(false),
    dense: z.array(positive).default([]),
    activation: activation.default('relu'),
    dropout: dropout.default(0),
    ...head,
  })
  .strict();

const text = {
  vocabSize: positive,
  seqLen: positive,
  embedDim: positive.default(64),
};

export const BagOfEmbeddingsSpec = z
  .object({
    type: z.literal('bag_of_embeddings'),
    ...text,
    hidden: z.array(positive).default([]),
    activation: activation.default('relu'),
    dropout: dropout.default(0),
    ...head,
  })
  .strict();

export const TextCnnSpec = z
  .object({
    type: z.literal('textcnn'),
    ...text,
    kernels: z.array(positive).min(1).default([3, 4, 5]),
    filters: positive.default(64),
    activation: activation.default('relu'),
    dropout: dropout.default(0),
    ...head,
  })
  .strict();

/** Linear regression (task regression) or logistic regression (binary / multiclass). */
export const LinearSpec = z
  .object({
    type: z.literal('linear'),
    input: positive,
    ...head,
  })
  .strict();

export const ModelSpecSchema = z.discriminatedUnion('type', [MlpSpec, CnnSpec, BagOfEmbeddingsSpec, TextCnnSpec, LinearSpec]);
export type ModelSpec = z.infer<typeof ModelSpecSchema>;
export type ModelSpecInput = z.input<typeof ModelSpecSchema>;
export const MODEL_TYPES = ['mlp', 'cnn', 'bag_of_embeddings', 'textcnn', 'linear'] as const;
