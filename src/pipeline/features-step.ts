// The features step: for text data, fits the feature pipeline (tokenizer, TF-IDF or hashing, optional selection
// and normalization) on the training split and saves it as features.json, which the train step uses to turn
// every split into vectors and which ends up inside the served model's pipeline.json. Image data has nothing
// to fit: its pixels, scaled, are the features.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FeaturePipeline, type TextPipelineSpecInput } from '../features/index.js';
import type { DataResult } from './data-step.js';
import { readTextSplit } from './text-data.js';

export interface FeaturesResult {
  /** features.json: the fitted pipeline ('aimass-features/1'). */
  path: string;
  /** Values per text: the model's input width. */
  width: number;
}

export async function runFeaturesStep(spec: TextPipelineSpecInput, data: DataResult, dir: string): Promise<{ result: FeaturesResult; summary: string }> {
  const train = await readTextSplit(data.text!.train);
  const pipeline = FeaturePipeline.fit(spec, train.texts, train.labels);
  const path = join(dir, 'features.json');
  await writeFile(path, JSON.stringify(pipeline.toJSON()));
  const vectorizer = spec.vectorizer?.type === 'hashing' ? 'hashing' : 'TF-IDF';
  return { result: { path, width: pipeline.width }, summary: `${vectorizer}: ${pipeline.width} features per text, fitted on ${train.texts.length} training texts` };
}

export async function loadFeatures(result: FeaturesResult): Promise<{ pipeline: FeaturePipeline; json: unknown }> {
  const json = JSON.parse(await readFile(result.path, 'utf8')) as unknown;
  return { pipeline: FeaturePipeline.fromJSON(json), json };
}
