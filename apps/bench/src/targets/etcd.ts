import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  credentials,
  loadPackageDefinition,
  type Client as GrpcClient,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { freePorts } from '@ringstore/tools';
import { InsertSequence, type Driver } from '../harness.js';
import {
  probeDeadlineMs,
  processesCpuSeconds,
  startServerProcess,
  waitReady,
  type ServerProcess,
} from './child.js';
import type { Backend, BackendOptions, EtcdDriverSpec } from './target.js';
import { callUnary, type UnaryMethod } from './unary.js';

export const etcdProtoFile = fileURLToPath(new URL('../../proto/etcd-kv.proto', import.meta.url));
/** Bound on a local cluster's start: members elect a leader in seconds, even on a slow disk. */
export const etcdStartTimeoutMs = 30_000;
export const etcdInstallHint =
  "install Debian's etcd-server package (apt-get install etcd-server), or pass --etcd-bin PATH, or --etcd-address of a running cluster";

/** The etcd binary: the given path, else `etcd` on PATH, else /usr/bin/etcd. */
export function findEtcd(given: string | undefined, path = process.env['PATH'] ?? ''): string {
  const candidates =
    given !== undefined
      ? [given]
      : [
          ...path
            .split(delimiter)
            .filter((d) => d !== '')
            .map((d) => join(d, 'etcd')),
          '/usr/bin/etcd',
        ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    given !== undefined
      ? `etcd binary ${given} is not executable; ${etcdInstallHint}`
      : `etcd not found on PATH or at /usr/bin/etcd: ${etcdInstallHint}`,
  );
}

interface EtcdKvClient extends GrpcClient {
  Range: UnaryMethod<{ key: Buffer }, unknown>;
  Put: UnaryMethod<{ key: Buffer; value: Buffer }, unknown>;
}

function etcdClientConstructor(): ServiceClientConstructor {
  const definition = loadSync(etcdProtoFile, { keepCase: true, longs: String, defaults: false });
  const pkg = loadPackageDefinition(definition) as unknown as {
    etcdserverpb: { KV: ServiceClientConstructor };
  };
  return pkg.etcdserverpb.KV;
}

/**
 * etcd's own KV API (Range, Put), one channel per member, requests round-robin over the members
 * as etcd's client balancer does. Reads are etcd's default: linearizable.
 */
export function etcdDriver(addresses: readonly string[], deadlineMs: number): Driver {
  const Kv = etcdClientConstructor();
  const clients = addresses.map(
    (a) => new Kv(a, credentials.createInsecure()) as unknown as EtcdKvClient,
  );
  let next = 0;
  const pick = (): EtcdKvClient => clients[next++ % clients.length]!;
  const put = async (key: Buffer, value: Buffer): Promise<void> => {
    const c = pick();
    await callUnary(c.Put.bind(c), { key, value }, deadlineMs);
  };
  return {
    read: async (key) => {
      const c = pick();
      await callUnary(c.Range.bind(c), { key }, deadlineMs);
    },
    update: put,
    insert: put,
    close: () => Promise.resolve(clients.forEach((c) => c.close())),
  };
}

/** etcdDriver as `spec` describes it. */
export function etcdDriverFromSpec(spec: EtcdDriverSpec): Driver {
  return etcdDriver(spec.addresses, spec.deadlineMs);
}

/** What drives etcd at `addresses` (one kind of driver: etcd is one target). */
function etcdDriverSpec(addresses: readonly string[], deadlineMs: number): EtcdDriverSpec {
  return { kind: 'etcd', addresses: [...addresses], deadlineMs };
}

/** A local etcd cluster of `nodes` members on 127.0.0.1 (default etcd settings: fsync on every commit). */
export async function startEtcd(options: BackendOptions): Promise<Backend> {
  const inserts = new InsertSequence(options.records);
  if (options.addresses) return givenEtcd(options.addresses, inserts, options.deadlineMs);
  const bin = findEtcd(options.etcdBin);
  const ports = await freePorts(options.nodes * 2);
  const members: EtcdMember[] = Array.from({ length: options.nodes }, (_, i) => ({
    name: `e${i + 1}`,
    client: ports[2 * i]!,
    peer: ports[2 * i + 1]!,
  }));
  const initialCluster = members.map((m) => `${m.name}=http://127.0.0.1:${m.peer}`).join(',');
  const dir = join(options.workDir, 'etcd');
  mkdirSync(dir, { recursive: true });
  const processes: ServerProcess[] = members.map((m) =>
    startServerProcess(bin, memberArgs(m, dir, initialCluster), join(dir, `${m.name}.log`), dir),
  );
  const stop = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.stop()));
  };
  const addresses = members.map((m) => `127.0.0.1:${m.client}`);
  try {
    await waitEtcdReady(processes, addresses);
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    kind: 'etcd',
    description: `etcd (${bin}): ${options.nodes} local members, linearizable reads, fsync per commit`,
    inserts,
    driverSpec: () => etcdDriverSpec(addresses, options.deadlineMs),
    driver: () =>
      Promise.resolve(etcdDriverFromSpec(etcdDriverSpec(addresses, options.deadlineMs))),
    cpuSeconds: processesCpuSeconds(processes),
    stop,
  };
}

interface EtcdMember {
  readonly name: string;
  readonly client: number;
  readonly peer: number;
}

/** A running cluster at the given addresses: the bench neither starts nor stops it. */
function givenEtcd(
  addresses: readonly string[],
  inserts: InsertSequence,
  deadlineMs: number,
): Backend {
  return {
    kind: 'etcd',
    description: `etcd at ${addresses.join(',')}`,
    inserts,
    driverSpec: () => etcdDriverSpec(addresses, deadlineMs),
    driver: () => Promise.resolve(etcdDriverFromSpec(etcdDriverSpec(addresses, deadlineMs))),
    cpuSeconds: undefined,
    stop: () => Promise.resolve(),
  };
}

function memberArgs(m: EtcdMember, dir: string, initialCluster: string): string[] {
  return [
    '--name',
    m.name,
    '--data-dir',
    join(dir, m.name),
    '--listen-client-urls',
    `http://127.0.0.1:${m.client}`,
    '--advertise-client-urls',
    `http://127.0.0.1:${m.client}`,
    '--listen-peer-urls',
    `http://127.0.0.1:${m.peer}`,
    '--initial-advertise-peer-urls',
    `http://127.0.0.1:${m.peer}`,
    '--initial-cluster',
    initialCluster,
    '--initial-cluster-state',
    'new',
    '--initial-cluster-token',
    'ringstore-bench',
    '--log-level',
    'warn',
  ];
}

/** Until a put through every member succeeds: the cluster has a leader and every member serves. */
async function waitEtcdReady(
  processes: readonly ServerProcess[],
  addresses: readonly string[],
): Promise<void> {
  const probe = etcdDriver(addresses, probeDeadlineMs);
  try {
    await waitReady(
      'etcd',
      processes,
      async () => {
        for (let i = 0; i < addresses.length; i++)
          await probe.insert(Buffer.from('bench-probe'), Buffer.from('x'));
      },
      etcdStartTimeoutMs,
    );
  } finally {
    await probe.close();
  }
}
