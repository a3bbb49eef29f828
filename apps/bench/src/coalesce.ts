// `--batch N`: the harness's workers still issue one operation each, but the driver gathers the
// operations started in the same event-loop turn (at most N, and at most the node's batch limits)
// into one BatchGet or BatchPut call, the way an application that reads or writes many keys at
// once would. Latency stays per operation: each one waits for its batch's answer. A key already
// in the batch being gathered starts a new batch (a batch may not repeat a key).
import type { BatchWriteItem, Driver } from './harness.js';

/** The node's limits (KV.BatchGet takes 100 keys, KV.BatchPut 25 writes). */
export const readBatchMax = 100;
export const writeBatchMax = 25;

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

/** One batch being gathered: its items, their keys (to refuse a repeat), who waits for each. */
class Gathering<T> {
  readonly items: T[] = [];
  readonly waiters: Waiter[] = [];
  readonly keys = new Set<string>();
}

/**
 * Gathers items into batches of at most `max`, sent by `send` on the next turn of the event
 * loop (or at once when full); `send` resolves with each item's error or undefined, in order.
 */
class Batcher<T> {
  private current = new Gathering<T>();
  private scheduled = false;

  constructor(
    private readonly max: number,
    private readonly keyOf: (item: T) => string,
    private readonly send: (items: T[]) => Promise<(Error | undefined)[]>,
  ) {}

  add(item: T): Promise<void> {
    const key = this.keyOf(item);
    if (this.current.keys.has(key)) this.flush();
    return new Promise<void>((resolve, reject) => {
      const g = this.current;
      g.items.push(item);
      g.waiters.push({ resolve, reject });
      g.keys.add(key);
      if (g.items.length >= this.max) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    const g = this.current;
    if (g.items.length === 0) return;
    this.current = new Gathering<T>();
    this.send(g.items).then(
      (outcomes) =>
        g.waiters.forEach((w, i) => {
          const e = outcomes[i];
          if (e === undefined) w.resolve();
          else w.reject(e);
        }),
      (e: unknown) => {
        const error = e instanceof Error ? e : new Error(String(e));
        for (const w of g.waiters) w.reject(error);
      },
    );
  }
}

/**
 * The driver with its reads and writes gathered into batches of at most `batch` (and the node's
 * limits). The inner driver must have readMany and writeMany.
 */
export function coalescingDriver(inner: Driver, batch: number): Driver {
  if (inner.readMany === undefined || inner.writeMany === undefined)
    throw new Error('this target has no batch calls: run it without --batch');
  const readMany = (keys: Buffer[]) => inner.readMany!(keys);
  const writeMany = (items: BatchWriteItem[]) => inner.writeMany!(items);
  const keyOf = (key: Buffer): string => key.toString('latin1');
  const reads = new Batcher<Buffer>(Math.min(batch, readBatchMax), keyOf, readMany);
  const writes = new Batcher<BatchWriteItem>(
    Math.min(batch, writeBatchMax),
    (item) => keyOf(item.key),
    writeMany,
  );
  return {
    read: (key) => reads.add(key),
    update: (key, value) => writes.add({ key, value, insert: false }),
    insert: (key, value) => writes.add({ key, value, insert: true }),
    close: () => inner.close(),
  };
}
