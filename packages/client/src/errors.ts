import { status, type ServiceError } from '@grpc/grpc-js';

/**
 * Messages grpc-js gives a call that never left this process: no transport was picked, the
 * address did not resolve, or HTTP/2 refused the stream (REFUSED_STREAM promises the server did
 * not process it). Trusted only when the node sent no response headers: a node relaying a peer's
 * error could carry the same words after it had started work.
 */
const neverSentPatterns: readonly RegExp[] = [
  /No connection established/,
  /Name resolution failed/,
  /Stream refused by server/,
  /Channel closed before call started/,
];

/**
 * The node's own refusals made before anything was written: the coordinator found fewer live
 * replicas than W and wrote nothing ("put acked 0 of W=3 (only 2 replicas available; the write
 * reached no replica)"), or it was shutting down and never started the request.
 */
const refusedBeforeWritePatterns: readonly RegExp[] = [
  /the write reached no replica/,
  /^node is shutting down$/,
];

/** "acked 1 of W=2", "put timed out: acked 0 of W=2", "get 1 of R=2 replicas replied". */
const quorumPattern = /(\d+) of [RW]=(\d+)/;

/** The fields of a RingstoreClientError. */
export interface RingstoreClientErrorFields {
  /** gRPC status code (`status` of @grpc/grpc-js): 3 INVALID_ARGUMENT, 4 DEADLINE_EXCEEDED, 14 UNAVAILABLE... */
  readonly code: number;
  /** What the node (or grpc-js, for connection failures) said. */
  readonly details: string;
  /** Replicas that acknowledged (put/delete) or replied (get), when the message says. */
  readonly acked?: number | undefined;
  /** W or R of the request, when the message says. */
  readonly needed?: number | undefined;
  /** True only when the error proves a put or delete was not applied anywhere. */
  readonly notApplied?: boolean | undefined;
  /** The node the failed attempt went to, when there was one. */
  readonly nodeId?: string | undefined;
  /** Attempts made before giving up (1 when no retry happened). */
  readonly attempts?: number | undefined;
}

/**
 * Every operating error of the SDK: a gRPC status from a node, a connection failure, an exhausted
 * deadline, or a refused argument. `acked` and `needed` carry the quorum numbers of the node's
 * message ("put acked 1 of W=2" gives acked 1, needed 2).
 */
export class RingstoreClientError extends Error {
  override readonly name = 'RingstoreClientError';
  /** gRPC status code, as in `status` of @grpc/grpc-js. */
  readonly code: number;
  /** The status name: 'UNAVAILABLE', 'DEADLINE_EXCEEDED', ... */
  readonly statusName: string;
  /** The message of the node or of grpc-js. */
  readonly details: string;
  /** Replicas that acknowledged or replied, parsed from "A of W=N" / "A of R=N". */
  readonly acked?: number | undefined;
  /** W or R of the request, parsed from the same message. */
  readonly needed?: number | undefined;
  /**
   * True when the error proves a write was not applied (it never reached the node, or the node
   * wrote nothing): repeating it cannot duplicate it. False means "may have been applied".
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
    const { code, details, acked, needed, notApplied, nodeId, attempts } = this;
    return { code, details, acked, needed, notApplied, nodeId, attempts };
  }
}

/** The name of a gRPC status code ('UNAVAILABLE'), or STATUS_<n> for an unknown one. */
export function statusNameOf(code: number): string {
  const name: unknown = (status as unknown as Record<number, unknown>)[code];
  return typeof name === 'string' ? name : `STATUS_${code}`;
}

/** The quorum numbers of a node message, when it has them. */
export function parseQuorum(details: string): { acked: number; needed: number } | undefined {
  const match = quorumPattern.exec(details);
  if (match === null) return undefined;
  return { acked: Number(match[1]), needed: Number(match[2]) };
}

/** How one failed attempt is judged. */
export interface FailedAttempt {
  readonly error: RingstoreClientError;
  /** The node never answered (no response headers): remember it as failed, refetch the ring. */
  readonly nodeUnreachable: boolean;
}

/**
 * The one place gRPC statuses become SDK errors. `answered`: the node sent response headers, so
 * the request reached its handler.
 */
export function fromServiceError(
  e: ServiceError,
  answered: boolean,
  nodeId: string | undefined,
): FailedAttempt {
  // grpc-js appends an empty "Resolution note:" to connection failures; drop it.
  const details = (e.details || e.message).replace(/\s*Resolution note:\s*\.?\s*$/, '');
  const code = Number(e.code);
  const unavailable = code === Number(status.UNAVAILABLE);
  const neverSent = unavailable && !answered && neverSentPatterns.some((p) => p.test(details));
  const refused = unavailable && refusedBeforeWritePatterns.some((p) => p.test(details));
  const quorum = parseQuorum(details);
  const error = new RingstoreClientError({
    code,
    details,
    acked: quorum?.acked,
    needed: quorum?.needed,
    notApplied: neverSent || refused,
    nodeId,
  });
  const lostContact = unavailable || code === Number(status.DEADLINE_EXCEEDED);
  return { error, nodeUnreachable: lostContact && !answered };
}

/** An error the SDK raises itself (closed client, exhausted deadline, no seed answered). */
export function clientError(
  code: status,
  details: string,
  extra: Partial<RingstoreClientErrorFields> = {},
): RingstoreClientError {
  return new RingstoreClientError({ ...extra, code, details });
}
