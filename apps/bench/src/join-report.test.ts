import { describe, expect, it } from 'vitest';
import type { FixedRateResult } from './fixed-rate.js';
import {
  derive,
  goals,
  joinMarkdown,
  joinReport,
  perSecond,
  ratio,
  type JoinMeasurements,
  type JoinSettings,
  type Window,
} from './join-report.js';

const settings: JoinSettings = {
  records: 200_000,
  valueBytes: 100,
  ratePerSecond: 500,
  partitions: 64,
  transferRate: 0,
  loadConcurrency: 64,
  baselineSeconds: 20,
  distribution: 'zipfian',
  deadlineMs: 5_000,
  seed: 7,
};

function window(p99Ms: number, operations: number, errors: number, cpuSeconds: number): Window {
  const latency = {
    count: operations - errors,
    meanMs: 1,
    p50Ms: p99Ms / 4,
    p95Ms: p99Ms / 2,
    p99Ms,
    p999Ms: p99Ms * 2,
    maxMs: p99Ms * 3,
  };
  const result: FixedRateResult = {
    operations,
    ok: operations - errors,
    errors,
    errorsByStatus: errors > 0 ? { UNAVAILABLE: errors } : {},
    durationMs: operations * 2,
    opsPerSecond: 500,
    latency,
    byOperation: {},
    ratePerSecond: 500,
    startLag: { ...latency, p99Ms: 0.5 },
  };
  return {
    result,
    serverCpuSeconds: cpuSeconds,
    clientCpuSeconds: 1,
    errorSamples: errors > 0 ? ['read at 1.5 s: UNAVAILABLE: n2 down'] : [],
  };
}

function measurements(over: Partial<JoinMeasurements['transition']> = {}): JoinMeasurements {
  return {
    load: { durationMs: 100_000, retries: 0 },
    baseline: window(10, 10_000, 0, 5),
    during: window(25, 20_000, 30, 40),
    transition: {
      claimant: 'n1',
      commitVersion: '2',
      settledVersion: '53',
      commitMs: 12.7,
      pushMs: 41.6,
      settleMs: 40_000,
      streamingMs: 30_000,
      objectsMoved: 150_000,
      objectsToJoiner: 150_000,
      plannedObjects: 150_000,
      replicaPartitionsMoving: 48,
      idealReplicaPartitions: 48,
      ...over,
    },
  };
}

describe('ratio and perSecond', () => {
  it('divide to two places, with nothing to say against zero', () => {
    expect(ratio(25, 10)).toBe(2.5);
    expect(ratio(1, 3)).toBe(0.33);
    expect(ratio(5, 0)).toBeNull();
    expect(perSecond(150_000, 40_000)).toBe(3_750);
    expect(perSecond(10, 0)).toBe(0);
  });
});

describe('derive', () => {
  it('computes objects/s, latency during over before, error percent and CPU per operation', () => {
    const d = derive(settings, measurements());
    expect(d.loadRecordsPerSecond).toBe(2_000);
    expect(d.objectsPerSecond).toBe(3_750);
    expect(d.streamingObjectsPerSecond).toBe(5_000);
    expect(d.latencyRatio).toEqual({ p50: 2.5, p99: 2.5, p999: 2.5 });
    expect(d.errorPercent).toEqual({ baseline: 0, during: 0.15 });
    // 5 CPU s over 10,000 operations; 40 over 20,000.
    expect(d.serverCpuUsPerOp).toEqual({ baseline: 500, during: 2_000 });
    // 5 CPU s over the 20 s window; 40 over 40 s.
    expect(d.serverCpuCores).toEqual({ baseline: 0.25, during: 1 });
    expect(d.movedOverIdeal).toBe(1);
  });

  it('leaves out what was not measured', () => {
    const m = measurements({ streamingMs: null, idealReplicaPartitions: 0 });
    const d = derive(settings, { ...m, baseline: window(0, 0, 0, 0) });
    expect(d.streamingObjectsPerSecond).toBeNull();
    expect(d.movedOverIdeal).toBeNull();
    expect(d.latencyRatio.p99).toBeNull();
    expect(d.serverCpuUsPerOp.baseline).toBeNull();
  });
});

describe('goals', () => {
  it("checks issue 12's figures: objects/s, p99 ratio, errors and push", () => {
    const m = measurements();
    const g = goals(m, derive(settings, m));
    expect(g.map((x) => [x.name, x.value, x.met])).toEqual([
      ['objects/s moved', 3_750, false],
      ['p99 during / before', 2.5, false],
      ['errors during (%)', 0.15, false],
      ['push to every node (ms)', 41.6, true],
    ]);
  });

  it('meets them when the join is fast and quiet, and says "not measured" for a push never seen', () => {
    const m: JoinMeasurements = {
      ...measurements({ settleMs: 20_000, pushMs: null }),
      during: window(15, 20_000, 1, 40),
    };
    const g = goals(m, derive(settings, m));
    expect(g.map((x) => x.met)).toEqual([true, true, true, null]);
  });
});

describe('joinMarkdown', () => {
  it('tabulates both windows, the join and the goals', () => {
    const machine = { cores: 2, cpu: 'x', memoryGiB: 1, node: 'v20', platform: 'linux-x64' };
    const md = joinMarkdown(joinReport(settings, measurements(), machine, 't'));
    expect(md).toContain(
      '| before (20 s) | 10000 | 500 | 2.5 | 10 | 20 | 30 | 0 | 0.5 | 500 | 0.25 | 1 |',
    );
    expect(md).toContain(
      '| during the join (40 s) | 20000 | 500 | 6.25 | 25 | 50 | 75 | 30 (UNAVAILABLE 30) |',
    );
    expect(md).toContain('| during / before | | | 2.5x | 2.5x | 2.5x | | 0.15% vs 0% |');
    expect(md).toContain('- read at 1.5 s: UNAVAILABLE: n2 down');
    expect(md).toContain('| push: every node holds the committed version | 41.6 ms |');
    expect(md).toContain(
      '| objects/s | 3750 over the time to no transfers; 5000 while streaming |',
    );
    expect(md).toContain('| objects/s moved | >= 5000 | 3750 | NO |');
    expect(md).toContain('| push to every node (ms) | <= 1000 | 41.6 | yes |');
    expect(md).toContain('Seed 7');
    expect(md).toContain('then n4 joins (unthrottled).');
    const throttled = joinMarkdown(
      joinReport({ ...settings, transferRate: 5_000 }, measurements(), machine, 't'),
    );
    expect(throttled).toContain(
      'then n4 joins (transfers throttled to 5000 objects/s per receiver).',
    );
  });
});
