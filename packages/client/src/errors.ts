import { status, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { Applied, Failure } from '@ringstore/proto';

/**
 * The binary trailing metadata entry in which a node explains every failed KV call: one
 * serialized ringstore.v1.Failure (proto/ringstore/v1/kv.proto).
 */
export const failureTrailer = 'ringstore-failure-bin';

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
}

/**
 * Every operating error of the SDK: a gRPC status from a node, a connection failure, an exhausted
 * deadline, or a refused argument. `acked`, `needed` and `tried` carry the quorum numbers of the
 * node's Failure trailer ("acked 1 of W=2" is acked 1, needed 2); the message is never parsed.
 */
export class RingstoreClientError extends Error {
  override readonly name = 'RingstoreClientError';
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

  /** The same error with the attempt count of the whole operation. */
  withAttempts(attempts: number): RingstoreClientError {
    return new RingstoreClientError({ ...this.fields(), attempts });
  }

  /** The fields this error was built from. */
  fields(): RingstoreClientErrorFields {
    const { code, details, acked, needed, tried, notApplied, nodeId, attempts } = this;
    return { code, details, acked, needed, tried, notApplied, nodeId, attempts };
  }
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

/** How one failed attempt is judged. */
export interface FailedAttempt {
  readonly error: RingstoreClientError;
  /** The node never answered (nothing sent, or no response headers): remember it as failed. */
  readonly nodeUnreachable: boolean;
}

/**
 * The one place gRPC statuses become SDK errors. Retry safety and the quorum numbers come from
 * the node's Failure trailer alone: a status without one may have been applied. `answered`: the
 * node sent response headers, so it is alive even though the call failed.
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
  const error = new RingstoreClientError({
    code,
    details: e.details || e.message,
    acked: quorum?.acked,
    needed: quorum?.needed,
    tried: quorum?.tried,
    notApplied: failure?.applied === Applied.APPLIED_NONE,
    nodeId,
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
  return new RingstoreClientError({ ...extra, code, details });
}
