// Data preparation: reading tabular and text files (CSV, TSV, JSONL) into typed tables or streams of typed rows,
// profiling, cleaning (with a quarantine for every dropped row), standardization and units, labels and
// labelling rules, merging base rows with context (key and as-of joins), seeded splits, and versioned,
// content-addressed datasets in an artifact store; image data preparation (image-index.ts); plus the numeric
// in-memory `Dataset` the trainer uses.
//
// Imports only storage/ and core/.
export * from './csv.js';
export * from './dataset.js';
export * from './tabular.js';
export * from './reference-datasets.js';
export * from './image-index.js';
export * from './table.js';
export * from './load.js';
export * from './write.js';
export * from './profile.js';
export * from './clean.js';
export * from './near-duplicates.js';
export * from './standardize.js';
export * from './label.js';
export * from './split.js';
export * from './merge.js';
export * from './versioned.js';
export { FingerprintSet, hash32 } from './hashing.js';
export { DistinctCounter, Moments, Reservoir, TopValues } from './sketches.js';
export * from './road-signs.js';
