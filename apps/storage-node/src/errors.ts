import { status, type ServiceError, Metadata } from '@grpc/grpc-js';

/**
 * Operating errors of the node, with stable codes. Mapped to gRPC status codes here and only
 * here (STYLE.md rule 6); ErrorReply messages on the peer link carry the same numeric codes.
 */
export type ErrorCode =
  | 'invalid-argument'
  | 'unavailable'
  | 'deadline-exceeded'
  | 'resource-exhausted'
  | 'failed-precondition'
  | 'cancelled'
  | 'internal';

export class RingstoreError extends Error {
  override readonly name = 'RingstoreError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const toGrpc: Record<ErrorCode, status> = {
  'invalid-argument': status.INVALID_ARGUMENT,
  unavailable: status.UNAVAILABLE,
  'deadline-exceeded': status.DEADLINE_EXCEEDED,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  'failed-precondition': status.FAILED_PRECONDITION,
  cancelled: status.CANCELLED,
  internal: status.INTERNAL,
};

export function grpcCodeOf(code: ErrorCode): status {
  return toGrpc[code];
}

export function errorCodeOfGrpc(grpcCode: number): ErrorCode {
  for (const [code, value] of Object.entries(toGrpc))
    if (Number(value) === grpcCode) return code as ErrorCode;
  return 'internal';
}

/** Any thrown value as a RingstoreError (unknown errors become 'internal'). */
export function asRingstoreError(e: unknown): RingstoreError {
  if (e instanceof RingstoreError) return e;
  if (isServiceError(e)) return new RingstoreError(errorCodeOfGrpc(e.code), e.details || e.message);
  return new RingstoreError('internal', e instanceof Error ? e.message : String(e));
}

function isServiceError(e: unknown): e is ServiceError {
  return (
    e instanceof Error && typeof (e as Partial<ServiceError>).code === 'number' && 'details' in e
  );
}

/** The error object grpc-js sends to the caller for a RingstoreError. */
export function toServiceError(e: unknown): Partial<ServiceError> {
  const err = asRingstoreError(e);
  return { code: grpcCodeOf(err.code), details: err.message, metadata: new Metadata() };
}

export function invalidArgument(message: string): RingstoreError {
  return new RingstoreError('invalid-argument', message);
}
