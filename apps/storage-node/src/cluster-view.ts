import {
  defaultPeerAddress,
  initialDocument,
  lastChange,
  partitionReplicas,
  type NodeStatus,
  type RingDocument,
} from '@ringstore/membership';
import {
  partitionOf,
  preferenceList,
  primaryReplicas,
  type PreferenceEntry,
  type Ring,
} from '@ringstore/ring';
import type { Ring as RingMessage } from '@ringstore/proto';
import type { NodeAddress } from './config.js';
import { ringMessage } from './ring/document-codec.js';

/**
 * What this node knows of the cluster: the ring document it has applied (MEMBERSHIP.md section 2)
 * and what follows from it per partition: the read ring, the replicas reads go to, the pending
 * replicas writes also go to. The document changes only through `apply`, with a newer version.
 */
export class ClusterView {
  private doc: RingDocument;
  private read: Ring;
  private addresses: ReadonlyMap<string, RingDocument['nodes'][number]>;
  private readonly listeners: ((doc: RingDocument, previous: RingDocument) => void)[] = [];

  constructor(
    readonly selfId: string,
    document: RingDocument,
  ) {
    this.doc = document;
    this.read = readRingOf(document);
    this.addresses = addressesOf(document);
  }

  /** A view of a brand-new cluster of `nodes` (version 1), as `--nodes` creates it. */
  static ofNodes(
    selfId: string,
    nodes: readonly NodeAddress[],
    partitionCount: number,
    replicas: number,
    clusterId = 'test',
  ): ClusterView {
    const doc = initialDocument({
      clusterId,
      claimant: [...nodes].map((n) => n.id).sort()[0]!,
      partitionCount,
      replicas,
      nodes: nodes.map((n) => ({
        id: n.id,
        address: n.address,
        peerAddress: n.peerAddress ?? defaultPeerAddress(n.address),
        zone: '',
      })),
    });
    return new ClusterView(selfId, doc);
  }

  get document(): RingDocument {
    return this.doc;
  }

  get version(): bigint {
    return BigInt(this.doc.version);
  }

  /** The ring reads use: the document's ring, or its next ring once the transition flipped. */
  get ring(): Ring {
    return this.read;
  }

  get partitionCount(): number {
    return this.doc.ring.partitionCount;
  }

  get replicas(): number {
    return this.doc.replicas;
  }

  /** Replaces the document (the caller checked it is newer) and tells the listeners. */
  apply(document: RingDocument): void {
    const previous = this.doc;
    this.doc = document;
    this.read = readRingOf(document);
    this.addresses = addressesOf(document);
    for (const listener of this.listeners) listener(document, previous);
  }

  onChange(listener: (doc: RingDocument, previous: RingDocument) => void): void {
    this.listeners.push(listener);
  }

  /** host:port of a node's client port (KV, Cluster): what clients are told. */
  addressOf(nodeId: string): string | undefined {
    return this.addresses.get(nodeId)?.address;
  }

  /** host:port of a node's peer port: where this node dials it. */
  peerAddressOf(nodeId: string): string | undefined {
    return this.addresses.get(nodeId)?.peerAddress;
  }

  /** Members neither left nor removed: they gossip, may hold copies and hints, may return. */
  activeNodes(): RingDocument['nodes'] {
    return activeNodesOf(this.doc);
  }

  statusOf(nodeId: string): NodeStatus | undefined {
    return this.doc.nodes.find((n) => n.id === nodeId)?.status;
  }

  partitionOf(key: Uint8Array): number {
    return partitionOf(key, this.partitionCount);
  }

  /** The key's N read replicas, in preference-list order. */
  primaries(partition: number): string[] {
    return primaryReplicas(this.read, partition, this.replicas);
  }

  /**
   * The partition's preference list for one request. Sloppy quorum (default): the up primaries,
   * and for each down one the next up fallback, which keeps the write as a hint. Strict quorum:
   * the up primaries only, so R and W count primaries alone (Riak's pr/pw).
   */
  preferenceList(
    partition: number,
    isUp: (nodeId: string) => boolean,
    strictQuorum = false,
  ): PreferenceEntry[] {
    const all = preferenceList(this.read, partition, this.replicas, isUp);
    return strictQuorum ? all.filter((t) => t.hintFor === undefined) : all;
  }

  /**
   * The partition's pending replicas for a write (a transfer in progress), after the entries of
   * `list`: an up one directly, a down one through an up node outside the list that keeps a hint
   * for it, so the write still needs and gets W + p acks.
   */
  pendingFor(
    partition: number,
    list: readonly PreferenceEntry[],
    isUp: (nodeId: string) => boolean,
  ): PreferenceEntry[] {
    const pending = partitionReplicas(this.doc, partition).pending;
    const used = new Set(list.map((e) => e.nodeId));
    const entries: PreferenceEntry[] = [];
    for (const id of pending) {
      if (used.has(id)) continue;
      if (isUp(id)) {
        entries.push({ nodeId: id, hintFor: undefined });
        used.add(id);
        continue;
      }
      const fallback = this.read.members.find((m) => !used.has(m.id) && isUp(m.id));
      if (fallback === undefined) continue;
      entries.push({ nodeId: fallback.id, hintFor: id });
      used.add(fallback.id);
    }
    return entries;
  }

  /** The version at which the partition's read or write set last changed (the fence). */
  lastChange(partition: number): number {
    return lastChange(this.doc, partition);
  }

  /** The partitions this node is a read replica of. */
  partitionsReplicated(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.partitionCount; p++) if (this.isReplica(p)) out.push(p);
    return out;
  }

  /** Read replica of the partition: coordinates its requests and serves its reads. */
  isReplica(partition: number): boolean {
    return this.primaries(partition).includes(this.selfId);
  }

  /** Read or pending replica: stores the partition's writes. */
  holds(partition: number): boolean {
    return this.isReplica(partition) || this.isPending(partition);
  }

  isPending(partition: number): boolean {
    return partitionReplicas(this.doc, partition).pending.includes(this.selfId);
  }

  /** Every node a write of the partition goes to now: the read replicas, then the pending ones. */
  writeSet(partition: number): string[] {
    const pending = partitionReplicas(this.doc, partition).pending;
    return [...new Set([...this.primaries(partition), ...pending])];
  }

  /** The partitions this node stores: read replica or pending. */
  partitionsHeld(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.partitionCount; p++) if (this.holds(p)) out.push(p);
    return out;
  }

  toMessage(): RingMessage {
    return ringMessage(this.doc, this.read);
  }
}

/** The global flip (claimantStep): once any transfer reads new, every one does. */
function readRingOf(doc: RingDocument): Ring {
  const flipped = doc.transfers.some((t) => t.state === 'read-new' || t.state === 'done');
  return flipped && doc.next !== undefined ? doc.next : doc.ring;
}

/** A left node keeps its address (it is told it left, then exits); a removed one is gone. */
function addressesOf(doc: RingDocument): Map<string, RingDocument['nodes'][number]> {
  return new Map(doc.nodes.filter((n) => n.status !== 'removed').map((n) => [n.id, n]));
}

/** The document's members neither left nor removed. */
export function activeNodesOf(doc: RingDocument): RingDocument['nodes'] {
  return doc.nodes.filter((n) => n.status !== 'left' && n.status !== 'removed');
}
