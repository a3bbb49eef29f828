import { status } from '@grpc/grpc-js';
import type { KvStub } from './session.js';
import { HedgeDelay } from '@ringstore/quorum';
import { assert } from './assert.js';
import { backoffMs, overloadWaitMs, type Sleeper } from './backoff.js';
import {
  OverloadedError,
  clientError,
  fromServiceError,
  isAuthRefusal,
  notSent,
  type FailedAttempt,
  type RingstoreClientError,
} from './errors.js';
import type { FailedNodes } from './failed-nodes.js';
import type { NodePool } from './node-pool.js';
import type { RoutingMode } from './options.js';
import type { RingCache } from './ring-cache.js';
import type { RingView } from './ring-view.js';
import { callWhenConnected, type InflightCalls, type UnaryMethod } from './unary.js';

/**
 * What a failed attempt allows. A read has no side effect: it may be repeated on any UNAVAILABLE
 * or DEADLINE_EXCEEDED while the deadline lasts. A write (put, delete) is repeated on those only
 * when the error also proves it was not applied (see `notApplied` in errors.ts): the SDK never
 * sent it (the node's channel was not connected), or the node's Failure trailer says
 * APPLIED_NONE. Anything else, a quorum missed after sending (APPLIED_MAYBE), a status without a
 * trailer and DEADLINE_EXCEEDED included, may have left the value on some replicas: repeating it
 * would write it again under a new dot, a duplicate sibling the application never asked for, so
 * the error goes to the caller, who can read and decide. Bad input (INVALID_ARGUMENT, applied
 * none) is never repeated: another node would refuse it the same way, nor is a refusal of the
 * caller's credentials (UNAUTHENTICATED, PERMISSION_DENIED). An overload refusal
 * (OverloadedError: RESOURCE_EXHAUSTED before any work) is repeated for reads and writes alike,
 * after the wait the node asked for (see `retryWaitMs`).
 */
export type OpKind = 'read' | 'write';

export function mayRetry(kind: OpKind, error: RingstoreClientError): boolean {
  if (error instanceof OverloadedError) return true;
  const retryable =
    error.code === Number(status.UNAVAILABLE) || error.code === Number(status.DEADLINE_EXCEEDED);
  return kind === 'write' ? retryable && error.notApplied : retryable;
}

/**
 * The wait before retry number `retry` (1 for the first) after `last` failed, with `remainingMs`
 * of the deadline left: after an overload refusal at least the node's `retry-after-ms` plus
 * jitter, otherwise the usual backoff. Undefined when the node's wait would not leave the retry
 * time to run: the operation fails with `last` now rather than wait for a deadline it would miss.
 */
export function retryWaitMs(
  retry: number,
  last: RingstoreClientError,
  remainingMs: number,
  random: () => number,
): number | undefined {
  if (last instanceof OverloadedError)
    return overloadWaitMs(retry, last.retryAfterMs ?? 0, remainingMs, random);
  return backoffMs(retry, remainingMs, random);
}

/** Attempts at one node (sent, or not sent because it was not connected), and how they failed. */
export interface NodeRequestStats {
  requests: number;
  /** Failed attempts, overload refusals excepted: not connected, errors, credentials refused. */
  failures: number;
  /** Attempts the node refused as overloaded (OverloadedError): alive, just busy. */
  overloaded: number;
}

/** Counters of the dispatcher, for tests and benchmarks. */
export interface DispatchCounts {
  /** Attempts at nodes, retries and attempts not sent to an unconnected node included. */
  requests: number;
  /** Attempts after the first of their operation. */
  retries: number;
  /** Attempts refused as overloaded (RESOURCE_EXHAUSTED before any work), retried or not. */
  overloaded: number;
  /** Attempts refused for the caller's credentials (UNAUTHENTICATED, PERMISSION_DENIED). */
  authRefused: number;
  /** Reads also sent to the next candidate because the first had not answered by the p95. */
  hedges: number;
  readonly perNode: Map<string, NodeRequestStats>;
}

/** What the dispatcher needs from the client. */
export interface DispatchDeps {
  readonly routing: RoutingMode;
  /** Hedge a read's first attempt to the next candidate after the p95 of reads. */
  readonly hedgeReads: boolean;
  readonly attemptsMax: number;
  readonly pool: NodePool;
  readonly ring: RingCache;
  readonly failed: FailedNodes;
  readonly inflight: InflightCalls;
  readonly sleeper: Sleeper;
  /** Returns [0, 1): backoff jitter. */
  readonly random: () => number;
}

type AttemptResult<Res> = (
  { readonly ok: true; readonly response: Res } | ({ readonly ok: false } & FailedAttempt)
) & {
  /** A hedged read also asked the candidate at this index (the cursor moves past it). */
  readonly hedgedTo?: number;
};

/**
 * Sends each operation to a node chosen by the routing mode, failing over to the next candidate
 * within `attemptsMax` attempts and the operation's deadline, with jittered backoff in between.
 */
export class Dispatcher {
  readonly counts: DispatchCounts = {
    requests: 0,
    retries: 0,
    overloaded: 0,
    authRefused: 0,
    hedges: 0,
    perNode: new Map(),
  };
  private roundRobin = 0;
  /** Successful reads' latency: when a read is hedged to the next candidate (its p95). */
  private readonly readLatency = new HedgeDelay();

  constructor(private readonly deps: DispatchDeps) {}

  /**
   * The nodes to try for `key`, best first: recently failed nodes last; never a node that left or
   * was removed, nor a joining one the read ring does not name (see RingView.isRoutable).
   */
  candidates(key: Uint8Array): string[] {
    const view = this.deps.ring.current();
    const nowMs = Date.now();
    if (this.deps.routing === 'zero-hop')
      return this.deps.failed.order(view.order(view.partitionOf(key)), nowMs);
    const ids = view.servingIds;
    if (ids.length === 0) return [];
    const start = this.roundRobin++ % ids.length;
    if (this.roundRobin >= ids.length) this.roundRobin = 0;
    return this.deps.failed.order([...ids.slice(start), ...ids.slice(0, start)], nowMs);
  }

  /**
   * Runs one operation: resolves with the first success, rejects with a RingstoreClientError.
   * `method` picks the KV method to call, bound to its client. Between attempts it waits (see
   * `retryWaitMs`); an overload refusal whose wait the deadline cannot afford ends it at once.
   * `hedge: false` keeps a read from being hedged: a batch read takes longer than the single-key
   * reads the hedge delay is learned from, and hedging it would send every batch twice.
   */
  async run<Req, Res>(
    kind: OpKind,
    key: Uint8Array,
    request: Req,
    method: (kv: KvStub) => UnaryMethod<Req, Res>,
    deadlineMs: number,
    { hedge = true }: { readonly hedge?: boolean } = {},
  ): Promise<Res> {
    const deadlineAt = Date.now() + deadlineMs;
    const candidates = this.candidates(key);
    const { attemptsMax } = this.deps;
    let last: RingstoreClientError | undefined;
    let cursor = 0;
    for (let attempt = 0; attempt < attemptsMax; attempt++) {
      if (last !== undefined) {
        const waitMs = retryWaitMs(attempt, last, deadlineAt - Date.now(), this.deps.random);
        if (waitMs === undefined) throw last;
        await this.deps.sleeper.sleep(waitMs);
      }
      if (this.deps.pool.isClosed)
        throw clientError(status.CANCELLED, 'client is closed', { attempts: attempt });
      const remainingMs = deadlineAt - Date.now();
      if (remainingMs <= 0) break;
      const picked = this.pick(candidates, cursor);
      if (picked === undefined) throw last ?? noCandidate(candidates, this.deps.ring.current());
      cursor = picked.index + 1;
      const nodeId = picked.nodeId;
      // A read keeps half its time for a retry elsewhere (a stuck node must not eat the deadline);
      // a write gets all of it, since a timed-out write is never retried.
      const budgetMs = kind === 'read' && attempt < attemptsMax - 1 ? remainingMs / 2 : remainingMs;
      if (attempt > 0) this.counts.retries++;
      const deadline = Date.now() + budgetMs;
      const result =
        kind === 'read' && attempt === 0 && hedge && this.deps.hedgeReads
          ? await this.hedged(candidates, picked.index, request, method, deadline)
          : await this.attempt(nodeId, request, method, deadline);
      if (result.hedgedTo !== undefined) cursor = result.hedgedTo + 1;
      if (result.ok) return result.response;
      last = result.error.withAttempts(attempt + 1);
      if (!mayRetry(kind, last) || attempt === attemptsMax - 1) throw last;
    }
    throw deadlineError(last, deadlineMs);
  }

  /**
   * A read's first attempt, hedged: when the node has not answered within the p95 of recent
   * reads, the next candidate is asked too, and the first answer that succeeds wins (the other
   * runs out unobserved; only reads are hedged, never writes, which could become siblings). A
   * paused or slow node then costs a read its p95, not half its deadline; the attempt that is
   * left running still marks the node failed when it times out.
   */
  private async hedged<Req, Res>(
    candidates: readonly string[],
    index: number,
    request: Req,
    method: (kv: KvStub) => UnaryMethod<Req, Res>,
    deadline: number,
  ): Promise<AttemptResult<Res>> {
    const nodeId = candidates[index % candidates.length] ?? '';
    const first = this.timedRead(nodeId, request, method, deadline);
    let timer: NodeJS.Timeout | undefined;
    const hedge = new Promise<'hedge'>((resolve) => {
      timer = setTimeout(() => resolve('hedge'), this.readLatency.delayMs());
    });
    const early = await Promise.race([first, hedge]);
    clearTimeout(timer);
    if (early !== 'hedge') return early;
    const next = candidates.length > 1 ? this.pick(candidates, index + 1) : undefined;
    if (next === undefined || next.nodeId === nodeId) return first;
    this.counts.hedges++;
    const second = this.timedRead(next.nodeId, request, method, deadline);
    const winner = await firstSuccess(first, second);
    return { ...winner, hedgedTo: next.index };
  }

  /** An attempt whose success, when it is a read, teaches the hedge delay. */
  private async timedRead<Req, Res>(
    nodeId: string,
    request: Req,
    method: (kv: KvStub) => UnaryMethod<Req, Res>,
    deadline: number,
  ): Promise<AttemptResult<Res>> {
    const startedAt = performance.now();
    const result = await this.attempt(nodeId, request, method, deadline);
    if (result.ok) this.readLatency.record(performance.now() - startedAt);
    return result;
  }

  /**
   * The first candidate from `cursor` on (wrapping around) that the ring routes to now: the ring
   * may have changed since the operation began, and a node that left is skipped like a down one,
   * without spending an attempt on it. Undefined when no candidate is left.
   */
  private pick(
    candidates: readonly string[],
    cursor: number,
  ): { readonly nodeId: string; readonly index: number } | undefined {
    const view = this.deps.ring.current();
    for (let i = 0; i < candidates.length; i++) {
      const index = cursor + i;
      const nodeId = candidates[index % candidates.length] ?? '';
      if (view.isRoutable(nodeId)) return { nodeId, index };
    }
    return undefined;
  }

  private async attempt<Req, Res>(
    nodeId: string,
    request: Req,
    method: (kv: KvStub) => UnaryMethod<Req, Res>,
    deadline: number,
  ): Promise<AttemptResult<Res>> {
    const address = this.deps.ring.current().addressOf(nodeId);
    assert(address !== undefined, `node ${nodeId} was picked from a ring without its address`);
    const stats = this.nodeStats(nodeId);
    stats.requests++;
    this.counts.requests++;
    const outcome = await this.deps.pool.use(address, ({ kv, callMetadata }) =>
      callWhenConnected(
        kv.getChannel(),
        method(kv),
        request,
        callMetadata(),
        deadline,
        this.deps.inflight,
      ),
    );
    if ('channelState' in outcome) {
      stats.failures++;
      const notConnected = `is not connected (${outcome.channelState})`;
      const details = `node ${nodeId} (${address}) ${notConnected}; the request was not sent`;
      return this.failed(nodeId, notSent(nodeId, details));
    }
    if (outcome.ringVersion !== undefined) this.deps.ring.noteVersion(outcome.ringVersion, address);
    if (outcome.ok) {
      this.deps.failed.forget(nodeId);
      return { ok: true, response: outcome.response };
    }
    const failed = fromServiceError(outcome.error, outcome.answered, nodeId);
    this.countFailure(stats, failed.error);
    return this.failed(nodeId, failed);
  }

  /** An overload refusal is counted apart from failures: the node is alive, just busy. */
  private countFailure(stats: NodeRequestStats, error: RingstoreClientError): void {
    if (error instanceof OverloadedError) {
      stats.overloaded++;
      this.counts.overloaded++;
      return;
    }
    stats.failures++;
    if (isAuthRefusal(error)) this.counts.authRefused++;
  }

  /** A failed attempt; an unreachable node is tried last for a while, and the ring refetched. */
  private failed(nodeId: string, failed: FailedAttempt): AttemptResult<never> {
    if (failed.nodeUnreachable && !this.deps.pool.isClosed) {
      const nowMs = Date.now();
      this.deps.failed.remember(nodeId, nowMs);
      this.deps.ring.noteUnreachable(nowMs);
    }
    return { ok: false, ...failed };
  }

  private nodeStats(nodeId: string): NodeRequestStats {
    let stats = this.counts.perNode.get(nodeId);
    if (stats === undefined) {
      stats = { requests: 0, failures: 0, overloaded: 0 };
      this.counts.perNode.set(nodeId, stats);
    }
    return stats;
  }
}

/**
 * The error of an operation none of whose candidates the ring routes to (every one left, was
 * removed or dropped out of the ring): UNAVAILABLE, nothing sent, as when no replica is reachable.
 */
function noCandidate(candidates: readonly string[], view: RingView): RingstoreClientError {
  const tried =
    candidates.length === 0 ? 'no node' : `none of the key's ${candidates.length} candidate nodes`;
  const ring = `ring term ${view.term} version ${view.version}`;
  return clientError(
    status.UNAVAILABLE,
    `${tried} can take the request in ${ring}: left, removed or not in the ring`,
    { notApplied: true, attempts: 0 },
  );
}

/**
 * The error of an operation whose deadline ran out between attempts (or before the first). An
 * overload refusal stays one: the caller learns the node was busy, and how long it asked to wait.
 */
function deadlineError(
  last: RingstoreClientError | undefined,
  deadlineMs: number,
): RingstoreClientError {
  if (last?.code === Number(status.DEADLINE_EXCEEDED) || last instanceof OverloadedError)
    return last;
  const after = last === undefined ? '' : `; last error: ${last.message}`;
  return clientError(status.DEADLINE_EXCEEDED, `deadline of ${deadlineMs} ms passed${after}`, {
    acked: last?.acked,
    needed: last?.needed,
    tried: last?.tried,
    notApplied: last?.notApplied,
    nodeId: last?.nodeId,
    attempts: last?.attempts,
  });
}

/** The first of two attempts to succeed; when both fail, the one that failed last. */
function firstSuccess<T extends { readonly ok: boolean }>(
  a: Promise<T>,
  b: Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let failures = 0;
    const settle = (r: T): void => {
      if (r.ok) resolve(r);
      else if (++failures === 2) resolve(r);
    };
    a.then(settle, reject);
    b.then(settle, reject);
  });
}
