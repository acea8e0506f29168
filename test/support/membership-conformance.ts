// The one conformance suite for `Membership`: every backend's test file calls `runMembershipConformance` with a way
// to open memberships on one shared store (several `open()`s play several processes), so the in-process and NATS
// backends are held to the same joins, heartbeats, expiry, drain, leave and watch behaviour. Timing is shrunk
// (heartbeat 100 ms, late after 300 ms, gone after 1 s) so expiry is tested in real time, quickly; waits are on
// events, and sleeps only where the point is that time passes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAimassError, type ErrorCode } from '../../src/core/index.js';
import type { Membership, MembershipEvent, MembershipTiming, MembershipWatch, NodeSpec } from '../../src/cluster/index.js';

export const TEST_TIMING: MembershipTiming = { heartbeatIntervalMs: 100, lateAfterMs: 300, ttlMs: 1000 };

export interface MembershipHarness {
  /** A membership on the harness's shared store, as another process would open it. */
  open(timing?: Partial<MembershipTiming>): Membership;
  /** Closes what `open` made and removes the store. */
  cleanup(): Promise<void>;
}

export interface MembershipConformanceOptions {
  /** Why the backing service cannot be used; the suite then fails under CI and skips otherwise. */
  unavailable?: string;
}

/** Collects a watch's events; `until` resolves with the first matching one, past or future. */
export class EventLog {
  readonly events: MembershipEvent[] = [];
  private waiters: { match: (e: MembershipEvent) => boolean; resolve: (e: MembershipEvent) => void }[] = [];
  readonly listener = (event: MembershipEvent): void => {
    this.events.push(event);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(event)) return true;
      w.resolve(event);
      return false;
    });
  };

  until(match: (e: MembershipEvent) => boolean, timeoutMs = 5000, what = 'a matching membership event'): Promise<MembershipEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no ${what} within ${timeoutMs} ms; saw ${JSON.stringify(this.events.map((e) => [e.type, e.node.id, e.node.state, e.node.health]))}`));
      }, timeoutMs);
      this.waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }
}

/** Polls `check` until it returns true; for state that changes without an event (a server dropping a record). */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await sleep(50);
  }
}

export async function assertCode(promise: Promise<unknown>, code: ErrorCode, ...mentions: string[]): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(isAimassError(e), `expected an AimassError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const text of mentions) assert.ok(e.message.includes(text), `"${e.message}" should mention "${text}"`);
    return true;
  });
}

let counter = 0;
/** A node id unique to this test run, so tests sharing a store never see each other's nodes by accident. */
export function uniqueNodeId(label: string): string {
  return `${label}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

export function spec(id: string, extra: Partial<NodeSpec['capabilities']> = {}): NodeSpec {
  return { id, host: 'test-host', pid: 4242, version: '9.9.9', capabilities: { cpuThreads: 8, memoryMb: 16_000, kinds: ['text'], labels: { zone: 'a' }, ...extra } };
}

export function runMembershipConformance(name: string, makeHarness: () => Promise<MembershipHarness>, options: MembershipConformanceOptions = {}): void {
  describe(`${name} membership (conformance)`, () => {
    if (options.unavailable !== undefined) {
      const reason = options.unavailable;
      it('needs its service', (t) => {
        if (process.env.CI) assert.fail(`${reason} (CI is set, so this is a failure rather than a skip)`);
        t.skip(reason);
      });
      return;
    }

    let harness: MembershipHarness;
    let observer: Membership;
    let watch: MembershipWatch;
    const log = new EventLog();
    before(async () => {
      harness = await makeHarness();
      observer = harness.open(TEST_TIMING);
      watch = await observer.watch(log.listener);
    });
    after(async () => {
      await watch?.close();
      await harness?.cleanup();
    });

    it('join publishes the full record; list and get show it alive and active', async () => {
      const members = harness.open(TEST_TIMING);
      const id = uniqueNodeId('join');
      const node = await members.join(spec(id));
      assert.equal(node.id, id);
      assert.equal(node.state, 'active');
      const listed = (await observer.list()).find((n) => n.id === id);
      assert.ok(listed, `list() shows ${id}`);
      assert.deepEqual(
        { ...listed, startedAt: undefined, heartbeatAt: undefined, heartbeatAgeMs: undefined },
        {
          id,
          host: 'test-host',
          pid: 4242,
          version: '9.9.9',
          capabilities: { cpuThreads: 8, memoryMb: 16_000, kinds: ['text'], labels: { zone: 'a' } },
          load: { runningTasks: 0, freeCpuThreads: 8, freeMemoryMb: 16_000 },
          state: 'active',
          health: 'alive',
          startedAt: undefined,
          heartbeatAt: undefined,
          heartbeatAgeMs: undefined,
        },
      );
      assert.ok(!Number.isNaN(Date.parse(listed.startedAt)));
      assert.ok(listed.heartbeatAgeMs >= 0 && listed.heartbeatAgeMs <= TEST_TIMING.lateAfterMs, `age ${listed.heartbeatAgeMs}`);
      const got = await observer.get(id);
      assert.deepEqual({ ...got, heartbeatAt: '', heartbeatAgeMs: 0 }, { ...listed, heartbeatAt: '', heartbeatAgeMs: 0 });
      await log.until((e) => e.type === 'joined' && e.node.id === id, 2000, `joined event for ${id}`);
      await node.leave();
    });

    it('heartbeats keep a node alive well past its TTL, with a fresh heartbeatAt', async () => {
      const members = harness.open(TEST_TIMING);
      const id = uniqueNodeId('beat');
      const node = await members.join(spec(id));
      const first = (await observer.get(id))!.heartbeatAt;
      // The point is that time passes: 1.5 TTLs without a single event.
      await sleep(TEST_TIMING.ttlMs * 1.5);
      const later = await observer.get(id);
      assert.ok(later, `${id} still a member after 1.5 TTLs`);
      assert.equal(later.health, 'alive', `age ${later.heartbeatAgeMs} ms`);
      assert.ok(Date.parse(later.heartbeatAt) > Date.parse(first), `${later.heartbeatAt} after ${first}`);
      assert.ok(!log.events.some((e) => e.node.id === id && (e.type === 'health' || e.type === 'left')), 'never late, never left');
      await node.leave();
    });

    it('report() publishes the load at once; watchers get an update', async () => {
      const members = harness.open(TEST_TIMING);
      const id = uniqueNodeId('load');
      const node = await members.join(spec(id));
      await node.report({ runningTasks: 3, freeCpuThreads: 2, freeMemoryMb: 1000 });
      const event = await log.until((e) => e.type === 'updated' && e.node.id === id, 2000, `update of ${id}`);
      assert.deepEqual(event.node.load, { runningTasks: 3, freeCpuThreads: 2, freeMemoryMb: 1000 });
      assert.equal(event.type === 'updated' && event.previous.load.runningTasks, 0);
      assert.deepEqual((await observer.get(id))?.load, { runningTasks: 3, freeCpuThreads: 2, freeMemoryMb: 1000 });
      await assertCode(node.report({ runningTasks: -1, freeCpuThreads: 0, freeMemoryMb: 0 }), 'INVALID_ARGUMENT', id);
      await node.leave();
    });

    it('a node that stops heartbeating turns late, then gone, and vanishes after its TTL', async () => {
      const members = harness.open(TEST_TIMING);
      const id = uniqueNodeId('crash');
      const node = await members.join(spec(id));
      await log.until((e) => e.type === 'joined' && e.node.id === id, 2000, `joined ${id}`);
      const stoppedAt = Date.now();
      node.detach();
      await log.until((e) => e.type === 'health' && e.node.id === id && e.node.health === 'late', 2000, `${id} late`);
      const left = await log.until((e) => e.type === 'left' && e.node.id === id, 3000, `${id} gone`);
      assert.equal(left.node.health, 'gone');
      const elapsed = Date.now() - stoppedAt;
      assert.ok(elapsed >= TEST_TIMING.ttlMs - TEST_TIMING.heartbeatIntervalMs, `gone after ${elapsed} ms, TTL ${TEST_TIMING.ttlMs}`);
      await eventually(async () => (await observer.get(id)) === null && !(await observer.list()).some((n) => n.id === id), 3000, `${id} removed from the store`);
      assert.ok(!watch.members().some((n) => n.id === id));
    });

    it('leave announces leaving and removes the node at once', async () => {
      const members = harness.open(TEST_TIMING);
      const id = uniqueNodeId('leave');
      const node = await members.join(spec(id));
      await log.until((e) => e.type === 'joined' && e.node.id === id, 2000, `joined ${id}`);
      const started = Date.now();
      await node.leave();
      assert.equal(node.state, 'leaving');
      const left = await log.until((e) => e.type === 'left' && e.node.id === id, 2000, `${id} left`);
      assert.ok(Date.now() - started < TEST_TIMING.ttlMs / 2, 'left long before the TTL');
      assert.equal(left.node.health, 'alive');
      assert.equal(await observer.get(id), null);
      assert.ok(!(await observer.list()).some((n) => n.id === id));
      // The id is free again.
      const again = await members.join(spec(id));
      await again.leave();
    });

    it('drain is seen by the node, which publishes draining and keeps heartbeating', async () => {
      const members = harness.open(TEST_TIMING);
      const id = uniqueNodeId('drain');
      const other = uniqueNodeId('drain-other');
      const node = await members.join(spec(id));
      const bystander = await members.join(spec(other));
      const states: string[] = [];
      node.onStateChange((s) => states.push(s));
      await observer.drain(id);
      await node.drainRequested;
      assert.equal(node.state, 'draining');
      assert.deepEqual(states, ['draining']);
      await log.until((e) => e.type === 'updated' && e.node.id === id && e.node.state === 'draining', 2000, `${id} draining`);
      assert.equal((await observer.get(id))?.state, 'draining');
      assert.equal(bystander.state, 'active');
      // Draining is not dying: the node stays alive and draining through more than a TTL of heartbeats.
      await sleep(TEST_TIMING.ttlMs * 1.2);
      const view = await observer.get(id);
      assert.equal(view?.health, 'alive');
      assert.equal(view?.state, 'draining');
      await node.leave();
      await bystander.leave();
      // A fresh join with the same id starts active: the old flag went with the old node.
      const fresh = await members.join(spec(id));
      assert.equal(fresh.state, 'active');
      await sleep(TEST_TIMING.heartbeatIntervalMs * 3);
      assert.equal(fresh.state, 'active');
      await fresh.leave();
    });

    it('drain of an unknown node is NOT_FOUND', async () => {
      await assertCode(observer.drain('no-such-node'), 'NOT_FOUND', 'no-such-node');
    });

    it('a second live node with the same id is refused; invalid specs are INVALID_ARGUMENT', async () => {
      const members = harness.open(TEST_TIMING);
      const id = uniqueNodeId('dup');
      const node = await members.join(spec(id));
      await assertCode(harness.open(TEST_TIMING).join(spec(id)), 'ALREADY_EXISTS', id);
      await assertCode(members.join(spec('has.dot')), 'INVALID_ARGUMENT', 'has.dot');
      await assertCode(members.join(spec(uniqueNodeId('zero'), { cpuThreads: 0 })), 'INVALID_ARGUMENT', 'cpuThreads');
      await assertCode(members.join(spec(uniqueNodeId('kind'), { kinds: ['gpu' as 'any'] })), 'INVALID_ARGUMENT', 'kinds');
      await node.leave();
    });

    it('watch starts with joined events for current members, sorted members(), and stops on close', async () => {
      const members = harness.open(TEST_TIMING);
      const ids = [uniqueNodeId('w-b'), uniqueNodeId('w-a')];
      const nodes = await Promise.all(ids.map((id) => members.join(spec(id))));
      const late = new EventLog();
      const second = await harness.open(TEST_TIMING).watch(late.listener);
      for (const id of ids) assert.ok(late.events.some((e) => e.type === 'joined' && e.node.id === id), `initial joined for ${id}`);
      const listed = second.members().map((n) => n.id).filter((id) => ids.includes(id));
      assert.deepEqual(listed, [...ids].sort());
      const all = (await observer.list()).map((n) => n.id);
      assert.deepEqual(all, [...all].sort(), 'list() is sorted by id');
      await second.close();
      const count = late.events.length;
      await nodes[0].leave();
      await log.until((e) => e.type === 'left' && e.node.id === ids[0], 2000, `${ids[0]} left`);
      assert.equal(late.events.length, count, 'a closed watch gets no more events');
      await nodes[1].leave();
    });

    it('close() leaves the nodes joined through it', async () => {
      const members = harness.open(TEST_TIMING);
      const id = uniqueNodeId('close');
      await members.join(spec(id));
      await members.close();
      await log.until((e) => e.type === 'left' && e.node.id === id, 2000, `${id} left on close`);
      assert.equal(await observer.get(id), null);
    });

    it('a TTL different from the store\'s is a CONFLICT; without one, the store\'s TTL is adopted', async () => {
      await assertCode(harness.open({ ...TEST_TIMING, ttlMs: TEST_TIMING.ttlMs * 3, lateAfterMs: 300 }).list(), 'CONFLICT', String(TEST_TIMING.ttlMs));
      const adopting = harness.open({ heartbeatIntervalMs: 100 });
      assert.equal((await adopting.timing()).ttlMs, TEST_TIMING.ttlMs);
    });
  });
}
