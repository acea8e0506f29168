// What every TaskBroker over a TaskStore has in common, written once: the reads that go straight to the store
// (get, list, counts), task events for `watch`, and the events a claim batch or a failure stands for. The
// embedded and JetStream brokers extend it and add how claimers wait and how task ids travel.
import { EventEmitter } from 'node:events';
import type { TaskEvent } from './broker.js';
import type { ClaimBatch, TaskCounts, TaskFilter, TaskStore } from './task-store.js';
import type { TaskRecord } from './task.js';

export abstract class StoreBackedBroker {
  private readonly events = new EventEmitter();

  constructor(readonly store: TaskStore) {
    this.events.setMaxListeners(0);
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    return this.store.get(taskId);
  }

  list(filter?: TaskFilter): Promise<TaskRecord[]> {
    return this.store.list(filter);
  }

  counts(): Promise<TaskCounts> {
    return this.store.counts();
  }

  watch(listener: (event: TaskEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  protected emit(kind: TaskEvent['kind'], task: TaskRecord, attempt = task.attempts): void {
    const event: TaskEvent = { kind, taskId: task.id, type: task.type, state: task.state, attempt };
    if (task.node) event.node = task.node;
    this.events.emit('event', event);
  }

  /** The event of a failed attempt: queued again (retrying), out of attempts (dead) or failed for good. */
  protected emitFailure(task: TaskRecord, attempt: number): void {
    this.emit(task.state === 'queued' ? 'retrying' : task.state === 'dead' ? 'dead' : 'failed', task, attempt);
  }

  /** The events of one claim: tasks whose lease ran out (requeued or ended) and the tasks claimed. */
  protected emitClaimBatch(result: ClaimBatch): void {
    for (const task of result.requeued) this.emit('requeued', task);
    for (const task of result.ended) this.emit(task.state === 'dead' ? 'dead' : 'failed', task);
    for (const c of result.claimed) this.emit('claimed', c.task);
  }
}
