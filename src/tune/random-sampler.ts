/**
 * Random search: every parameter drawn uniformly (on the log scale for log ranges), independently per trial.
 * The baseline every model-based sampler must beat, and their fallback for parameters they do not model.
 *
 * Imports core and ./sampler.
 */
import type { Distribution, ParamValue } from './distributions.js';
import { RNG_PURPOSE, hashString, randomSeed, trialRng, uniformValue, type Sampler, type SamplerContext } from './sampler.js';

export class RandomSampler implements Sampler {
  readonly name = 'random';
  readonly seed: number;

  constructor(o: { seed?: number } = {}) {
    this.seed = o.seed ?? randomSeed();
  }

  sampleIndependent(_ctx: SamplerContext, trialNumber: number, name: string, d: Distribution): ParamValue {
    return uniformValue(trialRng(this.seed, trialNumber, RNG_PURPOSE.independent, hashString(name)), d);
  }
}
