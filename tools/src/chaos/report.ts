// The run report: one JSON document, a Markdown summary of it, and the verdict (exit code). Pure.
import type { FaultThroughput } from './timeline.js';
import type { CheckResult } from './checker.js';
import type { TransitionRecord } from './membership.js';
import type { SelfTest } from './options.js';
import type { RingCheck } from './ring-check.js';
import type { NemesisKind } from './schedule.js';

export interface WindowRecord {
  readonly index: number;
  readonly kind: NemesisKind;
  readonly description: string;
  /** Planned, since the start of the workload. */
  readonly startMs: number;
  readonly endMs: number;
  /** When the fault was in place and when it was healed (since the start of the workload). */
  readonly appliedMs?: number | undefined;
  readonly healedMs?: number | undefined;
  /** Why the fault was not applied (this machine cannot do it). */
  readonly skipped?: string | undefined;
  /** What went wrong applying or healing it. */
  readonly error?: string | undefined;
  /** A membership window's transition: versions, times, the mid-transfer fault, the leaver's exit. */
  readonly transition?: TransitionRecord | undefined;
}

export interface ConvergenceResult {
  /** Every partition's replicas held the same Merkle root at some poll within the bound. */
  readonly converged: boolean;
  /** From the end of the workload (last write) to the first poll where every replica agreed. */
  readonly convergenceMs: number | null;
  /** From the last heal to that poll. */
  readonly sinceLastHealMs: number | null;
  /** Partitions whose replicas still disagreed at the last poll (0 when converged). */
  readonly divergentPartitions: number;
  readonly partitionsChecked: number;
  readonly polls: number;
  /** The bound on the wait. */
  readonly settleMs: number;
}

export interface RunReport {
  readonly tool: 'ringstore-chaos';
  readonly version: 1;
  readonly seed: number;
  /** The command that replays this run's schedule. */
  readonly replay: string;
  readonly startedAt: string;
  readonly network: 'netns' | 'loopback';
  readonly networkNote: string;
  /** --tls: TLS on both ports and tokens, described; or plaintext. */
  readonly security: { readonly tls: boolean; readonly note: string };
  readonly nodes: number;
  readonly replicas: number;
  readonly partitions: number;
  readonly writeQuorum: number;
  readonly durationMs: number;
  readonly nemeses: readonly NemesisKind[];
  readonly order: 'cycle' | 'random';
  readonly unavailable: readonly { readonly kind: NemesisKind; readonly reason: string }[];
  readonly windows: readonly WindowRecord[];
  readonly workloads: readonly CheckResult[];
  readonly convergence: ConvergenceResult;
  /** The final ring check, the transitions made, and the tombstones the reapers removed. */
  readonly ring: RingCheck & { readonly transitions: number; readonly tombstonesReaped: number };
  readonly selfTest: SelfTest | null;
  readonly failOnDivergence: boolean;
  readonly verdict: Verdict;
  /** Acknowledged operations per second through each fault, against the healthy rate. */
  readonly throughput: FaultThroughput;
  /** Wall time of the whole run, start-up and checks included. */
  readonly wallMs: number;
}

export interface Verdict {
  readonly pass: boolean;
  /** 0 pass; 1 an acknowledged write lost (or unverified, unexpected, resurrected, a ring problem, divergent when asked), or a self-test that found no loss. */
  readonly exitCode: 0 | 1;
  readonly reasons: readonly string[];
}

/** What each self-test breaks on purpose, the workload that must then show losses, and what a miss means. */
const selfTestCases = {
  lww: {
    workload: 'set',
    found: (lost: number) =>
      `self-test: last-writer-wins lost ${lost} acknowledged set elements and the checker reported them`,
    missed:
      'self-test: last-writer-wins lost nothing the checker could see (no concurrent siblings?): the check proved nothing',
  },
  'catch-up': {
    workload: 'unique-keys',
    found: (lost: number) =>
      `self-test: flipping without the catch-up lost ${lost} acknowledged writes and the checker reported them`,
    missed:
      'self-test: flipping without the catch-up lost nothing the checker could see (no partition streamed from a replica that missed writes?): the check proved nothing',
  },
} as const;

/**
 * A normal run passes when no acknowledged item is lost, unverified, unexpected or resurrected,
 * the final ring check found nothing (and, with failOnDivergence, the replicas converged). A
 * self-test passes only when the checker did report lost acknowledged items: a checker that
 * cannot fail proves nothing.
 */
export function decideVerdict(
  workloads: readonly CheckResult[],
  convergence: ConvergenceResult,
  selfTest: SelfTest | null,
  failOnDivergence: boolean,
  ringProblems: readonly string[] = [],
): Verdict {
  if (selfTest !== null) {
    const test = selfTestCases[selfTest];
    const lost = workloads.find((w) => w.workload === test.workload)?.lost ?? 0;
    return lost > 0
      ? { pass: true, exitCode: 0, reasons: [test.found(lost)] }
      : { pass: false, exitCode: 1, reasons: [test.missed] };
  }
  const reasons: string[] = [];
  for (const w of workloads) {
    if (w.lost > 0) reasons.push(`${w.workload}: ${w.lost} acknowledged writes lost`);
    if (w.unverified > 0)
      reasons.push(`${w.workload}: ${w.unverified} acknowledged writes could not be read back`);
    if (w.unexpected > 0)
      reasons.push(`${w.workload}: ${w.unexpected} items present that were never written`);
    if (w.resurrected > 0)
      reasons.push(`${w.workload}: ${w.resurrected} deleted values resurrected`);
  }
  for (const problem of ringProblems) reasons.push(`ring: ${problem}`);
  if (failOnDivergence && !convergence.converged)
    reasons.push(
      `${convergence.divergentPartitions} partitions still divergent after ${convergence.settleMs} ms`,
    );
  return reasons.length === 0
    ? { pass: true, exitCode: 0, reasons: ['no acknowledged write lost'] }
    : { pass: false, exitCode: 1, reasons };
}

/** Text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${(value / 1000).toFixed(1)} s`;
}

/** The Markdown summary of a report. */
export function renderMarkdown(report: RunReport, timelineFile: string): string {
  const c = report.convergence;
  const lines = [
    `# Ringstore chaos run, seed ${report.seed}: ${report.verdict.pass ? 'PASS' : 'FAIL'}`,
    '',
    ...report.verdict.reasons.map((r) => `- ${r}`),
    '',
    `- Replay: \`${report.replay}\``,
    `- Started ${report.startedAt}; ${report.nodes} nodes, N=${report.replicas}, W=${report.writeQuorum}, Q=${report.partitions}; workload ${ms(report.durationMs)}; whole run ${ms(report.wallMs)}`,
    `- Network: ${report.network} (${report.networkNote})`,
    `- Security: ${report.security.note}`,
    `- Nemeses: ${report.nemeses.join(', ')} (${report.order})${report.selfTest === null ? '' : `; self-test ${report.selfTest}`}`,
    ...report.unavailable.map((u) => `- Not available here, skipped: ${u.kind}: ${u.reason}`),
    '',
    '| workload | attempted | acknowledged | failed | overloaded | overload answers | unknown | lost | resurrected | unknown but present | failed but present | unexpected | unverified |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...report.workloads.map(
      (w) =>
        `| ${w.workload} | ${w.attempted} | ${w.acknowledged} | ${w.failed} | ${w.overloaded} | ${w.overloadAnswers} | ${w.unknown} | **${w.lost}** | **${w.resurrected}** | ${w.unknownPresent} | ${w.failedPresent} | ${w.unexpected} | ${w.unverified} |`,
    ),
    '',
    ringLine(report.ring),
    '',
    `Convergence: ${c.converged ? `every replica agreed ${ms(c.convergenceMs)} after the last write (${ms(c.sinceLastHealMs)} after the last heal)` : `**${c.divergentPartitions} of ${c.partitionsChecked} partitions still divergent** after ${ms(c.settleMs)}`}; ${c.polls} polls of every node's Merkle roots.`,
    '',
    `![timeline](${timelineFile})`,
    '',
    throughputLine(report.throughput),
    '',
    '| # | fault | planned | applied | healed | note |',
    '| ---: | --- | --- | ---: | ---: | --- |',
    ...report.windows.map(
      (w) =>
        `| ${w.index} | ${cell(w.description)} | ${ms(w.startMs)}..${ms(w.endMs)} | ${ms(w.appliedMs)} | ${ms(w.healedMs)} | ${cell(w.skipped ?? w.error ?? transitionNote(w.transition))} |`,
    ),
  ];
  const lost = report.workloads.flatMap((w) =>
    w.lostExamples.map(
      (e) =>
        `- ${w.workload} ${e.item}: acknowledged at ${ms(e.ackedAtMs)}, missing at ${e.missingAt.join(', ')}`,
    ),
  );
  if (lost.length > 0) lines.push('', '## Lost acknowledged writes (examples)', '', ...lost);
  const resurrected = report.workloads.flatMap((w) =>
    w.resurrectedExamples.map(
      (e) =>
        `- ${w.workload} ${e.item}: superseded by an acknowledged operation at ${ms(e.supersededAtMs)}, present at ${e.presentAt.join(', ')}`,
    ),
  );
  if (resurrected.length > 0)
    lines.push('', '## Resurrected values (examples)', '', ...resurrected);
  return lines.join('\n') + '\n';
}

/** "Acknowledged ops/s: healthy 150.2; #1 pause n3 121.3 (81%), ..." */
export function throughputLine(t: FaultThroughput): string {
  const healthy = t.healthyOpsPerSecond === null ? 'n/a' : String(t.healthyOpsPerSecond);
  const windows = t.windows.map(
    (w) =>
      `#${w.index} ${w.label} ${w.opsPerSecond}${w.ofHealthy === null ? '' : ` (${Math.round(w.ofHealthy * 100)}%)`}`,
  );
  return `Acknowledged operations per second: healthy ${healthy}${windows.length === 0 ? '' : `; ${windows.join('; ')}`}.`;
}

/** "v3 -> v9 in 4.2 s; <mid-transfer fault>; exit 0" for a membership window. */
function transitionNote(t: TransitionRecord | undefined): string {
  if (t === undefined) return '';
  const took =
    t.committedMs !== undefined && t.doneMs !== undefined
      ? ` in ${ms(t.doneMs - t.committedMs)}`
      : '';
  return [
    `v${t.versionBefore ?? '?'} -> v${t.versionAfter ?? '?'}${took}`,
    ...(t.midTransfer === undefined ? [] : [t.midTransfer]),
    ...(t.exitCode === undefined ? [] : [`exit ${t.exitCode}`]),
  ].join('; ');
}

function ringLine(ring: RunReport['ring']): string {
  const head = `Ring: ${ring.transitions} membership transitions`;
  return ring.problems.length === 0
    ? `${head}; at the end v${ring.version} on every live node, members ${ring.members.join(' ')}, no transfers, N distinct owners everywhere; ${ring.tombstonesReaped} tombstones reaped.`
    : `${head}; **ring problems**: ${ring.problems.map(cell).join('; ')}.`;
}
