/**
 * Public entry of `pipeline/`: the whole job described once and run with one command (`aimass run`).
 *
 *   pipeline.yaml ─> readPipelineSpec (every problem listed) ─> runPipeline:
 *     data ─> features ─> train (grid) ─> evaluate ─> gate ─┬─> register ─> promote ─> (caller) serve
 *                           ^── on_fail: retrain ───────────┘
 *
 * Each step is cached by the hash of its inputs under `<AIMASS_HOME>/pipelines/<name>/steps/`, so a re-run
 * redoes only what changed and an interrupted run resumes at the first unfinished step. The tune step (src/tune)
 * will take the train step's place when the spec has `tune:`; today that section is rejected, saying so.
 *
 * pipeline/ may import core, data, features, models, train, eval, registry, storage and serve (through their
 * index.ts); the cli imports pipeline.
 */
export { STEP_NAMES, type PipelineEvent, type PipelineResult, type Promotion, type RegisteredVersion, type StepName, type StepRecord, type StepStatus } from './events.js';
export { DEFAULT_TEXT_FEATURES, applyCombination, gridCombinations, isTextData, parsePipelineSpec, type DataSpec, type ImageDataSpec, type OnFail, type PipelineSpec, type TextDataSpec } from './spec.js';
export { nameFromFile, parseSpecText, readPipelineSpec } from './spec-file.js';
export { pipelineHome, runPipeline, type RunPipelineOptions } from './runner.js';
export { StepStore, canonicalJson, fileSha256, stepKey } from './step-store.js';
export { gateMetricProblems } from './gate-step.js';
export { readTextSplit, type TextSplit } from './text-data.js';
export type { DataResult } from './data-step.js';
