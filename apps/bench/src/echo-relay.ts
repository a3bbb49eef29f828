// The messaging of a replicated request with nothing else: the echo server's quorum mode
// (--peers), behind the bench's echo-quorum target. Each server takes a client call as the echo
// does and, before answering, sends what a Ringstore coordinator sends its replicas with N=3 and
// R=W=2: a get one `read` to one other server, a put or delete one `replicate` to each other
// server, answered at the first acknowledgement. The messages are the node's own (ringstore.v1
// Peer.Link frames, batched per event-loop turn by @ringstore/frames, one deadline timer per
// request); the other side answers them at once. No storage, no versions, no checks: what a
// unary get or put costs on grpc-js before any of Ringstore's own work (docs/performance.md).
import {
  Metadata,
  credentials,
  type ClientDuplexStream,
  type ServerDuplexStream,
} from '@grpc/grpc-js';
import { FrameOutbox, PendingCalls, type FrameLimits } from '@ringstore/frames';
import { PeerClient, type LinkFrame, type LinkMessage } from '@ringstore/proto';

type Body = NonNullable<LinkMessage['body']>;

/** The node's frame limits (storage-node peer/link.ts linkLimitsDefault). */
const frameLimits: FrameLimits = { messagesMax: 512, bytesMax: 4 * 1024 * 1024 };
/** Requests awaiting a reply on one link, as a node allows (linkLimitsDefault.inflightMax). */
const inflightMax = 20_000;
/** Encoded DVVSet overhead over the value: a one-sibling object with a three-entry clock. */
export const objectOverheadBytes = 48;
const frameRequestMax = 64 * 1024 * 1024;

const messageBytes = (m: LinkMessage): number => {
  const v = m.body?.value as { key?: Uint8Array; object?: Uint8Array } | undefined;
  return 64 + (v?.key?.length ?? 0) + (v?.object?.length ?? 0);
};

/** One link to another echo server: requests out in frames, replies matched by id. */
class RelayLink {
  private stream: ClientDuplexStream<LinkFrame, LinkFrame> | undefined;
  private readonly pending = new PendingCalls<Body>(inflightMax);
  private readonly outbox: FrameOutbox<LinkMessage>;
  private readonly client: PeerClient;

  constructor(readonly address: string) {
    this.client = new PeerClient(address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': frameRequestMax,
      'grpc.max_send_message_length': frameRequestMax,
    });
    this.outbox = new FrameOutbox(frameLimits, messageBytes, (messages) =>
      this.stream?.write({ messages, sentMs: performance.now() }),
    );
  }

  request(body: Body, timeoutMs: number): Promise<Body> {
    this.stream ??= this.open();
    const { id, reply } = this.pending.add(
      timeoutMs,
      () => new Error(`echo relay: ${this.address} did not answer in ${timeoutMs} ms`),
    );
    this.outbox.push({ requestId: id, timeoutMs: Math.max(1, Math.floor(timeoutMs)), body });
    return reply;
  }

  private open(): ClientDuplexStream<LinkFrame, LinkFrame> {
    const stream = this.client.link(new Metadata());
    stream.on('data', (frame: LinkFrame) => {
      for (const m of frame.messages) {
        if (m.body?.$case === 'error')
          this.pending.fail(m.requestId, new Error(m.body.value.message));
        else if (m.body) this.pending.settle(m.requestId, m.body);
      }
    });
    // A broken stream fails what is in flight; the next request dials again (a bench server:
    // no backoff, its peers are local processes that live as long as it does).
    const broken = (reason: string): void => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.outbox.clear();
      this.pending.failAll(() => new Error(`echo relay: link to ${this.address} broke: ${reason}`));
    };
    stream.on('error', (e: Error) => broken(e.message));
    stream.on('end', () => broken('stream ended'));
    return stream;
  }

  close(): void {
    this.stream?.cancel();
    this.client.close();
  }
}

/** The sending side: a server's links to the other servers of the quorum. */
export class EchoRelay {
  private readonly links: RelayLink[];
  private next = 0;

  constructor(
    peers: readonly string[],
    /** Bytes of the object a replicate carries (the value plus DVVSet overhead). */
    private readonly objectBytes: number,
    /** Each relayed request's deadline. */
    private readonly timeoutMs: number,
  ) {
    if (peers.length === 0) throw new RangeError('an echo relay needs at least one peer');
    this.links = peers.map((address) => new RelayLink(address));
  }

  /** A get's replica read: one other server, taking turns (R=2 with the local copy). */
  async read(key: Uint8Array): Promise<void> {
    const link = this.links[this.next++ % this.links.length] as RelayLink;
    const value = { partition: 0, key: Buffer.from(key), ringTerm: 1n, ringVersion: 1n };
    await link.request({ $case: 'read', value }, this.timeoutMs);
  }

  /** A write's replicate: every other server, done at the first acknowledgement (W=2). */
  async replicate(key: Uint8Array, valueBytes: number): Promise<void> {
    const value = {
      partition: 0,
      key: Buffer.from(key),
      object: Buffer.alloc(valueBytes + objectOverheadBytes, 0x61),
      hintFor: '',
      ringTerm: 1n,
      ringVersion: 1n,
    };
    const acks = this.links.map((link) =>
      link.request({ $case: 'replicate', value }, this.timeoutMs),
    );
    // The later acknowledgements settle after the answer; their failures are not the caller's.
    for (const ack of acks) ack.catch(() => undefined);
    await Promise.any(acks);
  }

  close(): void {
    for (const link of this.links) link.close();
  }
}

/** The receiving side of a link: every read and replicate answered at once, in frames. */
export function serveEchoLink(
  call: ServerDuplexStream<LinkFrame, LinkFrame>,
  objectBytes: number,
): void {
  let closed = false;
  const object = Buffer.alloc(objectBytes, 0x61);
  const outbox = new FrameOutbox<LinkMessage>(frameLimits, messageBytes, (messages) => {
    if (!closed) call.write({ messages, sentMs: performance.now() });
  });
  call.on('data', (frame: LinkFrame) => {
    for (const m of frame.messages) {
      const body = replyTo(m.body, object);
      outbox.push({ requestId: m.requestId, timeoutMs: 0, body });
    }
  });
  const close = (): void => {
    closed = true;
  };
  call.on('error', close);
  call.on('cancelled', close);
  call.on('end', () => {
    close();
    call.end();
  });
}

function replyTo(body: LinkMessage['body'], object: Buffer): Body {
  if (body?.$case === 'read')
    return { $case: 'readReply', value: { found: true, object, corrupt: false } };
  if (body?.$case === 'replicate') return { $case: 'replicateReply', value: {} };
  const message = `echo relay: does not answer ${body?.$case ?? 'an empty'} message`;
  const value = {
    code: 12,
    message,
    failure: undefined,
    ringStale: false,
    ringTerm: 0n,
    ringVersion: 0n,
  };
  return { $case: 'error', value };
}
