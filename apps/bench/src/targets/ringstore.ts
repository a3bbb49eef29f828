import { join } from 'node:path';
import { connect, type Client } from '@ringstore/client';
import { startCluster } from '@ringstore/tools';
import { InsertSequence, type Driver } from '../harness.js';
import type { Backend, BackendOptions, TargetName } from './target.js';

/** Contexts the driver remembers (one per key, least recently used dropped beyond this). */
export const contextCacheMax = 1_000_000;

/**
 * The SDK, as an application uses it: an update sends the causal context of the last read or
 * write of that key (so it supersedes what it saw instead of piling up siblings); an insert
 * sends none. Drivers of one backend share `contexts`, so each run starts from what the load
 * phase and the runs before it wrote, as one long-lived application would.
 */
export async function ringstoreDriver(
  seeds: readonly string[],
  routing: 'zero-hop' | 'any-node',
  deadlineMs: number,
  contexts: Map<string, Buffer> = new Map(),
): Promise<Driver> {
  const client: Client = await connect({ seeds: [...seeds], routing, deadlineMs });
  const remember = (key: Buffer, context: Buffer): void => {
    const k = key.toString('latin1');
    contexts.delete(k);
    contexts.set(k, context);
    if (contexts.size > contextCacheMax) {
      const oldest = contexts.keys().next();
      if (oldest.done !== true) contexts.delete(oldest.value);
    }
  };
  return {
    read: async (key) => {
      const result = await client.get(key);
      remember(key, result.context);
    },
    update: async (key, value) => {
      const context = contexts.get(key.toString('latin1'));
      const result = await client.put(key, value, context ? { context } : {});
      remember(key, result.context);
    },
    insert: async (key, value) => {
      const result = await client.put(key, value);
      remember(key, result.context);
    },
    close: () => Promise.resolve(client.close()),
  };
}

/** The storage node's own N and R=W, which the bench leaves as they are (for the description). */
const nodeReplicasDefault = 3;
const nodeQuorumDefault = 2;

/** A local cluster of `nodes` ringstore-node processes (N=3, R=W=2, the defaults), or a given one. */
export async function startRingstore(options: BackendOptions): Promise<Backend> {
  const inserts = new InsertSequence(options.records);
  const contexts = new Map<string, Buffer>();
  const make = (
    addresses: readonly string[],
    description: string,
    stop: () => Promise<void>,
  ): Backend => ({
    kind: 'ringstore',
    description,
    inserts,
    driver: (target: TargetName) =>
      ringstoreDriver(
        addresses,
        target === 'any-node' ? 'any-node' : 'zero-hop',
        options.deadlineMs,
        contexts,
      ),
    stop,
  });
  if (options.addresses)
    return make(options.addresses, `ringstore at ${options.addresses.join(',')}`, () =>
      Promise.resolve(),
    );
  // --cpu-prof is refused in NODE_OPTIONS: put it on each node's command line (exec keeps the pid).
  const profileDir = options.profileDir;
  const commandPrefix = profileDir
    ? () => [
        '/bin/sh',
        '-c',
        'n="$1"; shift; exec "$n" --cpu-prof --cpu-prof-dir="$0" "$@"',
        profileDir,
      ]
    : undefined;
  const cluster = await startCluster({
    nodes: options.nodes,
    basePort: 0,
    dataDir: join(options.workDir, 'ringstore'),
    extraArgs: ['--log-level', 'warn'],
    commandPrefix,
  });
  const replicas = Math.min(nodeReplicasDefault, options.nodes);
  const quorum = Math.min(nodeQuorumDefault, replicas);
  return make(
    cluster.nodes.map((n) => n.address),
    `ringstore: ${options.nodes} local nodes, N=${replicas} R=${quorum} W=${quorum}, SQLite synchronous=NORMAL`,
    () => cluster.stop(),
  );
}
