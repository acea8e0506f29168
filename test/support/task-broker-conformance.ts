// The one conformance suite for TaskBroker, run against every transport and database (embedded over SQLite and
// PostgreSQL in src/dispatch/embedded-broker.test.ts; the JetStream broker later): submit and its validation,
// idempotency and the bounded queue, claims by capability and priority, exactly-once claims under concurrent
// claimers, leases (heartbeat, expiry, re-queue), exactly-once results, retries with backoff, dead and failed
// endings, cancel, per-type concurrency and rate limits, long-poll wake-ups and events; and the batch forms:
// submitMany (all or none), claimMany (resources added up or each on its own), completions written together.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type { ClaimOffer, TaskBroker, TaskEvent, TypeLimits } from '../../src/dispatch/index.js';
import { rejectsWith } from './metadata-store-conformance.js';

export interface BrokerOptions {
  leaseMs?: number;
  maxQueued?: number;
  limits?: Record<string, TypeLimits>;
  /** Fallback poll of the database while a claim waits (transports without one ignore it). */
  pollMs?: number;
}

export interface BrokerBackend {
  name: string;
  /** When set, the whole suite is skipped with this reason. */
  skip?: string;
  /** A new, empty task database; every `open()` is another broker (own connection) on it. */
  freshDatabase(): Promise<{ open(options?: BrokerOptions): Promise<TaskBroker> }>;
}

/** A node that takes anything of modest size. */
export function offer(node: string, overrides: Partial<ClaimOffer> = {}): ClaimOffer {
  return { node, cpu: 4, memoryMb: 4096, kinds: ['any'], labels: {}, ...overrides };
}

export function describeTaskBrokerConformance(backend: BrokerBackend): void {
  describe(`TaskBroker conformance: ${backend.name}`, { skip: backend.skip }, () => {
    const opened: TaskBroker[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((b) => b.close()));
    });

    async function fresh(options?: BrokerOptions): Promise<{ broker: TaskBroker; open(o?: BrokerOptions): Promise<TaskBroker> }> {
      const db = await backend.freshDatabase();
      const open = async (o?: BrokerOptions) => {
        const b = await db.open(o ?? options);
        opened.push(b);
        return b;
      };
      return { broker: await open(), open };
    }

    test('submit records a queued task with defaults; get returns it; a bad spec lists every problem', async () => {
      const { broker } = await fresh();
      const { task, created } = await broker.submit({ type: 'train', payload: { lr: 0.1 } });
      assert.equal(created, true);
      assert.equal(task.state, 'queued');
      assert.equal(task.attempts, 0);
      assert.deepEqual(task.payload, { lr: 0.1 });
      assert.equal(task.priority, 1);
      assert.deepEqual(task.resources, { cpu: 1, memoryMb: 256, kind: 'any', labels: {} });
      assert.deepEqual(task.retry, { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 });
      assert.deepEqual(task.history, []);
      assert.deepEqual(await broker.get(task.id), task);
      assert.equal(await broker.get('task-nope'), undefined);

      const e = await rejectsWith(
        broker.submit({ type: 'Bad Type', priority: 'urgent' as never, resources: { cpu: 0, kind: 'video' as never }, retry: { maxAttempts: 0 }, extra: 1 } as never),
        'INVALID_SPEC',
      );
      const problems = e.details?.problems as string[];
      for (const field of ['type', 'priority', 'resources.cpu', 'resources.kind', 'retry.maxAttempts', 'extra']) {
        assert.ok(problems.some((p) => p.startsWith(`${field}:`)), `no problem for ${field}: ${problems.join('; ')}`);
      }
    });

    test('submit is idempotent by key, also across brokers at once', async () => {
      const { broker, open } = await fresh();
      const other = await open();
      const first = await broker.submit({ type: 'train', idempotencyKey: 'run-7' });
      const again = await broker.submit({ type: 'train', payload: { different: true }, idempotencyKey: 'run-7' });
      assert.equal(again.created, false);
      assert.equal(again.task.id, first.task.id);
      const racers = await Promise.all([
        broker.submit({ type: 'evaluate', idempotencyKey: 'race' }),
        other.submit({ type: 'evaluate', idempotencyKey: 'race' }),
        other.submit({ type: 'evaluate', idempotencyKey: 'race' }),
      ]);
      assert.equal(new Set(racers.map((r) => r.task.id)).size, 1);
      assert.equal(racers.filter((r) => r.created).length, 1);
      assert.equal((await broker.counts()).queued, 2);
    });

    test('a full queue answers RESOURCE_EXHAUSTED "queue full, retry after N s"; a claim makes room', async () => {
      const { broker } = await fresh({ maxQueued: 3 });
      for (let i = 0; i < 3; i++) await broker.submit({ type: 'custom' });
      const e = await rejectsWith(broker.submit({ type: 'custom' }), 'RESOURCE_EXHAUSTED', /queue full/, /retry after \d+ s/);
      assert.ok(Number(e.details?.retryAfterS) >= 1);
      assert.equal(e.details?.retryable, true);
      // an idempotent resubmit of a queued task is not a new task, so it is still answered
      assert.ok(await broker.claim(offer('n1')));
      await broker.submit({ type: 'custom', idempotencyKey: 'k' });
      await rejectsWith(broker.submit({ type: 'custom' }), 'RESOURCE_EXHAUSTED');
      assert.equal((await broker.submit({ type: 'custom', idempotencyKey: 'k' })).created, false);
    });

    test('claim leases the task to the node, completes once: a repeated completion changes nothing', async () => {
      const { broker } = await fresh();
      const { task } = await broker.submit({ type: 'predict-batch', payload: { n: 1 } });
      const claimed = await broker.claim(offer('n1'));
      assert.ok(claimed);
      assert.equal(claimed.task.id, task.id);
      assert.equal(claimed.task.state, 'running');
      assert.equal(claimed.task.node, 'n1');
      assert.equal(claimed.lease.attempt, 1);
      assert.ok(claimed.lease.expiresAt > Date.now());
      assert.equal(claimed.task.history[0].outcome, 'running');
      assert.equal(await broker.claim(offer('n2')), undefined, 'a running task is not claimed twice');

      const done = await broker.complete(claimed.lease, { score: 0.9 });
      assert.equal(done.recorded, true);
      assert.equal(done.task.state, 'succeeded');
      assert.deepEqual(done.task.result, { score: 0.9 });
      assert.equal(done.task.node, null);
      assert.ok(done.task.endedAt);
      assert.deepEqual(
        done.task.history.map((a) => [a.attempt, a.node, a.outcome]),
        [[1, 'n1', 'succeeded']],
      );
      const twice = await broker.complete(claimed.lease, { score: 0.1 });
      assert.equal(twice.recorded, false);
      assert.deepEqual(twice.task.result, { score: 0.9 });
      assert.equal((await broker.counts()).succeeded, 1);
      assert.equal((await broker.fail(claimed.lease, { code: 'INTERNAL', message: 'late', retryable: true })).recorded, false);
      assert.equal(await broker.heartbeat(claimed.lease), 'lost');
    });

    test('claims respect the node: kind, labels, free CPU and memory, handled types', async () => {
      const { broker } = await fresh();
      const image = await broker.submit({ type: 'train', resources: { kind: 'image' } });
      const gpu = await broker.submit({ type: 'train', resources: { labels: { gpu: 'a100' } } });
      const big = await broker.submit({ type: 'train', resources: { cpu: 8, memoryMb: 1024 } });
      const backup = await broker.submit({ type: 'backup' });
      const textNode = offer('t', { kinds: ['text'], cpu: 2, types: ['train'] });
      assert.equal(await broker.claim(textNode), undefined);
      assert.equal((await broker.claim(offer('g', { kinds: ['text'], labels: { gpu: 'a100', zone: 'x' } })))?.task.id, gpu.task.id);
      assert.equal((await broker.claim(offer('i', { kinds: ['image'], cpu: 2, types: ['train'] })))?.task.id, image.task.id);
      assert.equal(await broker.claim(offer('s', { cpu: 7 })).then((c) => c?.task.id), backup.task.id);
      assert.equal(await broker.claim(offer('s', { cpu: 8, memoryMb: 1000 })), undefined);
      assert.equal((await broker.claim(offer('l', { cpu: 8, memoryMb: 1024 })))?.task.id, big.task.id);
    });

    test('higher priority first, FIFO within a priority', async () => {
      const { broker } = await fresh();
      const ids: Record<string, string> = {};
      for (const [name, priority] of [
        ['low1', 'low'],
        ['normal1', 'normal'],
        ['high1', 'high'],
        ['low2', 'low'],
        ['high2', 'high'],
        ['top', 50],
        ['normal2', undefined],
      ] as const) {
        ids[(await broker.submit({ type: 'custom', priority, payload: name })).task.id] = name;
      }
      const order: string[] = [];
      for (;;) {
        const c = await broker.claim(offer('n'));
        if (!c) break;
        order.push(ids[c.task.id]);
      }
      assert.deepEqual(order, ['top', 'high1', 'high2', 'normal1', 'normal2', 'low1', 'low2']);
    });

    test('concurrent claimers on separate connections claim every task exactly once', async () => {
      const { broker, open } = await fresh();
      const brokers = [broker, await open(), await open(), await open()];
      const n = 40;
      for (let i = 0; i < n; i++) await broker.submit({ type: 'custom', payload: i });
      const claimedBy = await Promise.all(
        brokers.map(async (b, i) => {
          const got: string[] = [];
          for (;;) {
            const c = await b.claim(offer(`n${i}`));
            if (!c) return got;
            got.push(c.task.id);
          }
        }),
      );
      const all = claimedBy.flat();
      assert.equal(all.length, n);
      assert.equal(new Set(all).size, n);
      assert.equal((await broker.counts()).running, n);
    });

    test('a retryable failure re-queues after backoff; a waiting claim gets it when due; success on attempt 2', async () => {
      const { broker } = await fresh();
      const { task } = await broker.submit({ type: 'trial', retry: { maxAttempts: 3, baseDelayMs: 150, maxDelayMs: 150 } });
      const first = (await broker.claim(offer('n1')))!;
      const before = Date.now();
      const failed = await broker.fail(first.lease, { code: 'UNAVAILABLE', message: 'store down', retryable: true });
      const after = Date.now();
      assert.equal(failed.recorded, true);
      assert.equal(failed.task.state, 'queued');
      assert.deepEqual(failed.task.error, { code: 'UNAVAILABLE', message: 'store down' });
      const due = Date.parse(failed.task.notBefore!);
      // 150 ms ±50% from the moment of the failure, somewhere between the call and its answer (slow on a busy machine)
      assert.ok(due >= before + 75 - 1 && due <= after + 225 + 1, `backoff of 150 ms ±50% gives ${due - before} ms after the call, ${due - after} ms after its answer`);
      assert.equal(await broker.claim(offer('n2')), undefined, 'not before the backoff');
      const started = Date.now();
      const second = await broker.claim(offer('n2'), { waitMs: 3000 });
      assert.ok(second, 'claimed once due');
      assert.ok(Date.now() >= due - 5, 'not early');
      assert.ok(Date.now() - started < 1500, `woke ${Date.now() - started} ms later`);
      assert.equal(second.lease.attempt, 2);
      const done = await broker.complete(second.lease, 'ok');
      assert.deepEqual(
        done.task.history.map((a) => [a.attempt, a.node, a.outcome, a.error?.code ?? null]),
        [
          [1, 'n1', 'failed', 'UNAVAILABLE'],
          [2, 'n2', 'succeeded', null],
        ],
      );
      assert.equal(done.task.id, task.id);
    });

    test('retryable failures that use every attempt end dead; a permanent failure ends failed at once', async () => {
      const { broker } = await fresh();
      const { task } = await broker.submit({ type: 'custom', retry: { maxAttempts: 2, baseDelayMs: 0 } });
      for (let attempt = 1; attempt <= 2; attempt++) {
        const c = (await broker.claim(offer('n'), { waitMs: 2000 }))!;
        assert.equal(c.lease.attempt, attempt);
        await broker.fail(c.lease, { code: 'INTERNAL', message: `boom ${attempt}`, retryable: true });
      }
      const dead = (await broker.get(task.id))!;
      assert.equal(dead.state, 'dead');
      assert.equal(dead.attempts, 2);
      assert.deepEqual(dead.error, { code: 'INTERNAL', message: 'boom 2' });
      assert.equal(await broker.claim(offer('n')), undefined);

      const { task: bad } = await broker.submit({ type: 'custom' });
      const c = (await broker.claim(offer('n')))!;
      const out = await broker.fail(c.lease, { code: 'INVALID_ARGUMENT', message: 'bad payload', retryable: false });
      assert.equal(out.task.state, 'failed');
      assert.equal(out.task.id, bad.id);
      assert.equal(out.task.attempts, 1);
      const counts = await broker.counts();
      assert.equal(counts.dead, 1);
      assert.equal(counts.failed, 1);
    });

    test('a lease that is not renewed expires: another claimer gets the task; the result is recorded once', async () => {
      const { broker, open } = await fresh({ leaseMs: 300 });
      const other = await open({ leaseMs: 300 });
      const { task } = await broker.submit({ type: 'train' });
      const lost = (await broker.claim(offer('dies')))!;
      assert.equal(await other.claim(offer('n2')), undefined);
      const started = Date.now();
      const taken = await other.claim(offer('n2'), { waitMs: 5000 });
      assert.ok(taken, 'claimed after the lease ran out');
      assert.ok(Date.now() - started >= 150, 'not before the lease ran out');
      assert.equal(taken.lease.attempt, 2);
      assert.equal(await broker.heartbeat(lost.lease), 'lost');
      assert.equal((await broker.fail(lost.lease, { code: 'INTERNAL', message: 'x', retryable: true })).recorded, false);

      const done = await other.complete(taken.lease, { by: 'n2' });
      assert.equal(done.recorded, true);
      // the first worker was only slow: its late result does not overwrite or count twice
      const late = await broker.complete(lost.lease, { by: 'dies' });
      assert.equal(late.recorded, false);
      const final = (await broker.get(task.id))!;
      assert.deepEqual(final.result, { by: 'n2' });
      assert.deepEqual(
        final.history.map((a) => [a.attempt, a.node, a.outcome]),
        [
          [1, 'dies', 'lease-expired'],
          [2, 'n2', 'succeeded'],
        ],
      );
      assert.equal((await broker.counts()).succeeded, 1);
    });

    test('heartbeats keep the lease; a stale attempt completing first wins and the newer one is told', async () => {
      const { broker, open } = await fresh({ leaseMs: 300 });
      const other = await open({ leaseMs: 300 });
      await broker.submit({ type: 'train' });
      const held = (await broker.claim(offer('n1')))!;
      const beats = setInterval(() => void broker.heartbeat(held.lease), 60);
      try {
        assert.equal(await other.claim(offer('n2'), { waitMs: 700 }), undefined, 'a renewed lease is not taken');
      } finally {
        clearInterval(beats);
      }
      assert.equal(await broker.heartbeat(held.lease), 'held');
      const retaken = (await other.claim(offer('n2'), { waitMs: 5000 }))!;
      assert.equal(retaken.lease.attempt, 2);
      // attempt 1 was slow, not dead: its result arrives first and is the one recorded
      assert.equal((await broker.complete(held.lease, 'from-1')).recorded, true);
      assert.equal(await other.heartbeat(retaken.lease), 'lost');
      const second = await other.complete(retaken.lease, 'from-2');
      assert.equal(second.recorded, false);
      assert.equal(second.task.result, 'from-1');
      assert.deepEqual(
        second.task.history.map((a) => a.outcome),
        ['succeeded', 'cancelled'],
      );
    });

    test('cancel: a queued task is never claimed; a running one is told at its heartbeat; ended tasks refuse', async () => {
      const { broker } = await fresh();
      const queued = await broker.submit({ type: 'custom' });
      const cancelled = await broker.cancel(queued.task.id, 'not needed');
      assert.equal(cancelled.task.state, 'cancelled');
      assert.deepEqual(cancelled.task.error, { code: 'CANCELLED', message: 'not needed' });
      assert.equal((await broker.cancel(queued.task.id)).recorded, false, 'cancel is idempotent');
      assert.equal(await broker.claim(offer('n')), undefined);

      await broker.submit({ type: 'custom' });
      const running = (await broker.claim(offer('n')))!;
      await broker.cancel(running.task.id);
      assert.equal(await broker.heartbeat(running.lease), 'cancelled');
      assert.equal((await broker.complete(running.lease, 'late')).recorded, false);
      const after = (await broker.get(running.task.id))!;
      assert.equal(after.state, 'cancelled');
      assert.equal(after.result, null);
      assert.equal(after.history[0].outcome, 'cancelled');

      await broker.submit({ type: 'custom' });
      const done = (await broker.claim(offer('n')))!;
      await broker.complete(done.lease, 1);
      await rejectsWith(broker.cancel(done.task.id), 'CONFLICT', /already ended \(succeeded\)/);
      await rejectsWith(broker.cancel('task-missing'), 'NOT_FOUND');
    });

    test('a task whose deadline passed before it started fails with TIMEOUT instead of running', async () => {
      const { broker } = await fresh();
      const { task } = await broker.submit({ type: 'custom', deadline: new Date(Date.now() - 1000).toISOString() });
      const fresh2 = await broker.submit({ type: 'custom' });
      assert.equal((await broker.claim(offer('n')))?.task.id, fresh2.task.id);
      const expired = (await broker.get(task.id))!;
      assert.equal(expired.state, 'failed');
      assert.equal(expired.error?.code, 'TIMEOUT');
      assert.equal(expired.attempts, 0);
    });

    test('per-type concurrency limit: other types pass; a slot frees when a task ends', async () => {
      const { broker, open } = await fresh({ limits: { train: { concurrency: 2 } } });
      const other = await open({ limits: { train: { concurrency: 2 } } });
      for (let i = 0; i < 4; i++) await broker.submit({ type: 'train' });
      await broker.submit({ type: 'evaluate', priority: 'low' });
      const [a, b] = await Promise.all([broker.claim(offer('n1')), other.claim(offer('n2'))]);
      assert.equal(a?.task.type, 'train');
      assert.equal(b?.task.type, 'train');
      assert.equal((await other.claim(offer('n3')))?.task.type, 'evaluate', 'a limited type does not block others');
      assert.equal(await broker.claim(offer('n3')), undefined);
      await broker.complete(a!.lease, null);
      assert.equal((await other.claim(offer('n3')))?.task.type, 'train');
      assert.equal((await broker.counts()).running, 3);
    });

    test('per-type rate limit (token bucket): a burst, then one per interval', async () => {
      const { broker } = await fresh({ limits: { backup: { ratePerSecond: 5, burst: 2 } } });
      for (let i = 0; i < 4; i++) await broker.submit({ type: 'backup' });
      assert.ok(await broker.claim(offer('n')));
      assert.ok(await broker.claim(offer('n')));
      assert.equal(await broker.claim(offer('n')), undefined, 'the burst is spent');
      const started = Date.now();
      assert.ok(await broker.claim(offer('n'), { waitMs: 2000 }));
      const waited = Date.now() - started;
      assert.ok(waited >= 120 && waited < 1000, `one token takes 200 ms at 5/s; waited ${waited} ms`);
    });

    test('a waiting claim wakes on submit, without waiting for a poll', async () => {
      const { broker } = await fresh({ pollMs: 10_000 });
      const started = Date.now();
      const waiting = broker.claim(offer('n'), { waitMs: 8000 });
      await new Promise((r) => setTimeout(r, 50));
      const { task } = await broker.submit({ type: 'custom' });
      const claimed = await waiting;
      assert.equal(claimed?.task.id, task.id);
      assert.ok(Date.now() - started < 2000, `woke after ${Date.now() - started} ms`);
      const ac = new AbortController();
      const aborted = broker.claim(offer('n'), { waitMs: 8000, signal: ac.signal });
      ac.abort();
      assert.equal(await aborted, undefined);
    });

    test('submitMany records all in order, keys answered as by submit; a bad spec or a full queue refuses all', async () => {
      const { broker } = await fresh({ maxQueued: 6 });
      const first = await broker.submit({ type: 'train', idempotencyKey: 'k1' });
      const out = await broker.submitMany([
        { type: 'evaluate', payload: 1 },
        { type: 'evaluate', payload: 2, priority: 'high' },
        { type: 'train', idempotencyKey: 'k1' },
        { type: 'backup', idempotencyKey: 'k2' },
        { type: 'backup', idempotencyKey: 'k2' },
      ]);
      assert.deepEqual(
        out.map((o) => [o.task.type, o.task.payload, o.created]),
        [
          ['evaluate', 1, true],
          ['evaluate', 2, true],
          ['train', null, false],
          ['backup', null, true],
          ['backup', null, false],
        ],
      );
      assert.equal(out[2].task.id, first.task.id);
      assert.equal(out[4].task.id, out[3].task.id);
      assert.deepEqual(await broker.get(out[1].task.id), out[1].task);
      assert.deepEqual(await broker.submitMany([]), []);
      assert.equal((await broker.counts()).queued, 4);

      const e = await rejectsWith(broker.submitMany([{ type: 'custom' }, { type: 'Bad Type' }]), 'INVALID_SPEC');
      assert.ok((e.details?.problems as string[]).some((p) => p.startsWith('[1].type:')), JSON.stringify(e.details));
      await rejectsWith(broker.submitMany([{ type: 'custom' }, { type: 'custom' }, { type: 'custom' }]), 'RESOURCE_EXHAUSTED', /queue full/);
      assert.equal((await broker.counts()).queued, 4, 'none of a refused batch was recorded');
      assert.equal((await broker.submitMany([{ type: 'custom' }, { type: 'train', idempotencyKey: 'k1' }, { type: 'custom' }])).length, 3);
      assert.equal((await broker.counts()).queued, 6);
    });

    test('concurrent submits are each answered on their own: one refused does not refuse the others', async () => {
      const { broker } = await fresh({ maxQueued: 3 });
      const outcomes = await Promise.allSettled([
        broker.submit({ type: 'custom', payload: 'a' }),
        broker.submitMany([{ type: 'custom', payload: 'b' }, { type: 'custom', payload: 'c' }]),
        broker.submitMany([{ type: 'custom', payload: 'd' }, { type: 'custom', payload: 'e' }]),
      ]);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ['fulfilled', 'fulfilled', 'rejected'],
      );
      assert.equal((await broker.counts()).queued, 3);
    });

    test('claimMany takes up to max, best first, fitting together or each on its own; every task once', async () => {
      const { broker, open } = await fresh();
      const ids: Record<string, string> = {};
      for (const [name, cpu, priority] of [
        ['low', 1, 'low'],
        ['big', 3, 'normal'],
        ['a', 1, 'normal'],
        ['b', 1, 'normal'],
        ['top', 1, 'high'],
      ] as const) {
        ids[(await broker.submit({ type: 'custom', payload: name, priority, resources: { cpu } })).task.id] = name;
      }
      // Together: 4 CPUs hold top (1) and big (3); nothing else fits beside them.
      const together = await broker.claimMany(offer('n1', { cpu: 4 }), 10);
      assert.deepEqual(
        together.map((c) => ids[c.task.id]),
        ['top', 'big'],
      );
      for (const c of together) {
        assert.equal(c.task.state, 'running');
        assert.equal(c.lease.taskId, c.task.id);
        assert.equal(c.lease.attempt, 1);
        assert.equal(c.task.history[0].outcome, 'running');
      }
      // Each on its own: up to max, whatever their sum.
      const each = await broker.claimMany(offer('n2', { cpu: 1, fit: 'each' }), 2);
      assert.deepEqual(
        each.map((c) => ids[c.task.id]),
        ['a', 'b'],
      );
      assert.deepEqual(
        (await broker.claimMany(offer('n2'), 5)).map((c) => ids[c.task.id]),
        ['low'],
      );
      assert.deepEqual(await broker.claimMany(offer('n2'), 5), []);

      const other = await open();
      for (let i = 0; i < 30; i++) await broker.submit({ type: 'custom', payload: i });
      const got = (
        await Promise.all(
          [broker, other].map(async (b, i) => {
            const mine: string[] = [];
            for (;;) {
              const c = await b.claimMany(offer(`m${i}`, { fit: 'each' }), 4);
              if (c.length === 0) return mine;
              mine.push(...c.map((x) => x.task.id));
            }
          }),
        )
      ).flat();
      assert.equal(got.length, 30);
      assert.equal(new Set(got).size, 30);
    });

    test('completions made together are each recorded once; a repeat in the same batch changes nothing', async () => {
      const { broker } = await fresh();
      for (let i = 0; i < 6; i++) await broker.submit({ type: 'custom', payload: i });
      const claimed = await broker.claimMany(offer('n', { fit: 'each' }), 6);
      assert.equal(claimed.length, 6);
      const results = await Promise.all([...claimed.map((c, i) => broker.complete(c.lease, { i })), broker.complete(claimed[0].lease, 'again')]);
      assert.deepEqual(
        results.map((r) => r.recorded),
        [true, true, true, true, true, true, false],
      );
      for (const [i, r] of results.slice(0, 6).entries()) {
        assert.equal(r.task.state, 'succeeded');
        assert.deepEqual(r.task.result, { i });
        assert.deepEqual(
          r.task.history.map((a) => a.outcome),
          ['succeeded'],
        );
      }
      assert.deepEqual(results[6].task.result, { i: 0 });
      assert.equal((await broker.counts()).succeeded, 6);
      await rejectsWith(broker.complete({ ...claimed[0].lease, taskId: 'task-missing' }, 1), 'NOT_FOUND');
    });

    test('watch reports each change in order; list filters newest first; counts by state', async () => {
      const { broker } = await fresh();
      const events: TaskEvent[] = [];
      const stop = broker.watch((e) => events.push(e));
      const { task } = await broker.submit({ type: 'evaluate' });
      const c = (await broker.claim(offer('n1')))!;
      await broker.complete(c.lease, 'ok');
      await broker.submit({ type: 'backup' });
      stop();
      await broker.submit({ type: 'backup' });
      assert.deepEqual(
        events.map((e) => [e.kind, e.type, e.state]),
        [
          ['submitted', 'evaluate', 'queued'],
          ['claimed', 'evaluate', 'running'],
          ['succeeded', 'evaluate', 'succeeded'],
          ['submitted', 'backup', 'queued'],
        ],
      );
      assert.equal(events[1].taskId, task.id);
      assert.equal(events[1].node, 'n1');
      const backups = await broker.list({ type: 'backup' });
      assert.equal(backups.length, 2);
      assert.ok(backups[0].createdAt >= backups[1].createdAt);
      assert.deepEqual(
        (await broker.list({ states: ['succeeded'] })).map((t) => t.id),
        [task.id],
      );
      assert.equal((await broker.list({ limit: 1 })).length, 1);
      assert.deepEqual(await broker.counts(), { queued: 2, running: 0, succeeded: 1, failed: 0, cancelled: 0, dead: 0 });
    });
  });
}
