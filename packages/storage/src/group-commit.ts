import { StorageError } from './errors.js';

/** What one write did inside its batch: a failed outcome rejects only that write's promise. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

interface PendingWrite {
  /** Runs inside the batch's transaction. Throwing aborts the whole batch (a storage failure). */
  apply: () => Outcome<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export interface GroupCommitOptions {
  groupCommitMax: number;
  pendingWritesMax: number;
  /** Runs work as one transaction; throws when it did not commit (then nothing of it was kept). */
  transaction: (work: () => void) => void;
  /**
   * Called after each committed batch with the number of writes that succeeded in it, the
   * number of writes the batch held (its group size) and how long its transaction took.
   */
  onCommitted: (writes: number, batchWrites: number, durationMs: number) => void;
  /**
   * Called after a batch whose transaction did not commit, once its writes were rejected, with
   * the transaction's error and how many writes it rejected (a write that failed on its own keeps
   * its own error and is not counted). The queue goes on with the next batch.
   */
  onFailed: (error: unknown, writes: number) => void;
}

/**
 * Group commit: writes queued in the same tick run in one transaction on the next setImmediate,
 * groupCommitMax at a time (a longer queue takes one more turn of the event loop per batch, so
 * I/O interleaves). Each promise settles after its batch committed, or failed.
 */
export class GroupCommitQueue {
  private pending: PendingWrite[] = [];
  private scheduled = false;

  constructor(private readonly options: GroupCommitOptions) {}

  get queued(): number {
    return this.pending.length;
  }

  enqueue<T>(apply: () => Outcome<T>): Promise<T> {
    const { pendingWritesMax } = this.options;
    if (this.pending.length >= pendingWritesMax) {
      const message = `${this.pending.length} writes already queued for commit (pendingWritesMax ${pendingWritesMax})`;
      return Promise.reject(new StorageError('overloaded', message));
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ apply, resolve: resolve as (value: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Commits everything queued now, batch after batch (close uses it). */
  drain(): void {
    const batchesMax = Math.ceil(this.pending.length / this.options.groupCommitMax);
    for (let batch = 0; batch < batchesMax && this.pending.length > 0; batch++) this.commitNext();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.commitNext();
      if (this.pending.length > 0) this.schedule();
    });
  }

  private takeBatch(): PendingWrite[] {
    const { groupCommitMax } = this.options;
    if (this.pending.length <= groupCommitMax) {
      const batch = this.pending;
      this.pending = [];
      return batch;
    }
    return this.pending.splice(0, groupCommitMax);
  }

  private commitNext(): void {
    const batch = this.takeBatch();
    if (batch.length === 0) return;
    const outcomes: Outcome<unknown>[] = [];
    const startedMs = performance.now();
    try {
      this.options.transaction(() => {
        outcomes.length = 0;
        for (const write of batch) outcomes.push(write.apply());
      });
    } catch (error) {
      let refused = 0;
      batch.forEach((write, index) => {
        const outcome = outcomes[index];
        if (outcome !== undefined && !outcome.ok) {
          write.reject(outcome.error);
        } else {
          refused++;
          write.reject(error);
        }
      });
      this.options.onFailed(error, refused);
      return;
    }
    const durationMs = performance.now() - startedMs;
    this.options.onCommitted(
      outcomes.filter((outcome) => outcome.ok).length,
      batch.length,
      durationMs,
    );
    batch.forEach((write, index) => {
      const outcome = outcomes[index]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(outcome.error);
    });
  }
}
