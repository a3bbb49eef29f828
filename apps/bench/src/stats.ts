import { status } from '@grpc/grpc-js';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/**
 * Sub-buckets per power of two of the histogram (HdrHistogram_c with 3 significant digits:
 * 2 * 10^3 rounded up to a power of two). Values from 2^11 up share a bucket with the others of
 * the same value >> (bit length - 11).
 */
const subBucketBits = 11;

/** Bits of a positive integer below 2^53 (clz32 on each half: Math.log2 rounds near powers of two). */
function bitLength(value: number): number {
  const high = Math.floor(value / 2 ** 32);
  return high > 0 ? 64 - Math.clz32(high) : 32 - Math.clz32(value);
}

/**
 * The lowest value of the histogram bucket `value` falls in (HdrHistogram's "lowest equivalent
 * value"): recording it instead of `value` changes nothing in the histogram, so counts keyed by
 * it carry the whole histogram across a process boundary.
 */
export function bucketFloor(value: number): number {
  const shift = Math.max(0, bitLength(value) - subBucketBits);
  return Math.floor(value / 2 ** shift) * 2 ** shift;
}

/**
 * A histogram as data (structured-clone and JSON safe): each bucket's lowest value and how many
 * values fell in it, in the same order.
 */
export interface LatencyCounts {
  readonly values: readonly number[];
  readonly counts: readonly number[];
}

/**
 * Latency of one kind of operation, in Node's built-in HDR histogram (perf_hooks wraps
 * HdrHistogram_c, the reference implementation): nanoseconds, 3 significant digits.
 * Node's histogram cannot be read bucket by bucket, nor sent to another process, so each value is
 * also counted under its bucket's lowest value (one Map update, tens of nanoseconds against an
 * RPC's tens of microseconds): a load worker sends those counts (toCounts) and the bench process
 * rebuilds the very same histogram from them (fromCounts) and merges it, percentiles and all.
 */
export class Latency {
  readonly histogram: RecordableHistogram = createHistogram();
  private readonly buckets = new Map<number, number>();

  recordNs(ns: bigint | number): void {
    const value = Math.max(1, Number(ns));
    this.histogram.record(value);
    const floor = bucketFloor(value);
    this.buckets.set(floor, (this.buckets.get(floor) ?? 0) + 1);
  }

  add(other: Latency): void {
    this.histogram.add(other.histogram);
    for (const [floor, count] of other.buckets)
      this.buckets.set(floor, (this.buckets.get(floor) ?? 0) + count);
  }

  toCounts(): LatencyCounts {
    const floors = [...this.buckets.keys()].sort((a, b) => a - b);
    return { values: floors, counts: floors.map((v) => this.buckets.get(v) ?? 0) };
  }

  /**
   * The histogram `counts` came from. Node's histogram records one value per call, so each
   * bucket's lowest value is recorded count times: one call per operation of the phase, after
   * it, outside the measured window.
   */
  static fromCounts(data: LatencyCounts): Latency {
    if (data.values.length !== data.counts.length)
      throw new Error('assertion failed: latency counts with values and counts of unequal length');
    const latency = new Latency();
    data.values.forEach((value, i) => {
      const count = data.counts[i] ?? 0;
      if (!Number.isSafeInteger(value) || value < 1 || !Number.isSafeInteger(count) || count < 0)
        throw new Error(`assertion failed: bad latency bucket ${value} x ${count}`);
      for (let n = 0; n < count; n++) latency.histogram.record(value);
      const floor = bucketFloor(value);
      latency.buckets.set(floor, (latency.buckets.get(floor) ?? 0) + count);
    });
    return latency;
  }

  summary(): LatencySummary {
    const h = this.histogram;
    const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3;
    if (h.count === 0)
      return { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
    return {
      count: h.count,
      meanMs: ms(h.mean),
      p50Ms: ms(h.percentile(50)),
      p95Ms: ms(h.percentile(95)),
      p99Ms: ms(h.percentile(99)),
      p999Ms: ms(h.percentile(99.9)),
      maxMs: ms(h.max),
    };
  }
}

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

/** The gRPC status name of an error ('DEADLINE_EXCEEDED'), or its class name when it has no status. */
export function errorKind(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'number') {
    const name: unknown = (status as unknown as Record<number, unknown>)[code];
    return typeof name === 'string' ? name : `STATUS_${code}`;
  }
  return e instanceof Error ? e.name : 'ERROR';
}
