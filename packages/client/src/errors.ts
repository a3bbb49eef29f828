import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { Applied, Failure, type ItemError } from '@ringstore/proto';

/**
 * The binary trailing metadata entry in which a node explains every failed KV call: one
 * serialized ringstore.v1.Failure (proto/ringstore/v1/kv.proto).
 */
export const failureTrailer = 'ringstore-failure-bin';

/**
 * Trailing metadata of a node's admission-control refusal (RESOURCE_EXHAUSTED before any work):
 * how long to wait before trying again, in whole milliseconds.
 */
export const retryAfterTrailer = 'retry-after-ms';
/** Trailing metadata of a rate-limit refusal: the limit that was reached. */
export const rateLimitTrailer = 'x-ratelimit-limit';
/** Trailing metadata of a rate-limit refusal: what is left of the limit now. */
export const rateLimitRemainingTrailer = 'x-ratelimit-remaining';

/**
 * The largest `retry-after-ms` read as a number: an hour. Any wait longer than a deadline fails
 * the operation at once anyway; a larger value is malformed and proves nothing.
 */
export const retryAfterMsMax = 3_600_000;

/** The fields of a RingstoreClientError. */
export interface RingstoreClientErrorFields {
  /** gRPC status code (`status` of @grpc/grpc-js): 3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED, 14 UNAVAILABLE... */
  readonly code: number;
  /** What the node (or grpc-js, or the SDK) said: for people, never parsed. */
  readonly details: string;
  /** Replicas that acknowledged (put/delete) or replied (get), from a quorum failure's trailer. */
  readonly acked?: number | undefined;
  /** W or R of the request, from the same trailer. */
  readonly needed?: number | undefined;
  /** Replicas the node sent the request to (primaries and fallbacks), from the same trailer. */
  readonly tried?: number | undefined;
  /** True only when the error proves a put or delete was not applied anywhere. */
  readonly notApplied?: boolean | undefined;
  /** The node the failed attempt went to, when there was one. */
  readonly nodeId?: string | undefined;
  /** Attempts made before giving up (1 when no retry happened). */
  readonly attempts?: number | undefined;
  /** Overload refusals only: the node's `retry-after-ms`, when it sent one. */
  readonly retryAfterMs?: number | undefined;
  /** Overload refusals only: the node's `x-ratelimit-limit`, when it sent one. */
  readonly rateLimit?: number | undefined;
  /** Overload refusals only: the node's `x-ratelimit-remaining`, when it sent one. */
  readonly rateLimitRemaining?: number | undefined;
}

/**
 * Every operating error of the SDK: a gRPC status from a node, a connection failure, an exhausted
 * deadline, or a refused argument. `acked`, `needed` and `tried` carry the quorum numbers of the
 * node's Failure trailer ("acked 1 of W=2" is acked 1, needed 2); the message is never parsed.
 */
export class RingstoreClientError extends Error {
  override readonly name: string = 'RingstoreClientError';
  /** gRPC status code, as in `status` of @grpc/grpc-js. */
  readonly code: number;
  /** The status name: 'UNAVAILABLE', 'DEADLINE_EXCEEDED', ... */
  readonly statusName: string;
  /** The message of the node or of grpc-js. */
  readonly details: string;
  /** Replicas that acknowledged or replied; absent unless the node reported a quorum failure. */
  readonly acked?: number | undefined;
  /** W or R of the request; absent unless the node reported a quorum failure. */
  readonly needed?: number | undefined;
  /** Replicas the node sent the request to; absent unless the node reported a quorum failure. */
  readonly tried?: number | undefined;
  /**
   * True when the error proves a write was not applied (the SDK never sent it, or the node's
   * trailer says APPLIED_NONE): repeating it cannot duplicate it. False: "may have been applied".
   */
  readonly notApplied: boolean;
  /** The node of the failed attempt. */
  readonly nodeId?: string | undefined;
  /** Attempts made for the operation. */
  readonly attempts: number;

  constructor(fields: RingstoreClientErrorFields) {
    const statusName = statusNameOf(fields.code);
    super(`${statusName}: ${fields.details}`);
    this.code = fields.code;
    this.statusName = statusName;
    this.details = fields.details;
    this.acked = fields.acked;
    this.needed = fields.needed;
    this.tried = fields.tried;
    this.notApplied = fields.notApplied ?? false;
    this.nodeId = fields.nodeId;
    this.attempts = fields.attempts ?? 1;
  }

  /** The same error (of the same class) with the attempt count of the whole operation. */
  withAttempts(attempts: number): RingstoreClientError {
    return errorOf({ ...this.fields(), attempts });
  }

  /** The fields this error was built from. */
  fields(): RingstoreClientErrorFields {
    const { code, details, acked, needed, tried, notApplied, nodeId, attempts } = this;
    return { code, details, acked, needed, tried, notApplied, nodeId, attempts };
  }
}

/**
 * The node did not accept the call's credentials (UNAUTHENTICATED): no token, or one it does not
 * know. Refused before any work: `notApplied`; never retried (another node would refuse it the
 * same way), and the node is not counted as failed.
 */
export class UnauthenticatedError extends RingstoreClientError {
  override readonly name: string = 'UnauthenticatedError';
}

/**
 * The token's role may not make this call (PERMISSION_DENIED). Refused before any work:
 * `notApplied`; never retried, and the node is not counted as failed.
 */
export class PermissionDeniedError extends RingstoreClientError {
  override readonly name: string = 'PermissionDeniedError';
}

/**
 * A node refused the request before doing any work because it is overloaded or the caller is
 * over its rate (RESOURCE_EXHAUSTED with `retry-after-ms`, or with a Failure trailer saying
 * APPLIED_NONE): `notApplied`. The SDK retried it while its attempts and the deadline allowed;
 * this is the last refusal. The node is alive, just busy: it is not counted as failed.
 */
export class OverloadedError extends RingstoreClientError {
  override readonly name: string = 'OverloadedError';
  /** How long the node asked callers to wait before trying again; absent when it did not say. */
  readonly retryAfterMs: number | undefined;
  /** The rate limit that was reached, when the node said (`x-ratelimit-limit`). */
  readonly rateLimit: number | undefined;
  /** What was left of that limit, when the node said (`x-ratelimit-remaining`). */
  readonly rateLimitRemaining: number | undefined;

  constructor(fields: RingstoreClientErrorFields) {
    super(fields);
    this.retryAfterMs = fields.retryAfterMs;
    this.rateLimit = fields.rateLimit;
    this.rateLimitRemaining = fields.rateLimitRemaining;
  }

  override fields(): RingstoreClientErrorFields {
    const { retryAfterMs, rateLimit, rateLimitRemaining } = this;
    return { ...super.fields(), retryAfterMs, rateLimit, rateLimitRemaining };
  }
}

/**
 * The error of the class its fields call for: UNAUTHENTICATED and PERMISSION_DENIED their own,
 * RESOURCE_EXHAUSTED proven not applied an OverloadedError, anything else a RingstoreClientError.
 */
export function errorOf(fields: RingstoreClientErrorFields): RingstoreClientError {
  if (fields.code === Number(status.UNAUTHENTICATED)) return new UnauthenticatedError(fields);
  if (fields.code === Number(status.PERMISSION_DENIED)) return new PermissionDeniedError(fields);
  if (fields.code === Number(status.RESOURCE_EXHAUSTED) && fields.notApplied === true)
    return new OverloadedError(fields);
  return new RingstoreClientError(fields);
}

/** A refusal of the caller's credentials: UNAUTHENTICATED or PERMISSION_DENIED. */
export function isAuthRefusal(error: RingstoreClientError): boolean {
  return error instanceof UnauthenticatedError || error instanceof PermissionDeniedError;
}

/** The name of a gRPC status code ('UNAVAILABLE'), or STATUS_<n> for an unknown one. */
export function statusNameOf(code: number): string {
  const name: unknown = (status as unknown as Record<number, unknown>)[code];
  return typeof name === 'string' ? name : `STATUS_${code}`;
}

/**
 * The Failure a node sent in the trailers of an error status; undefined when there is none or it
 * does not decode (an older node, a proxy, grpc-js's own errors), which callers must read as
 * "may have been applied".
 */
export function failureOf(trailers: Metadata): Failure | undefined {
  const value = trailers.get(failureTrailer)[0];
  if (!Buffer.isBuffer(value)) return undefined;
  try {
    return Failure.decode(value);
  } catch {
    return undefined;
  }
}

/** A whole number of at most `max` in a metadata entry; undefined when absent or malformed. */
function integerOf(trailers: Metadata, key: string, max: number): number | undefined {
  const value = trailers.get(key)[0];
  if (typeof value !== 'string' || !/^\d{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= max ? n : undefined;
}

/** The admission-control trailers of a RESOURCE_EXHAUSTED; all undefined for other codes. */
function overloadOf(
  code: number,
  trailers: Metadata,
): Pick<RingstoreClientErrorFields, 'retryAfterMs' | 'rateLimit' | 'rateLimitRemaining'> {
  if (code !== Number(status.RESOURCE_EXHAUSTED)) return {};
  const countMax = Number.MAX_SAFE_INTEGER;
  return {
    retryAfterMs: integerOf(trailers, retryAfterTrailer, retryAfterMsMax),
    rateLimit: integerOf(trailers, rateLimitTrailer, countMax),
    rateLimitRemaining: integerOf(trailers, rateLimitRemainingTrailer, countMax),
  };
}

/**
 * Whether a failed call proves nothing was applied. The node's Failure trailer decides when it
 * sent one. Without it, only refusals that by definition come before any work prove it: a
 * credentials refusal (UNAUTHENTICATED, PERMISSION_DENIED, from the node or a proxy in front of
 * it) and an admission-control refusal (RESOURCE_EXHAUSTED with a well-formed `retry-after-ms`).
 * A bare RESOURCE_EXHAUSTED may be grpc-js's "message larger than max", after the node did the
 * work.
 */
function notAppliedOf(
  code: number,
  failure: Failure | undefined,
  retryAfterMs: number | undefined,
): boolean {
  if (failure !== undefined) return failure.applied === Applied.APPLIED_NONE;
  if (code === Number(status.UNAUTHENTICATED) || code === Number(status.PERMISSION_DENIED))
    return true;
  return code === Number(status.RESOURCE_EXHAUSTED) && retryAfterMs !== undefined;
}

/** How one failed attempt is judged. */
export interface FailedAttempt {
  readonly error: RingstoreClientError;
  /** The node never answered (nothing sent, or no response headers): remember it as failed. */
  readonly nodeUnreachable: boolean;
}

/**
 * One failed item of a node's BatchGet or BatchPut answer, judged exactly as the same unary
 * call's status and trailers would be (its ItemError carries both as fields).
 */
export function fromItemError(item: ItemError, nodeId: string | undefined): RingstoreClientError {
  const code = item.code === 0 ? Number(status.UNKNOWN) : item.code;
  const failure = item.failure;
  const quorum = failure !== undefined && failure.needed > 0 ? failure : undefined;
  const exhausted = code === Number(status.RESOURCE_EXHAUSTED);
  const retryAfterMs =
    exhausted && item.retryAfterMs > 0 ? Math.min(item.retryAfterMs, retryAfterMsMax) : undefined;
  return errorOf({
    code,
    details: item.message,
    acked: quorum?.acked,
    needed: quorum?.needed,
    tried: quorum?.tried,
    notApplied: notAppliedOf(code, failure, retryAfterMs),
    nodeId,
    retryAfterMs,
    ...(exhausted
      ? { rateLimit: item.rateLimit, rateLimitRemaining: item.rateLimitRemaining }
      : {}),
  });
}

/**
 * The one place gRPC statuses become SDK errors. Retry safety and the quorum numbers come from
 * the node's Failure trailer; without one a status may have been applied, except the refusals
 * `notAppliedOf` names. `answered`: the node sent response headers, so it is alive even though
 * the call failed. Only a lost contact (UNAVAILABLE or DEADLINE_EXCEEDED without headers) makes a
 * node unreachable: a node refusing credentials or shedding load answered, and is alive.
 */
export function fromServiceError(
  e: ServiceError,
  answered: boolean,
  nodeId: string | undefined,
): FailedAttempt {
  const code = Number(e.code);
  const failure = failureOf(e.metadata);
  // needed 0: not a quorum failure, so the counts mean nothing.
  const quorum = failure !== undefined && failure.needed > 0 ? failure : undefined;
  const overload = overloadOf(code, e.metadata);
  const error = errorOf({
    code,
    details: e.details || e.message,
    acked: quorum?.acked,
    needed: quorum?.needed,
    tried: quorum?.tried,
    notApplied: notAppliedOf(code, failure, overload.retryAfterMs),
    nodeId,
    ...overload,
  });
  const lostContact =
    code === Number(status.UNAVAILABLE) || code === Number(status.DEADLINE_EXCEEDED);
  return { error, nodeUnreachable: lostContact && !answered };
}

/**
 * An attempt the SDK never sent because the node's channel was not connected (its state proves
 * the request never left this process): not applied, and the node counts as unreachable.
 */
export function notSent(nodeId: string, details: string): FailedAttempt {
  const error = clientError(status.UNAVAILABLE, details, { notApplied: true, nodeId });
  return { error, nodeUnreachable: true };
}

/** An error the SDK raises itself (closed client, exhausted deadline, no seed answered). */
export function clientError(
  code: status,
  details: string,
  extra: Partial<RingstoreClientErrorFields> = {},
): RingstoreClientError {
  return errorOf({ ...extra, code, details });
}
