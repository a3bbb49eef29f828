// The pipelined session: one KV.Session stream per node, carrying this client's Get, Put and
// Delete calls many to a frame (proto/ringstore/v1/kv.proto; the framing is @ringstore/frames,
// shared with the nodes' peer link). It is offered to the dispatcher as unary methods
// (`sessionStub`), so routing, retries and error classification are the same whichever way a call
// travels: a reply is "answered" (the node handled it), an error reply carries the Failure and
// retry hint a unary call's trailers would, and a stream that breaks fails its calls as a lost
// connection does. A node without KV.Session (UNIMPLEMENTED) gets unary calls from then on.
import { EventEmitter } from 'node:events';
import {
  Metadata,
  status,
  type CallOptions,
  type ClientDuplexStream,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { FrameOutbox, PendingCalls, type FrameLimits } from '@ringstore/frames';
import {
  Applied,
  Failure,
  type DeleteRequest,
  type DeleteResponse,
  type GetRequest,
  type GetResponse,
  type ItemError,
  type KVClient,
  type PutRequest,
  type PutResponse,
  type SessionCall,
  type SessionReply,
  type SessionRequest,
  type SessionResponse,
} from '@ringstore/proto';
import {
  failureTrailer,
  rateLimitRemainingTrailer,
  rateLimitTrailer,
  retryAfterTrailer,
} from './errors.js';
import { ringTermHeader, ringVersionHeader, type UnaryMethod } from './unary.js';

/** What the dispatcher and the batch calls use of a node's KV stub. */
export interface KvStub {
  readonly get: UnaryMethod<GetRequest, GetResponse>;
  readonly put: UnaryMethod<PutRequest, PutResponse>;
  readonly delete: UnaryMethod<DeleteRequest, DeleteResponse>;
  readonly batchGet: KVClient['batchGet'];
  readonly batchPut: KVClient['batchPut'];
  getChannel(): ReturnType<KVClient['getChannel']>;
  close(): void;
}

export interface SessionLimits {
  /** Calls per frame and their approximate bytes (under the node's message size limit). */
  readonly frame: FrameLimits;
  /** Calls in flight on one stream; more go unary until replies make room. */
  readonly inflightMax: number;
}

export const sessionLimitsDefault: SessionLimits = {
  // A frame stays under the node's message limit whatever its key and value limits (the limit is
  // their sum plus 64 KiB): a frame that passes it would end the stream, and every call on it.
  frame: { messagesMax: 256, bytesMax: 48 * 1024 },
  inflightMax: 10_000,
};

/**
 * A call larger than this goes unary: alone, a call the node refuses for its size fails by
 * itself, as it would unary; and a large value gains nothing from sharing a frame.
 */
export const sessionCallBytesMax = 16 * 1024;

type CallBody = NonNullable<SessionCall['call']>;
type Result = NonNullable<SessionReply['result']>;
type Stream = ClientDuplexStream<SessionRequest, SessionResponse>;

/** A reply and the ring of the frame it came in. */
interface Delivered {
  readonly result: Result | undefined;
  readonly ringVersion: bigint;
  readonly ringTerm: bigint;
}

/** The node has no KV.Session: the call was not handled and goes unary instead. */
class NoSession extends Error {}

function serviceError(code: status, details: string, metadata = new Metadata()): ServiceError {
  return Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
    code,
    details,
    metadata,
  });
}

/** A call that never left this process: nothing applied (Failure APPLIED_NONE). */
function notSentError(details: string): ServiceError {
  const metadata = new Metadata();
  const failure = { applied: Applied.APPLIED_NONE, acked: 0, needed: 0, tried: 0 };
  metadata.set(failureTrailer, Buffer.from(Failure.encode(failure).finish()));
  return serviceError(status.UNAVAILABLE, details, metadata);
}

/** An error reply as the ServiceError the unary call would have ended with (its trailers). */
function fromItemError(e: ItemError): ServiceError {
  const metadata = new Metadata();
  if (e.failure !== undefined)
    metadata.set(failureTrailer, Buffer.from(Failure.encode(e.failure).finish()));
  if (e.retryAfterMs > 0) metadata.set(retryAfterTrailer, String(e.retryAfterMs));
  if (e.rateLimit !== undefined) metadata.set(rateLimitTrailer, String(e.rateLimit));
  if (e.rateLimitRemaining !== undefined)
    metadata.set(rateLimitRemainingTrailer, String(e.rateLimitRemaining));
  const code = e.code === 0 ? status.UNKNOWN : (e.code as status);
  return serviceError(code, e.message, metadata);
}

function approxBytes(body: CallBody | undefined): number {
  const v = body?.value as { key?: Uint8Array; value?: Uint8Array; context?: Uint8Array };
  return 32 + (v?.key?.length ?? 0) + (v?.value?.length ?? 0) + (v?.context?.length ?? 0);
}

/** One node's session stream: opened on the first call, re-opened after it breaks. */
export class Session {
  private stream: Stream | undefined;
  private readonly pending: PendingCalls<Delivered>;
  private readonly outbox: FrameOutbox<SessionCall>;
  /** The node answered UNIMPLEMENTED: unary calls only, for as long as this stub lives. */
  unsupported = false;
  private closed = false;

  constructor(
    private readonly kv: KVClient,
    /** The stream's metadata (the token, on a plaintext channel). */
    private readonly metadata: () => Metadata,
    limits: SessionLimits = sessionLimitsDefault,
  ) {
    this.pending = new PendingCalls(limits.inflightMax);
    this.outbox = new FrameOutbox(
      limits.frame,
      (c: SessionCall) => approxBytes(c.call),
      (calls) => this.stream?.write({ calls }),
    );
  }

  /** Calls in flight on the stream. */
  get inflight(): number {
    return this.pending.size;
  }

  /** No room for another call: the next ones go unary until replies make room. */
  get full(): boolean {
    return this.pending.full;
  }

  /** Sends a call; resolves with its reply, rejects with a ServiceError (or NoSession). */
  send(body: CallBody, deadline: number): { id: bigint; reply: Promise<Delivered> } {
    const timeoutMs = Math.floor(deadline - Date.now());
    if (this.closed) return failed(serviceError(status.CANCELLED, 'client is closed'));
    if (timeoutMs <= 0) return failed(serviceError(status.DEADLINE_EXCEEDED, 'deadline passed'));
    if (this.pending.full)
      return failed(notSentError(`${this.pending.size} calls in flight on the session: none sent`));
    this.stream ??= this.open();
    const call = this.pending.add(timeoutMs, () =>
      serviceError(status.DEADLINE_EXCEEDED, `no reply within ${timeoutMs} ms`),
    );
    this.outbox.push({ id: call.id, timeoutMs, call: body });
    return call;
  }

  /** Gives up on a call (the caller cancelled it); a late reply is ignored. */
  cancel(id: bigint): void {
    this.pending.fail(id, serviceError(status.CANCELLED, 'cancelled by the client'));
  }

  close(): void {
    this.closed = true;
    const stream = this.stream;
    if (stream !== undefined)
      this.broken(stream, serviceError(status.CANCELLED, 'client is closed'));
  }

  private open(): Stream {
    const stream = this.kv.session(this.metadata());
    stream.on('data', (frame: SessionResponse) => {
      for (const reply of frame.replies) {
        const delivered = {
          result: reply.result,
          ringVersion: frame.ringVersion,
          ringTerm: frame.ringTerm,
        };
        this.pending.settle(reply.id, delivered); // unknown id: a reply after its deadline
      }
    });
    stream.on('error', (e: ServiceError) => {
      if (e.code === status.UNIMPLEMENTED) this.unsupported = true;
      this.broken(stream, e);
    });
    // The node ended the stream (shutting down): calls still open there were not answered.
    stream.on('end', () => this.broken(stream, serviceError(status.UNAVAILABLE, 'session ended')));
    return stream;
  }

  /**
   * The stream is gone: calls not yet written were not sent (nothing applied); calls written may
   * have been applied, as a unary call that lost its connection; with UNIMPLEMENTED none was
   * handled, and all go unary.
   */
  private broken(stream: Stream, e: ServiceError): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    const unsent = new Set(this.outbox.clear().map((c) => c.id));
    const details = `session to the node broke: ${e.details || e.message}`;
    this.pending.failAll((id) => {
      if (e.code === status.UNIMPLEMENTED) return new NoSession();
      // Cancelled by close(); a CANCELLED from grpc-js otherwise is the node's side going away
      // (its forced shutdown), a broken stream like any other.
      if (e.code === status.CANCELLED && this.closed) return e;
      return unsent.has(id)
        ? notSentError(`${details}; the call was not sent`)
        : serviceError(status.UNAVAILABLE, details);
    });
    stream.cancel();
  }
}

function failed(e: ServiceError): { id: bigint; reply: Promise<Delivered> } {
  return { id: 0n, reply: Promise.reject(e) };
}

/** What grpc-js's unary call object offers the dispatcher: 'metadata' events and cancel(). */
class SessionUnaryCall extends EventEmitter {
  /** The unary call that replaced this one on a node without sessions. */
  unary: ClientUnaryCall | undefined;

  constructor(private readonly onCancel: () => void) {
    super();
  }

  cancel(): void {
    if (this.unary !== undefined) this.unary.cancel();
    else this.onCancel();
  }

  getPeer(): string {
    return this.unary?.getPeer() ?? '';
  }
}

/** A session call as a unary method of KVClient's four-argument form. */
function sessionMethod<Req, Res>(
  session: Session,
  unary: UnaryMethod<Req, Res>,
  bodyOf: (req: Req) => CallBody,
  answerOf: (result: Result) => Res | undefined,
): UnaryMethod<Req, Res> {
  return (request, metadata, options: Partial<CallOptions>, callback) => {
    const body = bodyOf(request);
    if (session.unsupported || session.full || approxBytes(body) > sessionCallBytesMax)
      return unary(request, metadata, options, callback);
    const deadline = Number(options.deadline ?? Date.now());
    const { id, reply } = session.send(body, deadline);
    const call = new SessionUnaryCall(() => session.cancel(id));
    reply.then(
      (delivered) => {
        // The reply's ring, as a unary call's response headers name it; and the call counts as
        // answered (it reached the node's handler).
        const headers = new Metadata();
        headers.set(ringVersionHeader, delivered.ringVersion.toString());
        // Term 0: a node that names none.
        if (delivered.ringTerm > 0n) headers.set(ringTermHeader, delivered.ringTerm.toString());
        call.emit('metadata', headers);
        const result = delivered.result;
        if (result?.$case === 'error') {
          callback(fromItemError(result.value), undefined as Res);
          return;
        }
        const answer = result === undefined ? undefined : answerOf(result);
        if (answer === undefined)
          callback(
            serviceError(status.INTERNAL, 'session reply does not match its call'),
            undefined as Res,
          );
        else callback(null, answer);
      },
      (e: unknown) => {
        if (e instanceof NoSession) {
          const real = unary(request, metadata, options, callback);
          call.unary = real;
          real.on('metadata', (md: Metadata) => call.emit('metadata', md));
          return;
        }
        callback(e as ServiceError, undefined as Res);
      },
    );
    return call as unknown as ClientUnaryCall;
  };
}

/** `kv`'s methods, Get, Put and Delete riding one session stream to its node. */
export function sessionStub(
  kv: KVClient,
  metadata: () => Metadata,
  limits?: SessionLimits,
): KvStub {
  const session = new Session(kv, metadata, limits);
  return {
    get: sessionMethod(
      session,
      kv.get.bind(kv),
      (value: GetRequest) => ({ $case: 'get', value }),
      (r) => (r.$case === 'get' ? r.value : undefined),
    ),
    put: sessionMethod(
      session,
      kv.put.bind(kv),
      (value: PutRequest) => ({ $case: 'put', value }),
      (r) => (r.$case === 'put' ? r.value : undefined),
    ),
    delete: sessionMethod(
      session,
      kv.delete.bind(kv),
      (value: DeleteRequest) => ({ $case: 'delete', value }),
      (r) => (r.$case === 'delete' ? r.value : undefined),
    ),
    batchGet: kv.batchGet.bind(kv),
    batchPut: kv.batchPut.bind(kv),
    getChannel: () => kv.getChannel(),
    close: () => {
      session.close();
      kv.close();
    },
  };
}

/** `kv` as a stub, every call unary. */
export function unaryStub(kv: KVClient): KvStub {
  return {
    get: kv.get.bind(kv),
    put: kv.put.bind(kv),
    delete: kv.delete.bind(kv),
    batchGet: kv.batchGet.bind(kv),
    batchPut: kv.batchPut.bind(kv),
    getChannel: () => kv.getChannel(),
    close: () => kv.close(),
  };
}
