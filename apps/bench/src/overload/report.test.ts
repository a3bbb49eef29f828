import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { peersDownNamed, sumsBy } from './cluster.js';
import { parseOverloadFlags } from './flags.js';
import { statusFieldBytes } from './proc.js';
import {
  checks,
  failures,
  latencyFigures,
  percentile,
  sharesOf,
  type Phase1,
  type Phase2,
} from './report.js';
import { shares } from './senders.js';
import { emptyTally, mergeTally, record } from './wave.js';

const quiet = { stdout: { write: () => true }, stderr: { write: () => true } };

function serviceError(
  code: status,
  details: string,
  trailers: Record<string, string> = {},
): ServiceError {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(trailers)) metadata.set(k, v);
  return Object.assign(new Error(details), { code, details, metadata });
}

describe('parseOverloadFlags', () => {
  it("defaults to the issue's figures", () => {
    expect(parseOverloadFlags([], quiet)).toEqual({
      inflight: 10_000,
      rounds: 6,
      valueBytes: 100,
      deadlineMs: 2_000,
      clientProcesses: 2,
      floodMessages: 24,
      floodMib: 60,
      calibrate: true,
      out: 'bench-results',
    });
  });

  it('refuses a flood message the node would take (2 MiB at least) and bad numbers', () => {
    expect(parseOverloadFlags(['--flood-mib', '1'], quiet)).toBe(2);
    expect(parseOverloadFlags(['--inflight', '0'], quiet)).toBe(2);
    expect(parseOverloadFlags(['--rounds', '1.5'], quiet)).toBe(2);
  });
});

describe('tally', () => {
  it('counts classes, the client deadline apart, and folds numbers out of retry hints', () => {
    const t = emptyTally();
    record(t, null, 5);
    record(
      t,
      serviceError(status.RESOURCE_EXHAUSTED, 'node overloaded: retry in 17 ms', {
        'retry-after-ms': '17',
      }),
      1,
    );
    record(t, serviceError(status.RESOURCE_EXHAUSTED, 'node overloaded: retry in 90 ms'), 1);
    record(
      t,
      serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded after 2.004s,LB pick: 0.1s'),
      2000,
    );
    record(t, serviceError(status.DEADLINE_EXCEEDED, 'put timed out: acked 1 of W=2'), 1000);
    record(t, serviceError(status.INTERNAL, 'Received RST_STREAM with code 2'), 3);
    expect(t.counts).toEqual({
      OK: 1,
      RESOURCE_EXHAUSTED: 2,
      UNAVAILABLE: 0,
      DEADLINE_EXCEEDED: 2,
      other: 1,
    });
    expect(t.otherByName).toEqual({ INTERNAL: 1 });
    expect(t.retryAfterHinted).toBe(1);
    expect(t.clientDeadline).toBe(1);
    expect(t.messages['RESOURCE_EXHAUSTED: node overloaded: retry in N ms']).toBe(2);
    const merged = emptyTally();
    mergeTally(merged, t);
    mergeTally(merged, t);
    expect(merged.counts.OK).toBe(2);
    expect(merged.allLatencyMs).toHaveLength(12);
  });

  it('splits a wave as evenly as can be', () => {
    expect(shares(10, 3)).toEqual([4, 3, 3]);
    expect(shares(2, 4)).toEqual([1, 1, 0, 0]);
  });
});

describe('figures', () => {
  it('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(latencyFigures([3, 1, 2, 100])).toEqual({ count: 4, p50Ms: 2, p99Ms: 100, maxMs: 100 });
    expect(
      sharesOf({ OK: 1, RESOURCE_EXHAUSTED: 2, UNAVAILABLE: 1, DEADLINE_EXCEEDED: 0, other: 0 })
        .UNAVAILABLE,
    ).toBe(0.25);
  });

  it('reads /proc status fields, node logs and labelled metrics', () => {
    expect(statusFieldBytes('VmHWM:\t  2000 kB\nVmRSS:\t  1800 kB\n', 'VmRSS')).toBe(1800 * 1024);
    const log = [
      '{"level":40,"node":"n2","peer":"n1","phi":8.7,"msg":"peer is down"}',
      '{"level":30,"node":"n2","peer":"n1","msg":"peer is up"}',
    ].join('\n');
    expect(peersDownNamed(log)).toEqual(['n1']);
    const metrics = [
      '# HELP ringstore_requests_total x',
      'ringstore_requests_total{op="put",status="OK"} 3',
      'ringstore_requests_total{op="get",status="OK"} 7',
      'ringstore_requests_total{op="put",status="RESOURCE_EXHAUSTED"} 2',
    ].join('\n');
    expect(sumsBy(metrics, 'ringstore_requests_total', 'status', { op: 'put' })).toEqual({
      OK: 3,
      RESOURCE_EXHAUSTED: 2,
    });
  });
});

describe('checks', () => {
  const rss = {
    beforeBytes: 0,
    peakBytes: 0,
    sampledPeakBytes: 0,
    kernelPeakBytes: null,
    endBytes: 0,
    samples: 1,
    gapMsMax: 0,
  };
  const phase1 = (over: Partial<Phase1>): Phase1 => ({
    puts: 100,
    counts: { OK: 50, RESOURCE_EXHAUSTED: 49, UNAVAILABLE: 1, DEADLINE_EXCEEDED: 0, other: 0 },
    otherByName: {},
    shares: sharesOf({
      OK: 50,
      RESOURCE_EXHAUSTED: 49,
      UNAVAILABLE: 1,
      DEADLINE_EXCEEDED: 0,
      other: 0,
    }),
    retryAfterHinted: 49,
    clientDeadline: 0,
    okLatency: latencyFigures([]),
    allLatency: latencyFigures([]),
    waves: [],
    messages: {},
    wallMs: 1,
    nodeCpu: {},
    rss,
    probe: { status: 'OK', latencyMs: 12, detail: '' },
    peersMarkedDown: { n1: [], n2: [], n3: [] },
    membersNotAlive: [],
    counters: {},
    ...over,
  });
  const phase2: Phase2 = {
    messages: 2,
    valueMib: 60,
    counts: { OK: 0, RESOURCE_EXHAUSTED: 2, UNAVAILABLE: 0, DEADLINE_EXCEEDED: 0, other: 0 },
    answers: {},
    durationMs: 1,
    rss,
    rssDeltaMib: 10,
    rssAfterDeltaMib: 0,
    probe: { status: 'OK', latencyMs: 3, detail: '' },
  };

  it('passes at 1% UNAVAILABLE and fails above it, naming what failed', () => {
    const ok = checks({ phase1: phase1({}), phase2, peersMarkedDownAtEnd: {} }, 2000, 1024);
    expect(failures(ok)).toEqual([]);
    const counts = {
      OK: 50,
      RESOURCE_EXHAUSTED: 48,
      UNAVAILABLE: 2,
      DEADLINE_EXCEEDED: 0,
      other: 0,
    };
    const bad = checks(
      {
        phase1: phase1({ counts, shares: sharesOf(counts), peersMarkedDown: { n2: ['n1'] } }),
        phase2: { ...phase2, rssDeltaMib: 50 },
        peersMarkedDownAtEnd: { n2: ['n1'] },
      },
      2000,
      1024,
    );
    expect(failures(bad).map((f) => f.split(':')[1]?.trim())).toEqual([
      'UNAVAILABLE share <= 1.00%',
      'no peer marked down',
      'flood RSS delta < 50 MiB',
    ]);
  });
});
