// A fuzz run's outcome: the verdict with its reasons, requests per RPC, status codes (per RPC and
// overall), each finding with the request to replay, and crashes with what the node last got.
import type { ExitInfo } from '../node-process.js';
import type { Finding, RequestRecord, Tally } from './stats.js';

export interface Crash {
  readonly node: string;
  readonly exit: ExitInfo;
  /** The last requests the node received before it exited. */
  readonly recent: readonly RequestRecord[];
}

export interface FuzzChecks {
  /** Nodes that exited or whose process is gone. */
  readonly nodesDown: readonly string[];
  /** Nodes whose health check did not answer SERVING. */
  readonly notServing: readonly string[];
  /** Members still seen down (or not heard of) after the settle wait. */
  readonly unsettled: readonly string[];
  /** Known keys that did not read back at R = 3 with their value. */
  readonly knownKeys: readonly string[];
  readonly knownKeysChecked: number;
  /** The ring's claimant and version, before and after ("n1 1.1 -> n1 1.1"). */
  readonly ring: string;
}

export interface FuzzReport {
  readonly seed: number;
  readonly nodes: number;
  readonly seconds: number;
  readonly concurrency: number;
  readonly fuzzMs: number;
  readonly wallMs: number;
  readonly requests: number;
  readonly sent: Readonly<Record<string, number>>;
  readonly byRpc: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly codes: Readonly<Record<string, number>>;
  readonly findings: readonly Finding[];
  readonly findingsTotal: number;
  readonly crashes: readonly Crash[];
  readonly checks: FuzzChecks;
  readonly pass: boolean;
  readonly reasons: readonly string[];
  /** Where data, logs and the report were kept (undefined: removed after a pass). */
  readonly dir: string | undefined;
}

const sorted = (m: ReadonlyMap<string, number>): Record<string, number> =>
  Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));

export function tallyParts(
  tally: Tally,
): Pick<FuzzReport, 'requests' | 'sent' | 'byRpc' | 'codes' | 'findings' | 'findingsTotal'> {
  const byRpc = Object.fromEntries(
    [...tally.byRpc].sort(([a], [b]) => a.localeCompare(b)).map(([rpc, m]) => [rpc, sorted(m)]),
  );
  return {
    requests: tally.requests,
    sent: sorted(tally.sent),
    byRpc,
    codes: sorted(tally.codes),
    findings: tally.findings,
    findingsTotal: tally.findingsTotal,
  };
}

/** Why the run failed ([] for a pass). */
export function reasonsOf(
  checks: FuzzChecks,
  crashes: readonly Crash[],
  findingsTotal: number,
): string[] {
  const reasons: string[] = [];
  if (findingsTotal > 0) reasons.push(`${findingsTotal} answers INTERNAL or UNKNOWN`);
  if (crashes.length > 0) reasons.push(`${crashes.map((c) => c.node).join(', ')} exited`);
  if (checks.nodesDown.length > 0) reasons.push(`not running: ${checks.nodesDown.join(', ')}`);
  if (checks.notServing.length > 0) reasons.push(`not SERVING: ${checks.notServing.join(', ')}`);
  if (checks.unsettled.length > 0)
    reasons.push(`still down after the run: ${checks.unsettled.join('; ')}`);
  if (checks.knownKeys.length > 0)
    reasons.push(`${checks.knownKeys.length} known keys changed or unreadable`);
  return reasons;
}

function codesLine(codes: Readonly<Record<string, number>>): string {
  return Object.entries(codes)
    .sort(([, a], [, b]) => b - a)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
}

/** A finding's kind: what answered, how, and the message with its numbers taken out. */
export function signatureOf(f: Finding): string {
  return `${f.answer.rpc} ${f.answer.code}: ${f.answer.details.replace(/\d+/g, 'N').slice(0, 200)}`;
}

/** One line per kind of finding, with how often it came and the first request that caused it. */
function findingLines(findings: readonly Finding[]): string[] {
  const kinds = new Map<string, { count: number; first: Finding }>();
  for (const f of findings) {
    const kind = kinds.get(signatureOf(f));
    if (kind === undefined) kinds.set(signatureOf(f), { count: 1, first: f });
    else kind.count++;
  }
  return [...kinds].flatMap(([signature, { count, first }]) => {
    const r = first.request;
    const body = r.bodyBase64.length > 400 ? `${r.bodyBase64.slice(0, 400)}...` : r.bodyBase64;
    return [
      `  ${count} x ${signature}`,
      `    first: #${r.index} ${r.rpc} to ${r.node} (${r.port} port, from ${r.from ?? '-'}, ${r.variant}, ${r.bodyBytes} bytes)`,
      ...(r.link === undefined ? [] : [`    its Link messages: ${r.link.slice(0, 200)}`]),
      `    body (base64; whole in report.json): ${body}`,
    ];
  });
}

/** The summary printed at the end of a run. */
export function formatReport(report: FuzzReport): string {
  const c = report.checks;
  const lines = [
    `fuzz: seed ${report.seed}, ${report.nodes} nodes, ${report.seconds} s, concurrency ${report.concurrency}`,
    `requests: ${report.requests} in ${(report.fuzzMs / 1000).toFixed(1)} s (${Math.round(report.requests / Math.max(1, report.fuzzMs / 1000))}/s)`,
    'requests per RPC, and what they answered:',
  ];
  const width = Math.max(...Object.keys(report.byRpc).map((k) => k.length), 10);
  for (const [rpc, codes] of Object.entries(report.byRpc)) {
    const sent = report.sent[rpc];
    const count = sent === undefined ? '' : String(sent);
    lines.push(`  ${rpc.padEnd(width)} ${count.padStart(7)}  ${codesLine(codes)}`);
  }
  lines.push(`status codes: ${codesLine(report.codes)}`);
  lines.push(
    `checks: INTERNAL/UNKNOWN answers ${report.findingsTotal}; nodes exited ${report.crashes.length}; ` +
      `not running ${c.nodesDown.length}; not SERVING ${c.notServing.length}; ` +
      `known keys intact ${c.knownKeysChecked - c.knownKeys.length}/${c.knownKeysChecked}; ring ${c.ring}`,
  );
  lines.push(...findingLines(report.findings));
  for (const crash of report.crashes) {
    lines.push(`  ${crash.node} exited (${JSON.stringify(crash.exit)}); its last requests:`);
    for (const r of crash.recent)
      lines.push(`    #${r.index} ${r.rpc} ${r.variant} ${r.bodyBytes} bytes`);
  }
  for (const k of c.knownKeys.slice(0, 20)) lines.push(`  known key: ${k}`);
  for (const u of c.unsettled.slice(0, 20)) lines.push(`  unsettled: ${u}`);
  lines.push(
    `fuzz: ${report.pass ? 'PASS' : `FAIL: ${report.reasons.join('; ')}`} (seed ${report.seed})`,
  );
  if (report.dir !== undefined) lines.push(`data, logs and report.json kept in ${report.dir}`);
  return lines.join('\n');
}
