import { describe, expect, it } from 'vitest';
import { newTally, recordOk, tallyToData, type TallyData } from './harness.js';
import { mergeWorkerResults, type WorkerPhaseDone } from './load-workers.js';
import { Latency, bucketFloor, type LatencyCounts } from './stats.js';

/** Everything a histogram answers, to compare two of them whole. */
function histogramFacts(l: Latency): unknown {
  const h = l.histogram;
  const percentiles = Array.from({ length: 1001 }, (_, i) => h.percentile(i / 10 || 0.001));
  return { count: h.count, min: h.min, max: h.max, mean: h.mean, stddev: h.stddev, percentiles };
}

/** A seeded stream of latencies, log-uniform from 1 ns to 100 s. */
function latencies(n: number, seed: number): number[] {
  let s = seed;
  const random = (): number => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
  return Array.from({ length: n }, () =>
    Math.max(1, Math.floor(Math.exp(random() * Math.log(1e11)))),
  );
}

/** A worker's answer whose tally holds `readsNs` as successful reads. */
function workerDone(
  pid: number,
  readsNs: readonly number[],
  window: [number, number],
): WorkerPhaseDone {
  const tally = newTally();
  for (const ns of readsNs) recordOk(tally, 'read', ns);
  const data: TallyData = tallyToData(tally);
  return {
    pid,
    tally: structuredClone(data),
    startedAtMs: window[0],
    endedAtMs: window[1],
    durationMs: window[1] - window[0],
    cpuUs: 1_000,
    insertsNext: 0,
  };
}

describe('latency histograms across processes', () => {
  it('puts a value in the bucket it is already in when rounded to the bucket floor', () => {
    expect(bucketFloor(1)).toBe(1);
    expect(bucketFloor(2047)).toBe(2047);
    expect(bucketFloor(2048)).toBe(2048);
    expect(bucketFloor(4097)).toBe(4096);
    expect(bucketFloor(1_000_000)).toBe(999_936);
    expect(bucketFloor(2 ** 40 + 12_345)).toBe(2 ** 40);
  });

  it('rebuilds from its counts the very histogram it counted, through a structured clone', () => {
    const direct = new Latency();
    for (const ns of latencies(50_000, 3)) direct.recordNs(ns);
    const counts: LatencyCounts = structuredClone(direct.toCounts());
    expect(counts.counts.reduce((a, b) => a + b, 0)).toBe(50_000);
    expect(histogramFacts(Latency.fromCounts(counts))).toEqual(histogramFacts(direct));
  });

  it('refuses counts that do not pair up', () => {
    expect(() => Latency.fromCounts({ values: [1, 2], counts: [1] })).toThrow(/unequal length/);
    expect(() => Latency.fromCounts({ values: [0], counts: [1] })).toThrow(/bad latency bucket/);
  });

  it('merges two workers into the percentiles of the union of their latencies, not an average of theirs', () => {
    // Worker 1: 900 reads of 1 ms; worker 2: 100 reads of 10 ms. Of the 1000, p50 and p90 are
    // 1 ms and p95, p99 are 10 ms; averaging the workers' own p95s would say 5.5 ms.
    const fast = Array.from({ length: 900 }, () => 1_000_000);
    const slow = Array.from({ length: 100 }, () => 10_000_000);
    const merged = mergeWorkerResults(
      [workerDone(11, fast, [1_000, 2_000]), workerDone(12, slow, [1_100, 2_500])],
      [4, 4],
    );
    const union = new Latency();
    for (const ns of [...fast, ...slow]) union.recordNs(ns);
    expect(merged.result.latency).toEqual(union.summary());
    expect(merged.result.byOperation.read).toEqual(union.summary());
    expect(merged.result.latency.count).toBe(1_000);
    expect(merged.result.latency.p50Ms).toBeCloseTo(1, 2);
    expect(merged.result.latency.p95Ms).toBeCloseTo(10, 1);
    expect(merged.result.latency.p99Ms).toBeCloseTo(10, 1);
    // The common window: the first start to the last end, 1.5 s for 1000 operations.
    expect(merged.result.durationMs).toBe(1_500);
    expect(merged.result.opsPerSecond).toBe(667);
    expect(merged.cpuUs).toBe(2_000);
    expect(merged.workers.map((w) => [w.pid, w.operations, w.concurrency])).toEqual([
      [11, 900, 4],
      [12, 100, 4],
    ]);
  });

  it('merges random latencies of three workers exactly as one histogram of them all', () => {
    const parts = [latencies(20_000, 5), latencies(7_000, 6), latencies(1, 7)];
    const merged = mergeWorkerResults(
      parts.map((p, i) => workerDone(i + 1, p, [0, 1_000])),
      [1, 1, 1],
    );
    const union = new Latency();
    for (const ns of parts.flat()) union.recordNs(ns);
    expect(merged.result.latency).toEqual(union.summary());
  });

  it('sums errors by status across workers', () => {
    const a = workerDone(1, [5_000], [0, 10]);
    const b = workerDone(2, [], [0, 10]);
    const withErrors = (d: WorkerPhaseDone, errors: Record<string, number>): WorkerPhaseDone => {
      const n = Object.values(errors).reduce((x, y) => x + y, 0);
      return {
        ...d,
        tally: { ...d.tally, errors: n, started: d.tally.started + n, errorsByStatus: errors },
      };
    };
    const merged = mergeWorkerResults(
      [withErrors(a, { UNAVAILABLE: 2 }), withErrors(b, { UNAVAILABLE: 1, DEADLINE_EXCEEDED: 3 })],
      [1, 1],
    );
    expect(merged.result.errors).toBe(6);
    expect(merged.result.ok).toBe(1);
    expect(merged.result.operations).toBe(7);
    expect(merged.result.errorsByStatus).toEqual({ UNAVAILABLE: 3, DEADLINE_EXCEEDED: 3 });
  });
});
