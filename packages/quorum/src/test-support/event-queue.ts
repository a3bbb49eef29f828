/** The most events one simulated request may process; a runaway loop fails loudly instead. */
export const simEventsMax = 10_000;

interface Scheduled<E> {
  readonly atMs: number;
  readonly seq: number;
  readonly event: E;
}

/**
 * A fake clock and its pending deliveries. Events come out in (time, insertion) order, so random
 * delays reorder messages while one seed always gives one order.
 */
export class EventQueue<E> {
  private items: Scheduled<E>[] = [];
  private seq = 0;
  nowMs = 0;

  push(afterMs: number, event: E): void {
    this.items.push({ atMs: this.nowMs + afterMs, seq: this.seq, event });
    this.seq += 1;
  }

  /** The next event, advancing the clock to its time; undefined when nothing is pending. */
  pop(): E | undefined {
    if (this.items.length === 0) return undefined;
    let best = 0;
    for (let i = 1; i < this.items.length; i += 1) {
      const a = this.items[i]!;
      const b = this.items[best]!;
      if (a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq)) best = i;
    }
    const [next] = this.items.splice(best, 1);
    this.nowMs = next!.atMs;
    return next!.event;
  }
}
