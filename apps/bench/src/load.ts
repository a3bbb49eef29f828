import { randomBytes } from 'node:crypto';
import { createHistogram } from 'node:perf_hooks';
import { credentials, Metadata } from '@grpc/grpc-js';
import { connect, type Client } from '@ringstore/client';
import { KVClient } from '@ringstore/proto';

export type Workload = 'put' | 'get' | 'mixed';

export interface LoadOptions {
  /** Node addresses (host:port); requests go to them round-robin. */
  readonly addresses: readonly string[];
  readonly workload: Workload;
  readonly durationMs: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  readonly valueBytes: number;
  /** Distinct keys the load draws from (uniformly). */
  readonly keyCount: number;
  /** Deadline of each request. */
  readonly deadlineMs: number;
  /** r and w of each request (0 = node default). */
  readonly r: number;
  readonly w: number;
  /** 'direct': generated gRPC clients, round-robin over the addresses; otherwise @ringstore/client with that routing. */
  readonly client: 'direct' | 'zero-hop' | 'any-node';
}

export interface LoadResult {
  readonly workload: Workload;
  readonly client: LoadOptions['client'];
  readonly durationMs: number;
  readonly concurrency: number;
  readonly ok: number;
  readonly errors: number;
  /** Error counts by gRPC status name (or message). */
  readonly errorKinds: Readonly<Record<string, number>>;
  readonly opsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly p999: number; readonly max: number };
}

/** Bounds a run: the most in-flight requests, the longest run, the largest value. */
export const concurrencyMax = 4096;
export const durationMsMax = 3_600_000;
export const valueBytesMax = 4 * 1024 * 1024;

/** Sends one request; resolves with its error, or null. */
type Send = (op: 'put' | 'get', key: Buffer, value: Buffer) => Promise<Error | null>;

interface Sender {
  readonly send: Send;
  close(): void;
}

/** Generated clients, round-robin over the addresses (what a client behind a load balancer does). */
function directSender(options: LoadOptions): Sender {
  const clients = options.addresses.map((a) => new KVClient(a, credentials.createInsecure()));
  let next = 0;
  const send: Send = (op, key, value) =>
    new Promise((resolve) => {
      const client = clients[next++ % clients.length]!;
      const callOptions = { deadline: Date.now() + options.deadlineMs };
      if (op === 'put') client.put({ key, value, context: Buffer.alloc(0), w: options.w, strictQuorum: false }, new Metadata(), callOptions, (e) => resolve(e));
      else client.get({ key, r: options.r, strictQuorum: false }, new Metadata(), callOptions, (e) => resolve(e));
    });
  return { send, close: () => clients.forEach((c) => c.close()) };
}

/** The smart client SDK with the given routing. */
async function sdkSender(options: LoadOptions, routing: 'zero-hop' | 'any-node'): Promise<Sender> {
  const client: Client = await connect({ seeds: [...options.addresses], routing, deadlineMs: options.deadlineMs });
  const quorum = (n: number): number | undefined => (n === 0 ? undefined : n);
  const send: Send = async (op, key, value) => {
    try {
      if (op === 'put') await client.put(key, value, { w: quorum(options.w) });
      else await client.get(key, { r: quorum(options.r) });
      return null;
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
  };
  return { send, close: () => client.close() };
}

function errorKind(e: Error): string {
  const code = (e as Error & { code?: unknown }).code;
  return typeof code === 'number' ? `grpc-${code}` : e.message.slice(0, 60);
}

/**
 * Closed-loop load: `concurrency` workers, each sending its next request when the last one
 * answered, until the duration passes. Latency goes to Node's HDR histogram (perf_hooks).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const sender = options.client === 'direct' ? directSender(options) : await sdkSender(options, options.client);
  const histogram = createHistogram();
  const errorKinds: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let putNext = false;
  const draw = (): 'put' | 'get' => {
    if (options.workload !== 'mixed') return options.workload;
    putNext = !putNext;
    return putNext ? 'put' : 'get';
  };
  const value = randomBytes(options.valueBytes);
  const startedNs = process.hrtime.bigint();
  const endMs = Date.now() + options.durationMs;
  const worker = async (): Promise<void> => {
    while (Date.now() < endMs) {
      const key = Buffer.from(`bench-${Math.floor(Math.random() * options.keyCount)}`);
      const t0 = process.hrtime.bigint();
      const error = await sender.send(draw(), key, value);
      histogram.record(Math.max(1, Number(process.hrtime.bigint() - t0)));
      if (error === null) ok++;
      else {
        errors++;
        const kind = errorKind(error);
        errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    sender.close();
  }
  const elapsedMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
  const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3;
  return {
    workload: options.workload,
    client: options.client,
    durationMs: Math.round(elapsedMs),
    concurrency: options.concurrency,
    ok,
    errors,
    errorKinds,
    opsPerSecond: Math.round((ok * 1000) / elapsedMs),
    latencyMs: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), p999: ms(histogram.percentile(99.9)), max: ms(histogram.max) },
  };
}
