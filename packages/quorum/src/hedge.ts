/**
 * When a read should also be sent elsewhere (Cassandra's speculative retry, "The Tail at Scale"'s
 * hedged requests): after about the p95 of recent answers, so about one read in twenty is sent
 * twice and a slow or paused replica costs a read its p95, not its deadline. The p95 is taken
 * over a bounded window of recent latencies and recomputed every few samples (a sort of at most
 * `windowSize` numbers). Used by a node's gets and by the SDK's reads alike.
 */
import { assert } from './assert.js';

export interface HedgeOptions {
  /** Recent latencies kept: enough for a stable percentile, bounded memory. */
  readonly windowSize: number;
  /** The percentile is recomputed after this many new samples. */
  readonly recomputeEvery: number;
  /** Before this many samples, the delay is defaultMs. */
  readonly samplesMin: number;
  /** The delay while too few latencies were seen (right after start). */
  readonly defaultMs: number;
  /** Shortest delay: below it timer granularity makes every read a hedge. */
  readonly floorMs: number;
  /** Longest delay: an answer this slow is as good as missing for a read. */
  readonly ceilingMs: number;
  /** Which percentile of the window, in (0, 1). */
  readonly percentile: number;
}

export const hedgeDefaults: HedgeOptions = {
  windowSize: 512,
  recomputeEvery: 64,
  samplesMin: 32,
  defaultMs: 20,
  floorMs: 2,
  ceilingMs: 500,
  percentile: 0.95,
};

export class HedgeDelay {
  readonly options: HedgeOptions;
  readonly #samples: Float64Array;
  #count = 0;
  #sinceRecompute = 0;
  #delayMs: number;

  constructor(options: Partial<HedgeOptions> = {}) {
    const o = { ...hedgeDefaults, ...options };
    assert(Number.isSafeInteger(o.windowSize) && o.windowSize >= 1, `windowSize ${o.windowSize}`);
    assert(o.recomputeEvery >= 1 && o.samplesMin >= 1, 'recomputeEvery and samplesMin >= 1');
    assert(o.floorMs >= 0 && o.floorMs <= o.ceilingMs, `floor ${o.floorMs} ceiling ${o.ceilingMs}`);
    assert(o.percentile > 0 && o.percentile < 1, `percentile ${o.percentile}`);
    this.options = o;
    this.#samples = new Float64Array(o.windowSize);
    this.#delayMs = o.defaultMs;
  }

  /** One answer's latency, in milliseconds (anything not finite and non-negative is ignored). */
  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    const o = this.options;
    this.#samples[this.#count % o.windowSize] = ms;
    this.#count += 1;
    this.#sinceRecompute += 1;
    if (this.#count >= o.samplesMin && this.#sinceRecompute >= o.recomputeEvery) this.#recompute();
  }

  /** The delay after which a read goes to another replica too. */
  delayMs(): number {
    return this.#delayMs;
  }

  #recompute(): void {
    const o = this.options;
    this.#sinceRecompute = 0;
    const n = Math.min(this.#count, o.windowSize);
    const sorted = this.#samples.slice(0, n).sort();
    const p = sorted[Math.min(n - 1, Math.floor(o.percentile * n))] ?? o.defaultMs;
    this.#delayMs = Math.min(o.ceilingMs, Math.max(o.floorMs, Math.ceil(p)));
  }
}
