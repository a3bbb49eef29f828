/** Longest single wait for tokens: a take never sleeps longer than this per call. */
export const tokenWaitMaxMs = 10_000;

/**
 * Objects per second for anti-entropy repairs, so an exchange that finds many differences cannot
 * starve client traffic. Holds at most one second of tokens (the burst).
 */
export class TokenBucket {
  private tokens: number;
  private refilledAtMs: number;

  constructor(private readonly ratePerSecond: number) {
    this.tokens = ratePerSecond;
    this.refilledAtMs = Date.now();
  }

  /** Resolves once n tokens were taken (waiting for the refill, at most tokenWaitMaxMs per call). */
  async take(n: number): Promise<void> {
    this.refill();
    if (this.tokens < n) {
      const waitMs = Math.min(
        tokenWaitMaxMs,
        Math.ceil(((n - this.tokens) * 1000) / this.ratePerSecond),
      );
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      this.refill();
    }
    this.tokens -= n;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(
      this.ratePerSecond,
      this.tokens + ((now - this.refilledAtMs) * this.ratePerSecond) / 1000,
    );
    this.refilledAtMs = now;
  }
}
