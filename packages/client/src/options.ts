import type { ChannelOptions } from '@grpc/grpc-js';
import { assert } from './assert.js';
import { transportOf, type TlsOptions, type Transport } from './transport.js';

/**
 * How the client picks the node for a request.
 * - `'zero-hop'`: the first node of the key's preference list that has not failed recently, so
 *   the node coordinates the request itself (no forwarding hop).
 * - `'any-node'`: round-robin over all nodes, as behind a load balancer; a node that does not
 *   replicate the key forwards it.
 */
export type RoutingMode = 'zero-hop' | 'any-node';

/** Options of `connect()`. */
export interface ConnectOptions {
  /** Node addresses (host:port) to fetch the ring from; the first that answers is used. */
  readonly seeds: readonly string[];
  /** Default `'zero-hop'`. */
  readonly routing?: RoutingMode | undefined;
  /** Deadline of each operation (all its attempts), and of each ring fetch. Default 2000. */
  readonly deadlineMs?: number | undefined;
  /** Period of the background ring refetch. Default 30000. */
  readonly ringRefreshMs?: number | undefined;
  /** Attempts per operation, the first included (each on another node when it can). Default 3. */
  readonly attemptsMax?: number | undefined;
  /**
   * How long a node that could not be reached is tried last; after it, the node stays last until
   * a probe (a GetRing with a short deadline) answers. Default 2000.
   */
  readonly failedNodeMemoryMs?: number | undefined;
  /**
   * Hedged reads: a read whose node has not answered within the p95 of recent reads is also sent
   * to the key's next replica, and the first answer wins (never writes: they could become
   * siblings). Default true.
   */
  readonly hedgeReads?: boolean | undefined;
  /**
   * Get, Put and Delete travel over one KV.Session stream per node, many calls per frame, instead
   * of one HTTP/2 stream per call (a node without sessions gets unary calls). Default true.
   */
  readonly sessions?: boolean | undefined;
  /** grpc-js channel options, laid over the SDK's (keepalives, message sizes, no built-in retries). */
  readonly channelOptions?: ChannelOptions | undefined;
  /**
   * TLS on every channel, the nodes' certificates verified against `tls.ca`, and a client
   * certificate presented when `cert` and `key` are given. Absent: plaintext.
   */
  readonly tls?: TlsOptions | undefined;
  /**
   * Bearer token sent with every call, KV and Cluster (ring fetches included), as
   * `authorization: Bearer <token>`. Absent: no authorization header. Without `tls` it crosses
   * the network in the clear.
   */
  readonly token?: string | undefined;
}

/** The options with every default filled in. */
export interface ResolvedOptions {
  readonly seeds: readonly string[];
  readonly routing: RoutingMode;
  readonly deadlineMs: number;
  readonly ringRefreshMs: number;
  readonly attemptsMax: number;
  readonly failedNodeMemoryMs: number;
  readonly hedgeReads: boolean;
  readonly sessions: boolean;
  readonly channelOptions: ChannelOptions;
  /** Channel credentials and per-call metadata from `tls` and `token` (which it alone holds). */
  readonly transport: Transport;
}

/** Seeds a client accepts: connect tries each once, in order. */
export const seedsMax = 64;
/** The most attempts an operation may be allowed: each one may cost a full backoff. */
export const attemptsMaxLimit = 16;

/** Default deadline of an operation, all attempts included (the node's own default is 1 s). */
export const deadlineMsDefault = 2_000;
/** Default period of the background ring refetch: rings change rarely, and responses name newer ones. */
export const ringRefreshMsDefault = 30_000;
/** Default attempts per operation: N=3, one per replica. */
export const attemptsMaxDefault = 3;
/** Default time a node that could not be reached is tried last. */
export const failedNodeMemoryMsDefault = 2_000;

/** A value (1 MiB default, 4 MiB hard ceiling) plus key and context, with room to spare. */
const sendMessageBytesMax = 5 * 1024 * 1024;
/** A get may return several siblings of up to 4 MiB each. */
const receiveMessageBytesMax = 64 * 1024 * 1024;

/**
 * Set explicitly rather than inherited (STYLE.md rule 12). Keepalives match the node's server
 * (30 s, 10 s timeout) so a dead idle connection is found; grpc-js's own retries are off because
 * the SDK decides which requests may be repeated; a local subchannel pool makes `close()` really
 * close this client's connections.
 */
export const channelOptionsDefault: ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2_000,
  'grpc.enable_retries': 0,
  'grpc.use_local_subchannel_pool': 1,
  'grpc.max_send_message_length': sendMessageBytesMax,
  'grpc.max_receive_message_length': receiveMessageBytesMax,
};

function positiveInteger(value: number, name: string, max = Number.MAX_SAFE_INTEGER): void {
  assert(
    Number.isInteger(value) && value >= 1 && value <= max,
    `${name} must be an integer in 1..${max}, got ${value}`,
  );
}

/** Fills in the defaults; a bad option is a programmer error. */
export function resolveOptions(options: ConnectOptions): ResolvedOptions {
  assert(
    options.seeds.length >= 1 && options.seeds.length <= seedsMax,
    `seeds must list 1..${seedsMax} addresses, got ${options.seeds.length}`,
  );
  for (const seed of options.seeds) assert(seed.length > 0, 'a seed address is empty');
  const resolved: ResolvedOptions = {
    seeds: [...options.seeds],
    routing: options.routing ?? 'zero-hop',
    deadlineMs: options.deadlineMs ?? deadlineMsDefault,
    ringRefreshMs: options.ringRefreshMs ?? ringRefreshMsDefault,
    attemptsMax: options.attemptsMax ?? attemptsMaxDefault,
    failedNodeMemoryMs: options.failedNodeMemoryMs ?? failedNodeMemoryMsDefault,
    hedgeReads: options.hedgeReads ?? true,
    sessions: options.sessions ?? true,
    channelOptions: { ...channelOptionsDefault, ...options.channelOptions },
    transport: transportOf(options.tls, options.token),
  };
  assert(
    resolved.routing === 'zero-hop' || resolved.routing === 'any-node',
    `routing must be 'zero-hop' or 'any-node', got ${String(resolved.routing)}`,
  );
  positiveInteger(resolved.deadlineMs, 'deadlineMs');
  positiveInteger(resolved.ringRefreshMs, 'ringRefreshMs');
  positiveInteger(resolved.attemptsMax, 'attemptsMax', attemptsMaxLimit);
  positiveInteger(resolved.failedNodeMemoryMs, 'failedNodeMemoryMs');
  return resolved;
}
