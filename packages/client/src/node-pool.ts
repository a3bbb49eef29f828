import type { ChannelOptions, Metadata } from '@grpc/grpc-js';
import { ClusterClient, KVClient } from '@ringstore/proto';
import { sessionStub, unaryStub, type KvStub } from './session.js';
import type { Transport } from './transport.js';

/** One node's gRPC stubs, sharing one channel. */
export interface NodeStubs {
  /** Get, Put and Delete over the node's session stream (unless sessions are off), the rest unary. */
  readonly kv: KvStub;
  readonly cluster: ClusterClient;
  /** The metadata each call on this channel starts with (the token, on a plaintext channel). */
  readonly callMetadata: () => Metadata;
}

/** A channel and the calls using it now. */
interface PooledChannel {
  readonly stubs: NodeStubs;
  users: number;
}

/**
 * One channel per node address, created on first use and kept while the node is in the ring (its
 * address was in the last `retain`) or a call uses it. A channel of a node that left is closed
 * once its last call ends: closing it earlier would fail a call still waiting for the connection
 * (grpc-js cancels those with UNAVAILABLE). grpc-js reconnects a channel by itself, with the
 * backoff set in its options.
 */
export class NodePool {
  private readonly channels = new Map<string, PooledChannel>();
  /** The addresses of the last `retain`; undefined before the first: keep every channel. */
  private wanted: ReadonlySet<string> | undefined;
  private closed = false;

  constructor(
    private readonly channelOptions: ChannelOptions,
    /** Channels this pool may hold: the ring's nodes plus the seeds. */
    private readonly channelsMax: number,
    /** TLS or plaintext, and the token, of every channel. */
    private readonly transport: Transport,
    /** Get, Put and Delete over one KV.Session stream per node (session.ts); else unary calls. */
    private readonly sessions = false,
  ) {}

  /**
   * Runs `call` with the stubs of `address` (its channel created on first use); the channel stays
   * open until `call` settles, and is closed then if its node is no longer wanted.
   */
  async use<T>(address: string, call: (stubs: NodeStubs) => Promise<T>): Promise<T> {
    const channel = this.open(address);
    channel.users++;
    try {
      return await call(channel.stubs);
    } finally {
      channel.users--;
      if (channel.users === 0 && this.wanted?.has(address) === false) this.drop(address, channel);
    }
  }

  /**
   * Keeps the channels of `keep` (the addresses of the nodes a request may go to) and closes the
   * others, each at once when no call uses it, or when its last call ends.
   */
  retain(keep: ReadonlySet<string>): void {
    this.wanted = keep;
    for (const [address, channel] of this.channels) {
      if (!keep.has(address) && channel.users === 0) this.drop(address, channel);
    }
  }

  /** Open channels, those closing after their last call included. */
  get size(): number {
    return this.channels.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.closed = true;
    for (const channel of this.channels.values()) channel.stubs.kv.close();
    this.channels.clear();
  }

  private open(address: string): PooledChannel {
    const known = this.channels.get(address);
    if (known !== undefined) return known;
    if (this.channels.size >= this.channelsMax) this.closeOne();
    const { channelCredentials, callMetadata } = this.transport;
    const client = new KVClient(address, channelCredentials, this.channelOptions);
    // The channel carries the credentials (call credentials included): Cluster calls get the
    // token as KV calls do.
    const cluster = new ClusterClient(address, channelCredentials, {
      ...this.channelOptions,
      channelOverride: client.getChannel(),
    });
    const kv = this.sessions ? sessionStub(client, callMetadata) : unaryStub(client);
    const created: PooledChannel = { stubs: { kv, cluster, callMetadata }, users: 0 };
    this.channels.set(address, created);
    return created;
  }

  /** Closes `channel` if it is still the one pooled for `address` (not closed and reopened). */
  private drop(address: string, channel: PooledChannel): void {
    if (this.channels.get(address) !== channel) return;
    channel.stubs.kv.close();
    this.channels.delete(address);
  }

  /** Makes room by closing the oldest idle channel, else the oldest (Map keeps insertion order). */
  private closeOne(): void {
    let oldest: [string, PooledChannel] | undefined;
    for (const entry of this.channels) {
      oldest ??= entry;
      if (entry[1].users === 0) {
        oldest = entry;
        break;
      }
    }
    if (oldest !== undefined) this.drop(oldest[0], oldest[1]);
  }
}
