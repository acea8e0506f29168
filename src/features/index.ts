/**
 * Public entry of `features/`: how raw inputs become model-ready vectors, and how that recipe is saved.
 *
 *   text:  string ─> Tokenizer ─> TfidfVectorizer | HashingVectorizer ─> FeatureSelector? ─> Normalizer? ─> CSR rows
 *   table: named numeric columns ─> Normalizer? ─> dense rows
 *
 * `FeaturePipeline` / `TablePipeline` chain the stages; `toJSON()` is what a model folder stores as
 * `pipeline.json` (format 'aimass-features/1') and `fromJSON()` / `loadFeaturePipeline()` read it back.
 *
 * features/ may import only core and data (through their index.ts).
 */
export {
  CsrBuilder,
  MAX_DENSE_CELLS,
  assertCsr,
  assertDense,
  columnMoments,
  countEmptyRows,
  csrColumnSums,
  csrFromDense,
  csrNormalizeRows,
  csrRow,
  csrRowSlice,
  csrSelectColumns,
  csrSelectRows,
  csrToDense,
  denseFromRows,
  denseSelectColumns,
  emptyCsr,
  isCsr,
  type CsrMatrix,
  type DenseMatrix,
  type FeatureMatrix,
  type RowNorm,
} from './sparse.js';
export {
  CharTokenizerOptionsSchema,
  Tokenizer,
  TokenizerOptionsSchema,
  WordTokenizerOptionsSchema,
  type CharTokenizerOptions,
  type TokenSink,
  type TokenizerOptions,
  type TokenizerOptionsInput,
  type WordTokenizerOptions,
} from './tokenize.js';
export { ENGLISH_STOP_WORDS } from './stop-words.js';
export {
  DocumentFrequencySchema,
  TfidfOptionsSchema,
  TfidfVectorizer,
  type DocumentFrequency,
  type TfidfOptions,
  type TfidfOptionsInput,
  type TfidfVectorizerJSON,
  type VectorizerFitReport,
} from './tfidf.js';
export {
  HashingOptionsSchema,
  HashingVectorizer,
  murmur3Utf8,
  type HashingOptions,
  type HashingOptionsInput,
  type HashingVectorizerJSON,
} from './hashing.js';
export {
  FeatureSelector,
  SelectorSpecSchema,
  chi2Scores,
  encodeLabels,
  mutualInfoScores,
  rankByScore,
  scoreFeatures,
  varianceScores,
  type FeatureSelectorJSON,
  type LabelValue,
  type LabelsLike,
  type SelectionMethod,
  type SelectorSpec,
  type SelectorSpecInput,
} from './select.js';
export {
  Normalizer,
  NormalizerSpecSchema,
  isSparseFriendly,
  type NormalizerJSON,
  type NormalizerKind,
  type NormalizerSpec,
  type NormalizerSpecInput,
} from './normalize.js';
export {
  FEATURES_FORMAT,
  FeaturePipeline,
  TablePipeline,
  TablePipelineSpecSchema,
  TextPipelineSpecSchema,
  loadFeaturePipeline,
  tableFromDataset,
  type NumericTable,
  type PipelineJSON,
  type TablePipelineJSON,
  type TablePipelineSpecInput,
  type TextPipelineJSON,
  type TextPipelineSpec,
  type TextPipelineSpecInput,
} from './pipeline.js';
export { WordVectors, Word2VecOptionsSchema, loadWordVectors, trainWord2Vec, type Word2VecOptions } from './embeddings.js';
