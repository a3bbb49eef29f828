import { claim, partitionOf, preferenceList, primaryReplicas, type PreferenceEntry, type Ring } from '@ringstore/ring';
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

  /** Where a request for the partition goes: up primaries, fallbacks for down ones. */
  targets(partition: number, isUp: (nodeId: string) => boolean): PreferenceEntry[] {
    return preferenceList(this.ring, partition, this.replicas, isUp);
  }

  isReplica(partition: number): boolean {
    return this.primaries(partition).includes(this.selfId);
  }

  toMessage(): RingMessage {
    return {
      version: this.version,
      partitionCount: this.partitionCount,
      replicas: this.replicas,
      nodes: this.ring.members.map((m) => ({ id: m.id, address: this.addresses.get(m.id) ?? '', zone: m.zone, status: 'valid' })),
      owners: [...this.ring.owners],
    };
  }
}
