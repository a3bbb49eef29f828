import type { Counter, Histogram } from 'prom-client';

/**
 * Request rates and latency percentiles over the last minutes, for the web console: every
 * `intervalMs` the node's own request counter and latency histogram (metrics.ts) are read, and
 * the difference from the last reading becomes one sample. Bounded: `samplesKept` samples.
 */
export interface OpSample {
  /** Requests per second over the sample, by gRPC status name. */
  readonly rate: number;
  readonly errorRate: number;
  /** Latency percentiles in seconds (from the histogram's buckets); null without requests. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface Sample {
  /** End of the sample, wall-clock ms. */
  readonly at: number;
  readonly seconds: number;
  readonly ops: Readonly<Record<string, OpSample>>;
}

interface Reading {
  readonly at: number;
  /** op -> [total, not OK] */
  readonly counts: Map<string, [number, number]>;
  /** op -> cumulative bucket counts by upper bound (ascending, +Inf last) */
  readonly buckets: Map<string, [number, number][]>;
}

export const historyIntervalMs = 5_000;
export const samplesKept = 120;

export class RequestHistory {
  private readonly samples: Sample[] = [];
  private last: Reading | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly requests: Counter<'op' | 'status'>,
    private readonly latency: Histogram<'op'>,
    readonly intervalMs = historyIntervalMs,
    private readonly capacity = samplesKept,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  list(): readonly Sample[] {
    return this.samples;
  }

  /** Takes a reading; from the second on, appends the sample since the one before. */
  async sample(): Promise<void> {
    const reading = await this.read();
    const before = this.last;
    this.last = reading;
    if (before === undefined) return;
    const seconds = (reading.at - before.at) / 1000;
    if (seconds <= 0) return;
    const ops: Record<string, OpSample> = {};
    for (const [op, [total, failed]] of reading.counts) {
      const [total0, failed0] = before.counts.get(op) ?? [0, 0];
      const buckets = delta(reading.buckets.get(op) ?? [], before.buckets.get(op) ?? []);
      ops[op] = {
        rate: (total - total0) / seconds,
        errorRate: (failed - failed0) / seconds,
        p50: quantile(buckets, 0.5),
        p95: quantile(buckets, 0.95),
        p99: quantile(buckets, 0.99),
      };
    }
    this.samples.push({ at: reading.at, seconds, ops });
    if (this.samples.length > this.capacity) this.samples.shift();
  }

  private async read(): Promise<Reading> {
    const counts = new Map<string, [number, number]>();
    for (const v of (await this.requests.get()).values) {
      const op = String(v.labels.op);
      const entry = counts.get(op) ?? [0, 0];
      entry[0] += v.value;
      if (v.labels.status !== 'OK') entry[1] += v.value;
      counts.set(op, entry);
    }
    const buckets = new Map<string, [number, number][]>();
    for (const v of (await this.latency.get()).values) {
      if (v.metricName !== 'ringstore_request_seconds_bucket') continue;
      const op = String(v.labels.op);
      const bound = (v.labels as Record<string, string | number | undefined>)['le'];
      const le = bound === '+Inf' ? Infinity : Number(bound);
      const list = buckets.get(op) ?? [];
      list.push([le, v.value]);
      buckets.set(op, list);
    }
    for (const list of buckets.values()) list.sort((a, b) => a[0] - b[0]);
    return { at: this.now(), counts, buckets };
  }
}

/** Cumulative bucket counts of `now` minus those of `before` (same bounds; missing: 0). */
function delta(now: [number, number][], before: [number, number][]): [number, number][] {
  const old = new Map(before);
  return now.map(([le, n]) => [le, n - (old.get(le) ?? 0)]);
}

/**
 * The q-quantile of cumulative buckets, interpolated linearly inside its bucket as Prometheus'
 * histogram_quantile does; the highest finite bound when it falls in +Inf; null when empty.
 */
export function quantile(buckets: readonly [number, number][], q: number): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      const inBucket = count - below;
      return inBucket <= 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = count;
  }
  return lower;
}
