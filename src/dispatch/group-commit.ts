// Group commit: calls that arrive while a write is in flight wait and go together in the next write, one
// transaction for all of them. A lone call is written at once (no timer, no added delay); under load the batches
// grow by themselves to what arrives during one write, so the cost per call falls as the rate rises.
//
// Each call gets its own outcome: `flush` answers one value or one Error per item, in order; an error thrown by
// `flush` itself (the database is down) fails every item of that batch.

export class GroupCommit<In, Out> {
  private queue: { item: In; resolve(value: Out): void; reject(error: unknown): void }[] = [];
  private inFlight = 0;

  /**
   * @param flush     writes a batch; answers per item, in order
   * @param maxBatch  items per write at most
   * @param parallel  writes in flight at once (a second one overlaps the first's round trips)
   */
  constructor(
    private readonly flush: (items: In[]) => Promise<(Out | Error)[]>,
    private readonly maxBatch = 256,
    private readonly parallel = 1,
  ) {}

  run(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.inFlight < this.parallel) {
        // Calls made in the same tick join this batch.
        this.inFlight++;
        queueMicrotask(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const out = await this.flush(batch.map((b) => b.item));
          batch.forEach((b, i) => (out[i] instanceof Error ? b.reject(out[i]) : b.resolve(out[i] as Out)));
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.inFlight--;
    }
  }
}
