// The engine: a graph IR with one file per op family (shape rule, ONNX emission, gradient rule), reverse-mode
// autodiff, in-graph optimizers, the ONNX writer and the ONNX Runtime adapters. Imports only core.
export * from './autodiff.js';
export * from './compile.js';
export * from './graph.js';
export * from './init.js';
export * from './onnx-writer.js';
export * as ops from './ops/index.js';
export * from './optimizer.js';
export * from './runtime.js';
export * from './shape.js';
