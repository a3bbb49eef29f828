import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { peersDownNamed, sumsBy } from './cluster.js';
import { parseOverloadFlags } from './flags.js';
import { statusFieldBytes } from './proc.js';
import {
  checks,
  deadlineFor,
  failures,
  latencyFigures,
  percentile,
  sharesOf,
  type Phase1,
  type Phase2,
  type WaveLine,
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

describe('deadlineFor', () => {
  const wave = (ok: number, durationMs: number): WaveLine => ({
    wave: 0,
    counts: { OK: ok, RESOURCE_EXHAUSTED: 0, UNAVAILABLE: 0, DEADLINE_EXCEEDED: 10 - ok, other: 0 },
    clientDeadline: 10 - ok,
    durationMs,
    issueMs: 1,
    clientCpuMs: 1,
  });

  it('takes --deadline-ms as given', () => {
    expect(deadlineFor(1_500, wave(10, 9_000), 60_000).deadlineMs).toBe(1_500);
  });

  it('picks twice the no-op wave, in whole seconds, between 2 s and the ceiling', () => {
    expect(deadlineFor(undefined, wave(10, 5_900), 60_000).deadlineMs).toBe(12_000);
    expect(deadlineFor(undefined, wave(10, 300), 60_000).deadlineMs).toBe(2_000);
    expect(deadlineFor(undefined, wave(10, 45_000), 60_000).deadlineMs).toBe(60_000);
  });

  it('takes the ceiling when the no-op server could not answer every call, 10 s without one', () => {
    const short = deadlineFor(undefined, wave(7, 60_000), 60_000);
    expect(short.deadlineMs).toBe(60_000);
    expect(short.basis).toMatch(/only 7 of 10/);
    expect(deadlineFor(undefined, null, 60_000).deadlineMs).toBe(10_000);
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
    const histogram = [
      'ringstore_request_seconds_bucket{le="1.5",op="put"} 98',
      'ringstore_request_seconds_bucket{le="+Inf",op="put"} 100',
      'ringstore_request_seconds_bucket{le="+Inf",op="get"} 5',
    ].join('\n');
    expect(sumsBy(histogram, 'ringstore_request_seconds_bucket', 'le', { op: 'put' })).toEqual({
      '1.5': 98,
      '+Inf': 100,
    });
  });
});

describe('checks', () => {
  const target = {
    refused: {},
    putsByStatus: { OK: 50 },
    suspicionsSuppressed: 0,
    putLatencyBuckets: { '1': 48, '1.25': 50, '1.5': 50, '+Inf': 50 },
  };
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
    counters: { n1: target },
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
    const slow = {
      ...target,
      putLatencyBuckets: { '1': 90, '1.25': 95, '1.5': 97, '+Inf': 100 },
    };
    const counts = {
      OK: 50,
      RESOURCE_EXHAUSTED: 48,
      UNAVAILABLE: 2,
      DEADLINE_EXCEEDED: 0,
      other: 0,
    };
    const bad = checks(
      {
        phase1: phase1({
          counts,
          shares: sharesOf(counts),
          peersMarkedDown: { n2: ['n1'] },
          counters: { n1: slow },
        }),
        phase2: { ...phase2, rssDeltaMib: 50 },
        peersMarkedDownAtEnd: { n2: ['n1'] },
      },
      2000,
      1024,
    );
    expect(failures(bad).map((f) => f.split(':')[1]?.trim())).toEqual([
      'UNAVAILABLE share <= 1.00%',
      'no peer marked down',
      'request-timeout cap',
      'flood RSS delta < 50 MiB',
    ]);
  });
});
