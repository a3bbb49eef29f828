// How fast a new ring version reaches every node (issue 12's figures): by the claimant's push, and
// by gossip alone. Each round hands the claimant role to another node (Cluster.MoveClaimant:
// version + 1, pushed by the old claimant) with one node cut off from both claimants (iptables in
// the nodes' network namespaces, both directions), and polls every node's GetRing: the nodes the
// push reached give the push time; the cut-off node can only learn the version from the other
// nodes' gossip (a pull once a peer shows a newer version), which gives the gossip-alone time.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCluster, type Cluster } from '../cluster.js';
import { plaintextAccess } from './access.js';
import { clusterRpc as clusterRpcOf } from './cluster-rpc.js';
import { openNetwork, type Network } from './network.js';

export interface SpreadOptions {
  readonly nodes: number;
  readonly rounds: number;
  readonly gossipIntervalMs: number;
  readonly outDir: string;
  readonly log: (line: string) => void;
}

export interface SpreadRound {
  readonly version: number;
  /** The old claimant (it pushed the version) and the new one. */
  readonly claimant: string;
  readonly next: string;
  /** The node cut off from both. */
  readonly cutOff: string;
  /** Slowest node the push reached, ms from the MoveClaimant answer. */
  readonly pushMs: number;
  /** The cut-off node, ms from the answer. */
  readonly gossipMs: number;
}

/** The cluster of bench:spread runs plaintext (with --insecure): its figures are gossip's. */
const clusterRpc = clusterRpcOf(plaintextAccess);

/** Between polls of every node's ring. */
const pollMs = 10;
/** A round that has not reached every node by then failed. */
const roundWaitMs = 30_000;
/** Bound on every node seeing every other alive before the first round. */
const convergeWaitMs = 60_000;

export async function measureSpread(options: SpreadOptions): Promise<SpreadRound[]> {
  const network = await openNetwork('netns', options.nodes, options.log);
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster({
      nodes: options.nodes,
      basePort: 0,
      dataDir: join(options.outDir, 'data'),
      logDir: join(options.outDir, 'logs'),
      // Private addresses in network namespaces: plaintext needs --insecure (docs/security.md).
      extraArgs: ['--gossip-interval-ms', String(options.gossipIntervalMs), '--insecure'],
      addresses: network.addresses,
      commandPrefix: network.commandPrefix,
    });
    await converged(cluster);
    const rounds: SpreadRound[] = [];
    for (let i = 0; i < options.rounds; i++) {
      const round = await oneRound(cluster, network, i);
      options.log(
        `round ${i + 1}: v${round.version} (claimant ${round.claimant} -> ${round.next}), ${round.cutOff} cut off from both: push ${round.pushMs} ms, gossip alone ${round.gossipMs} ms`,
      );
      rounds.push(round);
    }
    return rounds;
  } finally {
    await cluster?.stop();
    await network.close();
  }
}

async function converged(cluster: Cluster): Promise<void> {
  const deadline = Date.now() + convergeWaitMs;
  for (;;) {
    const views = await Promise.all(cluster.nodes.map((n) => clusterRpc.members(n.address)));
    if (views.every((members) => members.every((m) => m.alive))) return;
    if (Date.now() > deadline) throw new Error('the nodes did not all see each other alive');
    await sleep(200);
  }
}

async function oneRound(cluster: Cluster, network: Network, index: number): Promise<SpreadRound> {
  const ring = await clusterRpc.ring(cluster.nodes[0]!.address);
  const claimant = ring.claimant;
  const others = cluster.nodes.map((n) => n.id).filter((id) => id !== claimant);
  const cutOff = others[index % others.length]!;
  const next = others.find((id) => id !== cutOff)!;
  // Cut off from the old claimant (which pushes the version) and the new one (which re-pushes to
  // nodes it sees behind): the version can only reach it through the other nodes' gossip.
  await network.drop(
    [claimant, next].flatMap((id) => [
      { from: id, to: cutOff },
      { from: cutOff, to: id },
    ]),
  );
  try {
    const moved = await clusterRpc.moveClaimant(cluster.node(claimant).address, next);
    const version = Number(moved?.version ?? 0n);
    const answeredMs = performance.now();
    const applied = await appliedTimes(cluster, version, answeredMs);
    const push = cluster.nodes.filter((n) => n.id !== cutOff).map((n) => applied.get(n.id) ?? 0);
    return {
      version,
      claimant,
      next,
      cutOff,
      pushMs: Math.max(...push),
      gossipMs: applied.get(cutOff) ?? 0,
    };
  } finally {
    await network.heal();
    await sleep(1_000);
  }
}

/** Polls every node's GetRing until each shows `version`: ms after `sinceMs` per node. */
async function appliedTimes(
  cluster: Cluster,
  version: number,
  sinceMs: number,
): Promise<Map<string, number>> {
  const applied = new Map<string, number>();
  while (applied.size < cluster.nodes.length) {
    if (performance.now() - sinceMs > roundWaitMs)
      throw new Error(`version ${version} did not reach every node in ${roundWaitMs} ms`);
    await Promise.all(
      cluster.nodes
        .filter((n) => !applied.has(n.id))
        .map(async (n) => {
          const ring = await clusterRpc.ring(n.address).catch(() => undefined);
          if (ring !== undefined && Number(ring.version) >= version)
            applied.set(n.id, Math.round(performance.now() - sinceMs));
        }),
    );
    await sleep(pollMs);
  }
  return applied;
}
