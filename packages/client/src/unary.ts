import {
  connectivityState,
  type Metadata,
  type CallOptions,
  type ChannelInterface,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';

/** Response metadata in which every node names its ring version (a decimal string). */
export const ringVersionHeader = 'x-ringstore-ring-version';
/** Response metadata in which a node names its ring's term (a decimal string; older nodes do not). */
export const ringTermHeader = 'x-ringstore-ring-term';

/** The ring a node's response headers name: its version, and its term when the node sent one. */
export interface HeaderRing {
  readonly term: bigint | undefined;
  readonly version: bigint;
}

/** A generated client method in its four-argument form. */
export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/** How one unary call ended. */
export type UnaryOutcome<Res> =
  | { readonly ok: true; readonly response: Res; readonly ringVersion: HeaderRing | undefined }
  | {
      readonly ok: false;
      readonly error: ServiceError;
      /** The node sent response headers: the request reached its handler. */
      readonly answered: boolean;
      readonly ringVersion: HeaderRing | undefined;
    };

/**
 * How long an attempt waits for an idle or connecting channel to become READY. A TCP and HTTP/2
 * handshake to a live node takes milliseconds, even on a loaded machine; a node that takes longer
 * (its host black-holes packets, say) is passed over, and since the request was never sent a
 * write may go to the next replica without risk of a duplicate.
 */
export const connectWaitMsMax = 500;

/**
 * Connectivity changes one wait follows: IDLE -> CONNECTING -> READY or TRANSIENT_FAILURE is two;
 * the margin covers a connection that drops to IDLE and is retried once.
 */
const stateChangesMax = 4;

/** An attempt that was never sent: the node's channel was not connected, in this state. */
export interface NotSent {
  readonly sent: false;
  readonly channelState: string;
}

/** Calls that may be cancelled by `close()`. */
export type InflightCalls = Set<ClientUnaryCall>;

/** The ring of a node's response headers, when it sent a well-formed version (and term). */
export function ringVersionOf(metadata: Metadata): HeaderRing | undefined {
  const version = decimalOf(metadata.get(ringVersionHeader)[0]);
  if (version === undefined) return undefined;
  return { term: decimalOf(metadata.get(ringTermHeader)[0]), version };
}

function decimalOf(value: unknown): bigint | undefined {
  return typeof value === 'string' && /^\d{1,20}$/.test(value) ? BigInt(value) : undefined;
}

/**
 * One unary call with an absolute deadline (ms since the epoch), sending `metadata` (the
 * transport's call metadata: see Transport.callMetadata). Never rejects: the outcome says
 * whether the node answered, and with which ring version.
 */
export function callUnary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata,
  deadline: number,
  inflight: InflightCalls,
): Promise<UnaryOutcome<Res>> {
  return new Promise((resolve) => {
    let answered = false;
    let ringVersion: HeaderRing | undefined;
    const call = method(request, metadata, { deadline }, (error, response) => {
      inflight.delete(call);
      if (error === null) resolve({ ok: true, response, ringVersion });
      else resolve({ ok: false, error, answered, ringVersion });
    });
    inflight.add(call);
    call.on('metadata', (metadata: Metadata) => {
      answered = true;
      ringVersion = ringVersionOf(metadata);
    });
  });
}

/**
 * The state `channel` settles in by `deadline` (ms since the epoch), asking it to connect when
 * idle: READY, or the state that proves a call would not leave this process (TRANSIENT_FAILURE,
 * SHUTDOWN, or IDLE/CONNECTING still at the deadline).
 */
async function settledState(
  channel: ChannelInterface,
  deadline: number,
): Promise<connectivityState> {
  let state = channel.getConnectivityState(true);
  for (let change = 0; change < stateChangesMax; change++) {
    if (state !== connectivityState.IDLE && state !== connectivityState.CONNECTING) return state;
    const from = state;
    const changed = await new Promise<boolean>((resolve) => {
      channel.watchConnectivityState(from, deadline, (error) => resolve(error === undefined));
    });
    state = channel.getConnectivityState(true);
    if (!changed) return state;
  }
  return state;
}

/**
 * One KV attempt, sent only on a READY channel: whether a request left this process is proven
 * by the channel's state, never by the words of grpc-js's error. Waits for an idle or connecting
 * channel up to `connectWaitMsMax` (and `deadline`); otherwise resolves `{ sent: false }`.
 */
export async function callWhenConnected<Req, Res>(
  channel: ChannelInterface,
  method: UnaryMethod<Req, Res>,
  request: Req,
  metadata: Metadata,
  deadline: number,
  inflight: InflightCalls,
): Promise<UnaryOutcome<Res> | NotSent> {
  const state = await settledState(channel, Math.min(deadline, Date.now() + connectWaitMsMax));
  if (state !== connectivityState.READY)
    return { sent: false, channelState: connectivityState[state] };
  return callUnary(method, request, metadata, deadline, inflight);
}
