// Serving core: a pool of worker threads per model version (ONNX Runtime sessions off the main thread), a
// runtime-free dynamic batcher, and a cache of registry models with warm-up, LRU unloading and zero-failure
// version swaps; serving pipelines (pipeline.json) turning raw records into inputs and outputs into labels.
// Protocol adapters (HTTP, CLI) sit on top of ModelCache.infer and .predict. Imports engine, registry, data,
// features and core.
export { Batcher, type BatcherOptions, type RunBatch, type SubmitOptions } from './batcher.js';
export { ModelCache, ServedModel, parseModelRef, type ModelCacheObserver, type ModelCacheOptions, type ModelState, type PredictOptions, type PredictResult, type ServedVersion } from './model-cache.js';
export { MAX_TOP_K, SERVING_FORMAT, ServingPipeline, type PipelineSignature, type Prediction, type ServingPipelineJSON } from './pipeline.js';
export { SessionPool, type SessionPoolOptions } from './session-pool.js';
export { HOST_TENSOR_TYPES, allocate, batchSizeOf, dummyFeeds, isHostTensorType, type HostData, type HostTensor, type HostTensorType, type HostTensors, type InputSignature } from './tensors.js';
