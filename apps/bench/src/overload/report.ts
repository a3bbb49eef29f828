// The overload bench's report: what phase 0 (the machine's ceiling), phase 1 (waves of puts at
// one node) and phase 2 (a flood of oversized messages) measured, the requirements of the
// security and overload issue checked against it, and the same as Markdown. Pure: the measuring
// is in run.ts.
import { statusClasses, type StatusClass, type WaveTally } from './wave.js';
import type { ProbeResult } from './flood.js';
import type { MembersSeen, NodeCounters } from './cluster.js';
import { bytesPerMib, type RssWindow } from './proc.js';

/** Most UNAVAILABLE answers phase 1 may give, as a share of all: the issue's 1%. */
export const unavailableShareMax = 0.01;
/** The probe right after phase 1 must be served within this (the issue's 500 ms). */
export const probeLatencyMsMax = 500;
/** The flood may raise the node's RSS by less than this (the issue's 50 MB, VmRSS kB / 1024). */
export const floodRssDeltaMibMax = 50;
/**
 * The node's --max-inflight-requests default (apps/storage-node config.ts): more puts in flight
 * than this must meet refusals.
 */
export const nodeInflightRequestsDefault = 256;
/**
 * The request-timeout cap held when n1 answered every put it admitted within this many seconds
 * of admitting it: its default --request-timeout-ms (1 s) plus half of it for a busy event loop.
 * A bucket of ringstore_request_seconds, so the node's own histogram answers it.
 */
export const capBucketSeconds = '1.5';
/** Shortest deadline the bench picks by itself: the deadline of the issue's first runs. */
export const deadlineFloorMs = 2_000;
/** The deadline without --deadline-ms and without a calibration wave to choose one from. */
export const deadlineUncalibratedMs = 10_000;
/** Chosen deadline = this many times the no-op server's time to answer the whole wave. */
export const deadlineCalibrationFactor = 2;

export interface DeadlineChoice {
  readonly deadlineMs: number;
  /** Why this deadline: the flag, the calibration wave, or the fallback. */
  readonly basis: string;
}

/**
 * Phase 1's deadline. A deadline this machine cannot meet even against a no-op server measures
 * the load generator, not the node (and its expiry cancels thousands of streams at once, which
 * the node's HTTP/2 layer takes for a rapid-reset attack): so, unless --deadline-ms says
 * otherwise, twice the time the no-op server took to answer the whole calibration wave, at
 * least deadlineFloorMs, at most ceilingMs (the calibration's own deadline).
 */
export function deadlineFor(
  flagMs: number | undefined,
  calibration: WaveLine | null,
  ceilingMs: number,
): DeadlineChoice {
  if (flagMs !== undefined) return { deadlineMs: flagMs, basis: '--deadline-ms' };
  if (calibration === null)
    return { deadlineMs: deadlineUncalibratedMs, basis: 'no calibration wave (--no-calibrate)' };
  const total = statusClasses.reduce((s, k) => s + calibration.counts[k], 0);
  if (calibration.counts.OK < total)
    return {
      deadlineMs: ceilingMs,
      basis: `the no-op server answered only ${calibration.counts.OK} of ${total} within ${ceilingMs} ms`,
    };
  const chosen = Math.ceil((deadlineCalibrationFactor * calibration.durationMs) / 1000) * 1000;
  return {
    deadlineMs: Math.min(ceilingMs, Math.max(deadlineFloorMs, chosen)),
    basis: `${deadlineCalibrationFactor} x the ${calibration.durationMs} ms the no-op server took to answer the calibration wave`,
  };
}

/** Puts the node admitted and answered later than `bucket` seconds after admitting them. */
export function answeredLaterThan(c: NodeCounters | null, bucket: string): number | null {
  if (c === null) return null;
  const all = c.putLatencyBuckets['+Inf'];
  const within = c.putLatencyBuckets[bucket];
  if (all === undefined || within === undefined) return null;
  return all - within;
}

export interface LatencyFigures {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What one wave (or the calibration wave) got back. */
export interface WaveLine {
  readonly wave: number;
  readonly counts: Record<StatusClass, number>;
  /** DEADLINE_EXCEEDED raised by the client's own deadline (never answered by the server). */
  readonly clientDeadline: number;
  readonly durationMs: number;
  /** The senders' time to issue their calls (the longest of them). */
  readonly issueMs: number;
  /** The senders' CPU time over the wave, summed. */
  readonly clientCpuMs: number;
}

export interface NodeCpu {
  readonly seconds: number;
  /** seconds over the phase's wall time: the cores the node had on average. */
  readonly cores: number;
}

export interface Phase1 {
  readonly puts: number;
  readonly counts: Record<StatusClass, number>;
  readonly otherByName: Record<string, number>;
  /** Each class's share of all answers (0..1). */
  readonly shares: Record<StatusClass, number>;
  readonly retryAfterHinted: number;
  /** DEADLINE_EXCEEDED raised by the client's deadline, not answered by the node. */
  readonly clientDeadline: number;
  readonly okLatency: LatencyFigures;
  readonly allLatency: LatencyFigures;
  readonly waves: readonly WaveLine[];
  /** 'STATUS: message' -> count: the first distinct failure messages. */
  readonly messages: Record<string, number>;
  readonly wallMs: number;
  readonly nodeCpu: Record<string, NodeCpu | null>;
  readonly rss: RssWindow;
  readonly probe: ProbeResult;
  /** Per node, the peers its log marked down by the end of phase 1. */
  readonly peersMarkedDown: Record<string, readonly string[]>;
  readonly membersNotAlive: readonly MembersSeen[];
  readonly counters: Record<string, NodeCounters | null>;
}

export interface Phase2 {
  readonly messages: number;
  readonly valueMib: number;
  readonly counts: Record<StatusClass, number>;
  readonly answers: Record<string, number>;
  readonly durationMs: number;
  readonly rss: RssWindow;
  /** Peak during the flood minus before it, MiB. */
  readonly rssDeltaMib: number;
  /** After (a moment past the last answer) minus before, MiB. */
  readonly rssAfterDeltaMib: number;
  readonly probe: ProbeResult;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface OverloadReport {
  readonly startedAt: string;
  readonly command: string;
  readonly machine: Record<string, unknown>;
  readonly settings: Record<string, unknown>;
  /** The same wave at a no-op grpc-js server; null when skipped (--no-calibrate). */
  readonly calibration: WaveLine | null;
  readonly phase1: Phase1;
  readonly phase2: Phase2;
  /** Per node, the peers its log marked down over the whole run. */
  readonly peersMarkedDownAtEnd: Record<string, readonly string[]>;
  readonly checks: readonly Check[];
}

/** Nearest-rank percentile of ascending `sorted` (0 when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

export function latencyFigures(latencyMs: readonly number[]): LatencyFigures {
  const sorted = [...latencyMs].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: round1(percentile(sorted, 50)),
    p99Ms: round1(percentile(sorted, 99)),
    maxMs: round1(sorted[sorted.length - 1] ?? 0),
  };
}

export function sharesOf(counts: Record<StatusClass, number>): Record<StatusClass, number> {
  const total = statusClasses.reduce((s, c) => s + counts[c], 0);
  const share = (c: StatusClass): number => (total === 0 ? 0 : counts[c] / total);
  return {
    OK: share('OK'),
    RESOURCE_EXHAUSTED: share('RESOURCE_EXHAUSTED'),
    UNAVAILABLE: share('UNAVAILABLE'),
    DEADLINE_EXCEEDED: share('DEADLINE_EXCEEDED'),
    other: share('other'),
  };
}

export function waveLine(wave: number, tally: WaveTally): WaveLine {
  return {
    wave,
    counts: { ...tally.counts },
    clientDeadline: tally.clientDeadline,
    durationMs: Math.round(tally.durationMs),
    issueMs: Math.round(tally.issueMs),
    clientCpuMs: tally.cpuMs,
  };
}

export const mibOf = (bytes: number): number => round1(bytes / bytesPerMib);

export const downCount = (byNode: Record<string, readonly string[]>): number =>
  Object.values(byNode).reduce((s, peers) => s + peers.length, 0);

const percent = (share: number): string => `${(share * 100).toFixed(2)}%`;

const probeLine = (p: ProbeResult): string =>
  `${p.status} in ${p.latencyMs} ms${p.detail ? ` (${p.detail})` : ''}`;

/** The node the waves went to: the first in the counters (n1). */
const targetIdOf = (p1: Phase1): string => Object.keys(p1.counters)[0] ?? 'n1';

function phase1Checks(p1: Phase1, downEnd: number, inflight: number, limit: number): Check[] {
  const target = p1.counters[targetIdOf(p1)] ?? null;
  const late = answeredLaterThan(target, capBucketSeconds);
  const admitted = target?.putLatencyBuckets['+Inf'];
  const down1 = downCount(p1.peersMarkedDown);
  const notAlive = p1.membersNotAlive.filter((m) => m.notAlive.length > 0);
  const seen = notAlive.map((m) => `${m.id} sees ${m.notAlive.join(', ')}`).join('; ');
  return [
    {
      name: 'excess refused with RESOURCE_EXHAUSTED',
      ok: inflight <= limit || p1.counts.RESOURCE_EXHAUSTED > 0,
      detail: `${p1.counts.RESOURCE_EXHAUSTED} of ${p1.puts} (${p1.retryAfterHinted} with retry-after-ms)`,
    },
    {
      name: `UNAVAILABLE share <= ${percent(unavailableShareMax)}`,
      ok: p1.shares.UNAVAILABLE <= unavailableShareMax,
      detail: `${p1.counts.UNAVAILABLE} of ${p1.puts} (${percent(p1.shares.UNAVAILABLE)})`,
    },
    {
      name: 'no peer marked down',
      ok: down1 === 0 && downEnd === 0 && notAlive.length === 0,
      detail:
        `'peer is down' lines: ${down1} after phase 1 (${named(p1.peersMarkedDown)}), ` +
        `${downEnd} at the end; ListMembers not alive: ${seen === '' ? 'none' : seen}`,
    },
    {
      name: `request-timeout cap: ${targetIdOf(p1)} answered each put it admitted within ${capBucketSeconds} s`,
      ok: late === 0,
      detail:
        late === null
          ? 'ringstore_request_seconds not read'
          : `${n(late)} of ${n(admitted ?? 0)} admitted puts answered later`,
    },
    {
      name: `probe after phase 1 served within ${probeLatencyMsMax} ms`,
      ok: p1.probe.status === 'OK' && p1.probe.latencyMs <= probeLatencyMsMax,
      detail: probeLine(p1.probe),
    },
  ];
}

function phase2Checks(p2: Phase2): Check[] {
  return [
    {
      name: 'flood refused with RESOURCE_EXHAUSTED',
      ok: p2.counts.RESOURCE_EXHAUSTED === p2.messages,
      detail: `${p2.counts.RESOURCE_EXHAUSTED} of ${p2.messages}`,
    },
    {
      name: `flood RSS delta < ${floodRssDeltaMibMax} MiB`,
      ok: p2.rssDeltaMib < floodRssDeltaMibMax,
      detail: `${mibOf(p2.rss.beforeBytes)} -> peak ${mibOf(p2.rss.peakBytes)} MiB (+${p2.rssDeltaMib})`,
    },
    {
      name: 'node serves after the flood',
      ok: p2.probe.status === 'OK',
      detail: probeLine(p2.probe),
    },
  ];
}

/** The issue's requirements, each with what was measured. */
export function checks(
  r: Pick<OverloadReport, 'phase1' | 'phase2' | 'peersMarkedDownAtEnd'>,
  inflight: number,
  inflightRequestsMax: number,
): Check[] {
  const downEnd = downCount(r.peersMarkedDownAtEnd);
  return [
    ...phase1Checks(r.phase1, downEnd, inflight, inflightRequestsMax),
    ...phase2Checks(r.phase2),
  ];
}

/** The failed checks, one line each: what exit code 1 means. */
export function failures(list: readonly Check[]): string[] {
  return list.filter((c) => !c.ok).map((c) => `FAILED: ${c.name}: ${c.detail}`);
}

const n = (x: number): string => x.toLocaleString('en-US');

function named(byNode: Record<string, readonly string[]>): string {
  const parts = Object.entries(byNode)
    .filter(([, peers]) => peers.length > 0)
    .map(([id, peers]) => `${id}: ${peers.join(', ')}`);
  return parts.length === 0 ? 'none' : parts.join('; ');
}

function pairs(byName: Record<string, number>): string {
  const entries = Object.entries(byName);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${n(v)}`).join(', ');
}

export function countsLine(c: Record<StatusClass, number>): string {
  return statusClasses.map((k) => `${k} ${n(c[k])}`).join(', ');
}

export function waveText(w: WaveLine): string {
  return (
    `${countsLine(w.counts)} (${n(w.clientDeadline)} by the client's deadline); ` +
    `${n(w.durationMs)} ms, issued in ${n(w.issueMs)} ms, client CPU ${n(w.clientCpuMs)} ms`
  );
}

/**
 * The target's own view: answers the client may never have seen (it had stopped waiting), so
 * quorum failures (UNAVAILABLE, its request timeout) show here even when the client's deadline
 * hid them.
 */
export function targetView(c: NodeCounters | null): string {
  if (c === null) return 'metrics not read';
  const by = c.putsByStatus;
  const total = Object.values(by).reduce((s, x) => s + x, 0);
  const of = (name: string): string =>
    `${n(by[name] ?? 0)} (${percent(total === 0 ? 0 : (by[name] ?? 0) / total)})`;
  const unstarted = c.refused['deadline'] ?? 0;
  return (
    `${n(total)}: OK ${of('OK')}, RESOURCE_EXHAUSTED ${of('RESOURCE_EXHAUSTED')}, ` +
    `UNAVAILABLE ${of('UNAVAILABLE')}, DEADLINE_EXCEEDED ${of('DEADLINE_EXCEEDED')} ` +
    `(${n(unstarted)} of them dropped unstarted)`
  );
}

function phase1Rows(p1: Phase1): string[] {
  const ok = p1.okLatency;
  const all = p1.allLatency;
  const nodeDeadline = p1.counts.DEADLINE_EXCEEDED - p1.clientDeadline;
  const cpu = Object.entries(p1.nodeCpu)
    .map(([id, c]) => `${id} ${c === null ? '?' : `${c.seconds} s (${c.cores} cores)`}`)
    .join(', ');
  return [
    `| puts (waves x in flight) | ${n(p1.puts)} |`,
    ...statusClasses.map((c) => `| ${c} | ${n(p1.counts[c])} (${percent(p1.shares[c])}) |`),
    `| DEADLINE_EXCEEDED: by the client's deadline / answered by n1 | ${n(p1.clientDeadline)} / ${n(nodeDeadline)} |`,
    `| RESOURCE_EXHAUSTED with retry-after-ms | ${n(p1.retryAfterHinted)} |`,
    `| OK latency p50 / p99 / max | ${ok.p50Ms} / ${ok.p99Ms} / ${ok.maxMs} ms |`,
    `| any answer p50 / p99 / max | ${all.p50Ms} / ${all.p99Ms} / ${all.maxMs} ms |`,
    `| n1's own count of the puts it answered | ${targetView(p1.counters[targetIdOf(p1)] ?? null)} |`,
    `| node CPU over the phase (${n(p1.wallMs)} ms) | ${cpu} |`,
    `| n1 RSS before / peak / end | ${mibOf(p1.rss.beforeBytes)} / ${mibOf(p1.rss.peakBytes)} / ${mibOf(p1.rss.endBytes)} MiB |`,
    `| probe Get right after | ${p1.probe.status}, ${p1.probe.latencyMs} ms |`,
    `| peers marked down ('peer is down' lines) | ${downCount(p1.peersMarkedDown)} (${named(p1.peersMarkedDown)}) |`,
  ];
}

function phase2Rows(p2: Phase2): string[] {
  return [
    `| flood messages | ${p2.messages} x ${p2.valueMib} MiB |`,
    `| answers | ${countsLine(p2.counts)} |`,
    `| n1 RSS before / peak / after | ${mibOf(p2.rss.beforeBytes)} / ${mibOf(p2.rss.peakBytes)} / ${mibOf(p2.rss.endBytes)} MiB |`,
    `| RSS delta (peak - before) | ${p2.rssDeltaMib} MiB |`,
    `| probe Get after | ${p2.probe.status}, ${p2.probe.latencyMs} ms |`,
  ];
}

function detailLines(r: OverloadReport): string[] {
  const p1 = r.phase1;
  return [
    'Waves:',
    '',
    ...(r.calibration === null
      ? []
      : [`- calibration (no-op echo server): ${waveText(r.calibration)}`]),
    ...p1.waves.map((w) => `- wave ${w.wave}: ${waveText(w)}`),
    '',
    'Failure messages (phase 1):',
    '',
    ...Object.entries(p1.messages).map(([m, c]) => `- ${n(c)} x ${m}`),
    '',
    'Node counters after phase 1:',
    '',
    ...Object.entries(p1.counters).map(([id, c]) =>
      c === null
        ? `- ${id}: metrics not read`
        : `- ${id}: puts answered ${pairs(c.putsByStatus)}; refused ${pairs(c.refused)}; suspicions suppressed ${n(c.suspicionsSuppressed)}`,
    ),
  ];
}

/**
 * When even the no-op server could not answer the whole wave within the deadline, the client's
 * deadline (this machine), not the node, bounds what phase 1 shows: say so next to the checks.
 */
export function calibrationNote(r: Pick<OverloadReport, 'calibration' | 'settings'>): string[] {
  const c = r.calibration;
  if (c === null) return [];
  const inflight = statusClasses.reduce((s, k) => s + c.counts[k], 0);
  if (c.counts.OK === inflight) return [];
  return [
    `Note: the no-op echo server answered ${n(c.counts.OK)} of ${n(inflight)} puts within the ` +
      `deadline: on this machine the client's deadline, not the node, bounds phase 1 (compare ` +
      `n1's own count of the puts it answered).`,
    '',
  ];
}

/** The report as Markdown: two tables, the per-wave lines, the messages and the checks. */
export function overloadMarkdown(r: OverloadReport): string {
  const lines = [
    `# Overload bench, ${r.startedAt}`,
    '',
    `\`${r.command}\``,
    '',
    `Machine: ${JSON.stringify(r.machine)}`,
    '',
    '| phase 1 | |',
    '| --- | ---: |',
    ...phase1Rows(r.phase1),
    '',
    '| phase 2 | |',
    '| --- | ---: |',
    ...phase2Rows(r.phase2),
    '',
    ...detailLines(r),
    '',
    ...calibrationNote(r),
    'Checks:',
    '',
    ...r.checks.map((c) => `- ${c.ok ? 'ok' : 'FAILED'}: ${c.name}: ${c.detail}`),
    '',
  ];
  return lines.join('\n');
}
