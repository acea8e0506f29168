/**
 * Public entry of `tune/`: hyperparameter optimization.
 *
 *   search space (JSON, or define-by-run suggest* calls) ─> Study.ask ─> Sampler proposes ─> objective runs
 *   (a train/ run, reporting intermediate values; a Pruner may stop it) ─> Study.tell ─> StudyStorage
 *
 * Samplers: random, quasi-random (scrambled Halton), grid, TPE (univariate/multivariate, constant liar),
 * Gaussian-process BO (Matérn 5/2, log EI), genetic algorithm, NSGA-II (several objectives), CMA-ES.
 * Pruners: median, successive halving (ASHA), Hyperband. Storage is an interface: `InMemoryStudyStorage` for a
 * study inside one process, `SqlStudyStorage` for one in the metadata store (SQLite or PostgreSQL) that other
 * processes and machines share.
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
