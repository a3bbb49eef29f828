import { afterEach } from 'vitest';
import { connect, type Client } from '../client.js';
import type { ConnectOptions } from '../options.js';
import { startFakeCluster, type FakeCluster, type FakeClusterOptions } from './fake-cluster.js';

const clients: Client[] = [];
const clusters: FakeCluster[] = [];

/** Starts a fake cluster that is stopped after the test. */
export async function fakeCluster(options: FakeClusterOptions): Promise<FakeCluster> {
  const cluster = await startFakeCluster(options);
  clusters.push(cluster);
  return cluster;
}

/** Connects to the cluster's nodes (as seeds); the client is closed after the test. */
export async function clientOf(
  cluster: FakeCluster,
  options: Partial<ConnectOptions> = {},
): Promise<Client> {
  // Hedged reads off unless a test asks: tests that count requests node by node must not see a
  // hedge when a loaded machine makes a fake node answer later than the hedge delay.
  const client = await connect({
    seeds: cluster.nodes.map((n) => n.address),
    hedgeReads: false,
    ...options,
  });
  clients.push(client);
  return client;
}

/** Registers the cleanup: every client closed and every server stopped after each test. */
export function cleanUpAfterEach(): void {
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
    for (const cluster of clusters.splice(0)) cluster.stop();
  });
}

/** Keys that hash to the given first primary (searching key-0, key-1, ... up to a bound). */
export function keysWithFirstPrimary(
  cluster: FakeCluster,
  nodeId: string,
  count: number,
): string[] {
  const keys: string[] = [];
  for (let i = 0; i < 10_000 && keys.length < count; i++) {
    const key = `key-${i}`;
    if (cluster.primariesOf(key)[0] === nodeId) keys.push(key);
  }
  if (keys.length < count) throw new Error(`fewer than ${count} keys have ${nodeId} first`);
  return keys;
}
