// Loads the data a training spec names, checked against the model: the training file (with an optional
// validation fraction or file) and the test file, with class names taken from the training data so every
// split maps labels the same way.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { AimassError } from '../core/index.js';
import { type Dataset, loadCsvTable, loadImageCsv, splitFraction } from '../data/index.js';
import type { ModelDefinition } from '../engine/index.js';
import type { DataSpec } from './spec.js';

export interface PreparedData {
  train: Dataset;
  validation?: Dataset;
  test?: Dataset;
}

/** Resolves the spec's data paths against `baseDir` (the spec file's folder) and checks they exist. */
export async function resolveDataPaths(d: DataSpec, baseDir: string): Promise<DataSpec> {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const out: DataSpec = { ...d, train: abs(d.train), test: d.test && abs(d.test), validation: typeof d.validation === 'string' ? abs(d.validation) : d.validation };
  const missing: string[] = [];
  for (const [field, p] of [['data.train', out.train], ['data.test', out.test], ['data.validation', typeof out.validation === 'string' ? out.validation : undefined]] as const) {
    if (p) await access(p).catch(() => missing.push(`${field}: file not found: ${p}`));
  }
  if (missing.length) throw new AimassError('INVALID_SPEC', `the training spec names ${missing.length} data file(s) that do not exist`, { problems: missing });
  return out;
}

export async function loadTrainingData(d: DataSpec, model: ModelDefinition, seed: number): Promise<PreparedData> {
  const input = model.inputs[0];
  if (model.inputs.length !== 1 || input.dtype !== 'float32') {
    throw new AimassError('INVALID_SPEC', `this model takes ${model.inputs.map((i) => `${i.name} (${i.dtype})`).join(', ')}; files of format "${d.format}" give one float input`, {
      problems: [`data.format: "${d.format}" cannot feed a model whose inputs are ${model.inputs.map((i) => i.name).join(', ')}`],
    });
  }
  const kind = model.head.task;
  const width = input.shape.reduce((a, b) => a * b, 1);
  const load = async (path: string, classNames?: string[]): Promise<Dataset> => {
    const ds =
      d.format === 'image-csv'
        ? await loadImageCsv(path, { shape: input.shape, scale: d.scale, classNames })
        : await loadCsvTable(path, { label: d.label, features: d.features, kind, classNames });
    if (d.format === 'csv' && ds.sampleShapes[0][0] !== width) {
      throw new AimassError('INVALID_SPEC', `${path} has ${ds.sampleShapes[0][0]} feature columns but the model's input is ${width}`, {
        problems: [`model.input: ${width} does not match the ${ds.sampleShapes[0][0]} feature columns of ${path}`],
      });
    }
    ds.sampleShapes = [input.shape];
    return ds;
  };
  let train = await load(d.train);
  const classes = model.head.task === 'multiclass' ? model.head.classes : undefined;
  if (classes !== undefined && train.classNames && train.classNames.length > classes) {
    throw new AimassError('INVALID_SPEC', `the training data has ${train.classNames.length} classes but the model has ${classes}`, {
      problems: [`model.classes: ${classes} is fewer than the ${train.classNames.length} labels in ${d.train} (${train.classNames.slice(0, 10).join(', ')}…)`],
    });
  }
  let validation: Dataset | undefined;
  if (typeof d.validation === 'number') [train, validation] = splitFraction(train, d.validation, seed);
  else if (typeof d.validation === 'string') validation = await load(d.validation, train.classNames);
  const test = d.test ? await load(d.test, train.classNames) : undefined;
  return { train, validation, test };
}

/** sha256 over the spec's data files (train, then validation and test when they are files): the dataset version. */
export async function datasetHash(d: DataSpec): Promise<string> {
  const hash = createHash('sha256');
  for (const p of [d.train, typeof d.validation === 'string' ? d.validation : undefined, d.test]) {
    if (!p) continue;
    for await (const chunk of createReadStream(p)) hash.update(chunk as Buffer);
    hash.update('\0');
  }
  return hash.digest('hex');
}
