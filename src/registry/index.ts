// The model registry: models, immutable checksummed versions with lineage, aliases with full move history,
// rollback, ONNX import, verified export, garbage collection, and backups. Imports storage and core.
export * from './registry.js';
export * from './signature.js';
export * from './backup.js';
export * from './open.js';
export * from './runs.js';
