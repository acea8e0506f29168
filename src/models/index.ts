// Models on the engine: MLP, CNN with configurable conv blocks, text models (bag-of-embeddings, TextCNN),
// linear and logistic regression, built from a JSON-serializable spec. Imports engine and core.
export * from './layers.js';
export { buildModel } from './models.js';
export * from './specs.js';
