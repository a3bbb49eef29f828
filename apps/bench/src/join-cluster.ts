// The cluster of the join benchmark: three founders on 127.0.0.1 free ports, each with its
// metrics on a free port too, a fourth node added with --seeds, and the Cluster RPCs that join
// it (stage at the claimant, plan, commit) and watch the ring spread and settle.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials } from '@grpc/grpc-js';
import { ClusterClient, type Plan, type Ring } from '@ringstore/proto';
import { freePorts, startCluster, type Cluster } from '@ringstore/tools';
import { scrapeNode, type NodeSample } from './node-metrics.js';
import { callUnary } from './targets/unary.js';

/** The founders: N=3 replicas need three nodes; the benchmark joins a fourth. */
export const foundersCount = 3;
export const joinerId = 'n4';
/** Deadline of each Cluster RPC: a plan over a million keys is estimated from counts, not a scan. */
export const clusterRpcDeadlineMs = 10_000;
/** Between GetRing rounds while a ring version spreads: the push is expected within 1 s. */
export const pushPollMs = 20;
/** Longest wait for the pushed version: far past the 1 s push and the 5 s gossip figures. */
export const pushWaitMsMax = 30_000;
/** Between GetRing rounds while transfers run: they take seconds to minutes. */
export const settlePollMs = 200;
/** Between metric scrapes while transfers run: enough to see when streaming ends. */
export const sampleEveryMs = 1_000;

export interface JoinCluster {
  readonly cluster: Cluster;
  /** host:port of each node's metrics, by node id (the joiner's included before it starts). */
  readonly metrics: ReadonlyMap<string, string>;
  /** The founders' gRPC addresses. */
  readonly seeds: readonly string[];
}

/** Starts the founders (each with --metrics-listen on its own free port) and waits for SERVING. */
export async function startJoinCluster(
  dir: string,
  partitions: number,
  transferRate: number,
  onSpawn: (id: string, pid: number) => void,
): Promise<JoinCluster> {
  const ports = await freePorts(foundersCount + 1);
  const metrics = new Map(ports.map((port, i) => [`n${i + 1}`, `127.0.0.1:${port}`]));
  const cluster = await startCluster({
    nodes: foundersCount,
    basePort: 0,
    dataDir: dir,
    extraArgs: [
      ...['--log-level', 'warn', '--partitions', String(partitions), '--r', '2', '--w', '2'],
      ...['--transfer-rate', String(transferRate)],
    ],
    // The launcher gives every node the same extra arguments; a shell (exec: the pid stays the
    // node's) appends each node's own metrics address.
    commandPrefix: (id) => {
      const address = metrics.get(id);
      if (address === undefined) throw new Error(`no metrics port for ${id}`);
      return ['/bin/sh', '-c', 'exec "$@" --metrics-listen "$0"', address];
    },
    onSpawn: (node) => onSpawn(node.id, node.pid),
  });
  return { cluster, metrics, seeds: cluster.nodes.map((n) => n.address) };
}

/** One Cluster client per node, kept open for the polling rounds. */
export class ClusterRpc {
  private readonly client: ClusterClient;

  constructor(readonly address: string) {
    this.client = new ClusterClient(address, credentials.createInsecure());
  }

  async ring(deadlineMs = clusterRpcDeadlineMs): Promise<Ring> {
    const ring = await callUnary(this.client.getRing.bind(this.client), {}, deadlineMs);
    if (ring === undefined) throw new Error(`GetRing at ${this.address}: no ring`);
    return ring;
  }

  async stageJoin(id: string, address: string, peerAddress: string): Promise<void> {
    const change = {
      kind: { $case: 'join' as const, value: { id, address, peerAddress, zone: '' } },
    };
    await callUnary(this.client.stageChange.bind(this.client), { change }, clusterRpcDeadlineMs);
  }

  async plan(): Promise<Plan> {
    const plan = await callUnary(
      this.client.planChanges.bind(this.client),
      {},
      clusterRpcDeadlineMs,
    );
    if (plan === undefined) throw new Error(`PlanChanges at ${this.address}: no plan`);
    return plan;
  }

  /** Commits the last plan; the version of the ring the commit made. */
  async commit(): Promise<bigint> {
    const r = await callUnary(this.client.commitPlan.bind(this.client), {}, clusterRpcDeadlineMs);
    if (r?.ring === undefined) throw new Error(`CommitPlan at ${this.address}: no ring`);
    return r.ring.version;
  }

  close(): void {
    this.client.close();
  }
}

/** Every node's ring, or undefined for a node that did not answer within the deadline. */
async function rings(
  nodes: readonly ClusterRpc[],
  deadlineMs: number,
): Promise<(Ring | undefined)[]> {
  return Promise.all(nodes.map((n) => n.ring(deadlineMs).catch(() => undefined)));
}

/**
 * Milliseconds from `t0` until every node answers GetRing with `version` or newer (polled every
 * pushPollMs); undefined when some node had not within pushWaitMsMax.
 */
export async function waitPushed(
  nodes: readonly ClusterRpc[],
  version: bigint,
  t0: number,
): Promise<number | undefined> {
  while (performance.now() - t0 < pushWaitMsMax) {
    const seen = await rings(nodes, clusterRpcDeadlineMs);
    if (seen.every((r) => r !== undefined && r.version >= version)) return performance.now() - t0;
    await sleep(pushPollMs);
  }
  return undefined;
}

/** A ring every node holds, with no transition running: the join is over. */
export function settledVersion(seen: readonly (Ring | undefined)[]): bigint | undefined {
  const first = seen[0];
  if (first === undefined) return undefined;
  for (const r of seen)
    if (r === undefined || r.version !== first.version || r.transfers.length > 0) return undefined;
  return first.nextOwners.length === 0 ? first.version : undefined;
}

/** Waits (bounded by timeoutMs from t0) for every node to hold the same ring with no transfers. */
export async function waitSettled(
  nodes: readonly ClusterRpc[],
  t0: number,
  timeoutMs: number,
): Promise<{ settleMs: number; version: bigint }> {
  let last = '';
  while (performance.now() - t0 < timeoutMs) {
    const seen = await rings(nodes, clusterRpcDeadlineMs);
    const version = settledVersion(seen);
    if (version !== undefined) return { settleMs: performance.now() - t0, version };
    last = seen
      .map((r, i) =>
        r === undefined
          ? `${nodes[i]?.address}: no answer`
          : `v${r.version} ${r.transfers.length} transfers`,
      )
      .join('; ');
    await sleep(settlePollMs);
  }
  throw new Error(`the join did not settle within ${timeoutMs} ms (last: ${last})`);
}

/** Every node's metrics, summed; the joiner's transfer objects apart. */
export interface ClusterSample {
  readonly atMs: number;
  readonly transferObjects: number;
  readonly joinerTransferObjects: number;
  readonly cpuSeconds: number;
}

export async function sampleCluster(
  metrics: ReadonlyMap<string, string>,
  ids: readonly string[],
): Promise<ClusterSample> {
  const samples: NodeSample[] = await Promise.all(
    ids.map((id) => {
      const address = metrics.get(id);
      if (address === undefined) throw new Error(`no metrics address for ${id}`);
      return scrapeNode(address);
    }),
  );
  const joiner = ids.indexOf(joinerId);
  return {
    atMs: performance.now(),
    transferObjects: samples.reduce((s, x) => s + x.transferObjects, 0),
    joinerTransferObjects: joiner >= 0 ? (samples[joiner]?.transferObjects ?? 0) : 0,
    cpuSeconds: samples.reduce((s, x) => s + x.cpuSeconds, 0),
  };
}

/** What the transfer counter showed while the join ran. */
export interface StreamingSeen {
  /** ms from t0 of the last sample in which the counter had grown (undefined: never seen grow). */
  readonly lastGrowthMs: number | undefined;
  /** The counter at that sample. */
  readonly objects: number;
}

/** Samples the cluster every sampleEveryMs until `done()`: when streaming was last seen moving. */
export async function watchStreaming(
  metrics: ReadonlyMap<string, string>,
  ids: readonly string[],
  from: ClusterSample,
  t0: number,
  done: () => boolean,
): Promise<StreamingSeen> {
  let objects = from.transferObjects;
  let lastGrowthMs: number | undefined;
  while (!done()) {
    await sleep(sampleEveryMs);
    const s = await sampleCluster(metrics, ids).catch(() => undefined);
    if (s !== undefined && s.transferObjects > objects) {
      objects = s.transferObjects;
      lastGrowthMs = s.atMs - t0;
    }
  }
  return { lastGrowthMs, objects };
}
