// Regression metrics, as scikit-learn 1.2 defines them: MAE, MSE, RMSE = √MSE, and R² = 1 − SS_res / SS_tot.
// R² is undefined for constant targets (SS_tot = 0); like sklearn (force_finite=True) we give 1 for a perfect
// fit and 0 otherwise, and the report notes it.
// Imports nothing of ours.

export interface RegressionMetrics {
  mae: number;
  mse: number;
  rmse: number;
  r2: number;
  /** True when SS_tot = 0 and r2 is sklearn's stand-in value rather than a ratio. */
  r2ConstantTarget: boolean;
}

export function regressionMetricsOf(targets: Float64Array, predictions: Float64Array): RegressionMetrics {
  const n = targets.length;
  let abs = 0;
  let sq = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) {
    const d = targets[i] - predictions[i];
    abs += Math.abs(d);
    sq += d * d;
    mean += targets[i];
  }
  mean /= n;
  let total = 0;
  for (let i = 0; i < n; i++) total += (targets[i] - mean) ** 2;
  const mse = sq / n;
  const constant = total === 0;
  const r2 = constant ? (sq === 0 ? 1 : 0) : 1 - sq / total;
  return { mae: abs / n, mse, rmse: Math.sqrt(mse), r2, r2ConstantTarget: constant };
}
