import { describe, expect, it } from 'vitest';
import type { PhaseResult } from './harness.js';
import { markdown, ratios, ratiosLine, summaryLine, type Cell, type Report } from './report.js';
import type { TargetName } from './targets/target.js';

function cell(
  target: TargetName,
  opsPerSecond: number,
  p99Ms: number,
  workload: 'A' | 'C' = 'A',
  serverCpuUsPerOp: number | null = null,
  clientCpuUsPerOp: number | null = null,
): Cell {
  const latency = { count: 10, meanMs: 1, p50Ms: 1, p95Ms: 2, p99Ms, p999Ms: p99Ms, maxMs: p99Ms };
  const result: PhaseResult = {
    operations: 10,
    ok: 10,
    errors: 0,
    errorsByStatus: {},
    durationMs: 1000,
    opsPerSecond,
    latency,
    byOperation: {},
  };
  return {
    target,
    backend: target,
    workload,
    distribution: 'zipfian',
    nodes: 3,
    records: 1000,
    concurrency: 8,
    batch: 1,
    valueBytes: 100,
    result,
    serverCpuUsPerOp,
    clientCpuUsPerOp,
    clientProcesses: 1,
    loadGenerator: 'node',
    workers: [],
  };
}

describe('ratios', () => {
  it('divides ringstore by each other target that ran the same cell', () => {
    const cells = [
      cell('ringstore', 1000, 20),
      cell('any-node', 800, 25),
      cell('echo', 4000, 5),
      cell('etcd', 500, 40),
      cell('etcd', 999, 1, 'C'),
    ];
    const rs = ratios(cells);
    expect(rs.map((r) => [r.name, r.throughput, r.p99])).toEqual([
      ['ringstore/etcd', 2, 0.5],
      ['ringstore/echo', 0.25, 4],
      ['ringstore/any-node', 1.25, 0.8],
    ]);
  });

  it('divides TLS on by TLS off, server CPU per operation too when both were measured', () => {
    const rs = ratios([
      cell('ringstore', 1000, 20, 'A', 800),
      cell('ringstore-tls', 900, 25, 'A', 1000),
      cell('ringstore', 2000, 10, 'C'),
      cell('ringstore-tls', 1500, 10, 'C', 500),
    ]);
    expect(rs.map((r) => [r.name, r.workload, r.throughput, r.p99, r.cpuPerOp])).toEqual([
      ['ringstore-tls/ringstore', 'A', 0.9, 1.25, 1.25],
      ['ringstore-tls/ringstore', 'C', 0.75, 1, null],
    ]);
  });

  it('divides client CPU per operation too, beside server CPU', () => {
    const rs = ratios([
      cell('ringstore', 1000, 20, 'C', 400, 90),
      cell('echo', 4000, 5, 'C', 100, 60),
      cell('ringstore', 1000, 20, 'A', 500, null),
      cell('echo', 4000, 5, 'A', 100, 60),
    ]);
    expect(rs.map((r) => [r.name, r.workload, r.cpuPerOp, r.clientCpuPerOp])).toEqual([
      ['ringstore/echo', 'C', 4, 1.5],
      ['ringstore/echo', 'A', 5, null],
    ]);
    expect(ratiosLine(rs)).toBe(
      'ringstore/echo C/3n/1000: 0.25x ops/s, 4x p99, 4x server CPU/op, 1.5x client CPU/op; ' +
        'ringstore/echo A/3n/1000: 0.25x ops/s, 4x p99, 5x server CPU/op',
    );
  });

  it('has nothing to say when ringstore did not run', () => {
    expect(ratios([cell('echo', 1, 1), cell('etcd', 1, 1)])).toEqual([]);
  });
});

describe('output', () => {
  it('summarises a cell in one line and tabulates a report in Markdown', () => {
    const c = cell('ringstore', 1234, 9.5);
    expect(summaryLine(c)).toBe(
      'ringstore A zipfian nodes=3 records=1000 c=8: 1234 ops/s, p50 1 p99 9.5 p99.9 9.5 max 9.5 ms, errors 0',
    );
    const report: Report = {
      startedAt: 't',
      seed: 7,
      machine: { cores: 2, cpu: 'x', memoryGiB: 1, node: 'v20', platform: 'linux-x64' },
      settings: { workloads: ['A'] },
      loads: [],
      cells: [c, cell('echo', 2468, 2)],
      ratios: ratios([c, cell('echo', 2468, 2)]),
    };
    const md = markdown(report);
    expect(md).toContain('| ringstore | A | zipfian | 3 | 1000 | 1 | 1234 |');
    expect(md).toContain('| ringstore/echo | A | 3 | 1000 | 0.5x | 4.75x | - | - |');
    expect(md).not.toContain('Load workers');
    const secured = cell('ringstore-tls', 1000, 9.5, 'A', 812, 95);
    expect(summaryLine(secured)).toBe(
      'ringstore-tls A zipfian nodes=3 records=1000 c=8: 1000 ops/s, p50 1 p99 9.5 p99.9 9.5 max 9.5 ms, server CPU 812 us/op, client CPU 95 us/op, errors 0',
    );
    expect(markdown({ ...report, cells: [secured], ratios: [] })).toContain(
      '| 9.5 | 812 | 95 | 0 |',
    );
    const spread: Cell = {
      ...secured,
      clientProcesses: 2,
      workers: [
        {
          pid: 101,
          concurrency: 4,
          operations: 6,
          errors: 0,
          opsPerSecond: 6,
          durationMs: 1000,
          cpuUs: 40_400,
        },
        {
          pid: 102,
          concurrency: 4,
          operations: 4,
          errors: 0,
          opsPerSecond: 4,
          durationMs: 1000,
          cpuUs: 30_000,
        },
      ],
    };
    expect(summaryLine(spread)).toMatch(
      /^ringstore-tls A zipfian nodes=3 records=1000 c=8 client-procs=2: /,
    );
    const spreadMd = markdown({ ...report, cells: [spread], ratios: [] });
    expect(spreadMd).toContain('| 1000 | 2 | 1000 |');
    expect(spreadMd).toContain(
      '- ringstore-tls A 3n 1000: pid 101 c=4 6 ops 6 ops/s 40 ms; pid 102 c=4 4 ops 4 ops/s 30 ms',
    );
    expect(md).toContain('Seed 7');
  });
});
