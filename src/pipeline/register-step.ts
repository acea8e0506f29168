// The register and promote steps. A version is the run folder's model files plus the evaluation report
// (report.json, report.html), with lineage: the training configuration as params, the report's metrics, the
// dataset hash, the tracked run and the pipeline's name. Promotion moves the alias with compare-and-set from the
// version it held when the pipeline looked, with the gate's verdict as the reason, so a concurrent move fails
// loudly instead of being overwritten.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from '../registry/index.js';
import type { DataResult } from './data-step.js';
import type { EvaluationResult } from './evaluate-step.js';
import type { Promotion, RegisteredVersion } from './events.js';
import type { TrainOutcome } from './train-step.js';

const RUN_FILES = ['model.onnx', 'pipeline.json', 'meta.json', 'metrics.json', 'spec.json'];

export interface RegisterContext {
  registry: Registry;
  pipeline: string;
  model: string;
  description?: string;
  data: DataResult;
  train: TrainOutcome;
  evaluation: EvaluationResult;
  round: number;
}

export async function runRegisterStep(ctx: RegisterContext, dir: string): Promise<{ result: RegisteredVersion; summary: string }> {
  // the version's folder: the run's model files and the report side by side
  const staging = join(dir, 'version');
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  for (const f of RUN_FILES) await copyFile(join(ctx.train.runDir, f), join(staging, f));
  await copyFile(ctx.evaluation.reportJson, join(staging, 'report.json'));
  await copyFile(ctx.evaluation.reportHtml, join(staging, 'report.html'));
  const metrics = Object.fromEntries(Object.entries(ctx.evaluation.metrics).filter((e): e is [string, number] => typeof e[1] === 'number').map(([k, v]) => [`test_${k}`, v]));
  if (ctx.evaluation.p99Ms !== undefined) metrics.test_p99_latency_ms = ctx.evaluation.p99Ms;
  const { data: _files, ...configuration } = ctx.train.trainSpec;
  const v = await ctx.registry.register(ctx.model, staging, {
    files: [...RUN_FILES, 'report.json', 'report.html'],
    params: { ...(configuration as unknown as Record<string, unknown>), pipeline: ctx.pipeline, ...(Object.keys(ctx.train.combination).length ? { grid: ctx.train.combination } : {}), round: ctx.round },
    metrics,
    datasetHash: ctx.data.datasetHash,
    runId: ctx.train.runId,
    framework: 'aimass',
    description: ctx.description ?? `trained, evaluated and gated by pipeline ${ctx.pipeline}`,
    tags: { pipeline: ctx.pipeline },
  });
  await rm(staging, { recursive: true, force: true });
  return { result: { model: v.model, version: v.version }, summary: `${v.model} version ${v.version} (model, pipeline.json, report.json + report.html)` };
}

/** Whether a registered version is still there (a cached register step is redone when it is not). */
export async function stillRegistered(registry: Registry, r: RegisteredVersion): Promise<boolean> {
  return (await registry.meta.getVersion(r.model, r.version)) !== null;
}

export async function runPromoteStep(registry: Registry, version: RegisteredVersion, alias: string, reason: string): Promise<{ result: Promotion; summary: string }> {
  const current = await registry.meta.getAlias(version.model, alias);
  const from = current?.version ?? null;
  if (from === version.version) {
    return { result: { model: version.model, alias, from, to: version.version, changed: false }, summary: `${version.model}@${alias} already at version ${version.version}` };
  }
  await registry.setAlias(version.model, alias, version.version, { expected: from, reason });
  return {
    result: { model: version.model, alias, from, to: version.version, changed: true },
    summary: `${version.model}@${alias}: ${from === null ? 'new alias' : `version ${from}`} → version ${version.version}`,
  };
}
