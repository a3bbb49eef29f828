/** How a call's deadline passed: its timer fired `lateMs` after it was due. */
export interface Expiry {
  /**
   * A timer firing long after it was due says the caller's own event loop was stalled (the reply
   * may have been waiting to be read): not evidence against the other side.
   */
  readonly lateMs: number;
}

interface Call<R> {
  resolve(reply: R): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Calls in flight on one stream, by id: each gets a fresh id and its own deadline timer, and is
 * settled by its reply, by its timer, or by the stream breaking (failAll). A reply for an id
 * that is no longer here (late, after its deadline) is ignored. At most `max` calls at once:
 * beyond, add() throws and the caller refuses the call.
 */
export class PendingCalls<R> {
  private readonly calls = new Map<bigint, Call<R>>();
  private nextId = 1n;

  constructor(readonly max: number) {
    if (!(Number.isSafeInteger(max) && max >= 1))
      throw new RangeError(`calls in flight must be a positive integer, got ${max}`);
  }

  get size(): number {
    return this.calls.size;
  }

  /** Room for another call. */
  get full(): boolean {
    return this.calls.size >= this.max;
  }

  /**
   * A new call: its id (to send with the request) and its reply, which rejects with
   * `expired(...)` when no reply came within `timeoutMs`.
   */
  add(timeoutMs: number, expired: (e: Expiry) => Error): { id: bigint; reply: Promise<R> } {
    if (this.full) throw new RangeError(`${this.calls.size} calls in flight (at most ${this.max})`);
    const id = this.nextId++;
    const reply = new Promise<R>((resolve, reject) => {
      const dueMs = performance.now() + timeoutMs;
      const timer = setTimeout(() => {
        if (this.calls.get(id)?.timer !== timer) return;
        this.calls.delete(id);
        reject(expired({ lateMs: performance.now() - dueMs }));
      }, timeoutMs);
      this.calls.set(id, { resolve, reject, timer });
    });
    return { id, reply };
  }

  /** Delivers a reply; false when the call is unknown (answered, expired, failed, never made). */
  settle(id: bigint, reply: R): boolean {
    const call = this.take(id);
    call?.resolve(reply);
    return call !== undefined;
  }

  /** Fails one call; false when it is unknown. */
  fail(id: bigint, error: Error): boolean {
    const call = this.take(id);
    call?.reject(error);
    return call !== undefined;
  }

  /** Fails every call in flight (the stream broke), with the error `errorOf` gives for its id. */
  failAll(errorOf: (id: bigint) => Error): number {
    const calls = [...this.calls];
    this.calls.clear();
    for (const [id, call] of calls) {
      clearTimeout(call.timer);
      call.reject(errorOf(id));
    }
    return calls.length;
  }

  private take(id: bigint): Call<R> | undefined {
    const call = this.calls.get(id);
    if (call === undefined) return undefined;
    this.calls.delete(id);
    clearTimeout(call.timer);
    return call;
  }
}
