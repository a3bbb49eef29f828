/** First retry waits up to this long; each later one up to twice as long as the one before. */
export const backoffBaseMs = 10;
/** No retry waits longer than this, whatever the attempt. */
export const backoffCapMs = 200;

/**
 * "Full jitter" backoff before retry number `retry` (1 for the first retry): uniform in
 * [0, min(cap, base * 2^(retry-1))], and never past the remaining deadline. `random` returns [0, 1).
 */
export function backoffMs(retry: number, remainingMs: number, random: () => number): number {
  return Math.max(0, Math.min(remainingMs, Math.floor(random() * ceilingMs(retry))));
}

/**
 * The least time a retry after an overload refusal must have left once it has waited: less, and
 * it would likely time out, turning a clean "not applied" refusal into a write that may have
 * been applied. The operation fails with the refusal instead.
 */
export const overloadAttemptMsMin = 20;
/**
 * Jitter after an overload refusal goes up to this fraction of the node's `retry-after-ms` (when
 * that is more than the usual backoff), so callers refused together do not all come back at once.
 */
export const overloadJitterRatio = 0.25;

/**
 * The wait before retry number `retry` after a node refused as overloaded, asking for
 * `retryAfterMs` (0 when it did not say): at least that, plus jitter uniform in
 * [0, max(backoff ceiling, retryAfterMs * overloadJitterRatio)], the jitter cut to what the
 * deadline leaves. Undefined when even `retryAfterMs` would leave the retry less than
 * `overloadAttemptMsMin`: the operation should fail now.
 */
export function overloadWaitMs(
  retry: number,
  retryAfterMs: number,
  remainingMs: number,
  random: () => number,
): number | undefined {
  const spareMs = remainingMs - retryAfterMs - overloadAttemptMsMin;
  if (spareMs < 0) return undefined;
  const jitterCeilingMs = Math.max(ceilingMs(retry), retryAfterMs * overloadJitterRatio);
  return retryAfterMs + Math.min(spareMs, Math.floor(random() * jitterCeilingMs));
}

function ceilingMs(retry: number): number {
  return Math.min(backoffCapMs, backoffBaseMs * 2 ** Math.max(0, retry - 1));
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
