import type { Ring as RingMessage } from '@ringstore/proto';
import { partitionOf, primaryReplicas, validateRing, type Ring } from '@ringstore/ring';

/**
 * A member's place in the ring. `joining`: joined, receiving its partitions; `valid`: serving;
 * `leaving`: handing its partitions over, still serving; `left` and `removed`: gone for good.
 */
export type RingNodeStatus = 'joining' | 'valid' | 'leaving' | 'left' | 'removed';

const ringNodeStatuses: readonly RingNodeStatus[] = [
  'joining',
  'valid',
  'leaving',
  'left',
  'removed',
];

/** Statuses of nodes that serve requests, whether or not the read ring names them. */
const servingStatuses: readonly RingNodeStatus[] = ['valid', 'leaving'];
/** Statuses of nodes that never get a request, even if a stale owners entry names them. */
const goneStatuses: readonly RingNodeStatus[] = ['left', 'removed'];

/** A node as the ring describes it. */
export interface RingNode {
  readonly id: string;
  /** host:port of the node's gRPC server. */
  readonly address: string;
  readonly zone: string;
  readonly status: RingNodeStatus;
}

/** One partition of the running transition whose replica set changes (informational). */
export interface RingTransfer {
  readonly partition: number;
  /** Nodes that receive the partition. */
  readonly added: readonly string[];
  /** Nodes that hand it over. */
  readonly removed: readonly string[];
  /** pending, streaming, catch-up, read-new or done. */
  readonly state: string;
  /** The ring version at which the transfer entered this state. */
  readonly since: bigint;
}

/** Where a ring document stands: ordered by term, then version (a higher term wins). */
export interface RingVersion {
  readonly term: bigint;
  readonly version: bigint;
}

/** The ring a client routes with: plain data from Cluster.GetRing. */
export interface ClientRing extends RingVersion {
  readonly clusterId: string;
  /** The node that writes new ring versions. */
  readonly claimant: string;
  readonly partitionCount: number;
  /** N: replicas per key. */
  readonly replicas: number;
  /** Every member, joining, left and removed ones included, with its status. */
  readonly nodes: readonly RingNode[];
  /** The running transition's transfers; empty when none runs. Never routed with. */
  readonly transfers: readonly RingTransfer[];
}

/** Whether ring `a` is newer than ring `b`: a higher term, or the same term and a higher version. */
export function isNewerRing(a: RingVersion, b: RingVersion): boolean {
  return a.term !== b.term ? a.term > b.term : a.version > b.version;
}

interface PartitionOrder {
  /** As the read ring names them, routable or not. */
  readonly primaries: readonly string[];
  /** Where requests go, best first. */
  readonly candidates: readonly string[];
}

/**
 * A validated ring with its lookups: node addresses, the nodes a request may go to, and each
 * partition's node order (its routable primaries in preference order, then every other serving
 * node), computed on first use.
 */
export class RingView {
  private readonly addresses: ReadonlyMap<string, string>;
  private readonly routable: ReadonlySet<string>;
  private readonly goneAddresses: ReadonlySet<string>;
  private readonly orders: (PartitionOrder | undefined)[];
  /** The nodes a request may go to, in ring order. */
  readonly servingIds: readonly string[];

  private constructor(
    readonly message: ClientRing,
    readonly ring: Ring,
  ) {
    this.addresses = new Map(message.nodes.map((n) => [n.id, n.address]));
    this.routable = routableIds(message.nodes, ring);
    this.servingIds = message.nodes.map((n) => n.id).filter((id) => this.routable.has(id));
    const servingAddresses = new Set(this.servingIds.map((id) => this.addresses.get(id)));
    this.goneAddresses = new Set(
      message.nodes
        .filter((n) => goneStatuses.includes(n.status) && !servingAddresses.has(n.address))
        .map((n) => n.address),
    );
    this.orders = new Array<PartitionOrder | undefined>(message.partitionCount);
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
    const nodes = nodesOf(message);
    if (typeof nodes === 'string') return nodes;
    return new RingView(clientRingOf(message, nodes), ring);
  }

  get version(): bigint {
    return this.message.version;
  }

  get term(): bigint {
    return this.message.term;
  }

  addressOf(nodeId: string): string | undefined {
    return this.addresses.get(nodeId);
  }

  /**
   * Whether a request may go to `nodeId`: it is in the ring, has not left or been removed, and
   * either serves (valid, leaving) or is named by the read ring (a joining node after the flip).
   */
  isRoutable(nodeId: string): boolean {
    return this.routable.has(nodeId);
  }

  /** Whether `address` is only that of nodes that left or were removed: nothing goes there. */
  isGoneAddress(address: string): boolean {
    return this.goneAddresses.has(address);
  }

  partitionOf(key: Uint8Array): number {
    return partitionOf(key, this.ring.partitionCount);
  }

  /** The key's N primary replicas in preference order, as the read ring names them. */
  primaries(key: Uint8Array): readonly string[] {
    return this.partitionOrder(this.partitionOf(key)).primaries;
  }

  /** The partition's routable primaries in preference order, then every other serving node. */
  order(partition: number): readonly string[] {
    return this.partitionOrder(partition).candidates;
  }

  private partitionOrder(partition: number): PartitionOrder {
    const cached = this.orders[partition];
    if (cached !== undefined) return cached;
    const primaries = primaryReplicas(this.ring, partition, this.message.replicas);
    const first = primaries.filter((id) => this.routable.has(id));
    const rest = this.servingIds.filter((id) => !primaries.includes(id));
    const order = { primaries, candidates: [...first, ...rest] };
    this.orders[partition] = order;
    return order;
  }
}

/**
 * The ring's nodes, or why one cannot be routed to: no address, or a status this SDK does not
 * know (nodes refuse such a document too; whether it may serve is unknown, so the ring is not used).
 */
function nodesOf(message: RingMessage): RingNode[] | string {
  const nodes: RingNode[] = [];
  for (const n of message.nodes) {
    if (n.address === '') return `ring node ${n.id} has no address`;
    const status = n.status;
    if (!isStatus(status))
      return `ring node ${n.id} has unknown status ${JSON.stringify(status.slice(0, 64))}`;
    nodes.push({ id: n.id, address: n.address, zone: n.zone, status });
  }
  return nodes;
}

function isStatus(status: string): status is RingNodeStatus {
  return (ringNodeStatuses as readonly string[]).includes(status);
}

/** Serving nodes, and any node the read ring names unless it left or was removed. */
function routableIds(nodes: readonly RingNode[], ring: Ring): Set<string> {
  const owners = new Set(ring.owners.map((o) => ring.members[o]?.id ?? ''));
  const ids = new Set<string>();
  for (const n of nodes) {
    if (goneStatuses.includes(n.status)) continue;
    if (servingStatuses.includes(n.status) || owners.has(n.id)) ids.add(n.id);
  }
  return ids;
}

function clientRingOf(message: RingMessage, nodes: readonly RingNode[]): ClientRing {
  return {
    version: message.version,
    term: message.term,
    clusterId: message.clusterId,
    claimant: message.claimant,
    partitionCount: message.partitionCount,
    replicas: message.replicas,
    nodes,
    transfers: message.transfers.map((t) => ({
      partition: t.partition,
      added: [...t.added],
      removed: [...t.removed],
      state: t.state,
      since: t.since,
    })),
  };
}
