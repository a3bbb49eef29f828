import {
  claim,
  partitionOf,
  partitionsReplicatedBy,
  preferenceList,
  primaryReplicas,
  type PreferenceEntry,
  type Ring,
} from '@ringstore/ring';
import type { Ring as RingMessage } from '@ringstore/proto';
import type { NodeAddress } from './config.js';

/**
 * What this node knows of the cluster: members, their addresses, and the ring claimed from them.
 * Membership is static (the --nodes list); every node and client computes the same ring from it.
 */
export class ClusterView {
  readonly ring: Ring;
  readonly version = 1n;
  private readonly addresses: ReadonlyMap<string, string>;

  constructor(
    readonly selfId: string,
    nodes: readonly NodeAddress[],
    readonly partitionCount: number,
    readonly replicas: number,
  ) {
    this.addresses = new Map(nodes.map((n) => [n.id, n.address]));
    const members = nodes.map((n) => ({ id: n.id, zone: '' }));
    this.ring = claim(members, { partitionCount, replicas });
  }

  addressOf(nodeId: string): string | undefined {
    return this.addresses.get(nodeId);
  }

  partitionOf(key: Uint8Array): number {
    return partitionOf(key, this.partitionCount);
  }

  /** The key's N primary replicas, in preference-list order. */
  primaries(partition: number): string[] {
    return primaryReplicas(this.ring, partition, this.replicas);
  }

  /**
   * The partition's preference list for one request. Sloppy quorum (default): the up primaries,
   * and for each down one the next up fallback, which keeps the write as a hint for it. Strict
   * quorum: the up primaries only, so R and W count primaries alone (Riak's pr/pw).
   */
  preferenceList(
    partition: number,
    isUp: (nodeId: string) => boolean,
    strictQuorum = false,
  ): PreferenceEntry[] {
    const all = preferenceList(this.ring, partition, this.replicas, isUp);
    return strictQuorum ? all.filter((t) => t.hintFor === undefined) : all;
  }

  /** The partitions this node is one of the N primary replicas of. */
  partitionsReplicated(): number[] {
    return partitionsReplicatedBy(this.ring, this.selfId, this.replicas);
  }

  isReplica(partition: number): boolean {
    return this.primaries(partition).includes(this.selfId);
  }

  toMessage(): RingMessage {
    return {
      version: this.version,
      partitionCount: this.partitionCount,
      replicas: this.replicas,
      nodes: this.ring.members.map((m) => ({
        id: m.id,
        address: this.addresses.get(m.id) ?? '',
        zone: m.zone,
        status: 'valid',
      })),
      owners: [...this.ring.owners],
    };
  }
}
