// Text splits as the pipeline keeps them — JSON Lines of {"text", "label"}, one file per split in the data
// step's folder — and their conversion into the trainer's dense Dataset through a fitted feature pipeline.
import { readFile, writeFile } from 'node:fs/promises';
import type { Dataset } from '../data/index.js';
import type { CsrMatrix, FeaturePipeline } from '../features/index.js';

export interface TextSplit {
  texts: string[];
  labels: string[];
}

export async function writeTextSplit(path: string, split: TextSplit): Promise<void> {
  const lines = split.texts.map((text, i) => JSON.stringify({ text, label: split.labels[i] }));
  await writeFile(path, lines.length ? `${lines.join('\n')}\n` : '');
}

export async function readTextSplit(path: string): Promise<TextSplit> {
  const texts: string[] = [];
  const labels: string[] = [];
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    if (!line) continue;
    const r = JSON.parse(line) as { text: string; label: string };
    texts.push(r.text);
    labels.push(r.label);
  }
  return { texts, labels };
}

/** Dense float32 rows of a CSR matrix (the model's input is dense). */
export function denseRows(x: CsrMatrix): Float32Array {
  const out = new Float32Array(x.rows * x.cols);
  for (let r = 0; r < x.rows; r++) {
    for (let p = x.indptr[r]; p < x.indptr[r + 1]; p++) out[r * x.cols + x.indices[p]] = x.values[p];
  }
  return out;
}

/**
 * A split as the trainer's Dataset: feature vectors of its texts, and its labels as class ids (multiclass) or
 * 0/1 (binary, classNames[1] being 1).
 */
export function textDataset(split: TextSplit, features: FeaturePipeline, classNames: string[], task: 'multiclass' | 'binary'): Dataset {
  const x = features.transform(split.texts);
  const index = new Map(classNames.map((c, i) => [c, i]));
  const ids = split.labels.map((l) => index.get(l) ?? -1);
  return {
    n: split.texts.length,
    inputs: [denseRows(x)],
    sampleShapes: [[x.cols]],
    labels: task === 'binary' ? Float32Array.from(ids) : BigInt64Array.from(ids, BigInt),
    labelWidth: 1,
    classNames,
  };
}
