// One wave of phase 1: `count` unary Puts fired at once on one channel, each with its own
// deadline and a distinct key, and what came back: gRPC status counts, latencies, the first
// messages of each failure. Used in this process or in a wave worker (wave-worker.ts) alike.
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { KVClient, type PutRequest } from '@ringstore/proto';

/** The status classes the report counts apart; everything else is 'other' (by name). */
export const statusClasses = [
  'OK',
  'RESOURCE_EXHAUSTED',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'other',
] as const;
export type StatusClass = (typeof statusClasses)[number];

/** Distinct failure messages kept per wave: enough to tell causes apart, bounded memory. */
export const messagesMax = 20;
/** Longest message kept: the node's messages are one line; a stack is cut. */
export const messageCharsMax = 200;

export interface WaveSpec {
  readonly address: string;
  readonly wave: number;
  /** Which sender (worker) of the wave: part of the key, so keys are distinct across senders. */
  readonly part: number;
  readonly count: number;
  readonly valueBytes: number;
  readonly deadlineMs: number;
}

/** What one sender saw of one wave (plain data: it crosses the worker's IPC channel). */
export interface WaveTally {
  counts: Record<StatusClass, number>;
  /** 'other' by status name. */
  otherByName: Record<string, number>;
  /** Latency of every OK answer, ms. */
  okLatencyMs: number[];
  /** Latency of every answer whatever its status, ms. */
  allLatencyMs: number[];
  /** RESOURCE_EXHAUSTED answers that carried retry-after-ms. */
  retryAfterHinted: number;
  /**
   * DEADLINE_EXCEEDED raised by the client's own deadline (grpc-js: 'Deadline exceeded after
   * ...'), as opposed to one the node answered (its request timeout: 'put timed out: ...').
   */
  clientDeadline: number;
  /** 'STATUS: message' -> count, the first messagesMax distinct ones. */
  messages: Record<string, number>;
  /** From the first call issued to the last answer, ms. */
  durationMs: number;
  /** Time to issue every call (the synchronous loop), ms: the sender's own share of the wave. */
  issueMs: number;
  /** The sender process's CPU time (user + system) over the wave, ms; summed over senders. */
  cpuMs: number;
}

export function emptyTally(): WaveTally {
  return {
    counts: { OK: 0, RESOURCE_EXHAUSTED: 0, UNAVAILABLE: 0, DEADLINE_EXCEEDED: 0, other: 0 },
    otherByName: {},
    okLatencyMs: [],
    allLatencyMs: [],
    retryAfterHinted: 0,
    clientDeadline: 0,
    messages: {},
    durationMs: 0,
    issueMs: 0,
    cpuMs: 0,
  };
}

/** The gRPC status name of a code ('RESOURCE_EXHAUSTED'). */
export function statusName(code: number): string {
  const name: unknown = (status as unknown as Record<number, unknown>)[code];
  return typeof name === 'string' ? name : `STATUS_${code}`;
}

export function classOf(code: number): StatusClass {
  const name = statusName(code);
  return (statusClasses as readonly string[]).includes(name) ? (name as StatusClass) : 'other';
}

/** Adds one answer to the tally. */
export function record(tally: WaveTally, error: ServiceError | null, latencyMs: number): void {
  const code = error === null ? status.OK : error.code;
  const cls = classOf(code);
  tally.counts[cls]++;
  tally.allLatencyMs.push(latencyMs);
  if (cls === 'OK') tally.okLatencyMs.push(latencyMs);
  if (cls === 'other') {
    const name = statusName(code);
    tally.otherByName[name] = (tally.otherByName[name] ?? 0) + 1;
  }
  if (error === null) return;
  if (cls === 'RESOURCE_EXHAUSTED' && error.metadata?.get('retry-after-ms').length > 0)
    tally.retryAfterHinted++;
  const clientSide = cls === 'DEADLINE_EXCEEDED' && error.details.startsWith(clientDeadlinePrefix);
  if (clientSide) tally.clientDeadline++;
  // grpc-js appends per-call timings to its deadline message: one line for all of them.
  const details = clientSide
    ? `${clientDeadlinePrefix} (the client's deadline)`
    : error.details.replace(/retry in \d+ ms/, 'retry in N ms');
  const message = `${statusName(code)}: ${details}`.slice(0, messageCharsMax);
  const seen = tally.messages[message];
  if (seen !== undefined) tally.messages[message] = seen + 1;
  else if (Object.keys(tally.messages).length < messagesMax) tally.messages[message] = 1;
}

/** Folds `from` into `into` (the senders of one wave, or the waves of a phase). */
export function mergeTally(into: WaveTally, from: WaveTally): void {
  for (const c of statusClasses) into.counts[c] += from.counts[c];
  for (const [name, n] of Object.entries(from.otherByName))
    into.otherByName[name] = (into.otherByName[name] ?? 0) + n;
  for (const ms of from.okLatencyMs) into.okLatencyMs.push(ms);
  for (const ms of from.allLatencyMs) into.allLatencyMs.push(ms);
  into.retryAfterHinted += from.retryAfterHinted;
  into.clientDeadline += from.clientDeadline;
  for (const [m, n] of Object.entries(from.messages)) {
    const seen = into.messages[m];
    if (seen !== undefined) into.messages[m] = seen + n;
    else if (Object.keys(into.messages).length < messagesMax) into.messages[m] = n;
  }
  into.durationMs = Math.max(into.durationMs, from.durationMs);
  into.issueMs = Math.max(into.issueMs, from.issueMs);
  into.cpuMs += from.cpuMs;
}

/** grpc-js's own message when a call's deadline passes before an answer (call.ts). */
export const clientDeadlinePrefix = 'Deadline exceeded after';

/** A put sender's channel: one HTTP/2 connection to the node, options set explicitly. */
export function waveClient(address: string): KVClient {
  return new KVClient(address, credentials.createInsecure(), {
    // Answers only: a keepalive ping in a 2 s wave would be noise, so the node's 30 s is kept.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.enable_retries': 0,
    // Its own connection: the waves of one sender never share a subchannel with the probe.
    'grpc.use_local_subchannel_pool': 1,
  });
}

/** Resolves once the channel is connected (the wave then measures requests, not the dial). */
export function waitConnected(client: KVClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (error) => (error ? reject(error) : resolve()));
  });
}

/** Fires spec.count Puts at once and resolves when every one has answered. */
export function fireWave(client: KVClient, spec: WaveSpec): Promise<WaveTally> {
  const tally = emptyTally();
  if (spec.count === 0) return Promise.resolve(tally);
  const value = Buffer.alloc(spec.valueBytes, 0x61);
  const context = Buffer.alloc(0);
  return new Promise((resolve) => {
    let left = spec.count;
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < spec.count; i++) {
      const key = Buffer.from(`overload-w${spec.wave}-p${spec.part}-${i}`);
      const request: PutRequest = { key, value, context, w: 0, strictQuorum: false };
      const startedMs = performance.now();
      const deadline = Date.now() + spec.deadlineMs;
      client.put(request, new Metadata(), { deadline }, (error) => {
        record(tally, error, performance.now() - startedMs);
        if (--left > 0) return;
        tally.durationMs = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        tally.cpuMs = Math.round((cpu.user + cpu.system) / 1000);
        resolve(tally);
      });
    }
    tally.issueMs = performance.now() - t0;
  });
}
