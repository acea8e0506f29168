// The evaluate step: scores the trained model.onnx on the held-out split through the serving path — the same
// pipeline.json preprocessing (text → features) and the same ONNX Runtime worker threads (src/serve's
// SessionPool) that `aimass serve` uses — times single-sample predictions for the latency metrics, and writes
// the report (src/eval: report.json + report.html) into the step's folder. The register step stores it with the
// version.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AimassError } from '../core/index.js';
import { loadImageCsv } from '../data/index.js';
import { type EvaluationReport, evaluate, writeReport } from '../eval/index.js';
import { readOnnxSignature } from '../registry/index.js';
import { type HostTensors, ServingPipeline, SessionPool } from '../serve/index.js';
import type { DataResult } from './data-step.js';
import { readTextSplit } from './text-data.js';
import type { TrainOutcome } from './train-step.js';

export interface EvaluationResult {
  reportJson: string;
  reportHtml: string;
  metrics: Record<string, number | null>;
  /** The latency summary's p99 in ms, when timed. */
  p99Ms?: number;
}

export interface EvaluateContext {
  modelName: string;
  data: DataResult;
  train: TrainOutcome;
  latencySamples: number;
  threads: number;
  signal?: AbortSignal;
  progress(done: number, total: number, note: string): void;
}

const BATCH = 256;

function cancelled(): AimassError {
  return new AimassError('CANCELLED', 'the evaluation was stopped');
}

/** The held-out split as records for the model: feeds made per range of samples. */
async function heldOut(ctx: EvaluateContext, serving: ServingPipeline, inputName: string): Promise<{ n: number; labels: Int32Array; feeds(from: number, to: number): Promise<HostTensors> }> {
  const { data } = ctx;
  if (data.kind === 'image') {
    const img = data.image!;
    const test = await loadImageCsv(img.test, { shape: img.shape, scale: img.scale, classNames: data.classNames });
    const size = img.shape.reduce((a, b) => a * b, 1);
    const x = test.inputs[0] as Float32Array;
    return {
      n: test.n,
      labels: Int32Array.from(test.labels as BigInt64Array, Number),
      feeds: async (from, to) => ({ [inputName]: { type: 'float32', data: x.slice(from * size, to * size), dims: [to - from, ...img.shape] } }),
    };
  }
  const split = await readTextSplit(data.text!.test);
  const index = new Map(data.classNames.map((c, i) => [c, i]));
  return {
    n: split.texts.length,
    labels: Int32Array.from(split.labels, (l) => index.get(l) ?? -1),
    feeds: (from, to) => serving.prepare(split.texts.slice(from, to)),
  };
}

/** Class probabilities of each row as float64, renormalized (float32 softmax rows can miss 1 by a few ulps). */
function probabilityRows(outputs: HostTensors, serving: ServingPipeline, rows: number, k: number): number[][] {
  const t = outputs[serving.output.tensor];
  if (!t) throw new AimassError('INTERNAL', `the model gave no output "${serving.output.tensor}"`);
  const values = Array.from(t.data as ArrayLike<number>, Number);
  const out: number[][] = [];
  const width = values.length / rows;
  for (let r = 0; r < rows; r++) {
    let row = values.slice(r * width, (r + 1) * width);
    if (serving.output.kind === 'probability') row = [1 - row[0], row[0]];
    else if (serving.output.kind === 'logits') {
      const max = Math.max(...row);
      row = row.map((v) => Math.exp(v - max));
    }
    if (row.length !== k) throw new AimassError('INTERNAL', `the model gave ${row.length} class scores per sample for ${k} classes`);
    const sum = row.reduce((a, b) => a + b, 0);
    out.push(row.map((v) => v / sum));
  }
  return out;
}

export async function runEvaluateStep(ctx: EvaluateContext, dir: string): Promise<{ result: EvaluationResult; summary: string; report: EvaluationReport }> {
  const { runDir, modelPath } = ctx.train;
  const signature = await readOnnxSignature(modelPath);
  const serving = ServingPipeline.load(JSON.parse(await readFile(join(runDir, 'pipeline.json'), 'utf8')), signature);
  const test = await heldOut(ctx, serving, signature.inputs[0].name);
  const k = ctx.data.classNames.length;
  const total = test.n + ctx.latencySamples;
  const pool = await SessionPool.create(await readFile(modelPath), { workers: 1, intraOpNumThreads: ctx.threads });
  const probabilities: number[][] = [];
  const latency: number[] = [];
  try {
    for (let i = 0; i < test.n; i += BATCH) {
      if (ctx.signal?.aborted) throw cancelled();
      const to = Math.min(test.n, i + BATCH);
      const outputs = await pool.run(await test.feeds(i, to));
      probabilities.push(...probabilityRows(outputs, serving, to - i, k));
      ctx.progress(to, total, 'scoring the held-out split');
    }
    // single-sample predictions, preprocessing included, as a request to the served model would run (without HTTP)
    for (let i = 0; i < ctx.latencySamples; i++) {
      if (ctx.signal?.aborted) throw cancelled();
      const j = i % test.n;
      const t0 = performance.now();
      await pool.run(await test.feeds(j, j + 1));
      latency.push(performance.now() - t0);
      if (i % 20 === 19 || i === ctx.latencySamples - 1) ctx.progress(test.n + i + 1, total, 'timing single-sample predictions');
    }
  } finally {
    await pool.close();
  }
  const report = evaluate({
    labels: test.labels,
    probabilities,
    classNames: ctx.data.classNames,
    model: { name: ctx.modelName },
    dataset: ctx.data.testHash,
    ...(latency.length ? { latency } : {}),
  });
  const files = await writeReport(dir, report);
  const m = report.metrics;
  const p99 = report.latency?.p99Ms;
  const parts = [`accuracy ${m.accuracy?.toFixed(4)}`, `min_class_recall ${m.min_class_recall?.toFixed(4)}`, ...(p99 !== undefined ? [`p99 latency ${p99.toFixed(2)} ms`] : []), `${test.n} held-out samples`];
  return { result: { reportJson: files.json, reportHtml: files.html, metrics: report.metrics, p99Ms: p99 }, summary: parts.join(', '), report };
}
