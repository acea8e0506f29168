// Small generated data and pipeline specs for the pipeline tests: mails whose class is set by a few keywords in
// random filler (text), and tiny pictures whose class is a bright left or right half (image-csv).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Rng } from '../../src/core/index.js';

const FILLER = 'the a of to and in is it for on with as was at by this that from be have or are not but all can'.split(' ');
const SPAM = 'free prize winner click claim cash offer urgent bonus money'.split(' ');
const HAM = 'meeting project report agenda review slides team schedule notes lunch'.split(' ');

/** `n` mails, alternately spam and ham, each a few class words among filler; `classes: 1` gives only ham. */
export function mails(n: number, o: { seed?: number; classes?: 1 | 2 } = {}): { label: string; text: string; id: number }[] {
  const rng = new Rng(o.seed ?? 7);
  const pickFrom = (words: string[]) => words[rng.int(words.length)];
  return Array.from({ length: n }, (_, i) => {
    const spam = (o.classes ?? 2) === 2 && i % 2 === 0;
    const words: string[] = [];
    for (let k = 0; k < 12; k++) words.push(k % 4 === 0 ? pickFrom(spam ? SPAM : HAM) : pickFrom(FILLER));
    return { label: spam ? 'spam' : 'ham', text: words.join(' '), id: i };
  });
}

export async function writeMails(dir: string, n = 240, o: { seed?: number; classes?: 1 | 2 } = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'mails.jsonl');
  await writeFile(path, `${mails(n, o).map((m) => JSON.stringify(m)).join('\n')}\n`);
  return path;
}

/** An image-csv of 6×6 pictures: class 0 has a bright left half, class 1 a bright right half, with noise. */
export async function writeHalves(dir: string, n: number, name: string, seed = 3): Promise<string> {
  const rng = new Rng(seed);
  const rows: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const px: number[] = [];
    for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) px.push(Math.max(0, Math.min(255, Math.round(((x < 3) === (c === 0) ? 200 : 40) + rng.normal() * 30))));
    rows.push([c, ...px].join(','));
  }
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, `${rows.join('\n')}\n`);
  return path;
}

/** A text pipeline over mails.jsonl in `dir`: TF-IDF and a linear model, one epoch, serving off. */
export function textSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'mails',
    data: { format: 'jsonl', path: 'mails.jsonl', split: { test: 0.25, validation: 0.15 } },
    features: { vectorizer: { type: 'tfidf', minDf: 2 } },
    model: { type: 'linear' },
    train: { optimizer: { type: 'adam', lr: 0.05 }, epochs: 1, batchSize: 16, threads: 1 },
    evaluate: { latency_samples: 5 },
    gate: 'accuracy >= 0.6 and p99_latency_ms <= 1000',
    register: { model: 'mails', alias: 'production' },
    serve: false,
    ...overrides,
  };
}

export async function writeSpec(dir: string, spec: Record<string, unknown>, file = 'pipeline.yaml'): Promise<string> {
  const path = join(dir, file);
  await writeFile(path, file.endsWith('.json') ? JSON.stringify(spec, null, 1) : stringify(spec));
  return path;
}
