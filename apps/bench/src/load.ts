import { randomBytes } from 'node:crypto';
import { createHistogram } from 'node:perf_hooks';
import { credentials, Metadata } from '@grpc/grpc-js';
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
}

export interface LoadResult {
  readonly workload: Workload;
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

type Call = (client: KVClient, key: Buffer, done: (e: Error | null) => void) => void;

function makeCall(options: LoadOptions, value: Buffer, draw: () => 'put' | 'get'): Call {
  return (client, key, done) => {
    const callOptions = { deadline: Date.now() + options.deadlineMs };
    if (draw() === 'put') {
      client.put({ key, value, context: Buffer.alloc(0), w: options.w, strictQuorum: false }, new Metadata(), callOptions, (e) => done(e));
    } else {
      client.get({ key, r: options.r, strictQuorum: false }, new Metadata(), callOptions, (e) => done(e));
    }
  };
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
  const clients = options.addresses.map((a) => new KVClient(a, credentials.createInsecure()));
  const histogram = createHistogram();
  const errorKinds: Record<string, number> = {};
  let ok = 0;
  let errors = 0;
  let sent = 0;
  let putNext = false;
  const draw = (): 'put' | 'get' => {
    if (options.workload !== 'mixed') return options.workload;
    putNext = !putNext;
    return putNext ? 'put' : 'get';
  };
  const call = makeCall(options, randomBytes(options.valueBytes), draw);
  const startedNs = process.hrtime.bigint();
  const endMs = Date.now() + options.durationMs;
  const worker = async (): Promise<void> => {
    while (Date.now() < endMs) {
      const key = Buffer.from(`bench-${Math.floor(Math.random() * options.keyCount)}`);
      const client = clients[sent++ % clients.length]!;
      const t0 = process.hrtime.bigint();
      const error = await new Promise<Error | null>((resolve) => call(client, key, resolve));
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
    for (const c of clients) c.close();
  }
  const elapsedMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
  const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3;
  return {
    workload: options.workload,
    durationMs: Math.round(elapsedMs),
    concurrency: options.concurrency,
    ok,
    errors,
    errorKinds,
    opsPerSecond: Math.round((ok * 1000) / elapsedMs),
    latencyMs: { p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), p999: ms(histogram.percentile(99.9)), max: ms(histogram.max) },
  };
}
