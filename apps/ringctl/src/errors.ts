// Every error ringctl reports on purpose, and the exit code each maps to (the one place gRPC status
// codes become exit codes). Anything else thrown is a bug and crashes with a stack trace.

/**
 * Exit codes, so a script can tell what to do next without reading the message:
 * - 0 ok;
 * - 1 not found (NOT_FOUND, or get/delete of a key with nothing live), or any other failure
 *   (a server error, some of many items failed, a local file unreadable or a backup damaged);
 * - 2 usage: the command line is wrong, nothing was sent;
 * - 3 unavailable: the node could not serve it now (UNAVAILABLE, DEADLINE_EXCEEDED,
 *   RESOURCE_EXHAUSTED, ABORTED): repeating it later may succeed;
 * - 4 rejected: the node refused the request as given (INVALID_ARGUMENT, FAILED_PRECONDITION,
 *   OUT_OF_RANGE, ALREADY_EXISTS): repeating it unchanged will not;
 * - 5 denied: PERMISSION_DENIED or UNAUTHENTICATED (the token's role, or no token).
 */
export const exitCode = {
  ok: 0,
  notFound: 1,
  failure: 1,
  usage: 2,
  unavailable: 3,
  rejected: 4,
  denied: 5,
} as const;
export type ExitCode = (typeof exitCode)[keyof typeof exitCode];

/** What `ringctl --help` prints about exit codes (docs/operations.md says the same). */
export const exitCodesHelp = `
Exit codes:
  0  ok
  1  not found (NOT_FOUND, or no live value of the key), or another failure (INTERNAL, UNKNOWN,
     DATA_LOSS, some of many keys or nodes failed, an unreadable file)
  2  usage: the command line is wrong; nothing was sent
  3  unavailable: UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED (retry later)
  4  rejected: INVALID_ARGUMENT, FAILED_PRECONDITION, OUT_OF_RANGE, ALREADY_EXISTS (retrying the
     same will not help)
  5  denied: PERMISSION_DENIED, UNAUTHENTICATED
With --json an error is also one JSON document on stdout:
  {"error": {"code": "NOT_FOUND", "message": "...", "exitCode": 1}}
code is the gRPC status name, or USAGE, INPUT or CLUSTER for errors found by ringctl itself.`;

/** Canonical gRPC status names (grpc.status) and the exit code of each; the rest exit 1. */
const exitCodeByStatus: ReadonlyMap<string, ExitCode> = new Map<string, ExitCode>([
  ['NOT_FOUND', exitCode.notFound],
  ['UNAVAILABLE', exitCode.unavailable],
  ['DEADLINE_EXCEEDED', exitCode.unavailable],
  // Ringstore answers it for overload, rate limits and a full disk: back off and repeat.
  ['RESOURCE_EXHAUSTED', exitCode.unavailable],
  ['ABORTED', exitCode.unavailable],
  ['INVALID_ARGUMENT', exitCode.rejected],
  ['FAILED_PRECONDITION', exitCode.rejected],
  ['OUT_OF_RANGE', exitCode.rejected],
  ['ALREADY_EXISTS', exitCode.rejected],
  ['PERMISSION_DENIED', exitCode.denied],
  ['UNAUTHENTICATED', exitCode.denied],
]);

/** The exit code of a gRPC status, by its canonical name (e.g. UNAVAILABLE). */
export function exitCodeOfStatus(statusName: string): ExitCode {
  return exitCodeByStatus.get(statusName) ?? exitCode.failure;
}

/** The command line is wrong: bad flag, bad flag value, missing or extra argument. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command was well formed but could not be carried out locally (e.g. unreadable --file). Exit 1. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** A node answered with a non-OK gRPC status (or none could be reached). Exit: exitCodeOfStatus. */
export class RpcError extends Error {
  override readonly name = 'RpcError';

  constructor(
    /** The numeric gRPC status code. */
    readonly code: number,
    /** The canonical status name, e.g. UNAVAILABLE. */
    readonly statusName: string,
    /** The server's (or grpc-js's) explanation, e.g. "acked 1 of W=2". */
    readonly details: string,
  ) {
    super(`${statusName}: ${details}`);
  }
}

/**
 * The cluster's own answers rule the command out (e.g. the ring names no claimant to send a change
 * to). Exit 1.
 */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
}

/** An error as --json prints it: `{"error": ErrorJson}`. */
export interface ErrorJson {
  /** The gRPC status name, or USAGE, INPUT, CLUSTER for errors ringctl found itself. */
  readonly code: string;
  readonly message: string;
  readonly exitCode: ExitCode;
  /** The numeric gRPC status, for errors a node (or grpc-js) gave. */
  readonly grpcCode?: number;
  /** What to check (e.g. the TLS flags), when ringctl recognizes the failure. */
  readonly hint?: string;
}

/** The not-found answer of get and delete (an answer, not an RPC error: it has no status). */
export const notFoundJson: ErrorJson = {
  code: 'NOT_FOUND',
  message: 'not found',
  exitCode: exitCode.notFound,
};
