import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '@ringstore/tools';
import { status } from '@grpc/grpc-js';
import { Applied } from '@ringstore/proto';
import { connectNode, listMembers, statusOf, type NodeClient } from './kv-client.js';

/** A real cluster of ringstore-node processes on 127.0.0.1 free ports, in a temporary directory. */
export interface TestCluster {
  readonly cluster: Cluster;
  readonly dir: string;
  /** A client for node `id` (n1, n2, ...), cached until the node restarts. */
  client(id: string): NodeClient;
  /** host:port of node `id`'s client port. */
  address(id: string): string;
  /** host:port of node `id`'s peer port (what `--seeds` names). */
  peerAddress(id: string): string;
  kill(id: string): Promise<void>;
  /** SIGTERM (graceful), then SIGKILL after a bound. */
  stopNode(id: string): Promise<void>;
  restart(id: string): Promise<void>;
  /** Stops every node by pid (SIGTERM, then SIGKILL) and removes the directory. */
  stop(): Promise<void>;
}

export async function startTestCluster(
  nodes: number,
  extraArgs: readonly string[] = [],
  /** adminPorts: every node serves its HTTP admin port (metrics, health, web console). */
  options: { adminPorts?: boolean } = {},
): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-it-'));
  let cluster: Cluster;
  try {
    cluster = await startCluster({
      nodes,
      basePort: 0,
      dataDir: join(dir, 'data'),
      logDir: join(dir, 'logs'),
      extraArgs: [...extraArgs],
      adminPorts: options.adminPorts ?? false,
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  try {
    await everyIncarnationKnown(cluster);
  } catch (e) {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const clients = new Map<string, NodeClient>();
  const nodeOf = (id: string) => {
    const node = cluster.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  };
  const address = (id: string): string => nodeOf(id).address;
  const dropClient = (id: string): void => {
    clients.get(id)?.close();
    clients.delete(id);
  };
  return {
    cluster,
    dir,
    address,
    peerAddress: (id) => nodeOf(id).peerAddress,
    client(id) {
      let c = clients.get(id);
      if (c === undefined) {
        c = connectNode(address(id));
        clients.set(id, c);
      }
      return c;
    },
    async kill(id) {
      dropClient(id);
      await cluster.kill(id);
    },
    async stopNode(id) {
      dropClient(id);
      await cluster.stopNode(id);
    },
    async restart(id) {
      dropClient(id);
      await cluster.restart(id);
    },
    async stop() {
      for (const id of [...clients.keys()]) dropClient(id);
      try {
        await cluster.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * A put, repeated (at most 5 times, 500 ms apart) only while the node's failure trailer says the
 * write was applied nowhere: the retry the SDK makes, safe because nothing was applied. On a loaded
 * CI machine a coordinator can briefly count a live fallback down too (a peer RPC timed out, or
 * gossip came late), leaving fewer than W candidates for a moment; the write must then succeed
 * once that passes. Each repeat is printed, so how often it happens stays visible.
 */
export async function putUnlessUnapplied(
  tc: TestCluster,
  via: string,
  key: string,
  value: string,
  w: number,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await statusOf(tc.client(via).put(key, value, { w }));
    if (outcome.code === -1) return;
    if (
      attempt >= 5 ||
      outcome.code !== Number(status.UNAVAILABLE) ||
      outcome.failure?.applied !== Applied.APPLIED_NONE
    ) {
      throw new Error(`put ${key} via ${via}: ${outcome.code} ${outcome.details}`);
    }
    console.log(`put ${key} via ${via} refused unapplied (${outcome.details}); repeating`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Every node has heard, through gossip, of every other node's current incarnation (its
 * generation). A node redials a peer the first time it hears of it, so from then on no channel is
 * still in the reconnect backoff of a dial made before that peer listened: a W=N write right
 * after the start would fail on such a channel (it may have applied, so it is not repeated).
 */
async function everyIncarnationKnown(cluster: Cluster): Promise<void> {
  const deadline = Date.now() + incarnationsWaitMs;
  for (;;) {
    const views = await Promise.all(
      cluster.nodes.map((n) => listMembers(n.address).catch(() => [])),
    );
    const known = views.every(
      (members) =>
        members.length === cluster.nodes.length &&
        members.every((m) => m.generation > 0n && m.alive),
    );
    if (known) return;
    if (Date.now() > deadline)
      throw new Error(
        `nodes did not learn each other's incarnation within ${incarnationsWaitMs} ms`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Bound on gossip spreading every incarnation at start: a few rounds of a second. */
const incarnationsWaitMs = 30_000;
