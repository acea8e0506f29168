/**
 * Public entry of `eval/`: scores a model version on held-out data, renders the report, and decides gates.
 *
 *   labels + probabilities | scores ─> evaluate() ─> ClassificationReport ─┬─> renderReportHtml() ─> report.html
 *   targets + predictions ─> evaluateRegression() ─> RegressionReport ─────┼─> writeReport(dir) ─> report.json + .html
 *                                                                          └─> checkGate(gate, report, baseline?)
 *
 * Metrics match scikit-learn 1.2's definitions (pinned by test/fixtures/eval, written by
 * scripts/make-eval-fixtures.py); where we differ on an edge case, the file that computes it says so:
 * inputs.ts (what is accepted or rejected), ranking.ts (undefined AUC/AP), calibration.ts (ECE binning),
 * gate-syntax.ts (the gate language), gate-check.ts (unknown metrics, undefined values, no baseline).
 *
 * eval/ may import engine, models, data, features, storage and core (through their index.ts); today it needs core only.
 */
export {
  DEFAULT_MAX_CURVE_POINTS,
  REPORT_FORMAT,
  evaluate,
  evaluateRegression,
  type ClassificationReport,
  type EvaluateOptions,
  type EvaluateRegressionOptions,
  type EvaluationReport,
  type ModelRef,
  type PerClassMetrics,
  type PrCurve,
  type RegressionReport,
  type ReportContext,
  type RocCurve,
} from './report.js';
export { PROBABILITY_SUM_TOLERANCE, type ClassLabel, type ClassificationInput, type RegressionInput, type ScoreInput } from './inputs.js';
export { CALIBRATION_BINNING, CALIBRATION_BINS, type Calibration, type ReliabilityBin } from './calibration.js';
export { LATENCY_METRICS, summarizeLatency, type LatencySummary } from './latency.js';
export { LOG_LOSS_EPSILON } from './classification.js';
export { PER_CLASS_METRICS, metricLookup, type MetricLookup, type MetricValue } from './metric-lookup.js';
export { renderReportHtml } from './report-html.js';
export { REPORT_HTML, REPORT_JSON, parseReport, readReport, writeReport } from './report-files.js';
export {
  gateSyntaxErrors,
  parseGate,
  type CompareOp,
  type Gate,
  type GateNode,
  type GateRule,
  type GateSyntaxError,
} from './gate-syntax.js';
export { checkGate, type GateResult, type RuleResult } from './gate-check.js';
