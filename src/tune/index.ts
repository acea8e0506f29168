/**
 * Public entry of `tune/`: hyperparameter optimization.
 *
 *   search space (JSON, or define-by-run suggest* calls) ─> Study.ask ─> Sampler proposes ─> objective runs
 *   (a train/ run, reporting intermediate values; a Pruner may stop it) ─> Study.tell ─> StudyStorage
 *
 * Samplers: random, quasi-random (scrambled Halton), grid, TPE (univariate/multivariate, constant liar),
 * Gaussian-process BO (Matérn 5/2, log EI), genetic algorithm, NSGA-II (several objectives), CMA-ES.
 * Pruners: median, successive halving (ASHA), Hyperband, threshold. Storage is an interface: `InMemoryStudyStorage`
 * for a study inside one process, `SqlStudyStorage` for one in the metadata store (SQLite or PostgreSQL) that other
 * processes and machines share.
 *
 * Tuning training runs: a tuning spec (tuning-spec.ts: base training spec, space of field paths, objective,
 * sampler, pruner, budget) run by `runTuning` (tuning.ts), which asks trials and submits each as a `trial` task to
 * a task queue (the dispatcher's broker); a worker runs it with `runTrial` (trial-runner.ts), reporting each
 * epoch's metric and stopping when pruned. Plots and PED-ANOVA importance for `aimass tune plot`.
 *
 * tune/ may import only core, storage (the SQL driver) and train (through their index.ts).
 */
export {
  categoricalDistribution,
  containsValue,
  distributionProblems,
  floatDistribution,
  fromUnit,
  intDistribution,
  toUnit,
  type CategoricalChoice,
  type CategoricalDistribution,
  type Distribution,
  type FloatDistribution,
  type IntDistribution,
  type ParamValue,
  type SuggestFloatOptions,
  type SuggestIntOptions,
} from './distributions.js';
export {
  ParamSpecSchema,
  SearchSpaceSchema,
  isActive,
  parseSearchSpace,
  sampleSearchSpace,
  type ParamSpecInput,
  type ParamSuggester,
  type SearchSpace,
  type SearchSpaceInput,
  type SpaceParam,
} from './search-space.js';
export {
  TRIAL_STATES,
  directionSign,
  intersectionSpace,
  isFinished,
  lastIntermediate,
  type Direction,
  type FinishedTrialState,
  type TrialRecord,
  type TrialState,
} from './trial-record.js';
export { InMemoryStudyStorage, applyTrialPatch, checkTrialPatch, getTrial, type StudyRecord, type StudyStorage, type TrialPatch } from './storage.js';
export { SqlStudyStorage } from './sql-storage.js';
export { Trial, TrialPruned } from './trial.js';
export { Study, createStudy, loadStudy, type Objective, type ObjectiveResult, type OptimizeOptions, type StudyOptions, type TellResult } from './study.js';
export { relativeSpace, trialRng, type Sampler, type SamplerContext } from './sampler.js';
export { RandomSampler } from './random-sampler.js';
export { QmcSampler, ScrambledHalton } from './qmc.js';
export { GridSampler } from './grid-sampler.js';
export { TpeSampler, defaultGamma, defaultTpeWeights, type TpeOptions } from './tpe-sampler.js';
export { GpSampler, type GpSamplerOptions, type OutputWarp } from './gp-sampler.js';
export { GaussianProcess, type GpFitOptions, type GpHyperparameters } from './gp.js';
export { GeneticSampler, Nsga2Sampler, type GeneticOptions } from './genetic-sampler.js';
export { CmaEsSampler, type CmaEsOptions } from './cmaes-sampler.js';
export { crowdingDistance, dominates, nonDominatedSort, paretoFront, paretoFrontOf } from './pareto.js';
export { nopPruner, type Pruner, type PrunerContext } from './pruner.js';
export { MedianPruner, type MedianPrunerOptions } from './median-pruner.js';
export { HyperbandPruner, SuccessiveHalvingPruner, type HyperbandOptions, type SuccessiveHalvingOptions } from './successive-halving.js';
export { ThresholdPruner, type ThresholdPrunerOptions } from './threshold-pruner.js';
export { getPath, parsePath, pathProblem, setPath, type PathSegment } from './spec-path.js';
export { windowView, windowedPruner, windowedSampler } from './trial-window.js';
export {
  OBJECTIVE_METRICS,
  TuningSpecSchema,
  createPruner,
  createSampler,
  defaultDirection,
  loadTuningSpec,
  maxEpochs,
  parseTuningSpec,
  trialTrainingSpec,
  type ObjectiveMetric,
  type PrunerSpec,
  type SamplerSpec,
  type TuningSpec,
  type TuningSpecInput,
} from './tuning-spec.js';
export { openStudyStorage, studyStorages, type OpenedStudyStorage } from './open-storage.js';
export { runTrial, trialRunDir, tuningSpecOf, type RunTrialOptions, type TrialOutcome, type TrialTaskPayload } from './trial-runner.js';
export {
  runTuning,
  type RunTuningOptions,
  type TrialTaskQueue,
  type TrialTaskSpec,
  type TrialTaskView,
  type TuningProgress,
  type TuningResult,
} from './tuning.js';
export { pedAnovaImportance, type ImportanceOptions, type ParamImportance } from './importance.js';
export { escapeXml, importanceSvg, optimizationHistorySvg, parallelCoordinatesSvg, type PlotInput } from './plots.js';
