/**
 * When a get that read R replicas should read the others too (Cassandra's speculative retry at
 * its "99p"; here the p95): the 95th percentile of this node's recent remote replica reads,
 * over a bounded window, recomputed every few samples (a sort of at most windowSize numbers).
 */

/** Recent remote read latencies kept: enough for a stable p95, bounded memory. */
export const windowSize = 512;
/** The p95 is recomputed after this many new samples. */
export const recomputeEvery = 64;
/** Before this many samples, the hedge waits defaultHedgeMs. */
export const samplesMin = 32;
/** The hedge delay while too few reads were seen (a node's first requests after start). */
export const defaultHedgeMs = 20;
/** Shortest hedge delay: below it, timer granularity makes every read a hedge. */
export const hedgeFloorMs = 2;
/** Longest hedge delay: a replica this slow is as good as missing for a read. */
export const hedgeCeilingMs = 500;
/** The percentile of replica reads after which the others are read. */
export const hedgePercentile = 0.95;

export class ReadLatency {
  readonly #samples = new Float64Array(windowSize);
  #count = 0;
  #sinceRecompute = 0;
  #hedgeMs = defaultHedgeMs;

  /** One remote replica read that answered, in milliseconds. */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#samples[this.#count % windowSize] = ms;
    this.#count += 1;
    this.#sinceRecompute += 1;
    if (this.#count >= samplesMin && this.#sinceRecompute >= recomputeEvery) this.#recompute();
  }

  /** The delay after which a get reads its remaining replicas. */
  hedgeAfterMs(): number {
    return this.#hedgeMs;
  }

  #recompute(): void {
    this.#sinceRecompute = 0;
    const n = Math.min(this.#count, windowSize);
    const sorted = this.#samples.slice(0, n).sort();
    const p = sorted[Math.min(n - 1, Math.floor(hedgePercentile * n))] ?? defaultHedgeMs;
    this.#hedgeMs = Math.min(hedgeCeilingMs, Math.max(hedgeFloorMs, Math.ceil(p)));
  }
}
