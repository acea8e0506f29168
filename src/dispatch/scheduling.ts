// Allocation, as pure functions: does a task fit a node (declared capabilities and what is free now), how
// loaded is a node, and which fitting node is the least loaded. The embedded broker uses the load to decide
// which waiting worker looks first; the cluster will use chooseNode over the membership table.
import type { ClaimOffer } from './task-store.js';
import type { ResourceNeeds, TaskKind } from './task.js';

/** What a node declares when it joins. */
export interface NodeCapacity {
  id: string;
  cpu: number;
  memoryMb: number;
  /** Kinds of task it runs; ["any"] for all. */
  kinds: readonly TaskKind[];
  labels: Readonly<Record<string, string>>;
}

/** A node and what its running tasks use. */
export interface NodeLoad extends NodeCapacity {
  usedCpu: number;
  usedMemoryMb: number;
  /** A draining node takes no new work. */
  draining?: boolean;
}

export function kindFits(kind: TaskKind, kinds: readonly TaskKind[]): boolean {
  return kind === 'any' || kinds.includes('any') || kinds.includes(kind);
}

/** Whether `needs` fits `node` now: its kind and labels, and the CPU and memory still free. */
export function fits(needs: ResourceNeeds, node: NodeLoad): boolean {
  return (
    !node.draining &&
    kindFits(needs.kind, node.kinds) &&
    Object.entries(needs.labels).every(([k, v]) => node.labels[k] === v) &&
    needs.cpu <= node.cpu - node.usedCpu &&
    needs.memoryMb <= node.memoryMb - node.usedMemoryMb
  );
}

/** The busier of CPU and memory, as a fraction of capacity (0 idle, 1 full). */
export function loadOf(node: NodeLoad): number {
  return Math.max(node.usedCpu / Math.max(1, node.cpu), node.usedMemoryMb / Math.max(1, node.memoryMb));
}

/** The least loaded node that fits (ties: fewer used CPUs, then id), or undefined when none does. */
export function chooseNode<N extends NodeLoad>(needs: ResourceNeeds, nodes: readonly N[]): N | undefined {
  let best: N | undefined;
  for (const node of nodes) {
    if (!fits(needs, node)) continue;
    if (
      !best ||
      loadOf(node) < loadOf(best) ||
      (loadOf(node) === loadOf(best) && (node.usedCpu < best.usedCpu || (node.usedCpu === best.usedCpu && node.id < best.id)))
    ) {
      best = node;
    }
  }
  return best;
}

/** What a node can claim now, from its capacity and load. */
export function offerFor(node: NodeLoad, types?: readonly string[]): ClaimOffer & { load: number } {
  return {
    node: node.id,
    cpu: node.cpu - node.usedCpu,
    memoryMb: node.memoryMb - node.usedMemoryMb,
    kinds: node.kinds,
    labels: node.labels,
    ...(types ? { types } : {}),
    load: loadOf(node),
  };
}
