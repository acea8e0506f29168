// A tiny CSV data set of 3 well-separated classes (red, green, blue) in 4 features, and a training spec for it that
// `aimass train` fits in well under a second: for CLI tests that need real training runs.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../../src/core/index.js';

const HEADER = 'f1,f2,f3,f4,label';
const CLASSES = ['red', 'green', 'blue'];
const CENTERS = [
  [0, 0, 0, 0],
  [4, -4, 4, -4],
  [-4, 4, 4, 4],
];

/** `n` rows, classes in turn, each feature its class centre plus N(0, 0.5²) noise. */
export function blobRows(n: number, seed: number): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const c = i % 3;
    return `${CENTERS[c].map((m) => (m + rng.normal() * 0.5).toFixed(3)).join(',')},${CLASSES[c]}`;
  });
}

export const blobsCsv = (rows: string[]): string => `${[HEADER, ...rows].join('\n')}\n`;

/** An MLP on train.csv/test.csv beside the spec, 20% of train held out for validation. */
export const BLOBS_SPEC = {
  name: 'Blobs_v1',
  data: { format: 'csv', train: 'train.csv', test: 'test.csv', label: 'label', validation: 0.2 },
  model: { type: 'mlp', input: 4, hidden: [16], classes: 3 },
  optimizer: { type: 'adam', lr: 0.05 },
  epochs: 3,
  batchSize: 16,
  threads: 1,
};

/**
 * Writes train.csv (240 rows, or `trainCsv`), test.csv (60 rows) and spec.json (`spec`, default BLOBS_SPEC) into
 * `dir`; returns the spec's path. Other specs written beside it share the data.
 */
export async function writeBlobs(dir: string, o: { spec?: object; trainCsv?: string } = {}): Promise<string> {
  await writeFile(join(dir, 'train.csv'), o.trainCsv ?? blobsCsv(blobRows(240, 1)));
  await writeFile(join(dir, 'test.csv'), blobsCsv(blobRows(60, 2)));
  const specPath = join(dir, 'spec.json');
  await writeFile(specPath, JSON.stringify(o.spec ?? BLOBS_SPEC, null, 2));
  return specPath;
}
