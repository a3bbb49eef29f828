import { assert } from './assert.js';

/**
 * Phi accrual failure detector (Hayashibara et al. 2004), as Cassandra and Akka use it. It keeps
 * the intervals between heartbeats of one member in a bounded window and answers with phi, the
 * suspicion that the member is down: phi = -log10(P(an interval at least this long)). phi 1 means
 * a 10% chance that a heartbeat is merely late, phi 8 one in 10^8.
 *
 * Immutable: heartbeat() returns a new detector (copying the window, O(windowSize) per
 * heartbeat, once a second per member) and never changes the one it was given, so a detector can
 * be held in plain state, compared before and after, and shared without defensive copies.
 */

export type Distribution = 'exponential' | 'normal';

export interface DetectorOptions {
  /** Intervals kept (sampleWindowMax); the oldest is dropped first. Default 1,000. */
  windowSize?: number | undefined;
  /**
   * How intervals are modelled. 'exponential' (default, Cassandra): phi = delta / mean * log10(e),
   * robust to the irregular arrival of gossiped heartbeats. 'normal' (Akka): a normal fit of
   * mean and standard deviation, quicker to suspect when heartbeats are very regular.
   */
  distribution?: Distribution | undefined;
  /** Floor of the standard deviation ('normal' only), so steady heartbeats do not make phi jumpy. Default 500. */
  minStdDevMs?: number | undefined;
  /** Silence tolerated on top of the expected interval before phi starts to rise. Default 0. */
  acceptableHeartbeatPauseMs?: number | undefined;
  /** Interval assumed before any has been measured (the gossip period). Default 1,000. */
  firstHeartbeatEstimateMs?: number | undefined;
  /**
   * Longer intervals are not sampled (Cassandra's MAX_INTERVAL): the gap while a member was down or
   * restarting says nothing about its heartbeat rate. Default 2 × firstHeartbeatEstimateMs.
   */
  intervalMaxMs?: number | undefined;
}

// Bounds the window, hence the memory of a detector (8 bytes an interval) and heartbeat()'s copy.
export const windowSizeMax = 10_000;
const log10e = Math.LOG10E;
const meanMsMin = 1;

interface Settings {
  readonly windowSize: number;
  readonly distribution: Distribution;
  readonly minStdDevMs: number;
  readonly acceptableHeartbeatPauseMs: number;
  readonly firstHeartbeatEstimateMs: number;
  readonly intervalMaxMs: number;
}

/** What a detector has learned, for metrics and logs. */
export interface DetectorStats {
  readonly samples: number;
  readonly meanMs: number;
  readonly stdDevMs: number;
  readonly lastHeartbeatMs: number | undefined;
}

/** Opaque: build with newDetector, advance with heartbeat, read with phi / isAvailable / detectorStats. */
export class Detector {
  readonly #settings: Settings;
  // Ring buffer of intervals: `count` of them, the next one written at `next`.
  readonly #intervalsMs: Float64Array;
  readonly #count: number;
  readonly #next: number;
  readonly #lastHeartbeatMs: number | undefined;
  readonly #meanMs: number;
  readonly #stdDevMs: number;

  private constructor(
    settings: Settings,
    intervalsMs: Float64Array,
    count: number,
    next: number,
    lastHeartbeatMs: number | undefined,
  ) {
    this.#settings = settings;
    this.#intervalsMs = intervalsMs;
    this.#count = count;
    this.#next = next;
    this.#lastHeartbeatMs = lastHeartbeatMs;
    [this.#meanMs, this.#stdDevMs] = meanAndStdDev(intervalsMs, count);
  }

  static create(settings: Settings): Detector {
    return new Detector(settings, new Float64Array(settings.windowSize), 0, 0, undefined);
  }

  heartbeat(nowMs: number): Detector {
    assert(Number.isFinite(nowMs), `nowMs ${nowMs}`);
    const last = this.#lastHeartbeatMs;
    if (last === undefined) return this.#firstHeartbeat(nowMs);
    const intervalMs = nowMs - last;
    assert(
      intervalMs >= 0,
      `heartbeat at ${nowMs} before the previous one at ${last}: time must be monotonic`,
    );
    if (intervalMs > this.#settings.intervalMaxMs) {
      return new Detector(this.#settings, this.#intervalsMs, this.#count, this.#next, nowMs);
    }
    const intervalsMs = this.#intervalsMs.slice();
    intervalsMs[this.#next] = intervalMs;
    const windowSize = this.#settings.windowSize;
    const count = Math.min(this.#count + 1, windowSize);
    return new Detector(this.#settings, intervalsMs, count, (this.#next + 1) % windowSize, nowMs);
  }

  phi(nowMs: number): number {
    assert(Number.isFinite(nowMs), `nowMs ${nowMs}`);
    const last = this.#lastHeartbeatMs;
    if (last === undefined) return 0;
    const silenceMs = Math.max(0, nowMs - last - this.#settings.acceptableHeartbeatPauseMs);
    // Heartbeats that arrive in the same millisecond must not make the mean 0 (phi NaN).
    const meanMs = Math.max(this.#meanMs, meanMsMin);
    if (this.#settings.distribution === 'exponential') return (silenceMs / meanMs) * log10e;
    const stdDevMs = Math.max(this.#stdDevMs, this.#settings.minStdDevMs);
    return phiNormal(silenceMs, meanMs, stdDevMs);
  }

  stats(): DetectorStats {
    return {
      samples: this.#count,
      meanMs: this.#meanMs,
      stdDevMs: this.#stdDevMs,
      lastHeartbeatMs: this.#lastHeartbeatMs,
    };
  }

  // Akka's bootstrap: two made-up intervals at estimate ± estimate/4, so phi is meaningful from the
  // first heartbeat on (mean = estimate, standard deviation = estimate/4).
  #firstHeartbeat(nowMs: number): Detector {
    const estimateMs = this.#settings.firstHeartbeatEstimateMs;
    const intervalsMs = new Float64Array(this.#settings.windowSize);
    intervalsMs[0] = estimateMs - estimateMs / 4;
    intervalsMs[1] = estimateMs + estimateMs / 4;
    return new Detector(this.#settings, intervalsMs, 2, 2 % intervalsMs.length, nowMs);
  }
}

export function newDetector(options: DetectorOptions = {}): Detector {
  return Detector.create(settingsOf(options));
}

/** The detector after a heartbeat arrived at nowMs (from a monotonic clock). */
export function heartbeat(detector: Detector, nowMs: number): Detector {
  return detector.heartbeat(nowMs);
}

/** Suspicion at nowMs; 0 before the first heartbeat (a member never heard from is not suspected). */
export function phi(detector: Detector, nowMs: number): number {
  return detector.phi(nowMs);
}

/** Cassandra's phi_convict_threshold defaults to 8; Akka's cluster uses 8 too. */
export function isAvailable(detector: Detector, nowMs: number, threshold: number): boolean {
  assert(threshold > 0, `threshold ${threshold}`);
  return detector.phi(nowMs) < threshold;
}

export function detectorStats(detector: Detector): DetectorStats {
  return detector.stats();
}

function settingsOf(options: DetectorOptions): Settings {
  const firstHeartbeatEstimateMs = options.firstHeartbeatEstimateMs ?? 1000;
  const settings: Settings = {
    windowSize: options.windowSize ?? 1000,
    distribution: options.distribution ?? 'exponential',
    minStdDevMs: options.minStdDevMs ?? 500,
    acceptableHeartbeatPauseMs: options.acceptableHeartbeatPauseMs ?? 0,
    firstHeartbeatEstimateMs,
    intervalMaxMs: options.intervalMaxMs ?? 2 * firstHeartbeatEstimateMs,
  };
  const { windowSize, minStdDevMs, acceptableHeartbeatPauseMs, intervalMaxMs } = settings;
  assert(
    Number.isInteger(windowSize) && windowSize >= 2 && windowSize <= windowSizeMax,
    `windowSize ${windowSize}`,
  );
  assert(Number.isFinite(minStdDevMs) && minStdDevMs > 0, `minStdDevMs ${minStdDevMs}`);
  assert(
    Number.isFinite(acceptableHeartbeatPauseMs) && acceptableHeartbeatPauseMs >= 0,
    `acceptableHeartbeatPauseMs ${acceptableHeartbeatPauseMs}`,
  );
  assert(
    Number.isFinite(firstHeartbeatEstimateMs) && firstHeartbeatEstimateMs > 0,
    `firstHeartbeatEstimateMs ${firstHeartbeatEstimateMs}`,
  );
  assert(Number.isFinite(intervalMaxMs) && intervalMaxMs > 0, `intervalMaxMs ${intervalMaxMs}`);
  return settings;
}

function meanAndStdDev(intervalsMs: Float64Array, count: number): [number, number] {
  if (count === 0) return [0, 0];
  let sum = 0;
  for (let i = 0; i < count; i++) sum += intervalsMs[i] ?? 0;
  const mean = sum / count;
  let squares = 0;
  for (let i = 0; i < count; i++) squares += ((intervalsMs[i] ?? 0) - mean) ** 2;
  return [mean, Math.sqrt(squares / count)];
}

// Akka's logistic approximation of the normal tail (Bowling et al. 2009): monotonic in the
// silence, finite until e underflows to 0 and phi becomes Infinity.
function phiNormal(silenceMs: number, meanMs: number, stdDevMs: number): number {
  const y = (silenceMs - meanMs) / stdDevMs;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  return silenceMs > meanMs ? -Math.log10(e / (1 + e)) : -Math.log10(1 - 1 / (1 + e));
}
