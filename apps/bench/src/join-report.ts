// The join benchmark's report: what was measured, the figures derived from it (objects/s, the
// workload's latency during the join over before it, CPU per operation), and issue 12's goals
// with whether each was met. Pure: the scenario hands in numbers, this turns them into a report.
import type { FixedRateResult } from './fixed-rate.js';
import type { Machine } from './report.js';
import type { Distribution } from './workload.js';

export interface JoinSettings {
  readonly records: number;
  readonly valueBytes: number;
  readonly ratePerSecond: number;
  readonly partitions: number;
  /** Objects per second a node receives in transfers; 0: unthrottled. */
  readonly transferRate: number;
  readonly loadConcurrency: number;
  readonly baselineSeconds: number;
  readonly distribution: Distribution;
  readonly deadlineMs: number;
  readonly seed: number;
}

/** One window of workload A at the fixed rate, with what the processes spent on it. */
export interface Window {
  readonly result: FixedRateResult;
  /** CPU seconds of every node over the window (their process_cpu_seconds_total). */
  readonly serverCpuSeconds: number;
  /** CPU seconds of the bench process itself (client, polling): is the client the limit? */
  readonly clientCpuSeconds: number;
  /** The first failures' messages, with when they happened: what a bare count cannot say. */
  readonly errorSamples: readonly string[];
}

export interface Transition {
  readonly claimant: string;
  /** The version the commit made, and the one every node held once the join was over. */
  readonly commitVersion: string;
  readonly settledVersion: string;
  /** Milliseconds from sending CommitPlan to its answer. */
  readonly commitMs: number;
  /** From sending CommitPlan until every node answered GetRing with its version; null: not in the bound. */
  readonly pushMs: number | null;
  /** From sending CommitPlan until every node held the same ring with no transfers. */
  readonly settleMs: number;
  /** From sending CommitPlan until the transfer counters last grew (1 s resolution). */
  readonly streamingMs: number | null;
  /** Objects every node received in transfers (ringstore_transfer_objects_total), and the joiner. */
  readonly objectsMoved: number;
  readonly objectsToJoiner: number;
  /** The plan's estimate of the objects moving in. */
  readonly plannedObjects: number;
  readonly replicaPartitionsMoving: number;
  /** N*Q/S after the join: what an ideal claim moves. */
  readonly idealReplicaPartitions: number;
}

export interface JoinMeasurements {
  readonly load: { readonly durationMs: number; readonly retries: number };
  readonly baseline: Window;
  readonly during: Window;
  readonly transition: Transition;
}

export interface Goal {
  readonly name: string;
  readonly target: string;
  readonly value: number | null;
  /** null: not measured (the value is missing). */
  readonly met: boolean | null;
}

export interface Derived {
  readonly loadRecordsPerSecond: number;
  /** Objects moved over the time to "no transfers", and over the time streaming was seen. */
  readonly objectsPerSecond: number;
  readonly streamingObjectsPerSecond: number | null;
  /** Failed operations, in percent of those sent. */
  readonly errorPercent: { readonly baseline: number; readonly during: number };
  /** During the join over before it; null where the baseline is 0. */
  readonly latencyRatio: {
    readonly p50: number | null;
    readonly p99: number | null;
    readonly p999: number | null;
  };
  /** Microseconds of node CPU per operation; during the join this includes the transfers. */
  readonly serverCpuUsPerOp: { readonly baseline: number | null; readonly during: number | null };
  /** Cores' worth of node CPU over the window (CPU seconds per second). */
  readonly serverCpuCores: { readonly baseline: number; readonly during: number };
  readonly movedOverIdeal: number | null;
}

export interface JoinReport {
  readonly startedAt: string;
  readonly machine: Machine;
  readonly settings: JoinSettings;
  readonly measurements: JoinMeasurements;
  readonly derived: Derived;
  readonly goals: readonly Goal[];
}

/** Issue 12's figures: objects/s moved unthrottled, p99 during over before, errors, push. */
export const objectsPerSecondGoal = 5_000;
export const p99RatioGoal = 2;
export const errorPercentGoal = 0.1;
export const pushMsGoal = 1_000;

const round = (x: number, places: number): number => {
  const f = 10 ** places;
  return Math.round(x * f) / f;
};

/** a / b to two places; null when b is not positive (nothing to compare with). */
export function ratio(a: number, b: number): number | null {
  return b > 0 ? round(a / b, 2) : null;
}

/** Per second, from a count over milliseconds; 0 for an empty window. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? Math.round((count * 1000) / ms) : 0;
}

function errorPercent(r: FixedRateResult): number {
  return r.operations > 0 ? round((r.errors * 100) / r.operations, 4) : 0;
}

function cpuUsPerOp(w: Window): number | null {
  return w.result.operations > 0
    ? round((w.serverCpuSeconds * 1e6) / w.result.operations, 1)
    : null;
}

function cpuCores(w: Window): number {
  return w.result.durationMs > 0 ? round((w.serverCpuSeconds * 1000) / w.result.durationMs, 2) : 0;
}

export function derive(settings: JoinSettings, m: JoinMeasurements): Derived {
  const t = m.transition;
  const before = m.baseline.result.latency;
  const during = m.during.result.latency;
  return {
    loadRecordsPerSecond: perSecond(settings.records, m.load.durationMs),
    objectsPerSecond: perSecond(t.objectsMoved, t.settleMs),
    streamingObjectsPerSecond:
      t.streamingMs === null ? null : perSecond(t.objectsMoved, t.streamingMs),
    errorPercent: {
      baseline: errorPercent(m.baseline.result),
      during: errorPercent(m.during.result),
    },
    latencyRatio: {
      p50: ratio(during.p50Ms, before.p50Ms),
      p99: ratio(during.p99Ms, before.p99Ms),
      p999: ratio(during.p999Ms, before.p999Ms),
    },
    serverCpuUsPerOp: { baseline: cpuUsPerOp(m.baseline), during: cpuUsPerOp(m.during) },
    serverCpuCores: { baseline: cpuCores(m.baseline), during: cpuCores(m.during) },
    movedOverIdeal: ratio(t.replicaPartitionsMoving, t.idealReplicaPartitions),
  };
}

function goal(
  name: string,
  target: string,
  value: number | null,
  met: (v: number) => boolean,
): Goal {
  return { name, target, value, met: value === null ? null : met(value) };
}

export function goals(m: JoinMeasurements, d: Derived): Goal[] {
  return [
    goal(
      'objects/s moved',
      `>= ${objectsPerSecondGoal}`,
      d.objectsPerSecond,
      (v) => v >= objectsPerSecondGoal,
    ),
    goal('p99 during / before', `<= ${p99RatioGoal}`, d.latencyRatio.p99, (v) => v <= p99RatioGoal),
    goal(
      'errors during (%)',
      `< ${errorPercentGoal}`,
      d.errorPercent.during,
      (v) => v < errorPercentGoal,
    ),
    goal(
      'push to every node (ms)',
      `<= ${pushMsGoal}`,
      m.transition.pushMs,
      (v) => v <= pushMsGoal,
    ),
  ];
}

export function joinReport(
  settings: JoinSettings,
  m: JoinMeasurements,
  machine: Machine,
  startedAt: string,
): JoinReport {
  const derived = derive(settings, m);
  return { startedAt, machine, settings, measurements: m, derived, goals: goals(m, derived) };
}

const orDash = (v: number | null, suffix = ''): string => (v === null ? '-' : `${v}${suffix}`);

function errorsText(r: FixedRateResult): string {
  const kinds = Object.entries(r.errorsByStatus).map(([k, n]) => `${k} ${n}`);
  return r.errors === 0 ? '0' : `${r.errors} (${kinds.join(', ')})`;
}

function windowRow(label: string, w: Window, cpuUsPerOp: number | null, cores: number): string {
  const r = w.result;
  const l = r.latency;
  const cells = [
    label,
    `${r.operations}`,
    `${r.opsPerSecond}`,
    `${l.p50Ms}`,
    `${l.p99Ms}`,
    `${l.p999Ms}`,
    `${l.maxMs}`,
    errorsText(r),
    `${r.startLag.p99Ms}`,
    orDash(cpuUsPerOp),
    `${cores}`,
    `${round(w.clientCpuSeconds, 1)}`,
  ];
  return `| ${cells.join(' | ')} |`;
}

const seconds = (ms: number): string => `${round(ms / 1000, 1)} s`;

function workloadTable(r: JoinReport): string[] {
  const { baseline, during } = r.measurements;
  const d = r.derived;
  const q = d.latencyRatio;
  const e = d.errorPercent;
  const samples = [...baseline.errorSamples, ...during.errorSamples];
  return [
    `Workload A (${r.settings.distribution}) at a fixed ${r.settings.ratePerSecond} ops/s; latency from each operation's scheduled start:`,
    '',
    '| window | ops | ok/s | p50 ms | p99 | p99.9 | max | errors | start lag p99 | node CPU us/op | node CPU cores | bench CPU s |',
    '|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|',
    windowRow(
      `before (${seconds(baseline.result.durationMs)})`,
      baseline,
      d.serverCpuUsPerOp.baseline,
      d.serverCpuCores.baseline,
    ),
    windowRow(
      `during the join (${seconds(during.result.durationMs)})`,
      during,
      d.serverCpuUsPerOp.during,
      d.serverCpuCores.during,
    ),
    `| during / before | | | ${orDash(q.p50, 'x')} | ${orDash(q.p99, 'x')} | ${orDash(q.p999, 'x')} | | ${e.during}% vs ${e.baseline}% | | | | |`,
    ...(samples.length > 0 ? ['', 'First errors:', ...samples.map((s) => `- ${s}`)] : []),
  ];
}

function transitionTable(r: JoinReport): string[] {
  const t = r.measurements.transition;
  const d = r.derived;
  return [
    '| join of n4 | |',
    '|---|---|',
    `| claimant | ${t.claimant} |`,
    `| ring version | committed ${t.commitVersion}, settled ${t.settledVersion} (CommitPlan answered in ${round(t.commitMs, 1)} ms) |`,
    `| push: every node holds the committed version | ${t.pushMs === null ? 'not within the bound' : `${round(t.pushMs, 1)} ms`} |`,
    `| time to no transfers | ${round(t.settleMs / 1000, 2)} s (streaming last seen at ${t.streamingMs === null ? '-' : `${round(t.streamingMs / 1000, 1)} s`}) |`,
    `| objects moved | ${t.objectsMoved} (to n4: ${t.objectsToJoiner}; plan estimated ${t.plannedObjects}) |`,
    `| objects/s | ${d.objectsPerSecond} over the time to no transfers; ${orDash(d.streamingObjectsPerSecond)} while streaming |`,
    `| replica-partitions moved | ${t.replicaPartitionsMoving} (ideal N*Q/S = ${t.idealReplicaPartitions}: ${orDash(d.movedOverIdeal, 'x')}) |`,
  ];
}

export function joinMarkdown(r: JoinReport): string {
  const m = r.machine;
  const s = r.settings;
  const load = r.measurements.load;
  const goalRows = r.goals.map(
    (g) =>
      `| ${g.name} | ${g.target} | ${orDash(g.value)} | ${g.met === null ? '-' : g.met ? 'yes' : 'NO'} |`,
  );
  return [
    `# Join benchmark ${r.startedAt}`,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}. Seed ${s.seed}.`,
    '',
    `3 nodes (N=3, R=W=2, ${s.partitions} partitions) holding ${s.records} records of ${s.valueBytes} bytes, then n4 joins (${s.transferRate > 0 ? `transfers throttled to ${s.transferRate} objects/s per receiver` : 'unthrottled'}).`,
    `Load: ${s.records} records in ${load.durationMs} ms (${r.derived.loadRecordsPerSecond}/s at ${s.loadConcurrency} in flight, ${load.retries} retries).`,
    '',
    ...workloadTable(r),
    '',
    ...transitionTable(r),
    '',
    '| goal (issue 12) | target | value | met |',
    '|---|---|---:|---|',
    ...goalRows,
    '',
  ].join('\n');
}
