import { status } from '@grpc/grpc-js';
import type {
  BatchWrite,
  DeleteRequest,
  GetRequest,
  GetResponse,
  PutRequest,
  Sibling as SiblingMessage,
} from '@ringstore/proto';
import { getMany, putMany, type BatchDeps, type ItemResult } from './batch.js';
import { membersMax } from '@ringstore/ring';
import { assert } from './assert.js';
import { Sleeper } from './backoff.js';
import { toBuffer, type Bytes } from './bytes.js';
import { Dispatcher, mayRetry, retryWaitMs, type NodeRequestStats } from './dispatch.js';
import { clientError, RingstoreClientError } from './errors.js';
import { FailedNodes } from './failed-nodes.js';
import { NodePool } from './node-pool.js';
import { resolveOptions, seedsMax, type ConnectOptions, type ResolvedOptions } from './options.js';
import { RingCache, fetchRing } from './ring-cache.js';
import type { ClientRing, RingVersion, RingView } from './ring-view.js';
import { callUnary, type InflightCalls } from './unary.js';

/** Deadline of the probe of a node that could not be reached: a live node answers in ms. */
export const probeDeadlineMs = 250;

/** One value of a key. More than one: concurrent writes, to be resolved by the application. */
export interface Sibling {
  readonly value: Buffer;
  /** A concurrent delete (a tombstone) beside the other siblings. */
  readonly deleted: boolean;
}

/** What `get` returns. */
export interface GetResult {
  /** Every surviving value; empty when the key was never written (or fully deleted and collected). */
  readonly siblings: Sibling[];
  /** Opaque causal context: pass it to the next put or delete of this key. */
  readonly context: Buffer;
  /** Some sibling is a live value (not a tombstone). */
  readonly found: boolean;
}

/** What `put` returns. */
export interface PutResult {
  /** Context covering the value just written and `siblings`. */
  readonly context: Buffer;
  /** Every value the coordinator holds after the write, the new one included. */
  readonly siblings: Sibling[];
}

/** Options of `get`. */
export interface GetOptions {
  /** Replies needed; 0 or absent: the cluster default. */
  readonly r?: number | undefined;
  /** Count only the key's N primary replicas towards R. */
  readonly strictQuorum?: boolean | undefined;
  /** Deadline of the whole operation, retries included; default: the client's deadlineMs. */
  readonly deadlineMs?: number | undefined;
}

/** Options of `put`. */
export interface PutOptions {
  /** Context of the read this write is based on; absent: "I have seen nothing" (a new sibling). */
  readonly context?: Uint8Array | undefined;
  /** Acknowledgements needed; 0 or absent: the cluster default. */
  readonly w?: number | undefined;
  /** Count only the key's N primary replicas towards W. */
  readonly strictQuorum?: boolean | undefined;
  /** Deadline of the whole operation, retries included; default: the client's deadlineMs. */
  readonly deadlineMs?: number | undefined;
}

/** Options of `delete`. */
export type DeleteOptions = PutOptions;

/** One write of `putMany`: a put of `value`, or (with `delete: true`) a delete. */
export type WriteItem =
  | {
      readonly key: Bytes;
      readonly value: Bytes;
      /** As PutOptions.context. */
      readonly context?: Uint8Array | undefined;
      readonly delete?: false | undefined;
    }
  | { readonly key: Bytes; readonly delete: true; readonly context?: Uint8Array | undefined };

/** Options of `putMany`: those of `put`, for every item (each item has its own context). */
export type PutManyOptions = Omit<PutOptions, 'context'>;

/** Options of `update`. */
export interface UpdateOptions {
  readonly r?: number | undefined;
  readonly w?: number | undefined;
  readonly strictQuorum?: boolean | undefined;
  /** Deadline of the whole read-merge-write, every round included. */
  readonly deadlineMs?: number | undefined;
  /** Read-merge-write rounds; default: the client's attemptsMax. */
  readonly attemptsMax?: number | undefined;
}

/**
 * Resolves the live values of a key into the one to write. Called with [] when the key has no
 * live value. Should be deterministic; may be called once per round of `update`.
 */
export type MergeFunction = (values: Buffer[]) => Bytes;

/** Counters for tests and benchmarks. */
export interface ClientStats {
  /** KV attempts at nodes, retries (and attempts not sent to an unconnected node) included. */
  readonly requests: number;
  /** Requests that repeated an operation on another (or the same) node. */
  readonly retries: number;
  /**
   * Requests a node refused as overloaded (RESOURCE_EXHAUSTED before any work: not applied),
   * retried or not. Not failures: the node is alive, just busy, and is not avoided for it.
   */
  readonly overloaded: number;
  /** Requests refused for the client's credentials (UNAUTHENTICATED, PERMISSION_DENIED). */
  readonly authRefused: number;
  /** Reads also sent to the next replica because the first had not answered by the p95 of reads. */
  readonly hedges: number;
  /** Probes of nodes that could not be reached (GetRing), and those the node answered. */
  readonly probes: { readonly sent: number; readonly answered: number };
  /** Ring fetches after connect that returned a ring. */
  readonly ringRefreshes: number;
  /** Ring fetches after connect that reached no node. */
  readonly ringRefreshFailures: number;
  /** gRPC channels open now: the ring's serving nodes used so far, and any closing after a call. */
  readonly channels: number;
  /** Requests, failed requests and overload refusals per node id. */
  readonly perNode: Map<string, NodeRequestStats>;
}

/** Calls of one `connect`, so `close()` can cancel those still running. */
type ClientParts = { readonly pool: NodePool; readonly inflight: InflightCalls };

/**
 * A connection to a Ringstore cluster. Obtain one with `connect()`; every method may be called
 * concurrently; `close()` when done.
 */
export class Client {
  private readonly pool: NodePool;
  private readonly inflight: InflightCalls;
  private readonly failed: FailedNodes;
  private readonly ringCache: RingCache;
  private readonly sleeper = new Sleeper();
  private readonly dispatcher: Dispatcher;

  /** @internal Use `connect()`. */
  constructor(
    private readonly options: ResolvedOptions,
    parts: ClientParts,
    ring: RingView,
  ) {
    this.pool = parts.pool;
    this.inflight = parts.inflight;
    this.failed = new FailedNodes(options.failedNodeMemoryMs, membersMax, (id) =>
      this.probeNode(id),
    );
    this.ringCache = new RingCache(ring, {
      pool: this.pool,
      inflight: this.inflight,
      deadlineMs: options.deadlineMs,
      seeds: options.seeds,
      ringRefreshMs: options.ringRefreshMs,
      isFailed: (id) => this.failed.isFailed(id, Date.now()),
      onChange: (view) => this.pool.retain(addressesOf(view)),
    });
    this.pool.retain(addressesOf(ring));
    this.dispatcher = new Dispatcher({
      routing: options.routing,
      hedgeReads: options.hedgeReads,
      attemptsMax: options.attemptsMax,
      pool: this.pool,
      ring: this.ringCache,
      failed: this.failed,
      inflight: this.inflight,
      sleeper: this.sleeper,
      random: Math.random,
    });
    this.ringCache.startTimer();
  }

  /** Reads every sibling of `key` and the context to write it back with. Retried on UNAVAILABLE and DEADLINE_EXCEEDED. */
  async get(key: Bytes, options: GetOptions = {}): Promise<GetResult> {
    const request: GetRequest = {
      key: toBuffer(key),
      r: quorum(options.r, 'r'),
      strictQuorum: options.strictQuorum ?? false,
    };
    const response = await this.dispatcher.run(
      'read',
      request.key,
      request,
      (kv) => kv.get.bind(kv),
      this.deadlineOf(options.deadlineMs),
    );
    return getResultOf(response);
  }

  /**
   * Reads many keys with few calls: grouped by the node each key is sent to first, at most 100
   * per BatchGet call. One result per key, in order: its GetResult, or the error its own `get`
   * would have thrown (an item that failed as `get` would retry is retried alone, within the
   * deadline; a node without BatchGet is asked key by key). Not a snapshot: each key is read on
   * its own. Repeated keys are refused (INVALID_ARGUMENT) for the repeats.
   */
  async getMany(
    keys: readonly Bytes[],
    options: GetOptions = {},
  ): Promise<ItemResult<GetResult>[]> {
    const r = quorum(options.r, 'r');
    const strictQuorum = options.strictQuorum ?? false;
    const results = await getMany(this.batchDeps(), {
      keys: keys.map(toBuffer),
      r,
      strictQuorum,
      deadlineMs: this.deadlineOf(options.deadlineMs),
      single: (key, deadlineMs) =>
        this.dispatcher.run(
          'read',
          key,
          { key, r, strictQuorum },
          (kv) => kv.get.bind(kv),
          deadlineMs,
        ),
    });
    return results.map((res) => (res.ok ? { ok: true, value: getResultOf(res.value) } : res));
  }

  /**
   * Writes many keys with few calls: grouped by the node each key is sent to first, at most 25
   * per BatchPut call. One result per item, in order: the PutResult of a put (undefined for a
   * delete), or the error its own `put` or `delete` would have thrown (an item refused before it
   * was applied is retried alone, within the deadline; one that may have been applied is not).
   * Not a transaction: each item is applied on its own. Repeated keys are refused for the repeats.
   */
  async putMany(
    items: readonly WriteItem[],
    options: PutManyOptions = {},
  ): Promise<ItemResult<PutResult | undefined>[]> {
    const w = quorum(options.w, 'w');
    const strictQuorum = options.strictQuorum ?? false;
    const writes: BatchWrite[] = items.map((item) => {
      const key = toBuffer(item.key);
      const context = toBuffer(item.context ?? Buffer.alloc(0));
      return item.delete === true
        ? { write: { $case: 'delete', value: { key, context, w, strictQuorum } } }
        : {
            write: {
              $case: 'put',
              value: { key, value: toBuffer(item.value), context, w, strictQuorum },
            },
          };
    });
    const results = await putMany(this.batchDeps(), {
      items: writes,
      deadlineMs: this.deadlineOf(options.deadlineMs),
      single: async (item, deadlineMs) => {
        const write = item.write;
        assert(write !== undefined, 'putMany builds every item as a put or a delete');
        if (write.$case === 'put')
          return this.dispatcher.run(
            'write',
            write.value.key,
            write.value,
            (kv) => kv.put.bind(kv),
            deadlineMs,
          );
        await this.dispatcher.run(
          'write',
          write.value.key,
          write.value,
          (kv) => kv.delete.bind(kv),
          deadlineMs,
        );
        return undefined;
      },
    });
    return results.map((res) =>
      res.ok
        ? {
            ok: true,
            value:
              res.value === undefined
                ? undefined
                : { context: res.value.context, siblings: res.value.siblings.map(siblingOf) },
          }
        : res,
    );
  }

  /**
   * Writes `value`. Retried on another node only when the error proves it was not applied; an
   * error with `notApplied` false (a quorum missed after sending, DEADLINE_EXCEEDED, a status
   * without the node's Failure trailer) means the value may be on some replicas: read before
   * writing again.
   */
  async put(key: Bytes, value: Bytes, options: PutOptions = {}): Promise<PutResult> {
    const request: PutRequest = {
      key: toBuffer(key),
      value: toBuffer(value),
      context: toBuffer(options.context ?? Buffer.alloc(0)),
      w: quorum(options.w, 'w'),
      strictQuorum: options.strictQuorum ?? false,
    };
    const response = await this.dispatcher.run(
      'write',
      request.key,
      request,
      (kv) => kv.put.bind(kv),
      this.deadlineOf(options.deadlineMs),
    );
    return { context: response.context, siblings: response.siblings.map(siblingOf) };
  }

  /** Writes a tombstone superseding what `context` covers (without one, the node reads the current context). Retried as `put`. */
  async delete(key: Bytes, options: DeleteOptions = {}): Promise<void> {
    const request: DeleteRequest = {
      key: toBuffer(key),
      context: toBuffer(options.context ?? Buffer.alloc(0)),
      w: quorum(options.w, 'w'),
      strictQuorum: options.strictQuorum ?? false,
    };
    await this.dispatcher.run(
      'write',
      request.key,
      request,
      (kv) => kv.delete.bind(kv),
      this.deadlineOf(options.deadlineMs),
    );
  }

  /**
   * Read-modify-write: reads `key`, resolves its live siblings with `merge` (merge([]) when there
   * are none), and writes the result with the read's context, which supersedes every sibling read.
   * A round is repeated (up to `attemptsMax`, within the deadline) when its read failed with
   * UNAVAILABLE, DEADLINE_EXCEEDED or ABORTED, or its write failed with ABORTED or an error that
   * proves it was not applied. A write that may have been applied is not repeated: the error goes
   * to the caller, as for `put`.
   */
  async update(key: Bytes, merge: MergeFunction, options: UpdateOptions = {}): Promise<PutResult> {
    const roundsMax = options.attemptsMax ?? this.options.attemptsMax;
    assert(
      Number.isInteger(roundsMax) && roundsMax >= 1,
      `attemptsMax must be a positive integer, got ${roundsMax}`,
    );
    const deadlineMs = this.deadlineOf(options.deadlineMs);
    const deadlineAt = Date.now() + deadlineMs;
    const { r, w, strictQuorum } = options;
    let last: RingstoreClientError | undefined;
    for (let round = 1; round <= roundsMax; round++) {
      if (last !== undefined) {
        const waitMs = retryWaitMs(round - 1, last, deadlineAt - Date.now(), Math.random);
        if (waitMs === undefined) throw last;
        await this.sleeper.sleep(waitMs);
      }
      const remainingMs = deadlineAt - Date.now();
      if (remainingMs <= 0) break;
      let phase: 'read' | 'write' = 'read';
      try {
        const current = await this.get(key, { r, strictQuorum, deadlineMs: remainingMs });
        const merged = merge(current.siblings.filter((s) => !s.deleted).map((s) => s.value));
        phase = 'write';
        return await this.put(key, merged, {
          context: current.context,
          w,
          strictQuorum,
          deadlineMs: Math.max(1, deadlineAt - Date.now()),
        });
      } catch (e) {
        if (!(e instanceof RingstoreClientError) || !mayRepeatRound(phase, e)) throw e;
        last = e;
      }
    }
    throw (
      last ??
      clientError(
        status.DEADLINE_EXCEEDED,
        `deadline of ${deadlineMs} ms passed before update could read`,
      )
    );
  }

  /**
   * The key's N primary replicas (node ids) in preference order, from the client's ring: the
   * head of its preference list, without the fallbacks a node would add for primaries down.
   */
  primaries(key: Bytes): string[] {
    return [...this.ringCache.current().primaries(toBuffer(key))];
  }

  /**
   * The ring the client routes with: every member with its status (joining, valid, leaving, left,
   * removed) and the running transition's transfers (informational: requests follow the read ring).
   */
  ring(): ClientRing {
    return this.ringCache.current().message;
  }

  /** Where the client's ring stands; rings are ordered by term, then version. */
  ringVersion(): RingVersion {
    const { term, version } = this.ringCache.current();
    return { term, version };
  }

  /** Refetches the ring now (joining a refetch already running). */
  refreshRing(): Promise<void> {
    return this.ringCache.refresh(undefined);
  }

  /** A snapshot of the client's counters. */
  stats(): ClientStats {
    const { requests, retries, overloaded, authRefused, hedges, perNode } = this.dispatcher.counts;
    const copy = new Map(Array.from(perNode, ([id, s]) => [id, { ...s }]));
    const { refreshes, failures } = this.ringCache.counts;
    return {
      requests,
      retries,
      overloaded,
      authRefused,
      hedges,
      probes: { ...this.failed.probes },
      ringRefreshes: refreshes,
      ringRefreshFailures: failures,
      channels: this.pool.size,
      perNode: copy,
    };
  }

  /** Stops the refresh timer, cancels running calls (they fail with CANCELLED) and closes every channel. Idempotent. */
  close(): void {
    this.ringCache.stop();
    this.pool.close();
    this.sleeper.cancelAll();
    for (const call of this.inflight) call.cancel();
    this.inflight.clear();
  }

  /**
   * Whether a node that could not be reached answers again: one GetRing with a short deadline
   * (FailedNodes keeps the node last until it does).
   */
  private async probeNode(nodeId: string): Promise<boolean> {
    const address = this.ringCache.current().addressOf(nodeId);
    if (address === undefined || this.pool.isClosed) return false;
    const outcome = await this.pool.use(address, ({ cluster, callMetadata }) =>
      callUnary(
        cluster.getRing.bind(cluster),
        {},
        callMetadata(),
        Date.now() + probeDeadlineMs,
        this.inflight,
      ),
    );
    return outcome.ok;
  }

  private batchDeps(): BatchDeps {
    return {
      run: (kind, key, request, method, deadlineMs) =>
        this.dispatcher.run(kind, key, request, method, deadlineMs, { hedge: false }),
      firstReplica: (key) => this.ringCache.current().primaries(key)[0] ?? '',
    };
  }

  private deadlineOf(deadlineMs: number | undefined): number {
    const ms = deadlineMs ?? this.options.deadlineMs;
    assert(Number.isFinite(ms) && ms > 0, `deadlineMs must be a positive number, got ${ms}`);
    return ms;
  }
}

function mayRepeatRound(phase: 'read' | 'write', e: RingstoreClientError): boolean {
  return e.code === Number(status.ABORTED) || mayRetry(phase, e);
}

function quorum(value: number | undefined, name: string): number {
  const n = value ?? 0;
  assert(
    Number.isInteger(n) && n >= 0,
    `${name} must be a non-negative integer (0: the cluster default), got ${n}`,
  );
  return n;
}

function siblingOf(s: SiblingMessage): Sibling {
  return { value: s.value, deleted: s.deleted };
}

/** The channels to keep: those of nodes a request may go to (not of nodes that left). */
function addressesOf(view: RingView): Set<string> {
  return new Set(view.servingIds.map((id) => view.addressOf(id) ?? ''));
}

/**
 * Connects to a cluster: fetches the ring with Cluster.GetRing from the first seed that answers
 * (each seed once, in order, each with the deadline), then routes every request with it.
 * Channels to nodes are opened on first use. Rejects when no seed returns a ring: with
 * UnauthenticatedError or PermissionDeniedError when one refused the credentials (the token,
 * or its absence), otherwise with UNAVAILABLE (a failed TLS handshake among them).
 */
export async function connect(options: ConnectOptions): Promise<Client> {
  const resolved = resolveOptions(options);
  const pool = new NodePool(
    resolved.channelOptions,
    membersMax + seedsMax,
    resolved.transport,
    resolved.sessions,
  );
  const inflight: InflightCalls = new Set();
  const found = await fetchRing(resolved.seeds, {
    pool,
    inflight,
    deadlineMs: resolved.deadlineMs,
  });
  if (!('view' in found)) {
    pool.close();
    const details = `no seed returned a ring: ${found.problems.join('; ')}`;
    if (found.refusal === undefined) throw clientError(status.UNAVAILABLE, details);
    throw clientError(found.refusal.code, details, { notApplied: true });
  }
  return new Client(resolved, { pool, inflight }, found.view);
}

function getResultOf(response: GetResponse): GetResult {
  const siblings = response.siblings.map(siblingOf);
  return { siblings, context: response.context, found: siblings.some((s) => !s.deleted) };
}
