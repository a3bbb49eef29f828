// The run report: one JSON document, a Markdown summary of it, and the verdict (exit code). Pure.
import type { CheckResult } from './checker.js';
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
  readonly selfTest: 'lww' | null;
  readonly failOnDivergence: boolean;
  readonly verdict: Verdict;
  /** Wall time of the whole run, start-up and checks included. */
  readonly wallMs: number;
}

export interface Verdict {
  readonly pass: boolean;
  /** 0 pass; 1 an acknowledged write lost (or unverified, unexpected, divergent when asked), or a self-test that found no loss. */
  readonly exitCode: 0 | 1;
  readonly reasons: readonly string[];
}

/**
 * A normal run passes when no acknowledged item is lost, unverified or unexpected (and, with
 * failOnDivergence, the replicas converged). The last-writer-wins self-test passes only when the
 * checker did report lost acknowledged items: a checker that cannot fail proves nothing.
 */
export function decideVerdict(
  workloads: readonly CheckResult[],
  convergence: ConvergenceResult,
  selfTest: 'lww' | null,
  failOnDivergence: boolean,
): Verdict {
  if (selfTest === 'lww') {
    const set = workloads.find((w) => w.workload === 'set');
    const lost = set?.lost ?? 0;
    return lost > 0
      ? {
          pass: true,
          exitCode: 0,
          reasons: [
            `self-test: last-writer-wins lost ${lost} acknowledged set elements and the checker reported them`,
          ],
        }
      : {
          pass: false,
          exitCode: 1,
          reasons: [
            'self-test: last-writer-wins lost nothing the checker could see (no concurrent siblings?): the check proved nothing',
          ],
        };
  }
  const reasons: string[] = [];
  for (const w of workloads) {
    if (w.lost > 0) reasons.push(`${w.workload}: ${w.lost} acknowledged writes lost`);
    if (w.unverified > 0)
      reasons.push(`${w.workload}: ${w.unverified} acknowledged writes could not be read back`);
    if (w.unexpected > 0)
      reasons.push(`${w.workload}: ${w.unexpected} items present that were never written`);
  }
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
    `- Nemeses: ${report.nemeses.join(', ')} (${report.order})${report.selfTest === null ? '' : `; self-test ${report.selfTest}`}`,
    ...report.unavailable.map((u) => `- Not available here, skipped: ${u.kind}: ${u.reason}`),
    '',
    '| workload | attempted | acknowledged | failed | unknown | lost | unknown but present | failed but present | unexpected | unverified |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...report.workloads.map(
      (w) =>
        `| ${w.workload} | ${w.attempted} | ${w.acknowledged} | ${w.failed} | ${w.unknown} | **${w.lost}** | ${w.unknownPresent} | ${w.failedPresent} | ${w.unexpected} | ${w.unverified} |`,
    ),
    '',
    `Convergence: ${c.converged ? `every replica agreed ${ms(c.convergenceMs)} after the last write (${ms(c.sinceLastHealMs)} after the last heal)` : `**${c.divergentPartitions} of ${c.partitionsChecked} partitions still divergent** after ${ms(c.settleMs)}`}; ${c.polls} polls of every node's Merkle roots.`,
    '',
    `![timeline](${timelineFile})`,
    '',
    '| # | fault | planned | applied | healed | note |',
    '| ---: | --- | --- | ---: | ---: | --- |',
    ...report.windows.map(
      (w) =>
        `| ${w.index} | ${cell(w.description)} | ${ms(w.startMs)}..${ms(w.endMs)} | ${ms(w.appliedMs)} | ${ms(w.healedMs)} | ${w.skipped ?? w.error ?? ''} |`,
    ),
  ];
  const lost = report.workloads.flatMap((w) =>
    w.lostExamples.map(
      (e) =>
        `- ${w.workload} ${e.item}: acknowledged at ${ms(e.ackedAtMs)}, missing at ${e.missingAt.join(', ')}`,
    ),
  );
  if (lost.length > 0) lines.push('', '## Lost acknowledged writes (examples)', '', ...lost);
  return lines.join('\n') + '\n';
}
