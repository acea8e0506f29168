// The op families. Importing this module defines every op in the registry; the builder functions are the
// way models and gradients create nodes.
export * from './activation.js';
export * from './conv.js';
export * from './dropout.js';
export * from './elementwise.js';
export * from './loss.js';
export * from './matmul.js';
export * from './norm.js';
export * from './pool.js';
export * from './reduce.js';
export * from './scatter.js';
export * from './shape-ops.js';
export * from './softmax.js';
export { unbroadcast } from './common.js';
