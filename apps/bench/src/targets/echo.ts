import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Metadata, credentials } from '@grpc/grpc-js';
import { sessionStub, unaryStub } from '@ringstore/client';
import { KVClient } from '@ringstore/proto';
import { freePort } from '@ringstore/tools';
import { InsertSequence, type Driver } from '../harness.js';
import { probeDeadlineMs, processesCpuSeconds, startServerProcess, waitReady } from './child.js';
import type { Backend, BackendOptions, EchoDriverSpec, TargetName } from './target.js';
import { callUnary } from './unary.js';

/** The built echo server (tsc output), from src/targets or dist/targets alike. */
export const echoServerScript = fileURLToPath(
  new URL('../../dist/echo-server.js', import.meta.url),
);
/** Bound on the echo server's start: a node process loading grpc-js, on a busy CI machine too. */
export const echoStartTimeoutMs = 15_000;

/**
 * Same requests as the SDK sends to a node, over one channel per server, round-robin: unary
 * calls, or (`session`) Get, Put and Delete over one KV.Session stream per server, framed as the
 * SDK frames them (its own stub).
 */
export function echoDriver(
  addresses: readonly string[],
  deadlineMs: number,
  session = false,
): Driver {
  if (addresses.length === 0) throw new RangeError('an echo driver needs an address');
  const clients = addresses.map((address) => {
    const channel = new KVClient(address, credentials.createInsecure());
    return session ? sessionStub(channel, () => new Metadata()) : unaryStub(channel);
  });
  let turn = 0;
  const pick = () => clients[turn++ % clients.length] as (typeof clients)[number];
  const put = async (key: Buffer, value: Buffer): Promise<void> => {
    const client = pick();
    await callUnary(
      client.put.bind(client),
      { key, value, context: Buffer.alloc(0), w: 0, strictQuorum: false },
      deadlineMs,
    );
  };
  return {
    read: async (key) => {
      const client = pick();
      await callUnary(client.get.bind(client), { key, r: 0, strictQuorum: false }, deadlineMs);
    },
    update: put,
    insert: put,
    readMany: async (keys) => {
      const client = pick();
      const res = await callUnary(
        client.batchGet.bind(client),
        { items: keys.map((key) => ({ key, r: 0, strictQuorum: false })) },
        deadlineMs,
      );
      return keys.map((_, i) => (res?.results[i]?.result?.$case === 'ok' ? undefined : noResult));
    },
    writeMany: async (items) => {
      const client = pick();
      const res = await callUnary(
        client.batchPut.bind(client),
        {
          items: items.map(({ key, value }) => ({
            write: {
              $case: 'put' as const,
              value: { key, value, context: Buffer.alloc(0), w: 0, strictQuorum: false },
            },
          })),
        },
        deadlineMs,
      );
      return items.map((_, i) => (res?.results[i]?.result?.$case === 'put' ? undefined : noResult));
    },
    close: () => Promise.resolve(clients.forEach((client) => client.close())),
  };
}

/** echoDriver as `spec` describes it. */
export function echoDriverFromSpec(spec: EchoDriverSpec): Driver {
  return echoDriver(spec.addresses, spec.deadlineMs, spec.session);
}

/** The driver specs of the echo servers at `addresses`: over sessions, or unary calls. */
function echoDriverSpecs(
  addresses: readonly string[],
  deadlineMs: number,
): (target: TargetName) => EchoDriverSpec {
  return (target) => ({
    kind: 'echo',
    addresses,
    deadlineMs,
    session: target === 'echo-session' || target === 'echo-quorum-session',
  });
}

/** An item the echo server left without a result: it always answers each, so a bug. */
const noResult = new Error('echo: no result for a batch item');

/** Servers of the echo-quorum target: a node's N=3 (each relays to the other two). */
export const echoQuorumServers = 3;

/**
 * The echo target's server, or (`quorum`) the echo-quorum target's three, each relaying every
 * call's replica messages to the other two (echo-relay.ts). Given addresses are driven as they
 * are (echo only: a quorum's servers are always started here, so their CPU is known).
 */
export async function startEcho(options: BackendOptions, quorum = false): Promise<Backend> {
  const inserts = new InsertSequence(options.records);
  const kind = quorum ? 'echo-quorum' : 'echo';
  const given = quorum ? undefined : options.addresses?.[0];
  if (given !== undefined) {
    const driverSpec = echoDriverSpecs([given], options.deadlineMs);
    return {
      kind,
      description: `echo server at ${given}`,
      inserts,
      driverSpec,
      driver: (target) => Promise.resolve(echoDriverFromSpec(driverSpec(target))),
      cpuSeconds: undefined,
      stop: () => Promise.resolve(),
    };
  }
  if (!existsSync(echoServerScript))
    throw new Error(`${echoServerScript} is missing: build first (npm run build)`);
  mkdirSync(options.workDir, { recursive: true });
  const count = quorum ? echoQuorumServers : 1;
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) addresses.push(`127.0.0.1:${await freePort()}`);
  const servers = addresses.map((address, i) => {
    const peers = addresses.filter((other) => other !== address);
    return startServerProcess(
      process.execPath,
      [
        echoServerScript,
        '--listen',
        address,
        '--value-bytes',
        String(options.valueBytes),
        ...(quorum ? ['--peers', peers.join(',')] : []),
      ],
      join(options.workDir, quorum ? `echo-${i + 1}.log` : 'echo.log'),
      options.workDir,
    );
  });
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.stop()));
  };
  try {
    // Every server answers a get (a quorum's only once its relay reaches a peer).
    const probe = echoDriver(addresses, probeDeadlineMs);
    try {
      await waitReady(
        quorum ? 'echo quorum' : 'echo server',
        servers,
        async () => {
          for (let i = 0; i < count; i++) await probe.read(Buffer.from('probe'));
        },
        echoStartTimeoutMs,
      );
    } finally {
      await probe.close();
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const driverSpec = echoDriverSpecs(addresses, options.deadlineMs);
  const pids = servers.map((server) => server.child.pid).join(', ');
  return {
    kind,
    description: quorum
      ? `echo-quorum: ${count} no-op grpc-js KV servers relaying each call's replica messages to each other over Peer.Link as a node does (N=3, R=W=2) (pids ${pids})`
      : `echo: a no-op grpc-js server implementing ringstore.v1.KV, unary and KV.Session (pid ${pids})`,
    inserts,
    driverSpec,
    driver: (target) => Promise.resolve(echoDriverFromSpec(driverSpec(target))),
    cpuSeconds: processesCpuSeconds(servers),
    stop,
  };
}
