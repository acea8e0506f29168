/**
 * Log expected improvement for minimization, computed so it stays finite and smooth where plain EI underflows
 * to zero (far below the incumbent), which is what lets a gradient-based optimizer climb out of flat regions.
 * EI = σ·h(z), z = (best − μ)/σ, h(z) = φ(z) + z·Φ(z); log h is taken directly for z > −1, through the scaled
 * complementary error function for moderate negative z, and by its asymptotic series beyond.
 *
 * Imports ./numeric.
 */
import { LOG_SQRT_2PI, cdfOverPdf, normalCdf, normalPdf } from './numeric.js';

export interface LogEi {
  value: number;
  /** ∂ log EI / ∂μ and ∂ log EI / ∂σ */
  dMean: number;
  dStd: number;
}

export function logExpectedImprovement(mean: number, std: number, best: number): LogEi {
  const z = (best - mean) / std;
  let logH: number;
  let dMean: number;
  let dStd: number;
  if (z > -1) {
    const phi = normalPdf(z);
    const cdf = normalCdf(z);
    const h = phi + z * cdf;
    logH = Math.log(h);
    dMean = -cdf / (std * h);
    dStd = phi / (std * h);
  } else {
    // h = φ(z)·q with q = 1 + z·Φ(z)/φ(z)
    let q: number;
    let m: number;
    if (z > -30) {
      m = cdfOverPdf(z);
      q = 1 + z * m;
    } else {
      const iz2 = 1 / (z * z);
      q = iz2 * (1 - 3 * iz2 + 15 * iz2 * iz2 - 105 * iz2 * iz2 * iz2);
      m = (1 - q) / -z;
    }
    logH = -0.5 * z * z - LOG_SQRT_2PI + Math.log(q);
    dMean = -m / (std * q);
    dStd = 1 / (std * q);
  }
  return { value: Math.log(std) + logH, dMean, dStd };
}
