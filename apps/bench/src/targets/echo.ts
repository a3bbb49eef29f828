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
 * Same requests as the SDK sends to a node, over one channel: unary calls, or (`session`) Get,
 * Put and Delete over one KV.Session stream, framed as the SDK frames them (its own stub).
 */
export function echoDriver(address: string, deadlineMs: number, session = false): Driver {
  const channel = new KVClient(address, credentials.createInsecure());
  const client = session ? sessionStub(channel, () => new Metadata()) : unaryStub(channel);
  const put = async (key: Buffer, value: Buffer): Promise<void> => {
    await callUnary(
      client.put.bind(client),
      { key, value, context: Buffer.alloc(0), w: 0, strictQuorum: false },
      deadlineMs,
    );
  };
  return {
    read: async (key) => {
      await callUnary(client.get.bind(client), { key, r: 0, strictQuorum: false }, deadlineMs);
    },
    update: put,
    insert: put,
    readMany: async (keys) => {
      const res = await callUnary(
        client.batchGet.bind(client),
        { items: keys.map((key) => ({ key, r: 0, strictQuorum: false })) },
        deadlineMs,
      );
      return keys.map((_, i) => (res?.results[i]?.result?.$case === 'ok' ? undefined : noResult));
    },
    writeMany: async (items) => {
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
    close: () => Promise.resolve(client.close()),
  };
}

/** echoDriver as `spec` describes it. */
export function echoDriverFromSpec(spec: EchoDriverSpec): Driver {
  return echoDriver(spec.address, spec.deadlineMs, spec.session);
}

/** The driver specs of the echo server at `address`: echo-session over a stream, echo unary. */
function echoDriverSpecs(
  address: string,
  deadlineMs: number,
): (target: TargetName) => EchoDriverSpec {
  return (target) => ({
    kind: 'echo',
    address,
    deadlineMs,
    session: target === 'echo-session',
  });
}

/** An item the echo server left without a result: it always answers each, so a bug. */
const noResult = new Error('echo: no result for a batch item');

export async function startEcho(options: BackendOptions): Promise<Backend> {
  const inserts = new InsertSequence(options.records);
  const given = options.addresses?.[0];
  if (given !== undefined) {
    const driverSpec = echoDriverSpecs(given, options.deadlineMs);
    return {
      kind: 'echo',
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
  const address = `127.0.0.1:${await freePort()}`;
  const server = startServerProcess(
    process.execPath,
    [echoServerScript, '--listen', address, '--value-bytes', String(options.valueBytes)],
    join(options.workDir, 'echo.log'),
    options.workDir,
  );
  try {
    const probe = echoDriver(address, probeDeadlineMs);
    try {
      await waitReady(
        'echo server',
        [server],
        () => probe.read(Buffer.from('probe')),
        echoStartTimeoutMs,
      );
    } finally {
      await probe.close();
    }
  } catch (e) {
    await server.stop();
    throw e;
  }
  const driverSpec = echoDriverSpecs(address, options.deadlineMs);
  return {
    kind: 'echo',
    description: `echo: a no-op grpc-js server implementing ringstore.v1.KV, unary and KV.Session (pid ${server.child.pid})`,
    inserts,
    driverSpec,
    driver: (target) => Promise.resolve(echoDriverFromSpec(driverSpec(target))),
    cpuSeconds: processesCpuSeconds([server]),
    stop: () => server.stop(),
  };
}
