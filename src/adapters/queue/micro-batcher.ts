// Coalesces calls made in the same turn of the event loop into batch requests of at most
// `max` items (SQS's *Batch APIs take 10): with many jobs in flight, acks and visibility
// changes cost one request per ten messages instead of one each.
export type BatchOutcome = Error | null;

export class MicroBatcher<I> {
  private pending: Array<{ item: I; resolve: () => void; reject: (err: Error) => void }> = [];
  private scheduled = false;

  constructor(
    private readonly send: (items: I[]) => Promise<BatchOutcome[]>,
    private readonly max = 10,
  ) {}

  add(item: I): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.max) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.max);
      this.send(batch.map((b) => b.item)).then(
        (outcomes) => batch.forEach((b, i) => {
          const err = outcomes[i];
          if (err) b.reject(err);
          else b.resolve();
        }),
        (err: unknown) => batch.forEach((b) => b.reject(err instanceof Error ? err : new Error(String(err)))),
      );
    }
  }
}
