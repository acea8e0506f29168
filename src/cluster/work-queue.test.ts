// The JetStream work queue against a private nats-server (file storage in a temp folder): ack removes a message;
// a worker process killed holding one lets it come back after the ack wait; working() keeps a long task's lease;
// nak with delay; poison messages end in the dead letters after max attempts without blocking others; a crash on
// every attempt is dead-lettered from the server's advisory; a full queue refuses with RESOURCE_EXHAUSTED; and a
// server killed and restarted loses no queued message. Skips without nats-server, fails under CI.
import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { killChild, startClusterChild } from '../../test/support/cluster-child.js';
import { assertCode, eventually } from '../../test/support/membership-conformance.js';
import { natsServerUnavailable, startNatsServer, type TestNatsServer } from '../../test/support/nats-cluster.js';
import { WorkQueue, type Consumption, type WorkItem, type WorkQueueOptions } from './index.js';

const unavailable = natsServerUnavailable();
let server: (TestNatsServer & { close(): Promise<void> }) | undefined;
let nc: NatsConnection | undefined;
if (!unavailable) {
  server = await startNatsServer();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  after(async () => {
    await nc?.close();
    await server?.close();
  });
}

let queues = 0;
function options(extra: Partial<WorkQueueOptions> = {}): WorkQueueOptions {
  const n = queues++;
  return { stream: `WQ_${n}`, subjectPrefix: `wq${n}`, ackWaitMs: 1000, maxDeliver: 3, backoffMs: [100], ...extra };
}

const text = (s: string) => new TextEncoder().encode(s);
const read = (item: WorkItem) => Buffer.from(item.data).toString();

/** Resolves when `count` items satisfy `match`, collecting every item seen. */
function collector() {
  const seen: { item: WorkItem; at: number }[] = [];
  let waiters: { match: () => boolean; resolve: () => void }[] = [];
  return {
    seen,
    add(item: WorkItem) {
      seen.push({ item, at: Date.now() });
      waiters = waiters.filter((w) => (w.match() ? (w.resolve(), false) : true));
    },
    until(match: (items: WorkItem[]) => boolean, timeoutMs = 8000): Promise<void> {
      const check = () => match(seen.map((s) => s.item));
      if (check()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not reached in ${timeoutMs} ms; saw ${JSON.stringify(seen.map((s) => [s.item.seq, s.item.attempt, read(s.item)]))}`)), timeoutMs);
        waiters.push({ match: check, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

describe('JetStream work queue', { skip: unavailable !== undefined && !process.env.CI ? unavailable : false }, () => {
  const running: Consumption[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
  });

  it('an acked message leaves the queue; streams and consumer are set up as asked', async () => {
    const queue = await WorkQueue.open(nc!, options({ backoffMs: [100, 200] }));
    await queue.publish('train', text('a'));
    assert.equal(await queue.depth(), 1);
    const got = collector();
    running.push(await queue.consume(async (item) => got.add(item)));
    await got.until((items) => items.length === 1);
    await eventually(async () => (await queue.depth()) === 0, 3000, 'queue empty after ack');
    assert.equal(got.seen[0].item.type, 'train');
    assert.equal(got.seen[0].item.attempt, 1);
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(nc!);
    const stream = await jsm.streams.info(queue.stream);
    assert.deepEqual([stream.config.retention, stream.config.storage, stream.config.discard], ['workqueue', 'file', 'new']);
    const consumer = await jsm.consumers.info(queue.stream, queue.consumer);
    assert.equal(consumer.config.max_deliver, 3);
    assert.equal(consumer.config.ack_policy, 'explicit');
    // One lease per retry: ack wait plus that attempt's backoff.
    assert.deepEqual(consumer.config.backoff, [1100, 1200].map((ms) => ms * 1_000_000));
  });

  it('a message held by a killed worker process is delivered again after the ack wait', async () => {
    const settings = options({ ackWaitMs: 1000, maxDeliver: 5 });
    const queue = await WorkQueue.open(nc!, settings);
    await queue.publish('trial', text('held'));
    const { child, line } = await startClusterChild('take', { server: server!.url, stream: settings.stream, subjectPrefix: settings.subjectPrefix, ackWaitMs: 1000, maxDeliver: 5 });
    assert.deepEqual([line.data, line.attempt], ['held', 1]);
    await killChild(child);
    const killedAt = Date.now();
    const got = collector();
    running.push(await queue.consume(async (item) => got.add(item)));
    await got.until((items) => items.length === 1, 8000);
    const { item, at } = got.seen[0];
    assert.equal(read(item), 'held');
    assert.equal(item.seq, line.took);
    // Not asserted: item.attempt. nats-server 2.9 may count a delivery to the dead worker's lingering pull
    // request (attempt 3), or take one back (attempt 1), besides the expected 2.
    // Not before the lease ran out (the child kept it fresh with working() until it died).
    assert.ok(at - killedAt >= 500, `redelivered ${at - killedAt} ms after the kill`);
    await eventually(async () => (await queue.depth()) === 0, 3000, 'acked after redelivery');
  });

  it('a long task keeps its lease with working() and is delivered once', async () => {
    const queue = await WorkQueue.open(nc!, options({ ackWaitMs: 300 }));
    await queue.publish('train', text('long'));
    const got = collector();
    running.push(
      await queue.consume(
        async (item) => {
          got.add(item);
          if (item.attempt === 1) await new Promise((resolve) => setTimeout(resolve, 1500)); // 5 leases
        },
        { concurrency: 2 },
      ),
    );
    await got.until((items) => items.length >= 1);
    await eventually(async () => (await queue.depth()) === 0, 4000, 'the long task acked');
    assert.deepEqual(
      got.seen.map((s) => s.item.attempt),
      [1],
    );
  });

  it('nak with a delay brings the message back no sooner than the delay', async () => {
    const queue = await WorkQueue.open(nc!, options({ maxDeliver: 5 }));
    await queue.publish('predict-batch', text('later'));
    const got = collector();
    running.push(
      await queue.consume(async (item) => {
        got.add(item);
        if (item.attempt === 1) item.nak(600);
      }),
    );
    await got.until((items) => items.length === 2);
    const gap = got.seen[1].at - got.seen[0].at;
    assert.ok(gap >= 550, `redelivered after ${gap} ms`);
    assert.equal(got.seen[1].item.attempt, 2);
  });

  it('a poison message is dead-lettered after max attempts (or at once by term) and does not block the others', async () => {
    const queue = await WorkQueue.open(nc!, options({ maxDeliver: 3, backoffMs: [50] }));
    await queue.publish('evaluate', text('poison'));
    await queue.publish('evaluate', text('bad-input'));
    for (let i = 0; i < 5; i++) await queue.publish('evaluate', text(`ok-${i}`));
    const got = collector();
    running.push(
      await queue.consume(
        async (item) => {
          got.add(item);
          if (read(item) === 'poison') throw new Error('always fails');
          if (read(item) === 'bad-input') await item.term('payload cannot be parsed');
        },
        { concurrency: 2 },
      ),
    );
    await got.until((items) => items.filter((i) => read(i).startsWith('ok-')).length === 5 && items.filter((i) => read(i) === 'poison').length === 3);
    await eventually(async () => (await queue.depth()) === 0, 3000, 'queue empty');
    const dead = await queue.deadLetters();
    assert.deepEqual(
      dead.map((d) => [Buffer.from(d.data).toString(), d.type, d.attempts]).sort(),
      [
        ['bad-input', 'evaluate', 1],
        ['poison', 'evaluate', 3],
      ],
    );
    assert.match(dead.find((d) => Buffer.from(d.data).toString() === 'poison')!.reason, /failed 3 times; last error: always fails/);
    assert.equal(dead.find((d) => Buffer.from(d.data).toString() === 'bad-input')!.reason, 'payload cannot be parsed');
  });

  it('a message whose every attempt crashed is moved to the dead letters from the server advisory', async () => {
    const settings = options({ ackWaitMs: 300, maxDeliver: 2, backoffMs: [0] });
    const queue = await WorkQueue.open(nc!, settings);
    await queue.publish('backup', text('crasher'));
    const sweeper = queue.sweepDeadLetters();
    try {
      // Two workers take it and die. They pull one message each (`next`), leaving no open pull request behind:
      // nats-server 2.9 may hand a redelivery to a dead worker's open request, which would make the count vary.
      const childOptions = { server: server!.url, stream: settings.stream, subjectPrefix: settings.subjectPrefix, ackWaitMs: 300, maxDeliver: 2, pull: 'next' as const };
      for (const attempt of [1, 2]) {
        const { child, line } = await startClusterChild('take', childOptions);
        assert.deepEqual([line.data, line.attempt], ['crasher', attempt]);
        await killChild(child);
      }
      // The server notices the exhausted message (and sends the advisory) only when some worker asks for work.
      const got = collector();
      running.push(await queue.consume(async (item) => got.add(item)));
      await eventually(async () => (await queue.deadLetters()).length === 1 && (await queue.depth()) === 0, 5000, 'crasher dead-lettered');
      const [letter] = await queue.deadLetters();
      assert.equal(Buffer.from(letter.data).toString(), 'crasher');
      assert.match(letter.reason, /no worker finished it in 2 attempts/);
      assert.equal(got.seen.length, 0, 'never handed out a third time');
    } finally {
      sweeper.stop();
    }
  });

  it('a full queue refuses new messages with RESOURCE_EXHAUSTED; a repeated msgId is stored once', async () => {
    const queue = await WorkQueue.open(nc!, options({ maxMessages: 2 }));
    assert.equal((await queue.publish('custom', text('1'), { msgId: 'task-1' })).duplicate, false);
    assert.equal((await queue.publish('custom', text('1'), { msgId: 'task-1' })).duplicate, true);
    await queue.publish('custom', text('2'));
    await assertCode(queue.publish('custom', text('3')), 'RESOURCE_EXHAUSTED', queue.stream, 'retry');
    assert.equal(await queue.depth(), 2);
  });

  it('a killed and restarted server loses no queued message (file storage)', async () => {
    const queue = await WorkQueue.open(nc!, options());
    const count = 200;
    await Promise.all(Array.from({ length: count }, (_, i) => queue.publish('train', text(`m-${i}`))));
    await server!.stop('SIGKILL');
    await server!.start();
    await eventually(async () => (await queue.depth()) === count, 8000, `${count} messages back after the restart`);
    const got = collector();
    running.push(await queue.consume(async (item) => got.add(item), { concurrency: 8 }));
    await got.until((items) => new Set(items.map(read)).size === count);
    assert.deepEqual(new Set(got.seen.map((s) => read(s.item))), new Set(Array.from({ length: count }, (_, i) => `m-${i}`)));
  });
});
