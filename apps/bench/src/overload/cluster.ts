// The overload bench's cluster: three ringstore-node processes on free ports (N=3, R=W=2, the
// admission limits at the node's defaults unless given), each with its metrics on a free port, and what
// the bench reads of them afterwards: each node's member list, its 'peer is down' log lines, and
// the counters of refusals and suppressed suspicions.
import { readFile } from 'node:fs/promises';
import { credentials } from '@grpc/grpc-js';
import { ClusterClient, type Member } from '@ringstore/proto';
import { freePorts, startCluster, type Cluster } from '@ringstore/tools';
import { metricSum } from '../node-metrics.js';
import { callUnary } from '../targets/unary.js';

export const nodesCount = 3;
/** The node every request goes to. */
export const targetId = 'n1';
/** Where the nodes listen: the bench reads their /proc entries, so they run on this machine. */
const host = '127.0.0.1';
/** Deadline of ListMembers and of a metrics scrape: a local node answers in milliseconds. */
export const inspectDeadlineMs = 5_000;
/** The node's log message when its failure detector convicts a peer (gossiper.ts). */
export const peerDownMessage = 'peer is down';

export interface OverloadCluster {
  readonly cluster: Cluster;
  /** host:port of each node's metrics, by id. */
  readonly metrics: ReadonlyMap<string, string>;
  readonly ids: readonly string[];
}

/** Starts the nodes, each with --metrics-listen on its own free port, and waits for SERVING. */
export async function startOverloadCluster(
  dataDir: string,
  logDir: string,
  maxInflightRequests: number | undefined,
): Promise<OverloadCluster> {
  const admission =
    maxInflightRequests === undefined
      ? []
      : ['--max-inflight-requests', String(maxInflightRequests)];
  const ids = Array.from({ length: nodesCount }, (_, i) => `n${i + 1}`);
  const ports = await freePorts(nodesCount, host);
  const metrics = new Map(ids.map((id, i) => [id, `${host}:${ports[i]}`]));
  const cluster = await startCluster({
    nodes: nodesCount,
    basePort: 0,
    dataDir,
    logDir,
    // info: 'peer is down' is a warning and 'peer is up' info; both are counted or shown.
    extraArgs: ['--log-level', 'info', '--replicas', '3', '--r', '2', '--w', '2', ...admission],
    nodeArgs: (id) => ['--metrics-listen', metrics.get(id) ?? ''],
  });
  return { cluster, metrics, ids };
}

/** What one node thinks of its peers right now. */
export interface MembersSeen {
  readonly id: string;
  /** Peers this node holds not alive (or suspected), or 'no answer: ...' when it did not reply. */
  readonly notAlive: readonly string[];
}

export async function membersSeen(address: string, id: string): Promise<MembersSeen> {
  const client = new ClusterClient(address, credentials.createInsecure());
  try {
    const r = await callUnary(client.listMembers.bind(client), {}, inspectDeadlineMs);
    const notAlive = (r?.members ?? [])
      .filter((m: Member) => !m.alive || m.suspected)
      .map((m) => `${m.node?.id ?? '?'}${m.suspected ? ' (suspected)' : ''}`);
    return { id, notAlive };
  } catch (e) {
    return { id, notAlive: [`no answer: ${e instanceof Error ? e.message : String(e)}`] };
  } finally {
    client.close();
  }
}

/** The peers named in 'peer is down' lines, in order: who was convicted, for the report. */
export function peersDownNamed(log: string): string[] {
  const named: string[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes(`"msg":"${peerDownMessage}"`)) continue;
    const peer = /"peer":"([^"]*)"/.exec(line)?.[1];
    named.push(peer ?? '?');
  }
  return named;
}

/** Per node: the peers its log says it marked down since it started. */
export async function peersMarkedDown(
  oc: OverloadCluster,
): Promise<Record<string, readonly string[]>> {
  const out: Record<string, readonly string[]> = {};
  for (const node of oc.cluster.nodes)
    out[node.id] = peersDownNamed(await readFile(node.logFile, 'utf8').catch(() => ''));
  return out;
}

/** The counters of one node the report shows. */
export interface NodeCounters {
  /** ringstore_requests_refused_total by reason. */
  readonly refused: Record<string, number>;
  /** ringstore_requests_total of puts by status: every put the node answered, as it saw it. */
  readonly putsByStatus: Record<string, number>;
  readonly suspicionsSuppressed: number;
  /** ringstore_request_seconds_bucket of puts by `le`: admitted puts answered within each bound. */
  readonly putLatencyBuckets: Record<string, number>;
}

/**
 * The samples of `name` whose labels include every `where` pair, summed by the value of label
 * `by` (Prometheus text format).
 */
export function sumsBy(
  text: string,
  name: string,
  by: string,
  where: Readonly<Record<string, string>> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.indexOf('}');
    const labels = new Map<string, string>();
    for (const m of line.slice(name.length + 1, close).matchAll(/(\w+)="([^"]*)"/g))
      labels.set(m[1] ?? '', m[2] ?? '');
    if (Object.entries(where).some(([k, v]) => labels.get(k) !== v)) continue;
    const value = Number(
      line
        .slice(close + 1)
        .trim()
        .split(/\s+/)[0],
    );
    const key = labels.get(by);
    if (key !== undefined && Number.isFinite(value)) out[key] = (out[key] ?? 0) + value;
  }
  return out;
}

export async function nodeCounters(metricsAddress: string): Promise<NodeCounters | undefined> {
  try {
    const response = await fetch(`http://${metricsAddress}/metrics`, {
      signal: AbortSignal.timeout(inspectDeadlineMs),
    });
    if (!response.ok) return undefined;
    const text = await response.text();
    return {
      refused: sumsBy(text, 'ringstore_requests_refused_total', 'reason'),
      putsByStatus: sumsBy(text, 'ringstore_requests_total', 'status', { op: 'put' }),
      suspicionsSuppressed: metricSum(text, 'ringstore_suspicions_suppressed_total') ?? 0,
      putLatencyBuckets: sumsBy(text, 'ringstore_request_seconds_bucket', 'le', { op: 'put' }),
    };
  } catch {
    return undefined;
  }
}
