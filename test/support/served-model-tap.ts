// Fault injection for serving tests at the HTTP level: a tap on a loaded model that tells when requests have
// reached its batcher and when batches have reached its worker pool, can hold batches at the pool (a model as
// slow as the test needs, released on cue), and can crash the worker a batch is about to be sent to. The batcher,
// the pool, its worker threads and ONNX Runtime stay real; the tap only observes or delays the moment a request
// goes in.
//
// ServedModel keeps its Batcher and SessionPool private and serve/index.ts does not export the pool's crash hook,
// so this one file reaches past both (files under src/ may not import serve internals). A test-only accessor on
// ServedModel, like the pool's own CRASH_WORKER_FOR_TESTS, would replace the casts in `partsOf`.
import assert from 'node:assert/strict';
import type { Batcher, HostTensors, ServedModel, SubmitOptions } from '../../src/serve/index.js';
import { CRASH_WORKER_FOR_TESTS, type SessionPool } from '../../src/serve/session-pool.js';

/** The batcher and the pool of worker threads behind `model`. */
export function partsOf(model: ServedModel): { batcher: Batcher; pool: SessionPool } {
  const { batcher, pool } = model as unknown as { batcher?: Batcher; pool?: SessionPool };
  assert.ok(batcher && typeof batcher.submit === 'function', 'ServedModel no longer keeps its Batcher as `batcher`; update test/support/served-model-tap.ts');
  assert.ok(pool && typeof pool.run === 'function', 'ServedModel no longer keeps its SessionPool as `pool`; update test/support/served-model-tap.ts');
  return { batcher, pool };
}

export interface ServedModelTap {
  /** Requests handed to the batcher so far (queued, dispatched or refused: `submit` has decided). */
  readonly submitted: number;
  /** Batches that have reached the pool (run, held or crashed into). */
  readonly runs: number;
  /** Resolves once `n` requests in all have been handed to the batcher. */
  reachedBatcher(n: number): Promise<void>;
  /** Resolves once `n` batches in all have reached the pool. */
  reachedPool(n: number): Promise<void>;
  /** Holds every batch that reaches the pool from now on until `release`. */
  hold(): void;
  /** Sends the held batches on, and lets later ones through. */
  release(): void;
  /**
   * Crashes the worker that the next batch goes to, just before sending it: the crash message is queued ahead of
   * the batch in that worker, so the thread dies with the batch in flight (the pool's own test does the same).
   */
  crashBeforeNextRun(): void;
  /** Puts the batcher's and the pool's own methods back. */
  restore(): void;
}

/** A count that promises can wait on. */
function counter() {
  let count = 0;
  const waiters: { n: number; resolve(): void }[] = [];
  return {
    get count() {
      return count;
    },
    bump() {
      count++;
      for (const w of waiters.filter((x) => count >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    reached: (n: number) => (count >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
  };
}

/** Taps `model` (load it first: warm-up runs are not seen). */
export function tapServedModel(model: ServedModel): ServedModelTap {
  const { batcher, pool } = partsOf(model);
  const submit = batcher.submit.bind(batcher);
  const run = pool.run.bind(pool);
  const submitted = counter();
  const runs = counter();
  let gate: Promise<void> | undefined;
  let open = () => {};
  let crashNext = false;

  const tappedSubmit = (feeds: HostTensors, o?: SubmitOptions): Promise<HostTensors> => {
    const result = submit(feeds, o); // queues (or refuses) synchronously
    submitted.bump();
    return result;
  };
  const tappedRun = async (feeds: HostTensors): Promise<HostTensors> => {
    runs.bump();
    if (gate) await gate;
    if (crashNext) {
      crashNext = false;
      // With one worker, worker 0 is the one the pool's least-busy dispatch picks for this batch.
      assert.equal(pool.size, 1, 'crashBeforeNextRun expects a pool of one worker');
      pool[CRASH_WORKER_FOR_TESTS](0);
    }
    return run(feeds); // in the same synchronous step as the crash: nothing can observe the worker's exit between
  };
  batcher.submit = tappedSubmit;
  pool.run = tappedRun;

  return {
    get submitted() {
      return submitted.count;
    },
    get runs() {
      return runs.count;
    },
    reachedBatcher: submitted.reached,
    reachedPool: runs.reached,
    hold: () => {
      gate ??= new Promise((resolve) => (open = resolve));
    },
    release: () => {
      gate = undefined;
      open();
    },
    crashBeforeNextRun: () => {
      crashNext = true;
    },
    restore: () => {
      if (batcher.submit === tappedSubmit) batcher.submit = submit;
      if (pool.run === tappedRun) pool.run = run;
    },
  };
}
