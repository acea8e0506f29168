// Metrics computed on the host from a forward graph's outputs: loss and accuracy for classifiers, MSE and
// MAE for regression. Accumulated over batches so any data size fits.
import type { Head } from '../engine/index.js';

export interface EvalMetrics {
  loss: number;
  accuracy?: number;
  mae?: number;
  n: number;
}

export class MetricAccumulator {
  private lossSum = 0;
  private correct = 0;
  private absSum = 0;
  private n = 0;
  constructor(private readonly head: Head) {}

  /** `out` is logits (classifiers) or predictions (regression) for `n` samples. */
  add(out: Float32Array, labels: Float32Array | BigInt64Array, n: number): void {
    const h = this.head;
    if (h.task === 'multiclass') {
      const c = h.classes;
      for (let i = 0; i < n; i++) {
        let max = -Infinity;
        let arg = 0;
        for (let j = 0; j < c; j++) if (out[i * c + j] > max) (max = out[i * c + j]), (arg = j);
        let sum = 0;
        for (let j = 0; j < c; j++) sum += Math.exp(out[i * c + j] - max);
        const y = Number(labels[i]);
        this.lossSum += Math.log(sum) + max - out[i * c + y];
        if (arg === y) this.correct++;
      }
    } else if (h.task === 'binary') {
      for (let i = 0; i < n; i++) {
        const z = out[i];
        const y = Number(labels[i]);
        this.lossSum += Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
        if (z > 0 === y > 0.5) this.correct++;
      }
    } else {
      const k = h.outputs;
      for (let i = 0; i < n * k; i++) {
        const d = out[i] - Number(labels[i]);
        this.lossSum += (d * d) / k;
        this.absSum += Math.abs(d) / k;
      }
    }
    this.n += n;
  }

  result(): EvalMetrics {
    const n = Math.max(1, this.n);
    if (this.head.task === 'regression') return { loss: this.lossSum / n, mae: this.absSum / n, n: this.n };
    return { loss: this.lossSum / n, accuracy: this.correct / n, n: this.n };
  }
}
