// npm run bench:engine — trains the reference CNN (conv3x3·16-relu-maxpool2-conv3x3·32-relu-maxpool2-dense64-
// relu-dense10, Adam 1e-3, batch 64, 3 epochs, 2 threads) on the reference MNIST split, exports model.onnx and
// measures its inference throughput (batch 1024) and single-sample latency; runs PyTorch on the same data in
// the same run; prints one JSON line with both sides and the ratios.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildModel } from '../src/models/index.js';
import { loadTrainingData, parseTrainSpec, train } from '../src/train/index.js';
import { printResult, referenceData, repoRoot, round, runPeer } from './common.js';

const THREADS = 2;
const data = referenceData();
const spec = parseTrainSpec({
  name: 'bench-engine',
  model: { type: 'cnn', input: [1, 28, 28], classes: 10, blocks: [{ filters: 16, kernel: 3, pool: 2 }, { filters: 32, kernel: 3, pool: 2 }], dense: [64] },
  data: { format: 'image-csv', train: join(data, 'mnist_train.csv'), test: join(data, 'mnist_test.csv') },
  optimizer: { type: 'adam', lr: 1e-3 },
  epochs: 3,
  batchSize: 64,
  seed: 0,
  threads: THREADS,
});

const prepared = await loadTrainingData(spec.data, buildModel(spec.model), spec.seed);
const runDir = join(repoRoot, 'bench', 'out', 'engine-run');
const result = await train(spec, prepared, { runDir, threads: THREADS });
const peakRssMb = process.resourceUsage().maxRSS / 1024;

// inference on the exported artifact, as any ONNX Runtime user would load it
const test = prepared.test!;
const batchSession = await ort.InferenceSession.create(result.modelPath, { intraOpNumThreads: THREADS, graphOptimizationLevel: 'all' });
const B = 1024;
const batch = new Float32Array(B * 784);
for (let i = 0; i < B; i++) batch.set((test.inputs[0] as Float32Array).subarray((i % test.n) * 784, ((i % test.n) + 1) * 784), i * 784);
const batchFeeds = { image: new ort.Tensor('float32', batch, [B, 1, 28, 28]) };
for (let i = 0; i < 5; i++) await batchSession.run(batchFeeds);
let runs = 0;
const t0 = performance.now();
while (performance.now() - t0 < 3000) {
  await batchSession.run(batchFeeds);
  runs++;
}
const inferSamplesPerS = (runs * B) / ((performance.now() - t0) / 1000);

const oneSession = await ort.InferenceSession.create(result.modelPath, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
const times: number[] = [];
for (let i = 0; i < 3000; i++) {
  const x = (test.inputs[0] as Float32Array).subarray((i % test.n) * 784, ((i % test.n) + 1) * 784);
  const feeds = { image: new ort.Tensor('float32', x, [1, 1, 28, 28]) };
  const t = performance.now();
  await oneSession.run(feeds);
  if (i >= 200) times.push((performance.now() - t) * 1000);
}
times.sort((a, b) => a - b);

const torch = runPeer('peer_torch_cnn.py', [spec.data.train, spec.data.test!, String(THREADS)]);

printResult({
  bench: 'engine',
  train_samples_per_s: round(result.samplesPerSec),
  torch_train_samples_per_s: torch.train_samples_per_s,
  train_speed_ratio: round(result.samplesPerSec / torch.train_samples_per_s, 2),
  test_acc: round(result.test!.accuracy!, 4),
  torch_test_acc: torch.test_acc,
  infer_samples_per_s: round(inferSamplesPerS),
  torch_infer_samples_per_s: torch.infer_samples_per_s,
  infer_speed_ratio: round(inferSamplesPerS / torch.infer_samples_per_s, 1),
  infer_batch: B,
  latency_us_p50: round(times[Math.floor(times.length / 2)]),
  latency_us_p99: round(times[Math.floor(times.length * 0.99)]),
  peak_rss_mb: round(peakRssMb),
  threads: THREADS,
  epochs: spec.epochs,
  batch_size: spec.batchSize,
});
