import {
  connectivityState,
  credentials,
  type ChannelCredentials,
  type ChannelOptions,
  type Metadata,
  type ServiceError,
} from '@grpc/grpc-js';
import {
  PeerClient,
  type GossipRequest,
  type GossipResponse,
  type PushRingRequest,
  type PushRingResponse,
  type RingDocument as RingDocumentMessage,
  type MerkleLevelRequest,
  type MerkleLevelResponse,
  type SegmentKeysRequest,
  type SegmentKeysResponse,
} from '@ringstore/proto';
import { RingstoreError, asRingstoreError, refused } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  LinkConnection,
  fromMetadata,
  linkLimitsDefault,
  peerChannelOptions,
  replyCaseOf,
  type LinkLimits,
  type ReplyOf,
  type RequestBody,
  type RequestCase,
} from './link.js';
import { PeerTraffic } from './traffic.js';

/** How a channel to a peer is dialled: its credentials and the options they need. */
export interface PeerChannel {
  readonly credentials: ChannelCredentials;
  readonly options: ChannelOptions;
}

const plaintextChannel: PeerChannel = { credentials: credentials.createInsecure(), options: {} };

/** One peer: its channel (one set of options), the Link stream over it, and its unary calls. */
interface Peer {
  readonly address: string;
  readonly client: PeerClient;
  readonly link: LinkConnection;
}

/**
 * All node-to-node traffic (DESIGN.md section 4): the Link stream for replicate, read, hints,
 * forwards and reaps, plus the rare unary RPCs (gossip, the Merkle exchange) on the same channel
 * per peer, so every peer call shares one set of channel options (keepalive, message size limits,
 * reconnect backoff) and nothing else in the node builds a PeerClient.
 */
export class Peers {
  private readonly peers = new Map<string, Peer>();
  /**
   * A replica answered "ring stale" with its version: fetch the newer ring from it (the ring
   * keeper does), resolving true once this node holds a ring at least that new.
   */
  onRingStale: (
    nodeId: string,
    ring: { term: number; version: number },
    timeoutMs: number,
  ) => Promise<boolean> = () => Promise.resolve(false);
  /**
   * A peer answered (a reply, or an error it sent) a request sent at `sentAtMs` (performance.now()):
   * evidence that it was alive after that moment (failure detection listens).
   */
  onAnswered: (nodeId: string, sentAtMs: number) => void = () => undefined;
  /** Per peer: when the newest request it answered was sent (performance.now()). */
  private readonly answeredSentMs = new Map<string, number>();
  /** The ring version this node's requests are made under now (after a pull). */
  fence: () => { ringTerm: bigint; ringVersion: bigint } = () => ({
    ringTerm: 0n,
    ringVersion: 0n,
  });

  constructor(
    private readonly selfId: string,
    private readonly addressOf: (nodeId: string) => string | undefined,
    private readonly log: Logger,
    private readonly limits: LinkLimits = linkLimitsDefault,
    /** How to dial a node (mTLS checks the certificate names it); plaintext by default. */
    private readonly channelFor: (nodeId: string) => PeerChannel = () => plaintextChannel,
    /** Per-peer link counters, kept across redials; the serving side of the links adds to them. */
    readonly traffic: PeerTraffic = new PeerTraffic(),
  ) {}

  /** A request over the peer's Link stream, answered with the reply of its kind. */
  async request<C extends RequestCase>(
    nodeId: string,
    body: Extract<RequestBody, { $case: C }>,
    timeoutMs: number,
  ): Promise<ReplyOf<C>> {
    const startedMs = Date.now();
    let reply;
    try {
      reply = await this.linkRequest(nodeId, body, timeoutMs);
    } catch (e) {
      const again = await this.afterRingStale(
        nodeId,
        body,
        e,
        timeoutMs - (Date.now() - startedMs),
      );
      if (again === undefined) throw e;
      reply = await this.linkRequest(nodeId, again.body, again.timeoutMs);
    }
    if (reply.$case !== replyCaseOf(body.$case)) {
      throw new RingstoreError('internal', `${nodeId} answered ${reply.$case} to ${body.$case}`);
    }
    return reply.value as unknown as ReplyOf<C>;
  }

  /**
   * One request over the Link, noting what it says about the peer's liveness: an answer (a reply
   * or an error the peer sent) is reported to onAnswered; a failure without an answer of a request
   * sent before the newest answered one is marked staleAfterAnswer (suspectsPeer ignores it).
   */
  private async linkRequest(
    nodeId: string,
    body: RequestBody,
    timeoutMs: number,
  ): ReturnType<LinkConnection['request']> {
    const sentAtMs = performance.now();
    try {
      const reply = await this.peer(nodeId).link.request(body, timeoutMs);
      this.answered(nodeId, sentAtMs);
      return reply;
    } catch (e) {
      if (e instanceof RingstoreError) {
        if (e.answeredBy !== undefined) this.answered(nodeId, sentAtMs);
        else if (sentAtMs < (this.answeredSentMs.get(nodeId) ?? Number.NEGATIVE_INFINITY))
          e.staleAfterAnswer = true;
      }
      throw e;
    }
  }

  private answered(nodeId: string, sentAtMs: number): void {
    const newest = this.answeredSentMs.get(nodeId) ?? Number.NEGATIVE_INFINITY;
    if (sentAtMs > newest) this.answeredSentMs.set(nodeId, sentAtMs);
    this.onAnswered(nodeId, sentAtMs);
  }

  /**
   * A replicate or read refused "ring stale": pull the replica's ring, then send the request once
   * more under it, within the time left. The object is the same (a merge is idempotent); the
   * claimant's waits make a write planned under the older ring land before the catch-up that
   * copies it (docs/membership.md).
   */
  private async afterRingStale(
    nodeId: string,
    body: RequestBody,
    e: unknown,
    leftMs: number,
  ): Promise<{ body: RequestBody; timeoutMs: number } | undefined> {
    if (!(e instanceof RingstoreError) || e.ringStale === undefined || leftMs <= 1)
      return undefined;
    if (body.$case !== 'replicate' && body.$case !== 'read') return undefined;
    const startedMs = Date.now();
    if (!(await this.onRingStale(nodeId, e.ringStale, leftMs))) return undefined;
    const timeoutMs = leftMs - (Date.now() - startedMs);
    if (timeoutMs <= 1) return undefined;
    const value = { ...body.value, ...this.fence() };
    return { body: { ...body, value } as RequestBody, timeoutMs };
  }

  gossip(nodeId: string, req: GossipRequest, timeoutMs: number): Promise<GossipResponse> {
    return this.unary(nodeId, timeoutMs, (c, md, o, cb) => c.gossip(req, md, o, cb));
  }

  fetchRing(nodeId: string, timeoutMs: number): Promise<RingDocumentMessage> {
    return this.unary(nodeId, timeoutMs, (c, md, o, cb) => c.fetchRing({}, md, o, cb));
  }

  pushRing(nodeId: string, req: PushRingRequest, timeoutMs: number): Promise<PushRingResponse> {
    return this.unary(nodeId, timeoutMs, (c, md, o, cb) => c.pushRing(req, md, o, cb));
  }

  merkleLevel(
    nodeId: string,
    req: MerkleLevelRequest,
    timeoutMs: number,
  ): Promise<MerkleLevelResponse> {
    return this.unary(nodeId, timeoutMs, (c, md, o, cb) => c.merkleLevel(req, md, o, cb));
  }

  segmentKeys(
    nodeId: string,
    req: SegmentKeysRequest,
    timeoutMs: number,
  ): Promise<SegmentKeysResponse> {
    return this.unary(nodeId, timeoutMs, (c, md, o, cb) => c.segmentKeys(req, md, o, cb));
  }

  /**
   * Drops the peer's channel and link (a restarted peer) unless both already carry traffic to
   * it: the next request dials at once instead of after the backoff of the peer's downtime.
   */
  redial(nodeId: string): void {
    const peer = this.peers.get(nodeId);
    if (peer === undefined) return;
    // Already talking to the new process: redialling would only fail requests it is serving.
    const ready = peer.client.getChannel().getConnectivityState(false) === connectivityState.READY;
    if (ready && peer.link.isOpen()) return;
    this.peers.delete(nodeId);
    closePeer(peer);
  }

  close(): void {
    for (const peer of this.peers.values()) closePeer(peer);
    this.peers.clear();
    this.answeredSentMs.clear();
  }

  private async unary<Res>(
    nodeId: string,
    timeoutMs: number,
    call: (
      client: PeerClient,
      metadata: Metadata,
      options: { deadline: number },
      callback: (e: ServiceError | null, res: Res) => void,
    ) => void,
  ): Promise<Res> {
    const { client } = this.peer(nodeId);
    return new Promise<Res>((resolve, reject) => {
      call(client, fromMetadata(this.selfId), { deadline: Date.now() + timeoutMs }, (e, res) =>
        e === null ? resolve(res) : reject(asRingstoreError(e)),
      );
    });
  }

  /** The peer's entry, (re)created when its address is new or changed. */
  private peer(nodeId: string): Peer {
    const address = this.addressOf(nodeId);
    if (address === undefined) throw refused('unavailable', `unknown node ${nodeId}`);
    let peer = this.peers.get(nodeId);
    if (peer !== undefined && peer.address !== address) {
      closePeer(peer);
      peer = undefined;
    }
    if (peer === undefined) {
      const channel = this.channelFor(nodeId);
      const options = { ...peerChannelOptions(this.limits), ...channel.options };
      const client = new PeerClient(address, channel.credentials, options);
      const traffic = this.traffic.of(nodeId);
      const link = new LinkConnection(this.selfId, nodeId, client, this.limits, this.log, traffic);
      peer = { address, client, link };
      this.peers.set(nodeId, peer);
    }
    return peer;
  }
}

/**
 * FetchRing from an address whose node id is not known yet (a seed of a node starting with
 * --seeds), on a channel of its own closed after the call.
 */
export function fetchRingFrom(
  address: string,
  timeoutMs: number,
  selfId: string,
  channel: PeerChannel = plaintextChannel,
  limits: LinkLimits = linkLimitsDefault,
): Promise<RingDocumentMessage> {
  const options = { ...peerChannelOptions(limits), ...channel.options };
  const client = new PeerClient(address, channel.credentials, options);
  return new Promise<RingDocumentMessage>((resolve, reject) => {
    client.fetchRing({}, fromMetadata(selfId), { deadline: Date.now() + timeoutMs }, (e, res) => {
      client.close();
      if (e === null) resolve(res);
      else reject(asRingstoreError(e));
    });
  });
}

function closePeer(peer: Peer): void {
  peer.link.close();
  peer.client.close();
}
