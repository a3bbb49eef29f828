// The open-loop load generator: operations start on a fixed schedule (operation i at
// start + i/rate), whether or not earlier ones have answered, as a steady stream of users would.
// Latency is measured from each operation's scheduled start, not from when the client got round
// to sending it, so a stall of the cluster (or of this process) shows up in the percentiles
// instead of silently thinning the load (coordinated omission).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  durationMsMax,
  newTally,
  operationMaker,
  phaseResult,
  recordError,
  recordOk,
  type OperationOptions,
  type PhaseResult,
} from './harness.js';
import { Latency, type LatencySummary } from './stats.js';

/** Highest fixed rate: far above what one client process can start on a laptop. */
export const ratePerSecondMax = 100_000;
/**
 * Operations in flight at once. At 500 ops/s and a 5 s deadline a fully stalled cluster holds
 * 2,500; beyond this the schedule waits, and the wait is still counted in each latency.
 */
export const inflightMax = 4096;
/** How often the scheduler wakes: timers resolve to about 1 ms, and late starts are measured. */
export const schedulerTickMs = 1;

export interface FixedRateOptions extends OperationOptions {
  readonly ratePerSecond: number;
  /** The longest the phase runs. */
  readonly durationMs: number;
  /** Ends the phase early once true (checked every scheduler tick). */
  readonly until?: (() => boolean) | undefined;
  readonly seed: number;
}

export interface FixedRateResult extends PhaseResult {
  readonly ratePerSecond: number;
  /** How late operations were sent after their scheduled start: this client's own lag. */
  readonly startLag: LatencySummary;
}

/** Operations due `elapsedMs` into a schedule of `ratePerSecond`: the first is due at 0. */
export function dueOperations(elapsedMs: number, ratePerSecond: number): number {
  if (elapsedMs < 0) return 0;
  return Math.floor((elapsedMs * ratePerSecond) / 1000) + 1;
}

export async function runFixedRate(options: FixedRateOptions): Promise<FixedRateResult> {
  const rate = options.ratePerSecond;
  if (!(rate > 0 && rate <= ratePerSecondMax))
    throw new RangeError(`ratePerSecond must be in (0, ${ratePerSecondMax}], got ${rate}`);
  const tally = newTally();
  const startLag = new Latency();
  const next = operationMaker(options, options.seed);
  const inflight = new Set<Promise<void>>();
  const durationMs = Math.min(options.durationMs, durationMsMax);
  const startMs = performance.now();
  // The histograms take whole nanoseconds.
  const sinceNs = (ms: number): number => Math.round((performance.now() - ms) * 1e6);
  const launch = (scheduledMs: number): void => {
    const { op, send } = next();
    tally.started++;
    startLag.recordNs(sinceNs(scheduledMs));
    const done: Promise<void> = send().then(
      () => recordOk(tally, op, sinceNs(scheduledMs)),
      (e: unknown) => recordError(tally, e),
    );
    inflight.add(done);
    void done.finally(() => inflight.delete(done));
  };
  for (;;) {
    const elapsedMs = performance.now() - startMs;
    if (elapsedMs >= durationMs || options.until?.() === true) break;
    const due = dueOperations(elapsedMs, rate);
    while (tally.started < due && inflight.size < inflightMax)
      launch(startMs + (tally.started * 1000) / rate);
    await sleep(schedulerTickMs);
  }
  // The schedule's length is the phase's: the drain below sends nothing new.
  const scheduledMs = performance.now() - startMs;
  await Promise.all(inflight);
  return { ...phaseResult(tally, scheduledMs), ratePerSecond: rate, startLag: startLag.summary() };
}
