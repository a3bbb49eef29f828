import { status } from '@grpc/grpc-js';
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/**
 * Latency of one kind of operation, in Node's built-in HDR histogram (perf_hooks wraps
 * HdrHistogram_c, the reference implementation): nanoseconds, 3 significant digits.
 */
export class Latency {
  readonly histogram: RecordableHistogram = createHistogram();

  recordNs(ns: bigint | number): void {
    this.histogram.record(Math.max(1, Number(ns)));
  }

  add(other: Latency): void {
    this.histogram.add(other.histogram);
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
