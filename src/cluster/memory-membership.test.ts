// The in-process membership (the embedded default) against the membership conformance suite, plus what is
// particular to it: `memory:` names share one table per process, and the scheme registry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runMembershipConformance, spec, TEST_TIMING, uniqueNodeId } from '../../test/support/membership-conformance.js';
import { openMembership, type Membership } from './index.js';

let suite = 0;
runMembershipConformance('memory:', async () => {
  const name = `conformance-${process.pid}-${suite++}`;
  const opened: Membership[] = [];
  return {
    open: (timing) => {
      const membership = openMembership(`memory:${name}`, { timing });
      opened.push(membership);
      return membership;
    },
    cleanup: async () => {
      await Promise.all(opened.map((m) => m.close()));
    },
  };
});

describe('memory: specifics', () => {
  it('memberships opened with the same name share nodes; other names do not', async () => {
    const a = openMembership('memory:shared-x', { timing: TEST_TIMING });
    const b = openMembership('memory:shared-x', { timing: TEST_TIMING });
    const c = openMembership('memory:shared-y', { timing: TEST_TIMING });
    const id = uniqueNodeId('shared');
    await a.join(spec(id));
    assert.deepEqual((await b.list()).map((n) => n.id), [id]);
    assert.deepEqual(await c.list(), []);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('memory: alone is the default table; an unknown scheme lists the known ones', async () => {
    assert.equal(openMembership('memory:').uri, 'memory:default');
    assert.throws(() => openMembership('redis://x'), (e: Error & { code?: string }) => e.code === 'UNKNOWN_SCHEME' && /memory:.*nats:/.test(e.message));
  });
});
