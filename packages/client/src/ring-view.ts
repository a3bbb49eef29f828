import type { Ring as RingMessage } from '@ringstore/proto';
import { partitionOf, primaryReplicas, validateRing, type Ring } from '@ringstore/ring';

/** A node as the ring describes it. */
export interface RingNode {
  readonly id: string;
  /** host:port of the node's gRPC server. */
  readonly address: string;
  readonly zone: string;
  readonly status: string;
}

/** The ring a client routes with: plain data from Cluster.GetRing. */
export interface ClientRing {
  readonly version: bigint;
  readonly partitionCount: number;
  /** N: replicas per key. */
  readonly replicas: number;
  readonly nodes: readonly RingNode[];
}

/**
 * A validated ring with its lookups: node addresses, and each partition's node order (its N
 * primary replicas in preference order, then every other node), computed on first use.
 */
export class RingView {
  private readonly addresses: ReadonlyMap<string, string>;
  private readonly orders: (readonly string[] | undefined)[];

  private constructor(
    readonly message: ClientRing,
    readonly ring: Ring,
  ) {
    this.addresses = new Map(message.nodes.map((n) => [n.id, n.address]));
    this.orders = new Array<readonly string[] | undefined>(message.partitionCount);
  }

  /** The view of a GetRing answer, or why it cannot be routed with. */
  static fromMessage(message: RingMessage): RingView | string {
    const ring: Ring = {
      partitionCount: message.partitionCount,
      members: message.nodes.map((n) => ({ id: n.id, zone: n.zone })),
      owners: [...message.owners],
    };
    const problem = validateRing(ring);
    if (problem !== undefined) return problem;
    if (!Number.isInteger(message.replicas) || message.replicas < 1)
      return `ring replicas must be a positive integer, got ${message.replicas}`;
    const noAddress = message.nodes.find((n) => n.address === '');
    if (noAddress !== undefined) return `ring node ${noAddress.id} has no address`;
    const nodes = message.nodes.map((n) => ({
      id: n.id,
      address: n.address,
      zone: n.zone,
      status: n.status,
    }));
    return new RingView(
      {
        version: message.version,
        partitionCount: message.partitionCount,
        replicas: message.replicas,
        nodes,
      },
      ring,
    );
  }

  get version(): bigint {
    return this.message.version;
  }

  get nodeIds(): readonly string[] {
    return this.ring.members.map((m) => m.id);
  }

  addressOf(nodeId: string): string | undefined {
    return this.addresses.get(nodeId);
  }

  partitionOf(key: Uint8Array): number {
    return partitionOf(key, this.ring.partitionCount);
  }

  /** The key's N primary replicas in preference order (its preference list without fallbacks). */
  primaries(key: Uint8Array): readonly string[] {
    return this.order(this.partitionOf(key)).slice(0, this.message.replicas);
  }

  /** The partition's primaries in preference order, then every other node in ring order. */
  order(partition: number): readonly string[] {
    const cached = this.orders[partition];
    if (cached !== undefined) return cached;
    const primaries = primaryReplicas(this.ring, partition, this.message.replicas);
    const rest = this.nodeIds.filter((id) => !primaries.includes(id));
    const order = [...primaries, ...rest];
    this.orders[partition] = order;
    return order;
  }
}
