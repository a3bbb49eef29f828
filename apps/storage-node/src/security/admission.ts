import { monitorEventLoopDelay } from 'node:perf_hooks';
import { assert } from './assert.js';

/**
 * Bounded work per node: at most requestsMax client requests and bytesMax request bytes in
 * flight. A request beyond either is refused before it starts (nothing applied, safe to repeat),
 * with a hint of when to retry. Time comes from an injected clock (ms, monotonic).
 */

export interface AdmissionLimits {
  readonly requestsMax: number;
  readonly bytesMax: number;
}

export const admissionDefaults: AdmissionLimits = {
  /** Enough to keep a node's storage and peer links busy; beyond it, requests only queue. */
  requestsMax: 256,
  /** About a dozen of the largest messages (5 MiB) with room for many small ones. */
  bytesMax: 64 * 1024 * 1024,
};

/** Bounds of the retry hint: sooner is a busy loop for the caller, later an idle node. */
export const retryAfterMinMs = 10;
export const retryAfterMaxMs = 1000;
/** The average duration assumed before any request has finished. */
const durationGuessMs = 100;
/** Weight of each finished request in the moving average: about the last ten dominate. */
const durationWeight = 0.1;

export type RefusalReason = 'requests' | 'bytes';

export interface AdmissionRefusal {
  readonly refused: true;
  readonly reason: RefusalReason;
  readonly retryAfterMs: number;
}

/** An admitted request's place; leave() when it ends (any number of times: once counts). */
export interface Ticket {
  readonly refused: false;
  readonly bytes: number;
  leave(): void;
}

export interface AdmissionOptions {
  readonly now: () => number;
  readonly requestsMax?: number;
  readonly bytesMax?: number;
}

/**
 * Admission control. The retry hint for a refusal is
 *
 *     retryAfterMs = clamp(ceil(averageDurationMs * overload), 10, 1000)
 *
 * with averageDurationMs the moving average of finished requests' durations and overload the
 * demand over the limit the request would make: (inflight + 1) / requestsMax for 'requests',
 * (inflightBytes + bytes) / bytesMax for 'bytes'. At a refusal overload is just above 1, so the
 * hint is about one average request: the time in which those in flight typically finish; more
 * for a large request that would overshoot the bytes far.
 */
export class Admission {
  readonly limits: AdmissionLimits;
  private readonly now: () => number;
  private inflightCount = 0;
  private inflightByteCount = 0;
  private readonly refusedCounts: Record<RefusalReason, number> = { requests: 0, bytes: 0 };
  private averageMs: number | undefined;

  constructor(options: AdmissionOptions) {
    this.now = options.now;
    this.limits = {
      requestsMax: options.requestsMax ?? admissionDefaults.requestsMax,
      bytesMax: options.bytesMax ?? admissionDefaults.bytesMax,
    };
    const { requestsMax, bytesMax } = this.limits;
    assert(Number.isSafeInteger(requestsMax) && requestsMax >= 1, `requestsMax ${requestsMax}`);
    assert(Number.isSafeInteger(bytesMax) && bytesMax >= 1, `bytesMax ${bytesMax}`);
  }

  get inflight(): number {
    return this.inflightCount;
  }

  get inflightBytes(): number {
    return this.inflightByteCount;
  }

  /** Refusals since the start, by reason. */
  get refusedTotal(): Readonly<Record<RefusalReason, number>> {
    return { ...this.refusedCounts };
  }

  /** The moving average of finished requests' durations; undefined before the first. */
  get averageDurationMs(): number | undefined {
    return this.averageMs;
  }

  /**
   * Admits a request of `bytes` that counts as `units` requests (a batch: one per item) or
   * refuses it. A request alone is admitted whatever its size and units (the gRPC message limit
   * and the batch limits bound them), so it is never refused forever.
   */
  tryEnter(bytes: number, units = 1): Ticket | AdmissionRefusal {
    assert(Number.isSafeInteger(bytes) && bytes >= 0, `bytes ${bytes}`);
    assert(Number.isSafeInteger(units) && units >= 1, `units ${units}`);
    const { requestsMax, bytesMax } = this.limits;
    const alone = this.inflightCount === 0;
    if (!alone && this.inflightCount + units > requestsMax)
      return this.refuse('requests', (this.inflightCount + units) / requestsMax);
    if (this.inflightByteCount > 0 && this.inflightByteCount + bytes > bytesMax)
      return this.refuse('bytes', (this.inflightByteCount + bytes) / bytesMax);
    this.inflightCount += units;
    this.inflightByteCount += bytes;
    return this.ticket(bytes, units, this.now());
  }

  private ticket(bytes: number, units: number, enteredAtMs: number): Ticket {
    let left = false;
    return {
      refused: false,
      bytes,
      leave: () => {
        if (left) return;
        left = true;
        this.release(bytes, units, this.now() - enteredAtMs);
      },
    };
  }

  private release(bytes: number, units: number, durationMs: number): void {
    this.inflightCount -= units;
    this.inflightByteCount -= bytes;
    assert(this.inflightCount >= 0 && this.inflightByteCount >= 0, 'left more than entered');
    const sample = Math.max(0, durationMs);
    this.averageMs =
      this.averageMs === undefined
        ? sample
        : this.averageMs + durationWeight * (sample - this.averageMs);
  }

  private refuse(reason: RefusalReason, overload: number): AdmissionRefusal {
    this.refusedCounts[reason]++;
    const estimateMs = Math.ceil((this.averageMs ?? durationGuessMs) * overload);
    const retryAfterMs = Math.min(retryAfterMaxMs, Math.max(retryAfterMinMs, estimateMs));
    return { refused: true, reason, retryAfterMs };
  }
}

/**
 * Whether a request's deadline has passed (deadline and now on the same clock, ms): such a
 * request is dropped unstarted, since its caller has stopped waiting. No deadline (Infinity)
 * never passes.
 */
export function deadlinePassed(deadlineMs: number, nowMs: number): boolean {
  return nowMs >= deadlineMs;
}

/** Event-loop delay samples in nanoseconds, as node:perf_hooks histograms give them. */
export interface DelayHistogram {
  percentile(percentile: number): number;
  reset(): void;
  disable?(): unknown;
}

/** What the monitor reads of admission. */
export interface InflightGauge {
  readonly inflight: number;
  readonly limits: { readonly requestsMax: number };
}

/** Default lag above which the node counts as saturated: timers and I/O run 200 ms late. */
export const saturationLagMsDefault = 200;
/** In-flight requests above this fraction of requestsMax count as saturated too. */
export const saturationInflightFraction = 0.9;
/** The window the lag's p99 is taken over. */
export const lagWindowMs = 1000;
/** Sampling interval of the event-loop delay histogram. */
export const lagResolutionMs = 10;

/** The event loop's delay histogram, sampling every 10 ms; the monitor's close() stops it. */
export function eventLoopDelayHistogram(): DelayHistogram {
  const histogram = monitorEventLoopDelay({ resolution: lagResolutionMs });
  histogram.enable();
  return histogram;
}

export interface SaturationOptions {
  readonly histogram: DelayHistogram;
  readonly now: () => number;
  readonly admission?: InflightGauge;
  readonly lagThresholdMs?: number;
}

/**
 * Whether this node is overloaded itself, so that a coordinator counts a peer's timeout while it
 * is saturated apart, and does not suspect a healthy peer for its own slowness.
 *
 * The lag is the event-loop delay's p99 over the last completed window (one second, or longer
 * when nobody asked in between), or over the current window if that is higher: a fresh stall
 * counts at once, and for about a second after.
 */
export class SaturationMonitor {
  private readonly lagThresholdMs: number;
  private windowStartMs: number;
  private lastWindowLagMs = 0;

  constructor(private readonly options: SaturationOptions) {
    this.lagThresholdMs = options.lagThresholdMs ?? saturationLagMsDefault;
    assert(this.lagThresholdMs > 0, `lagThresholdMs ${this.lagThresholdMs}`);
    this.windowStartMs = options.now();
  }

  /** Event-loop delay p99, in ms. */
  lagMs(): number {
    const nowMs = this.options.now();
    if (nowMs - this.windowStartMs >= lagWindowMs) {
      this.lastWindowLagMs = this.currentLagMs();
      this.options.histogram.reset();
      this.windowStartMs = nowMs;
    }
    return Math.max(this.lastWindowLagMs, this.currentLagMs());
  }

  /** Why the node is saturated, or undefined when it is not. */
  reason(): 'event-loop-lag' | 'inflight' | undefined {
    if (this.lagMs() > this.lagThresholdMs) return 'event-loop-lag';
    const admission = this.options.admission;
    if (
      admission !== undefined &&
      admission.inflight > saturationInflightFraction * admission.limits.requestsMax
    )
      return 'inflight';
    return undefined;
  }

  saturated(): boolean {
    return this.reason() !== undefined;
  }

  /** Stops the histogram's sampling (a real one keeps a timer). */
  close(): void {
    this.options.histogram.disable?.();
  }

  private currentLagMs(): number {
    return this.options.histogram.percentile(99) / 1e6;
  }
}
