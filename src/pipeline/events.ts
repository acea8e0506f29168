// What a pipeline run tells its caller while it goes (step started, progress within a step, a note, step
// ended) and what it returns: one record per step run and the outcome. The CLI turns events into lines and
// progress bars and the result into the summary table or `--json`.
import type { GateResult } from '../eval/index.js';

/** The steps, in order. `tune` takes the place of `train` once src/tune is wired in; `serve` is run by the caller. */
export const STEP_NAMES = ['data', 'features', 'train', 'tune', 'evaluate', 'gate', 'register', 'promote', 'serve'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** done: ran now; cached: finished before with the same inputs, not redone; skipped: not needed this run. */
export type StepStatus = 'done' | 'cached' | 'skipped' | 'failed';

export interface StepRecord {
  step: StepName;
  status: StepStatus;
  seconds: number;
  /** One line: what the step produced or why it was skipped. */
  summary: string;
  /** Which training round (0 the first; retraining after a failed gate adds rounds). */
  round?: number;
  /** The step's folder under the pipeline's home. */
  dir?: string;
}

export type PipelineEvent =
  | { type: 'start'; step: StepName; round?: number; what: string }
  | { type: 'progress'; step: StepName; done: number; total: number; note: string }
  | { type: 'note'; step: StepName; message: string }
  | { type: 'end'; record: StepRecord };

export interface RegisteredVersion {
  model: string;
  version: number;
}

export interface Promotion {
  model: string;
  alias: string;
  /** The version the alias held before (null: it did not exist). */
  from: number | null;
  to: number;
  changed: boolean;
}

export interface PipelineResult {
  name: string;
  /** What the model takes: pictures (image data) or texts. */
  dataKind: 'image' | 'text';
  /** Whether the gate passed (true when there is no gate). */
  passed: boolean;
  /** How many training rounds ran (1 + retraining rounds). */
  rounds: number;
  steps: StepRecord[];
  gate?: GateResult;
  /** The rules that failed, as written, when the gate failed. */
  failedRules: string[];
  report?: { json: string; html: string; metrics: Record<string, number | null> };
  registered?: RegisteredVersion;
  promoted?: Promotion;
  /** What the alias points at when the gate failed and it was left alone. */
  aliasKept?: { model: string; alias: string; version: number | null };
  /** The model the caller may serve, as a reference: name, or name@alias. */
  serveRef?: string;
  home: string;
}
