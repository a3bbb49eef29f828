// One client call through the node: the gate (security/guard.ts: deadline, token, role, rate
// limit, admission), the in-flight count that shutdown waits for, the handler, and the request
// metrics. Shared by the unary RPCs (server.ts) and the calls of a KV.Session stream
// (session.ts), so that a call is checked, limited and counted the same way whichever way it came.
import type { Metadata } from '@grpc/grpc-js';
import { status as grpcStatus } from '@grpc/grpc-js';
import { asRingstoreError, grpcCodeOf, refused, type RingstoreError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { requestBytes, type ClientGuard } from './security/guard.js';
import { isUndecodable, undecodableReason } from './undecodable.js';

export interface GateDeps {
  readonly guard: ClientGuard;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly inflight: {
    enter(): boolean;
    leave(): void;
  };
}

/** How a gated call ended: its answer, or the error to send (never thrown). */
export type GateOutcome<Res> =
  | { readonly ok: true; readonly response: Res }
  | { readonly ok: false; readonly error: RingstoreError };

export interface GatedCall<Req> {
  /** The metric label of the operation ('get', 'batch_put'...). */
  readonly op: string;
  /** The gRPC method path the roles are looked up by ('/ringstore.v1.KV/Get'). */
  readonly path: string;
  /** The call's metadata (the stream's, for a session call): where the token is. */
  readonly metadata: Metadata;
  readonly request: Req;
  readonly deadlineMs: number;
  /** Operations the request carries (a batch's items): what admission and rate limits count. */
  readonly units: number;
  /** Called once the gate admitted the call, before any work, with its response headers. */
  readonly onAdmitted?: (headers: readonly (readonly [string, string])[]) => void;
}

/** A request whose body did not decode (undecodable.ts): INVALID_ARGUMENT, nothing done. */
export function refuseUndecodable(request: unknown): void {
  if (isUndecodable(request))
    throw refused('invalid-argument', `request does not decode: ${undecodableReason(request)}`);
}

/** Runs `fn` for the call if the gate admits it; every outcome counted in the request metrics. */
export async function gated<Req, Res>(
  deps: GateDeps,
  call: GatedCall<Req>,
  fn: (req: Req, deadlineMs: number) => Promise<Res>,
): Promise<GateOutcome<Res>> {
  const { metrics } = deps;
  let leave: () => void;
  try {
    refuseUndecodable(call.request);
    const admitted = deps.guard.admit(
      call.path,
      call.metadata,
      requestBytes(call.request),
      call.deadlineMs,
      Math.max(1, call.units),
    );
    leave = () => admitted.leave();
    call.onAdmitted?.(admitted.headers);
  } catch (e) {
    const error = asRingstoreError(e);
    metrics.countRequest(call.op, grpcStatus[grpcCodeOf(error.code)]);
    return { ok: false, error };
  }
  if (!deps.inflight.enter()) {
    leave();
    return { ok: false, error: refused('unavailable', 'node is shutting down') };
  }
  const endTimer = metrics.timeRequest(call.op);
  try {
    const response = await fn(call.request, call.deadlineMs);
    metrics.countRequest(call.op, 'OK');
    return { ok: true, response };
  } catch (e) {
    const error = asRingstoreError(e);
    metrics.countRequest(call.op, grpcStatus[grpcCodeOf(error.code)]);
    if (error.code === 'internal') deps.log.error({ err: error, op: call.op }, 'request failed');
    return { ok: false, error };
  } finally {
    endTimer();
    deps.inflight.leave();
    leave();
  }
}
