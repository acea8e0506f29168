// Serving core: a pool of worker threads per model version (ONNX Runtime sessions off the main thread), a
// runtime-free dynamic batcher, and a cache of registry models with warm-up, LRU unloading and zero-failure
// version swaps. Protocol adapters (HTTP, CLI) sit on top of ModelCache.infer. Imports engine, registry and core.
export { Batcher, type BatcherOptions, type RunBatch, type SubmitOptions } from './batcher.js';
export { ModelCache, ServedModel, parseModelRef, type ModelCacheOptions, type ModelState, type ServedVersion } from './model-cache.js';
export { SessionPool, type SessionPoolOptions } from './session-pool.js';
export { batchSizeOf, dummyFeeds, type HostData, type HostTensor, type HostTensorType, type HostTensors, type InputSignature } from './tensors.js';
