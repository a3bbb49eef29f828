import { join } from 'node:path';
import { connect, type Client } from '@ringstore/client';
import { createTestPki, freePorts, startCluster, type TestPki } from '@ringstore/tools';
import { InsertSequence, type Driver } from '../harness.js';
import { scrapeNode } from '../node-metrics.js';
import type {
  Backend,
  BackendOptions,
  DriverSecurity,
  RingstoreDriverSpec,
  TargetName,
} from './target.js';

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
  security: DriverSecurity = {},
  sessions = true,
): Promise<Driver> {
  const client: Client = await connect({
    seeds: [...seeds],
    routing,
    deadlineMs,
    sessions,
    ...security,
  });
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
    readMany: async (keys) =>
      (await client.getMany(keys)).map((res, i) => {
        if (!res.ok) return res.error;
        remember(keys[i]!, res.value.context);
        return undefined;
      }),
    writeMany: async (items) => {
      const writes = items.map(({ key, value, insert }) => {
        const context = insert ? undefined : contexts.get(key.toString('latin1'));
        return { key, value, ...(context === undefined ? {} : { context }) };
      });
      return (await client.putMany(writes)).map((res, i) => {
        if (!res.ok) return res.error;
        if (res.value !== undefined) remember(items[i]!.key, res.value.context);
        return undefined;
      });
    },
    close: () => Promise.resolve(client.close()),
  };
}

/** ringstoreDriver as `spec` describes it, remembering contexts in `contexts`. */
export function ringstoreDriverFromSpec(
  spec: RingstoreDriverSpec,
  contexts: Map<string, Buffer> = new Map(),
): Promise<Driver> {
  return ringstoreDriver(
    spec.seeds,
    spec.routing,
    spec.deadlineMs,
    contexts,
    spec.security,
    spec.sessions,
  );
}

/** The storage node's own N and R=W, which the bench leaves as they are (for the description). */
const nodeReplicasDefault = 3;
const nodeQuorumDefault = 2;
/** Where the bench starts its nodes: certificates name it. */
const host = '127.0.0.1';

/** What secures the cluster of ringstore-tls (and of --tls), in the description. */
export const tlsDescription =
  'TLS on the client port with client certificates, mutual TLS on the peer port, a bearer token';

/** The launcher's node ids for a cluster of `nodes`. */
export function nodeIds(nodes: number): string[] {
  return Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
}

/**
 * A node's own flags: its metrics on its own port (the bench reads the nodes' CPU there) and,
 * when secured, its certificate and the token file.
 */
export function benchNodeArgs(
  metricsAddress: string | undefined,
  securedArgs: readonly string[],
): string[] {
  if (metricsAddress === undefined) throw new Error('assertion failed: no metrics port');
  return ['--metrics-listen', metricsAddress, ...securedArgs];
}

/**
 * A local cluster of `nodes` ringstore-node processes (N=3, R=W=2, the defaults), or a given one.
 * `tls`: secured as docs/security.md describes, with a PKI made for the run in the work directory
 * (a CA, a certificate per node, the bench's client certificate, a write token).
 */
export async function startRingstore(options: BackendOptions, tls = false): Promise<Backend> {
  const inserts = new InsertSequence(options.records);
  const contexts = new Map<string, Buffer>();
  const make = (
    addresses: readonly string[],
    more: Pick<Backend, 'description' | 'cpuSeconds' | 'stop'>,
    security: DriverSecurity,
  ): Backend => {
    const driverSpec = (target: TargetName): RingstoreDriverSpec => ({
      kind: 'ringstore',
      seeds: [...addresses],
      routing: target === 'any-node' ? 'any-node' : 'zero-hop',
      deadlineMs: options.deadlineMs,
      sessions: target !== 'ringstore-unary',
      security,
    });
    return {
      kind: tls ? 'ringstore-tls' : 'ringstore',
      inserts,
      driverSpec,
      driver: (target) => ringstoreDriverFromSpec(driverSpec(target), contexts),
      ...more,
    };
  };
  if (options.addresses) {
    if (tls)
      throw new Error('a secured cluster is started by the bench: not with --ringstore-address');
    const description = `ringstore at ${options.addresses.join(',')}`;
    return make(
      options.addresses,
      { description, cpuSeconds: undefined, stop: () => Promise.resolve() },
      {},
    );
  }
  const ids = nodeIds(options.nodes);
  const pki = tls
    ? await createTestPki({
        dir: join(options.workDir, 'pki'),
        nodes: ids.map((id) => ({ id, host })),
      })
    : undefined;
  const ports = await freePorts(options.nodes, host);
  const metrics = new Map(ids.map((id, i) => [id, `${host}:${ports[i]}`]));
  const cluster = await startCluster({
    nodes: options.nodes,
    basePort: 0,
    dataDir: join(options.workDir, 'ringstore'),
    extraArgs: ['--log-level', 'warn'],
    nodeArgs: (id) => benchNodeArgs(metrics.get(id), pki?.nodeArgs(id) ?? []),
    clientCredentials: pki?.channelCredentials,
    commandPrefix: profilePrefix(options.profileDir),
  });
  const replicas = Math.min(nodeReplicasDefault, options.nodes);
  const quorum = Math.min(nodeQuorumDefault, replicas);
  return make(
    cluster.nodes.map((n) => n.address),
    {
      description: `ringstore${tls ? '-tls' : ''}: ${options.nodes} local nodes, N=${replicas} R=${quorum} W=${quorum}, SQLite synchronous=NORMAL${tls ? `; ${tlsDescription}` : ''}`,
      cpuSeconds: () => clusterCpuSeconds([...metrics.values()]),
      stop: () => cluster.stop(),
    },
    securityOf(pki),
  );
}

function securityOf(pki: TestPki | undefined): DriverSecurity {
  return pki === undefined ? {} : { tls: pki.tls, token: pki.tokens.write };
}

/** --cpu-prof is refused in NODE_OPTIONS: put it on each node's command line (exec keeps the pid). */
function profilePrefix(profileDir: string | undefined): (() => string[]) | undefined {
  if (profileDir === undefined) return undefined;
  return () => [
    '/bin/sh',
    '-c',
    'n="$1"; shift; exec "$n" --cpu-prof --cpu-prof-dir="$0" "$@"',
    profileDir,
  ];
}

/** The nodes' CPU seconds so far, from each node's metrics (process_cpu_seconds_total). */
async function clusterCpuSeconds(metricsAddresses: readonly string[]): Promise<number> {
  const samples = await Promise.all(metricsAddresses.map((a) => scrapeNode(a)));
  return samples.reduce((sum, s) => sum + s.cpuSeconds, 0);
}
