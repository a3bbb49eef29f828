// The results of one bench run: JSON for machines, a Markdown table for people, one line per
// measured cell on stdout, and the ratios the team steers by (measured side by side in one run).
import { cpus, totalmem } from 'node:os';
import type { PhaseResult } from './harness.js';
import type { LoadGenerator, WorkerShare } from './load-workers.js';
import type { TargetName } from './targets/target.js';
import type { Distribution, WorkloadName } from './workload.js';

export interface Cell {
  readonly target: TargetName;
  readonly backend: string;
  readonly workload: WorkloadName;
  readonly distribution: Distribution;
  readonly nodes: number;
  readonly records: number;
  readonly concurrency: number;
  /** Operations gathered per BatchGet/BatchPut (--batch); 1: one call each. */
  readonly batch: number;
  readonly valueBytes: number;
  readonly result: PhaseResult;
  /** The servers' CPU (all processes) per measured operation, microseconds; null when not seen. */
  readonly serverCpuUsPerOp: number | null;
  /**
   * The load generator's CPU (user + system: the bench process's, or every load worker's) per
   * measured operation, microseconds; null when no operation ran.
   */
  readonly clientCpuUsPerOp: number | null;
  /** Processes the load came from (--client-procs): 1 is the bench process itself. */
  readonly clientProcesses: number;
  /** What sent the load (--load-generator): Node (the SDK, grpc-js) or Python grpcio's C core. */
  readonly loadGenerator: LoadGenerator;
  /** With clientProcesses > 1, what each load worker did in the measured phase; else empty. */
  readonly workers: readonly WorkerShare[];
}

export interface Ratio {
  /** e.g. 'ringstore/etcd': throughput of the first over the second, and their p99s. */
  readonly name: string;
  readonly workload: WorkloadName;
  readonly nodes: number;
  readonly records: number;
  readonly throughput: number;
  readonly p99: number;
  /** Server CPU per operation of the first over the second; null when either was not measured. */
  readonly cpuPerOp: number | null;
  /** Client CPU per operation of the first over the second; null when either ran no operation. */
  readonly clientCpuPerOp: number | null;
}

export interface Machine {
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
}

export interface Report {
  readonly startedAt: string;
  readonly seed: number;
  readonly machine: Machine;
  readonly settings: Record<string, unknown>;
  readonly loads: readonly {
    backend: string;
    nodes: number;
    records: number;
    durationMs: number;
    retries: number;
  }[];
  readonly cells: readonly Cell[];
  readonly ratios: readonly Ratio[];
}

export function machine(): Machine {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/**
 * The pairs we compare, when both sides ran: ours against etcd, against the RPC ceilings (unary and
 * session), against the floors of a replicated request (echo-quorum: what is left is Ringstore's
 * own work), the floor against the ceiling, sessions against unary calls, zero-hop against
 * any-node, and TLS on against off.
 */
export const ratioPairs: readonly (readonly [TargetName, TargetName])[] = [
  ['ringstore', 'etcd'],
  ['ringstore', 'echo'],
  ['ringstore', 'echo-session'],
  ['ringstore-unary', 'etcd'],
  ['ringstore-unary', 'echo'],
  ['ringstore-unary', 'echo-quorum'],
  ['ringstore', 'echo-quorum-session'],
  ['echo-quorum', 'echo'],
  ['echo-quorum-session', 'echo-session'],
  ['ringstore', 'ringstore-unary'],
  ['ringstore', 'any-node'],
  ['ringstore-tls', 'ringstore'],
];

const round2 = (x: number): number => Math.round(x * 100) / 100;

export function ratios(cells: readonly Cell[]): Ratio[] {
  const out: Ratio[] = [];
  const find = (t: TargetName, like: Cell): Cell | undefined =>
    cells.find(
      (c) =>
        c.target === t &&
        c.workload === like.workload &&
        c.nodes === like.nodes &&
        c.records === like.records &&
        c.distribution === like.distribution,
    );
  for (const cell of cells) {
    for (const [a, b] of ratioPairs) {
      const other = find(b, cell);
      if (a !== cell.target || other === undefined) continue;
      const denominatorOps = other.result.opsPerSecond;
      const denominatorP99 = other.result.latency.p99Ms;
      out.push({
        name: `${a}/${b}`,
        workload: cell.workload,
        nodes: cell.nodes,
        records: cell.records,
        throughput: denominatorOps > 0 ? round2(cell.result.opsPerSecond / denominatorOps) : 0,
        p99: denominatorP99 > 0 ? round2(cell.result.latency.p99Ms / denominatorP99) : 0,
        cpuPerOp: cpuRatio(cell.serverCpuUsPerOp, other.serverCpuUsPerOp),
        clientCpuPerOp: cpuRatio(cell.clientCpuUsPerOp, other.clientCpuUsPerOp),
      });
    }
  }
  return out;
}

function cpuRatio(numerator: number | null, denominator: number | null): number | null {
  return numerator === null || denominator === null || denominator <= 0
    ? null
    : round2(numerator / denominator);
}

function cpuText(usPerOp: number | null): string {
  return usPerOp === null ? '-' : String(usPerOp);
}

function errorsText(r: PhaseResult): string {
  const kinds = Object.entries(r.errorsByStatus)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return r.errors === 0 ? '0' : `${r.errors} (${kinds})`;
}

/** One line per measured cell, for stdout. */
export function summaryLine(c: Cell): string {
  const r = c.result;
  const l = r.latency;
  const serverCpu = c.serverCpuUsPerOp === null ? '' : `, server CPU ${c.serverCpuUsPerOp} us/op`;
  const clientCpu = c.clientCpuUsPerOp === null ? '' : `, client CPU ${c.clientCpuUsPerOp} us/op`;
  const batch = c.batch > 1 ? ` batch=${c.batch}` : '';
  const processes =
    (c.clientProcesses > 1 ? ` client-procs=${c.clientProcesses}` : '') +
    (c.loadGenerator === 'node' ? '' : ` load=${c.loadGenerator}`);
  return `${c.target} ${c.workload} ${c.distribution} nodes=${c.nodes} records=${c.records} c=${c.concurrency}${batch}${processes}: ${r.opsPerSecond} ops/s, p50 ${l.p50Ms} p99 ${l.p99Ms} p99.9 ${l.p999Ms} max ${l.maxMs} ms${serverCpu}${clientCpu}, errors ${errorsText(r)}`;
}

function ratioText(x: number | null): string {
  return x === null ? '-' : `${x}x`;
}

export function ratiosLine(rs: readonly Ratio[]): string {
  return rs
    .map(
      (r) =>
        `${r.name} ${r.workload}/${r.nodes}n/${r.records}: ${r.throughput}x ops/s, ${r.p99}x p99${r.cpuPerOp === null ? '' : `, ${r.cpuPerOp}x server CPU/op`}${r.clientCpuPerOp === null ? '' : `, ${r.clientCpuPerOp}x client CPU/op`}`,
    )
    .join('; ');
}

export function markdown(report: Report): string {
  const m = report.machine;
  const lines = [
    `# Benchmark run ${report.startedAt}`,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}. Seed ${report.seed}.`,
    '',
    `Settings: ${Object.entries(report.settings)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
      .join(', ')}`,
    '',
    '| target | workload | keys | nodes | records | client procs | ops/s | mean ms | p50 | p95 | p99 | p99.9 | max | server CPU us/op | client CPU us/op | errors |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...report.cells.map((c) => {
      const l = c.result.latency;
      return `| ${c.target} | ${c.workload} | ${c.distribution} | ${c.nodes} | ${c.records} | ${c.clientProcesses}${c.loadGenerator === 'node' ? '' : ` ${c.loadGenerator}`} | ${c.result.opsPerSecond} | ${l.meanMs} | ${l.p50Ms} | ${l.p95Ms} | ${l.p99Ms} | ${l.p999Ms} | ${l.maxMs} | ${cpuText(c.serverCpuUsPerOp)} | ${cpuText(c.clientCpuUsPerOp)} | ${errorsText(c.result)} |`;
    }),
  ];
  if (report.ratios.length > 0) {
    lines.push(
      '',
      '| ratio | workload | nodes | records | throughput | p99 | server CPU/op | client CPU/op |',
      '|---|---|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of report.ratios)
      lines.push(
        `| ${r.name} | ${r.workload} | ${r.nodes} | ${r.records} | ${r.throughput}x | ${r.p99}x | ${ratioText(r.cpuPerOp)} | ${ratioText(r.clientCpuPerOp)} |`,
      );
  }
  const spread = report.cells.filter((c) => c.workers.length > 0);
  if (spread.length > 0) {
    lines.push('', 'Load workers (--client-procs), each: in flight, operations, ops/s, CPU ms:');
    for (const c of spread)
      lines.push(
        `- ${c.target} ${c.workload} ${c.nodes}n ${c.records}: ` +
          c.workers
            .map(
              (w) =>
                `pid ${w.pid} c=${w.concurrency} ${w.operations} ops ${w.opsPerSecond} ops/s ${Math.round(w.cpuUs / 1000)} ms`,
            )
            .join('; '),
      );
  }
  if (report.loads.length > 0) {
    lines.push(
      '',
      'Load phases: ' +
        report.loads
          .map(
            (l) =>
              `${l.backend} ${l.nodes}n ${l.records} records in ${l.durationMs} ms (${l.retries} retries)`,
          )
          .join('; '),
    );
  }
  const backends = [...new Set(report.cells.map((c) => c.backend))];
  lines.push('', 'Targets:', ...backends.map((b) => `- ${b}`), '');
  return lines.join('\n');
}
