// Every error ringctl reports on purpose, and the exit code each maps to. Anything else thrown is a
// bug and crashes with a stack trace.

/** Exit codes a shell user expects: 0 ok, 1 failure (not found, server error), 2 usage error. */
export const exitCode = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof exitCode)[keyof typeof exitCode];

/** The command line is wrong: bad flag, bad flag value, missing or extra argument. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command was well formed but could not be carried out locally (e.g. unreadable --file). Exit 1. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** A node answered with a non-OK gRPC status (or none could be reached). Exit 1. */
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
