// Allocation: a task fits a node by kind, labels and free CPU/memory; the least loaded fitting node wins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseNode, DEFAULT_RESOURCES, fits, loadOf, offerFor, type NodeLoad, type ResourceNeeds } from './index.js';

const node = (id: string, over: Partial<NodeLoad> = {}): NodeLoad => ({
  id,
  cpu: 8,
  memoryMb: 16_384,
  kinds: ['any'],
  labels: {},
  usedCpu: 0,
  usedMemoryMb: 0,
  ...over,
});
const needs = (over: Partial<ResourceNeeds> = {}): ResourceNeeds => ({ ...DEFAULT_RESOURCES, ...over });

test('fits checks kind, labels, free CPU and memory, and draining', () => {
  assert.equal(fits(needs({ kind: 'image' }), node('a', { kinds: ['text'] })), false);
  assert.equal(fits(needs({ kind: 'image' }), node('a', { kinds: ['text', 'image'] })), true);
  assert.equal(fits(needs({ kind: 'any' }), node('a', { kinds: ['text'] })), true);
  assert.equal(fits(needs({ labels: { gpu: 'a100' } }), node('a', { labels: { gpu: 't4' } })), false);
  assert.equal(fits(needs({ labels: { gpu: 'a100' } }), node('a', { labels: { gpu: 'a100', zone: 'b' } })), true);
  assert.equal(fits(needs({ cpu: 4 }), node('a', { usedCpu: 5 })), false);
  assert.equal(fits(needs({ memoryMb: 2048 }), node('a', { memoryMb: 4096, usedMemoryMb: 3000 })), false);
  assert.equal(fits(needs(), node('a', { draining: true })), false);
});

test('chooseNode picks the least loaded node that fits; none when nothing fits', () => {
  const nodes = [
    node('busy', { usedCpu: 6 }),
    node('small', { cpu: 2, usedCpu: 0, kinds: ['text'] }),
    node('half', { usedCpu: 4 }),
    node('mem-heavy', { usedCpu: 1, usedMemoryMb: 14_000 }),
  ];
  assert.equal(chooseNode(needs(), nodes)?.id, 'small');
  assert.equal(chooseNode(needs({ kind: 'image' }), nodes)?.id, 'half', 'memory load counts too');
  assert.equal(chooseNode(needs({ cpu: 3 }), nodes)?.id, 'half');
  assert.equal(chooseNode(needs({ cpu: 16 }), nodes), undefined);
  assert.equal(chooseNode(needs(), [node('b'), node('a')])?.id, 'a', 'ties break by id');
  assert.equal(loadOf(node('x', { usedCpu: 2, usedMemoryMb: 8192 })), 0.5);
});

test('offerFor turns a node and its load into what it can claim now', () => {
  const o = offerFor(node('w', { usedCpu: 3, usedMemoryMb: 1000, labels: { zone: 'a' } }), ['train']);
  assert.deepEqual(o, { node: 'w', cpu: 5, memoryMb: 15_384, kinds: ['any'], labels: { zone: 'a' }, types: ['train'], load: 3 / 8 });
});
