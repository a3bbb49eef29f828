/** First retry waits up to this long; each later one up to twice as long as the one before. */
export const backoffBaseMs = 10;
/** No retry waits longer than this, whatever the attempt. */
export const backoffCapMs = 200;

/**
 * "Full jitter" backoff before retry number `retry` (1 for the first retry): uniform in
 * [0, min(cap, base * 2^(retry-1))], and never past the remaining deadline. `random` returns [0, 1).
 */
export function backoffMs(retry: number, remainingMs: number, random: () => number): number {
  const ceilingMs = Math.min(backoffCapMs, backoffBaseMs * 2 ** Math.max(0, retry - 1));
  return Math.max(0, Math.min(remainingMs, Math.floor(random() * ceilingMs)));
}

/** Timers the client can cancel all at once on close, so none outlives it. */
export class Sleeper {
  private readonly pending = new Map<NodeJS.Timeout, () => void>();

  /** Resolves after `ms`, or at once when the sleeper is cancelled. */
  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(timer);
        resolve();
      }, ms);
      this.pending.set(timer, resolve);
    });
  }

  cancelAll(): void {
    for (const [timer, resolve] of this.pending) {
      clearTimeout(timer);
      resolve();
    }
    this.pending.clear();
  }
}
