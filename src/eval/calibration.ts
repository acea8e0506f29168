// Calibration: how well the probability of the predicted class matches how often that prediction is right.
// The binning is fixed so that numbers compare across versions: 15 equal-width bins on the max probability
// (the confidence), bin b holding confidences in (b/15, (b+1)/15], computed as ceil(15 · conf) − 1 and clamped
// to 0..14 (a confidence of exactly 0 cannot occur: the max of a probability row is at least 1/K).
//   ECE = Σ_b (n_b / n) · |accuracy_b − mean confidence_b|   (expected calibration error, Guo et al. 2017)
//   MCE = max_b |accuracy_b − mean confidence_b| over non-empty bins
// The reliability diagram plots accuracy_b against mean confidence_b. Needs probabilities, not scores.
// Imports nothing of ours.

export const CALIBRATION_BINS = 15;
export const CALIBRATION_BINNING = 'max probability, 15 equal-width bins (b/15, (b+1)/15]';

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean max probability of the samples in the bin; null for an empty bin. */
  meanConfidence: number | null;
  /** Fraction of the bin's samples whose predicted class is right; null for an empty bin. */
  accuracy: number | null;
}

export interface Calibration {
  binning: string;
  ece: number;
  mce: number;
  bins: ReliabilityBin[];
}

export function calibrationOf(y: Int32Array, predictions: Int32Array, matrix: Float64Array, k: number, binCount = CALIBRATION_BINS): Calibration {
  const n = y.length;
  const count = new Array<number>(binCount).fill(0);
  const confidenceSum = new Array<number>(binCount).fill(0);
  const correctSum = new Array<number>(binCount).fill(0);
  for (let i = 0; i < n; i++) {
    const confidence = matrix[i * k + predictions[i]];
    const b = Math.min(binCount - 1, Math.max(0, Math.ceil(confidence * binCount) - 1));
    count[b]++;
    confidenceSum[b] += confidence;
    if (predictions[i] === y[i]) correctSum[b]++;
  }
  let ece = 0;
  let mce = 0;
  const bins: ReliabilityBin[] = [];
  for (let b = 0; b < binCount; b++) {
    const bin: ReliabilityBin = { lower: b / binCount, upper: (b + 1) / binCount, count: count[b], meanConfidence: null, accuracy: null };
    if (count[b] > 0) {
      bin.meanConfidence = confidenceSum[b] / count[b];
      bin.accuracy = correctSum[b] / count[b];
      const gap = Math.abs(bin.accuracy - bin.meanConfidence);
      ece += (count[b] / n) * gap;
      mce = Math.max(mce, gap);
    }
    bins.push(bin);
  }
  return { binning: binCount === CALIBRATION_BINS ? CALIBRATION_BINNING : `max probability, ${binCount} equal-width bins`, ece, mce, bins };
}
