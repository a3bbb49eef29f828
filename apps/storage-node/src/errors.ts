import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Applied, Failure, type ErrorReply, type ItemError } from '@ringstore/proto';
import type { QuorumFailure } from '@ringstore/quorum';
import { StorageError, type StorageErrorCode } from '@ringstore/storage';

/**
 * Operating errors of the node, with stable codes and their meaning as data. Mapped to gRPC
 * statuses (and the ringstore-failure-bin trailer) here and only here (STYLE.md rule 6); peer
 * ErrorReply messages carry the same code and detail.
 */
export type ErrorCode =
  | 'invalid-argument'
  | 'unavailable'
  | 'deadline-exceeded'
  | 'resource-exhausted'
  | 'failed-precondition'
  | 'cancelled'
  | 'unauthenticated'
  | 'permission-denied'
  | 'internal';

/**
 * What a failed request may have changed. `applied: 'none'` is a proof that nothing was written
 * anywhere, so repeating the request cannot duplicate it; 'maybe' is everything else.
 */
export interface FailureDetail {
  readonly applied: 'none' | 'maybe';
  /** Replicas that acknowledged (write) or replied (read); 0 when not a quorum failure. */
  readonly acked: number;
  /** W or R; 0 when not a quorum failure. */
  readonly needed: number;
  /** Replicas the request was handed to. */
  readonly tried: number;
}

/** The trailing metadata entry that carries a serialized ringstore.v1.Failure (docs/api.md). */
export const failureTrailer = 'ringstore-failure-bin';

export class RingstoreError extends Error {
  override readonly name = 'RingstoreError';
  readonly failure: FailureDetail;
  /** Trailing metadata for the caller (retry-after-ms, x-ratelimit-*), beside the Failure. */
  trailers: readonly (readonly [string, string])[] = [];
  /**
   * A timeout noticed late because this node's own event loop was stalled (a local pause): it
   * says nothing about the peer (Cassandra's "not marking nodes down due to local pause").
   */
  localPause = false;
  /**
   * A request that failed without an answer, although a later request to the same peer was
   * answered: the peer was alive after this one was sent, so its failure (a slow reply, a link
   * that broke and came back) is no reason to suspect it now.
   */
  staleAfterAnswer = false;
  constructor(
    readonly code: ErrorCode,
    message: string,
    failure?: FailureDetail,
    /** Set by a replica fencing a request made under an older ring: the replica's version. */
    readonly ringStale?: { readonly term: number; readonly version: number },
    /**
     * The peer whose answer this error is (an ErrorReply): proof that the peer is alive, unlike
     * an error raised here because no answer came (a timeout, a broken link).
     */
    readonly answeredBy?: string,
  ) {
    super(message);
    this.failure = failure ?? defaultFailure(code);
  }
}

/** A replica's answer to a request made under a ring older than the partition's last change. */
export function ringStale(
  partition: number,
  request: { term: number; version: number },
  mine: { term: number; version: number },
  changedAt: number,
): RingstoreError {
  return new RingstoreError(
    'failed-precondition',
    `ring stale: partition ${partition} changed at version ${changedAt}, the request was made under ${request.term}.${request.version} (this replica has ${mine.term}.${mine.version})`,
    { applied: 'none', acked: 0, needed: 0, tried: 0 },
    { term: mine.term, version: mine.version },
  );
}

/** Bad input is refused before anything happens; anything else is 'maybe' unless proven. */
function defaultFailure(code: ErrorCode): FailureDetail {
  const none =
    code === 'invalid-argument' || code === 'unauthenticated' || code === 'permission-denied';
  return { applied: none ? 'none' : 'maybe', acked: 0, needed: 0, tried: 0 };
}

/** A refusal made before the request reached any replica: provably nothing applied. */
export function refused(code: ErrorCode, message: string): RingstoreError {
  return new RingstoreError(code, message, { applied: 'none', acked: 0, needed: 0, tried: 0 });
}

export function invalidArgument(message: string): RingstoreError {
  return new RingstoreError('invalid-argument', message);
}

const quorumCodes: Record<QuorumFailure['kind'], ErrorCode> = {
  unavailable: 'unavailable',
  timeout: 'deadline-exceeded',
  'local-failed': 'unavailable',
};

/**
 * A quorum machine's failure as an error. A failed local write keeps the storage error's own code
 * (an overloaded engine or a full disk is RESOURCE_EXHAUSTED, a closing one UNAVAILABLE), and its
 * reason after the machine's numbers, so the caller reads why ("...: disk full: ...").
 */
export function quorumError(f: QuorumFailure, localError?: unknown): RingstoreError {
  const detail: FailureDetail = {
    applied: f.applied,
    acked: f.acked,
    needed: f.needed,
    tried: f.tried,
  };
  const local = f.kind === 'local-failed' ? localError : undefined;
  const code = local !== undefined ? asRingstoreError(local).code : quorumCodes[f.kind];
  const message = local instanceof StorageError ? `${f.message}: ${local.message}` : f.message;
  return new RingstoreError(code, message, detail);
}

const storageCodes: Record<StorageErrorCode, ErrorCode> = {
  closed: 'unavailable',
  overloaded: 'resource-exhausted',
  object_too_large: 'invalid-argument',
  reserved_meta_name: 'internal',
  schema: 'failed-precondition',
  pragma_refused: 'failed-precondition',
  // Not UNAVAILABLE: the node is up and serves reads; retrying elsewhere or later is the caller's
  // choice, and the failure says nothing was stored.
  disk_full: 'resource-exhausted',
  io: 'unavailable',
};

const toGrpc: Record<ErrorCode, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  unavailable: status.UNAVAILABLE,
  'deadline-exceeded': status.DEADLINE_EXCEEDED,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  'failed-precondition': status.FAILED_PRECONDITION,
  cancelled: status.CANCELLED,
  unauthenticated: status.UNAUTHENTICATED,
  'permission-denied': status.PERMISSION_DENIED,
  internal: status.INTERNAL,
};

export function grpcCodeOf(code: ErrorCode): status {
  return toGrpc[code];
}

function errorCodeOfGrpc(grpcCode: number): ErrorCode {
  for (const [code, value] of Object.entries(toGrpc))
    if (Number(value) === grpcCode) return code as ErrorCode;
  return 'internal';
}

/**
 * Any thrown value as a RingstoreError: storage errors by their code (an overloaded or closed
 * engine is an operating error, never INTERNAL), grpc-js errors by their status; anything else
 * is a bug, 'internal'.
 */
export function asRingstoreError(e: unknown): RingstoreError {
  if (e instanceof RingstoreError) return e;
  if (e instanceof StorageError) {
    // The engine refused the call or SQLite rolled its transaction back ('io', 'disk_full'):
    // nothing of it was stored, the same proof the put machine's local-failed gives.
    return new RingstoreError(storageCodes[e.code], e.message, {
      applied: 'none',
      acked: 0,
      needed: 0,
      tried: 0,
    });
  }
  if (isServiceError(e)) return new RingstoreError(errorCodeOfGrpc(e.code), e.details || e.message);
  return new RingstoreError('internal', e instanceof Error ? e.message : String(e));
}

function isServiceError(e: unknown): e is ServiceError {
  return (
    e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number' && 'details' in e
  );
}

function toWire(f: FailureDetail): Failure {
  return {
    applied: f.applied === 'none' ? Applied.APPLIED_NONE : Applied.APPLIED_MAYBE,
    acked: f.acked,
    needed: f.needed,
    tried: f.tried,
  };
}

function fromWire(f: Failure | undefined): FailureDetail | undefined {
  if (f === undefined) return undefined;
  const applied = f.applied === Applied.APPLIED_NONE ? 'none' : 'maybe';
  return { applied, acked: f.acked, needed: f.needed, tried: f.tried };
}

/** The error grpc-js sends to a caller: status, message, and the Failure trailer. */
export function toServiceError(e: unknown): Partial<ServiceError> {
  const err = asRingstoreError(e);
  const metadata = new Metadata();
  metadata.set(failureTrailer, Buffer.from(Failure.encode(toWire(err.failure)).finish()));
  for (const [key, value] of err.trailers) metadata.set(key, value);
  return { code: grpcCodeOf(err.code), details: err.message, metadata };
}

/**
 * One failed item of a batch: the status, message and Failure the same unary call would carry,
 * and its retry hint (the `retry-after-ms` trailer) as a field.
 */
export function toItemError(e: unknown): ItemError {
  const err = asRingstoreError(e);
  const trailer = (key: string): number | undefined => {
    const value = Number(err.trailers.find(([k]) => k === key)?.[1]);
    return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  };
  return {
    code: grpcCodeOf(err.code),
    message: err.message,
    failure: toWire(err.failure),
    retryAfterMs: trailer('retry-after-ms') ?? 0,
    rateLimit: trailer('x-ratelimit-limit'),
    rateLimitRemaining: trailer('x-ratelimit-remaining'),
  };
}

/** The peer link's ErrorReply for an error. */
export function toErrorReply(e: unknown): ErrorReply {
  const err = asRingstoreError(e);
  return {
    code: grpcCodeOf(err.code),
    message: err.message,
    failure: toWire(err.failure),
    ringStale: err.ringStale !== undefined,
    ringTerm: BigInt(err.ringStale?.term ?? 0),
    ringVersion: BigInt(err.ringStale?.version ?? 0),
  };
}

/** A peer's ErrorReply as an error, naming the peer. */
export function fromErrorReply(peerId: string, reply: ErrorReply): RingstoreError {
  const code = errorCodeOfGrpc(reply.code);
  const stale = reply.ringStale
    ? { term: safeNumber(reply.ringTerm), version: safeNumber(reply.ringVersion) }
    : undefined;
  const failure = fromWire(reply.failure);
  return new RingstoreError(code, `${peerId}: ${reply.message}`, failure, stale, peerId);
}

/** An error's message for logs and reasons (anything thrown, not only Errors). */
export function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Whether a failed peer request is a reason to suspect the peer (routing avoids it for a while):
 * only when no answer came, not when the timeout fired late because this node stalled, and not
 * when a request sent after it was answered (Peers marks those: staleAfterAnswer). A peer that answered with an error (a quorum it could not reach, a
 * refusal, its own overload) is alive; suspecting it would route around a healthy node.
 */
export function suspectsPeer(e: unknown): boolean {
  return !(
    e instanceof RingstoreError &&
    (e.answeredBy !== undefined || e.localPause || e.staleAfterAnswer)
  );
}

function safeNumber(n: bigint): number {
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(n);
}
