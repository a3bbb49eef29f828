import {
  Metadata,
  type ChannelOptions,
  type ClientDuplexStream,
  type ServerDuplexStream,
} from '@grpc/grpc-js';
import type {
  PeerClient,
  DeleteResponse,
  GetResponse,
  HandoffResponse,
  LinkFrame,
  LinkMessage,
  PutResponse,
  ReadReplicaResponse,
  ReapResponse,
  HintsHeldResponse,
  ReplicateResponse,
  TransferPageResponse,
  TransferReportResponse,
} from '@ringstore/proto';
import { FrameOutbox, PendingCalls, type FrameLimits } from '@ringstore/frames';
import { isUndecodable, undecodableReason } from '../undecodable.js';
import {
  RingstoreError,
  asRingstoreError,
  fromErrorReply,
  refused,
  toErrorReply,
  toServiceError,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { LinkTraffic } from './traffic.js';

/**
 * The peer link, half of the peer module (peers.ts is the other): how node-to-node messages
 * travel (DESIGN.md section 4). Each node dials one long-lived bidirectional Link stream to every peer it talks to, sends its
 * requests in batched frames, and receives the replies, matched by request id, on the same stream.
 * Every request has its own deadline; a broken stream fails its in-flight requests at once and is
 * re-dialled with exponential backoff. The stream itself has no deadline: it lives as long as the
 * node, and keepalive pings find a dead peer.
 */

type Body = NonNullable<LinkMessage['body']>;
export type RequestCase =
  | 'replicate'
  | 'read'
  | 'forwardGet'
  | 'forwardPut'
  | 'forwardDelete'
  | 'handoff'
  | 'reap'
  | 'hintsHeld'
  | 'transferPage'
  | 'transferReport';
export type RequestBody = Extract<Body, { $case: RequestCase }>;
export type ReplyBody = Exclude<Body, { $case: RequestCase | 'error' }>;
interface ReplyMap {
  replicate: ReplicateResponse;
  read: ReadReplicaResponse;
  forwardGet: GetResponse;
  forwardPut: PutResponse;
  forwardDelete: DeleteResponse;
  handoff: HandoffResponse;
  reap: ReapResponse;
  hintsHeld: HintsHeldResponse;
  transferPage: TransferPageResponse;
  transferReport: TransferReportResponse;
}
export type ReplyOf<C extends RequestCase> = ReplyMap[C];
export type RequestOf<C extends RequestCase> = Extract<RequestBody, { $case: C }>['value'];

export interface RequestContext {
  /** The peer that sent the request. */
  readonly from: string;
  /** Wall-clock time after which the sender has stopped waiting. */
  readonly deadlineMs: number;
}

/**
 * The handlers of every peer request kind. Each role exports the handlers of the messages it
 * owns; node.ts assembles them into one table.
 */
export type LinkHandlers = {
  readonly [C in RequestCase]: (request: RequestOf<C>, ctx: RequestContext) => Promise<ReplyOf<C>>;
};

export interface LinkLimits {
  /** Messages per frame: bounds the work one frame hands the receiver. */
  readonly frameMessagesMax: number;
  /** Approximate payload bytes per frame, kept well under the gRPC message size limit. */
  readonly frameBytesMax: number;
  /** Requests awaiting a reply on one link; more are refused with RESOURCE_EXHAUSTED. */
  readonly inflightMax: number;
  /** Requests one node handles at once for one peer's link; more are answered RESOURCE_EXHAUSTED. */
  readonly servingMax: number;
  readonly reconnectBackoffMinMs: number;
  readonly reconnectBackoffMaxMs: number;
  /** Largest gRPC message either side accepts (a frame). */
  readonly messageBytesMax: number;
}

/**
 * A request timer firing this much after it was due marks the timeout as this node's own stall
 * (a local pause), so the peer is not suspected for it.
 */
export const localPauseLateMs = 100;

export const linkLimitsDefault: LinkLimits = {
  frameMessagesMax: 512,
  frameBytesMax: 4 * 1024 * 1024,
  inflightMax: 20_000,
  servingMax: 20_000,
  reconnectBackoffMinMs: 50,
  reconnectBackoffMaxMs: 2_000,
  messageBytesMax: 64 * 1024 * 1024,
};

/**
 * Keepalive ping interval on an idle peer channel: a peer that vanished without closing its
 * connection (power loss, a partition) is found within this plus the timeout below, long before
 * the failure detector's few gossip intervals would matter less than a hung stream.
 */
export const peerKeepaliveMs = 10_000;
/** How long a keepalive ping may go unanswered before the channel is closed. */
export const peerKeepaliveTimeoutMs = 5_000;

export function peerChannelOptions(limits: LinkLimits): ChannelOptions {
  return {
    'grpc.keepalive_time_ms': peerKeepaliveMs,
    'grpc.keepalive_timeout_ms': peerKeepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.max_receive_message_length': limits.messageBytesMax,
    'grpc.max_send_message_length': limits.messageBytesMax,
    'grpc.initial_reconnect_backoff_ms': limits.reconnectBackoffMinMs,
    'grpc.max_reconnect_backoff_ms': limits.reconnectBackoffMaxMs,
  };
}

/** Rough payload size of a message, for frame batching (exact size would cost a second encode). */
function approxBytes(body: Body): number {
  const v = body.value as {
    key?: Uint8Array;
    object?: Uint8Array;
    value?: Uint8Array;
    objects?: { object: Uint8Array }[];
  };
  let n = 64 + (v.key?.length ?? 0) + (v.object?.length ?? 0) + (v.value?.length ?? 0);
  for (const o of v.objects ?? []) n += 64 + o.object.length;
  return n;
}

/** A link's frame limits, as the shared outbox takes them. */
function frameLimitsOf(limits: LinkLimits): FrameLimits {
  return { messagesMax: limits.frameMessagesMax, bytesMax: limits.frameBytesMax };
}

const messageBytes = (m: LinkMessage): number => (m.body === undefined ? 64 : approxBytes(m.body));

/** Counts a frame written to the peer: once per frame, plain number additions. */
function countSent(traffic: LinkTraffic, messages: readonly LinkMessage[]): void {
  let bytes = 0;
  for (const m of messages) bytes += messageBytes(m);
  traffic.framesSent++;
  traffic.messagesSent += messages.length;
  traffic.bytesSent += bytes;
}

/** The dialling side of one link: requests out, replies in. */
export class LinkConnection {
  private stream: ClientDuplexStream<LinkFrame, LinkFrame> | undefined;
  private readonly pending: PendingCalls<ReplyBody>;
  private readonly outbox: FrameOutbox<LinkMessage>;
  private failures = 0;
  private retryAtMs = 0;
  private readonly unwatch: () => void;

  constructor(
    private readonly selfId: string,
    readonly nodeId: string,
    /** The peer's channel, shared with the unary calls of peers.ts. */
    private readonly client: PeerClient,
    private readonly limits: LinkLimits,
    private readonly log: Logger,
    /** The peer's traffic counters (peers.ts keeps them across redials). */
    private readonly traffic: LinkTraffic = new LinkTraffic(),
  ) {
    this.pending = new PendingCalls(limits.inflightMax);
    // A frame queued before the stream broke was dropped with its calls (broken() clears it).
    this.outbox = new FrameOutbox(frameLimitsOf(limits), messageBytes, (messages) => {
      if (this.stream === undefined) return;
      this.stream.write({ messages, sentMs: performance.now() });
      countSent(traffic, messages);
    });
    this.unwatch = traffic.watch({
      queued: () => this.outbox.length + (this.stream?.writableLength ?? 0),
      inflight: () => this.pending.size,
    });
  }

  request(body: RequestBody, timeoutMs: number): Promise<ReplyBody> {
    if (this.pending.full) {
      return Promise.reject(
        refused(
          'resource-exhausted',
          `link to ${this.nodeId}: ${this.pending.size} requests in flight`,
        ),
      );
    }
    if (this.stream === undefined && Date.now() < this.retryAtMs) {
      return Promise.reject(
        refused('unavailable', `${this.nodeId} unreachable (link down, retrying)`),
      );
    }
    if (this.stream === undefined) this.open();
    const { id, reply } = this.pending.add(timeoutMs, ({ lateMs }) => {
      const e = new RingstoreError('deadline-exceeded', `${this.nodeId} did not answer in time`);
      // A timer that fires long after it was due says this node's event loop was stalled: the
      // answer may have been waiting to be read. Not evidence against the peer (errors.ts).
      if (lateMs > localPauseLateMs) e.localPause = true;
      return e;
    });
    this.outbox.push({ requestId: id, timeoutMs: Math.max(1, Math.floor(timeoutMs)), body });
    return reply;
  }

  /** The stream is up (dialled and not broken since). */
  isOpen(): boolean {
    return this.stream !== undefined;
  }

  private open(): ClientDuplexStream<LinkFrame, LinkFrame> {
    const stream = this.client.link(fromMetadata(this.selfId));
    this.stream = stream;
    this.traffic.dialled();
    stream.on('data', (frame: LinkFrame) => this.deliver(frame));
    stream.on('error', (e: Error) => this.broken(stream, e.message));
    stream.on('end', () => this.broken(stream, 'stream ended'));
    return stream;
  }

  private deliver(frame: LinkFrame): void {
    this.failures = 0;
    this.traffic.framesReceived++;
    this.traffic.messagesReceived += frame.messages.length;
    for (const m of frame.messages) {
      this.traffic.bytesReceived += messageBytes(m);
      // A reply whose request is no longer pending (after its deadline) is ignored.
      if (m.body === undefined) continue;
      if (m.body.$case === 'error')
        this.pending.fail(m.requestId, fromErrorReply(this.nodeId, m.body.value));
      else this.pending.settle(m.requestId, m.body as ReplyBody);
    }
  }

  private broken(stream: ClientDuplexStream<LinkFrame, LinkFrame>, reason: string): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    this.failures++;
    const backoffMs = Math.min(
      this.limits.reconnectBackoffMaxMs,
      this.limits.reconnectBackoffMinMs * 2 ** Math.min(this.failures - 1, 16),
    );
    this.retryAtMs = Date.now() + backoffMs * (0.5 + Math.random() / 2);
    if (this.pending.size > 0 || this.failures === 1)
      this.log.debug({ peer: this.nodeId, reason, inflight: this.pending.size }, 'peer link broke');
    this.outbox.clear();
    this.pending.failAll(
      () => new RingstoreError('unavailable', `link to ${this.nodeId} broke: ${reason}`),
    );
    stream.cancel();
  }

  close(): void {
    this.unwatch();
    const stream = this.stream;
    if (stream !== undefined) this.broken(stream, 'node shutting down');
  }
}

/**
 * The x-ringstore-from header naming the calling node: what a plaintext peer port (loopback or
 * --insecure) goes by; with mTLS the certificate names the caller and the header is ignored.
 */
export const fromHeader = 'x-ringstore-from';

export function fromMetadata(selfId: string): Metadata {
  const metadata = new Metadata();
  metadata.set(fromHeader, selfId);
  return metadata;
}

export function replyCaseOf(c: RequestCase): ReplyBody['$case'] {
  switch (c) {
    case 'replicate':
      return 'replicateReply';
    case 'read':
      return 'readReply';
    case 'forwardGet':
      return 'forwardGetReply';
    case 'forwardPut':
      return 'forwardPutReply';
    case 'forwardDelete':
      return 'forwardDeleteReply';
    case 'handoff':
      return 'handoffReply';
    case 'reap':
      return 'reapReply';
    case 'hintsHeld':
      return 'hintsHeldReply';
    case 'transferPage':
      return 'transferPageReply';
    case 'transferReport':
      return 'transferReportReply';
  }
}

/** The receiving side of one link: handles each request and batches the replies into frames. */
export function serveLink(
  call: ServerDuplexStream<LinkFrame, LinkFrame>,
  handlers: LinkHandlers,
  log: Logger,
  limits: LinkLimits = linkLimitsDefault,
  /** The calling node, as its credentials say (server.ts peerCaller). */
  from = 'unknown',
  /** The calling node's traffic counters (a ring member's: server.ts checks the caller first). */
  traffic: LinkTraffic = new LinkTraffic(),
): void {
  let serving = 0;
  let closed = false;
  const outbox = new FrameOutbox<LinkMessage>(frameLimitsOf(limits), messageBytes, (messages) => {
    if (closed) return;
    call.write({ messages, sentMs: performance.now() });
    countSent(traffic, messages);
  });
  const unwatch = traffic.watch({
    queued: () => outbox.length + call.writableLength,
    inflight: () => 0,
  });
  const reply = (requestId: bigint, body: Body): void => {
    if (!closed) outbox.push({ requestId, timeoutMs: 0, body });
  };
  const fail = (requestId: bigint, e: unknown): void => {
    const err = asRingstoreError(e);
    if (err.code === 'internal') log.error({ peer: from, err }, 'peer request failed');
    reply(requestId, { $case: 'error', value: toErrorReply(err) });
  };
  const lateness = new FrameLateness();
  call.on('data', (frame: LinkFrame) => {
    if (closed) return;
    if (isUndecodable(frame)) {
      // No request id to answer: the stream ends, the sender's requests fail (nothing applied).
      closed = true;
      log.warn({ peer: from, reason: undecodableReason(frame) }, 'peer link frame does not decode');
      call.emit('error', toServiceError(refused('invalid-argument', 'link frame does not decode')));
      return;
    }
    const lateMs = lateness.of(frame.sentMs, performance.now());
    traffic.framesReceived++;
    traffic.messagesReceived += frame.messages.length;
    for (const m of frame.messages) {
      traffic.bytesReceived += messageBytes(m);
      const body = m.body;
      if (body === undefined || !isRequest(body)) {
        fail(m.requestId, refused('invalid-argument', 'not a request message'));
        continue;
      }
      if (lateMs >= m.timeoutMs) {
        // Held up past its deadline: the sender gave up on it, so it is dropped unanswered.
        log.debug({ peer: from, kind: body.$case, lateMs }, 'peer request arrived too late');
        continue;
      }
      if (serving >= limits.servingMax) {
        fail(m.requestId, refused('resource-exhausted', `${serving} requests in progress`));
        continue;
      }
      serving++;
      const deadlineMs = Date.now() + m.timeoutMs - lateMs;
      void handle(handlers, body, { from, deadlineMs })
        .then(
          (r) => reply(m.requestId, r),
          (e: unknown) => fail(m.requestId, e),
        )
        .finally(() => serving--);
    }
  });
  const close = (): void => {
    closed = true;
    unwatch();
  };
  call.on('error', close);
  call.on('cancelled', close);
  call.on('end', () => {
    close();
    call.end();
  });
}

/**
 * How late frames of one stream arrive, without synchronized clocks: each frame carries the
 * sender's monotonic time; the smallest (arrival - sent) seen so far is the stream's baseline (the
 * clocks' offset plus the fastest trip), and a frame's lateness is how far it lags that baseline.
 */
export class FrameLateness {
  private baselineMs: number | undefined;

  /** The frame's lateness in ms (0 when the sender does not stamp frames, or stamps nonsense). */
  of(sentMs: number, arrivedMs: number): number {
    // Infinity or NaN (a forged frame; the fuzz suite found it) would make every deadline NaN.
    if (!(sentMs > 0) || !Number.isFinite(sentMs)) return 0;
    const offsetMs = arrivedMs - sentMs;
    if (this.baselineMs === undefined || offsetMs < this.baselineMs) this.baselineMs = offsetMs;
    return offsetMs - this.baselineMs;
  }
}

/** Calls the handler of the message's kind and wraps its answer in the matching reply case. */
async function handle(
  handlers: LinkHandlers,
  body: RequestBody,
  ctx: RequestContext,
): Promise<ReplyBody> {
  const handler = handlers[body.$case] as (
    request: RequestBody['value'],
    ctx: RequestContext,
  ) => Promise<ReplyBody['value']>;
  const value = await handler(body.value, ctx);
  return { $case: replyCaseOf(body.$case), value } as ReplyBody;
}

function isRequest(body: Body): body is RequestBody {
  switch (body.$case) {
    case 'replicate':
    case 'read':
    case 'forwardGet':
    case 'forwardPut':
    case 'forwardDelete':
    case 'handoff':
    case 'reap':
    case 'hintsHeld':
    case 'transferPage':
    case 'transferReport':
      return true;
    case 'replicateReply':
    case 'reapReply':
    case 'hintsHeldReply':
    case 'transferPageReply':
    case 'transferReportReply':
    case 'readReply':
    case 'forwardGetReply':
    case 'forwardPutReply':
    case 'forwardDeleteReply':
    case 'handoffReply':
    case 'error':
      return false;
  }
}

/**
 * The ring version of a replicate or read that no replica fences: repairs, hint delivery and
 * anti-entropy move objects a replica merges whatever its ring (DVVSet sync is idempotent).
 */
export const unfenced = { ringTerm: 0n, ringVersion: 0n } as const;

/** The fence of a request made under ring document `doc`: its (term, version). */
export function fenceOf(doc: { readonly term: number; readonly version: number }): {
  ringTerm: bigint;
  ringVersion: bigint;
} {
  return { ringTerm: BigInt(doc.term), ringVersion: BigInt(doc.version) };
}
