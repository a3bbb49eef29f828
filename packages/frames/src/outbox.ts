export interface FrameLimits {
  /** Messages per frame: bounds the work one frame hands the receiver. */
  readonly messagesMax: number;
  /**
   * Approximate payload bytes per frame (by the outbox's size function), kept under the
   * receiver's message size limit. A single larger message still goes, alone in its frame.
   */
  readonly bytesMax: number;
}

/**
 * Takes the next frame off the front of `queue`: as many messages as the limits allow, and
 * always at least one (a message larger than the byte budget travels alone).
 */
export function takeFrame<M>(queue: M[], limits: FrameLimits, sizeOf: (m: M) => number): M[] {
  let bytes = 0;
  let count = 0;
  while (count < queue.length && count < limits.messagesMax) {
    bytes += sizeOf(queue[count] as M);
    if (count > 0 && bytes > limits.bytesMax) break;
    count++;
  }
  return queue.splice(0, Math.max(count, 1));
}

/**
 * Messages waiting to be written, sent in frames on the next turn of the event loop
 * (setImmediate): whatever the current turn queues shares frames, so a burst of requests costs a
 * few stream writes instead of one each. Bounded by what the callers admit: each queued message
 * is a call in flight that the caller counts (PendingCalls) or a reply to one.
 */
export class FrameOutbox<M> {
  private readonly queue: M[] = [];
  private scheduled = false;

  constructor(
    private readonly limits: FrameLimits,
    private readonly sizeOf: (m: M) => number,
    /** Writes one frame; called only from flush(). */
    private readonly send: (messages: M[]) => void,
  ) {
    if (!(limits.messagesMax >= 1 && limits.bytesMax >= 1))
      throw new RangeError(`frame limits must be positive: ${JSON.stringify(limits)}`);
  }

  /** Queues a message; a flush runs on the next turn of the event loop. */
  push(message: M): void {
    this.queue.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Messages queued and not yet written. */
  get length(): number {
    return this.queue.length;
  }

  /** Drops the queued messages (the stream broke) and returns them, oldest first. */
  clear(): M[] {
    return this.queue.splice(0);
  }

  /** Writes every queued message now, frame by frame. */
  flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) this.send(takeFrame(this.queue, this.limits, this.sizeOf));
  }
}
