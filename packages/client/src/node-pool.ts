import { credentials, type ChannelOptions } from '@grpc/grpc-js';
import { ClusterClient, KVClient } from '@ringstore/proto';

/** One node's gRPC stubs, sharing one channel. */
export interface NodeStubs {
  readonly kv: KVClient;
  readonly cluster: ClusterClient;
}

/**
 * One channel per node address, created on first use and kept until the node leaves the ring or
 * the client closes. grpc-js reconnects a channel by itself, with the backoff set in its options.
 */
export class NodePool {
  private readonly stubs = new Map<string, NodeStubs>();
  private closed = false;

  constructor(
    private readonly channelOptions: ChannelOptions,
    /** Channels this pool may hold: the ring's nodes plus the seeds. */
    private readonly channelsMax: number,
  ) {}

  /** The stubs of `address`, creating its channel on first use. */
  get(address: string): NodeStubs {
    const known = this.stubs.get(address);
    if (known !== undefined) return known;
    if (this.stubs.size >= this.channelsMax) this.closeOne();
    const kv = new KVClient(address, credentials.createInsecure(), this.channelOptions);
    const cluster = new ClusterClient(address, credentials.createInsecure(), {
      ...this.channelOptions,
      channelOverride: kv.getChannel(),
    });
    const created = { kv, cluster };
    this.stubs.set(address, created);
    return created;
  }

  /** Closes the channels of addresses not in `keep` (nodes that left the ring). */
  retain(keep: ReadonlySet<string>): void {
    for (const [address, stub] of this.stubs) {
      if (keep.has(address)) continue;
      stub.kv.close();
      this.stubs.delete(address);
    }
  }

  get size(): number {
    return this.stubs.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    for (const stub of this.stubs.values()) stub.kv.close();
    this.stubs.clear();
  }

  /** Makes room by closing the oldest channel (Map keeps insertion order). */
  private closeOne(): void {
    const oldest = this.stubs.keys().next();
    if (oldest.done === true) return;
    this.stubs.get(oldest.value)?.kv.close();
    this.stubs.delete(oldest.value);
  }
}
