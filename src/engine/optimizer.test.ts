// The in-graph optimizers against a hand computation: a one-layer linear regression compiled with
// compileTrainStep and run with TrainStepRunner for a few steps (the learning rate changes between steps, the
// step number drives Adam's bias corrections), compared with the same update rules written in plain JS over
// float64. Covers SGD, momentum, Nesterov, Adam, AdamW, weight decay, clipping by global norm and the L1/L2
// penalties of compileTrainStep.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AimassError } from '../core/index.js';
import {
  type ModelDefinition,
  type OptimizerSpec,
  type Regularization,
  OptimizerSchema,
  TrainStepRunner,
  compileTrainStep,
  ops,
  stateSlots,
} from './index.js';

const BATCH = 4;
const FEATURES = 3;

const linearRegression: ModelDefinition = {
  inputs: [{ name: 'x', dtype: 'float32', shape: [FEATURES] }],
  head: { task: 'regression', outputs: 1 },
  build(g, [x]) {
    const w = g.param('w', [FEATURES, 1], { kind: 'zeros' });
    const b = g.param('b', [1], { kind: 'zeros' });
    return ops.add(g, ops.matmul(g, x, w), b);
  },
};

const X = [
  [0.5, -1.0, 2.0],
  [1.5, 0.25, -0.5],
  [-1.0, 2.0, 0.75],
  [0.0, -0.5, 1.25],
];
const Y = [1.0, -2.0, 0.5, 3.0];
const W0 = [0.1, -0.2, 0.3];
const B0 = 0.05;
const LRS = [0.1, 0.05, 0.2];

type Params = { w: number[]; b: number[] };

/** MSE gradients (and loss) of the linear model, plus the penalties compileTrainStep adds for weights of rank ≥ 2. */
function gradientsOf(p: Params, reg: Regularization): { loss: number; penalty: number; dw: number[]; db: number[] } {
  const dw = [0, 0, 0];
  let db = 0;
  let loss = 0;
  X.forEach((row, i) => {
    const d = row.reduce((s, v, k) => s + v * p.w[k], p.b[0]) - Y[i];
    loss += (d * d) / BATCH;
    const dPred = (2 * d) / BATCH;
    row.forEach((v, k) => (dw[k] += v * dPred));
    db += dPred;
  });
  const l1 = reg.l1 ?? 0;
  const l2 = reg.l2 ?? 0;
  const penalty = l1 * p.w.reduce((s, v) => s + Math.abs(v), 0) + l2 * p.w.reduce((s, v) => s + v * v, 0);
  p.w.forEach((v, k) => (dw[k] += l1 * Math.sign(v) + 2 * l2 * v));
  return { loss, penalty, dw, db: [db] };
}

/** The update rules of optimizer.ts, in float64, carrying the same state. */
class Reference {
  params: Params = { w: [...W0], b: [B0] };
  private m: Params = { w: [0, 0, 0], b: [0] };
  private v: Params = { w: [0, 0, 0], b: [0] };
  constructor(
    private readonly spec: OptimizerSpec,
    private readonly reg: Regularization,
    private step = 0,
  ) {}

  update(lr: number): { loss: number; penalty: number; gradNorm: number } {
    const s = this.spec;
    const { loss, penalty, dw, db } = gradientsOf(this.params, this.reg);
    const grads: Params = { w: dw, b: db };
    const gradNorm = Math.sqrt([...dw, ...db].reduce((a, x) => a + x * x, 0));
    const factor = s.clipNorm === undefined ? 1 : s.clipNorm / Math.max(gradNorm, s.clipNorm);
    this.step++;
    for (const key of ['w', 'b'] as const) {
      const p = this.params[key];
      p.forEach((pv, i) => {
        let d = grads[key][i] * factor;
        let update: number;
        if (s.type === 'sgd') {
          d += s.weightDecay * pv;
          update = d;
          if (s.momentum > 0) {
            this.m[key][i] = s.momentum * this.m[key][i] + d;
            update = s.nesterov ? d + s.momentum * this.m[key][i] : this.m[key][i];
          }
        } else {
          if (s.type === 'adam') d += s.weightDecay * pv;
          this.m[key][i] = s.beta1 * this.m[key][i] + (1 - s.beta1) * d;
          this.v[key][i] = s.beta2 * this.v[key][i] + (1 - s.beta2) * d * d;
          const mHat = this.m[key][i] / (1 - s.beta1 ** this.step);
          const vHat = this.v[key][i] / (1 - s.beta2 ** this.step);
          update = mHat / (Math.sqrt(vHat) + s.eps);
          if (s.type === 'adamw') update += s.weightDecay * pv;
        }
        p[i] = pv - lr * update;
      });
    }
    return { loss, penalty, gradNorm };
  }

  state(name: 'm' | 'v'): Params {
    return name === 'm' ? this.m : this.v;
  }
}

function close(got: ArrayLike<number>, want: number[], what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= 1e-5 + 1e-4 * Math.abs(w), `${what}[${i}]: engine ${got[i]}, hand computation ${w}`));
}

async function checkSteps(raw: unknown, reg: Regularization = {}, startStep = 0): Promise<void> {
  const spec = OptimizerSchema.parse(raw);
  const compiled = compileTrainStep(linearRegression, { batchSize: BATCH, optimizer: spec, regularization: reg });
  assert.deepEqual(
    compiled.state.map((s) => s.name).sort(),
    stateSlots(spec).flatMap((k) => [`opt/${k}/b`, `opt/${k}/w`]).sort(),
  );
  for (const s of compiled.state) assert.ok(s.param === 'w' || s.param === 'b', `state ${s.name} is tied to ${s.param}`);
  const values = new Map([
    ['w', Float32Array.from(W0)],
    ['b', Float32Array.from([B0])],
  ]);
  const runner = await TrainStepRunner.create(compiled, values, { threads: 1, step: startStep });
  const ref = new Reference(spec, reg, startStep);
  try {
    const x = Float32Array.from(X.flat());
    const y = Float32Array.from(Y);
    for (const [k, lr] of LRS.entries()) {
      const got = await runner.step([x], y, lr);
      const want = ref.update(lr);
      close([got.loss], [want.loss], `step ${k + 1} loss`);
      close([got.gradNorm], [want.gradNorm], `step ${k + 1} gradient norm`);
      if (reg.l1 || reg.l2) close([got.penalty!], [want.penalty], `step ${k + 1} penalty`);
      else assert.equal(got.penalty, undefined);
      const now = runner.values();
      close(now.get('w')!, ref.params.w, `step ${k + 1} w`);
      close(now.get('b')!, ref.params.b, `step ${k + 1} b`);
      for (const slot of stateSlots(spec) as ('m' | 'v')[]) {
        close(now.get(`opt/${slot}/w`)!, ref.state(slot).w, `step ${k + 1} ${slot} of w`);
        close(now.get(`opt/${slot}/b`)!, ref.state(slot).b, `step ${k + 1} ${slot} of b`);
      }
    }
    assert.equal(runner.steps, startStep + LRS.length);
  } finally {
    await runner.release();
  }
}

test('plain SGD', async () => {
  await checkSteps({ type: 'sgd', lr: 0.1 });
});

test('SGD with momentum', async () => {
  await checkSteps({ type: 'sgd', lr: 0.1, momentum: 0.9 });
});

test('SGD with Nesterov momentum', async () => {
  await checkSteps({ type: 'sgd', lr: 0.1, momentum: 0.8, nesterov: true });
});

test('SGD with weight decay (coupled, on every parameter)', async () => {
  await checkSteps({ type: 'sgd', lr: 0.1, momentum: 0.5, weightDecay: 0.1 });
});

test('Adam, with bias corrections from the step input', async () => {
  await checkSteps({ type: 'adam', lr: 0.1 });
  await checkSteps({ type: 'adam', lr: 0.1, beta1: 0.8, beta2: 0.9, eps: 1e-6 });
});

test('Adam resumed at step 5 corrects its bias for steps 6, 7, 8', async () => {
  await checkSteps({ type: 'adam', lr: 0.1, beta1: 0.5, beta2: 0.7 }, {}, 5);
});

test('Adam with coupled weight decay', async () => {
  await checkSteps({ type: 'adam', lr: 0.1, weightDecay: 0.2 });
});

test('AdamW with decoupled weight decay', async () => {
  await checkSteps({ type: 'adamw', lr: 0.1, weightDecay: 0.2 });
});

test('clipping by global norm: a bound below the norm scales every gradient, one above leaves them', async () => {
  // the initial gradient norm is about 3.1
  await checkSteps({ type: 'sgd', lr: 0.1, clipNorm: 1 });
  await checkSteps({ type: 'sgd', lr: 0.1, momentum: 0.9, clipNorm: 100 });
  await checkSteps({ type: 'adamw', lr: 0.1, weightDecay: 0.1, clipNorm: 0.5 });
});

test('L1 and L2 penalties reach the weight matrix only, and are reported', async () => {
  await checkSteps({ type: 'sgd', lr: 0.1 }, { l2: 0.05 });
  await checkSteps({ type: 'sgd', lr: 0.1, momentum: 0.9 }, { l1: 0.02, l2: 0.05 });
});

test('optimizer specs are validated, with defaults filled in', () => {
  const adam = OptimizerSchema.parse({ type: 'adam', lr: 0.001 });
  assert.deepEqual(adam, { type: 'adam', lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
  assert.equal(OptimizerSchema.safeParse({ type: 'sgd', lr: -1 }).success, false);
  assert.equal(OptimizerSchema.safeParse({ type: 'sgd', lr: 0.1, beta1: 0.9 }).success, false);
  assert.equal(OptimizerSchema.safeParse({ type: 'rmsprop', lr: 0.1 }).success, false);
});

test('a batch size that is not a positive integer is rejected', () => {
  const optimizer = OptimizerSchema.parse({ type: 'sgd', lr: 0.1 });
  assert.throws(() => compileTrainStep(linearRegression, { batchSize: 0, optimizer }), (e: unknown) => e instanceof AimassError && e.code === 'INVALID_ARGUMENT');
});
