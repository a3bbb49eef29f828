/**
 * What the peer links carried, per peer: plain numbers the link bumps once per frame (no label
 * lookup, no allocation on the hot path), read by the metrics at each scrape (metrics.ts
 * trackPeerTraffic). Both sides of the traffic with a peer count here: the requests this node
 * sends it and their replies (LinkConnection), and the requests it sends this node and the
 * replies to them (serveLink).
 */
export class LinkTraffic {
  framesSent = 0;
  framesReceived = 0;
  messagesSent = 0;
  messagesReceived = 0;
  /** Approximate payload bytes, as the frame batching sizes messages (link.ts approxBytes). */
  bytesSent = 0;
  bytesReceived = 0;
  /** Link streams dialled to the peer after the first one (the link broke, or was redialled). */
  reconnects = 0;
  /** Streams dialled to the peer so far (the first is no reconnect). */
  dials = 0;
  /** The open streams' queues, each read at scrape. */
  private readonly queues = new Set<LinkQueue>();

  /** Counts one stream dialled to the peer; every one after the first is a reconnect. */
  dialled(): void {
    if (this.dials > 0) this.reconnects++;
    this.dials++;
  }

  /** Adds a stream's queue to what scrapes read; call the result when the stream is gone. */
  watch(queue: LinkQueue): () => void {
    this.queues.add(queue);
    return () => void this.queues.delete(queue);
  }

  /** Messages and frames waiting to be written to the peer now, over its open streams. */
  sendQueue(): number {
    let n = 0;
    for (const q of this.queues) n += q.queued();
    return n;
  }

  /** Requests sent to the peer that await its reply now. */
  inflight(): number {
    let n = 0;
    for (const q of this.queues) n += q.inflight();
    return n;
  }
}

/** One stream's queues, as a scrape reads them. */
export interface LinkQueue {
  /** Messages in the outbox plus frames the gRPC stream holds unwritten. */
  queued(): number;
  /** Requests awaiting a reply (0 on the serving side). */
  inflight(): number;
}

/**
 * The peers' LinkTraffic, by node id. The table holds only ids `known` says are members of the
 * ring: anything else (never expected: peer calls are checked against the ring first) counts
 * under unknownPeer, so neither a label value nor the table's size is chosen by the wire.
 */
export class PeerTraffic {
  private readonly byPeer = new Map<string, LinkTraffic>();

  constructor(private readonly known: (nodeId: string) => boolean = () => true) {}

  /** The peer's counters, created on first use; looked up once per stream, not per frame. */
  of(nodeId: string): LinkTraffic {
    const id = this.known(nodeId) ? nodeId : unknownPeer;
    let traffic = this.byPeer.get(id);
    if (traffic === undefined) {
      traffic = new LinkTraffic();
      this.byPeer.set(id, traffic);
    }
    return traffic;
  }

  entries(): IterableIterator<[string, LinkTraffic]> {
    return this.byPeer.entries();
  }
}

/** The label of traffic with a node the ring does not name (node ids cannot hold parentheses). */
export const unknownPeer = '(unknown)';
