import type { Member } from './ring.js';

/** No owner yet: a partition whose previous owner left, before claim gives it to a member. */
export const unowned = -1;

/**
 * The working state of one claim: owners as member indexes (or `unowned`), how many partitions
 * each member owns, and how many it should own. Spacing rules:
 * - node spacing: a member's partitions are at least `replicas` apart (cyclic distance), so every
 *   window of N consecutive partitions has N distinct owners;
 * - zone spacing (soft): the owners of every `zoneSpan` consecutive partitions are in distinct zones.
 */
export class ClaimState {
  readonly partitionCount: number;
  readonly replicas: number;
  readonly memberCount: number;
  readonly owners: Int32Array;
  readonly counts: Int32Array;
  readonly targets: Int32Array;
  /** Zone number of each member; a member without a zone has a number of its own. */
  readonly zoneOf: Int32Array;
  readonly zoneCount: number;
  readonly zoneSpan: number;

  constructor(
    members: readonly Member[],
    partitionCount: number,
    replicas: number,
    owners: Int32Array,
  ) {
    this.partitionCount = partitionCount;
    this.replicas = replicas;
    this.memberCount = members.length;
    this.owners = owners;
    this.counts = new Int32Array(members.length);
    for (const owner of owners)
      if (owner !== unowned) this.counts[owner] = (this.counts[owner] ?? 0) + 1;
    this.targets = new Int32Array(members.length);
    const zones = zoneNumbers(members);
    this.zoneOf = zones.zoneOf;
    this.zoneCount = zones.zoneCount;
    this.zoneSpan = Math.min(replicas, zones.zoneCount);
  }

  /** Node spacing is only possible with more members than replicas. */
  spacingRequired(): boolean {
    return this.memberCount > this.replicas && this.partitionCount >= this.replicas;
  }

  owner(partition: number): number {
    return this.owners[partition] ?? unowned;
  }

  count(member: number): number {
    return this.counts[member] ?? 0;
  }

  target(member: number): number {
    return this.targets[member] ?? 0;
  }

  /** Partitions `member` still needs (negative when it has too many). */
  deficit(member: number): number {
    return this.target(member) - this.count(member);
  }

  assign(partition: number, member: number): void {
    const before = this.owner(partition);
    if (before !== unowned) this.counts[before] = this.count(before) - 1;
    this.owners[partition] = member;
    this.counts[member] = this.count(member) + 1;
  }

  /** Partition `partition + offset`, wrapping around the ring. */
  at(partition: number, offset: number): number {
    const q = this.partitionCount;
    return (((partition + offset) % q) + q) % q;
  }

  /** How many partitions within replicas-1 of `partition` (either side) `member` owns. */
  nodeConflicts(member: number, partition: number): number {
    return this.conflictsWithin(partition, this.replicas - 1, (owner) => owner === member);
  }

  /** How many partitions within zoneSpan-1 of `partition` have an owner in `member`'s zone. */
  zoneConflicts(member: number, partition: number): number {
    const zone = this.zoneOf[member];
    return this.conflictsWithin(
      partition,
      this.zoneSpan - 1,
      (owner) => this.zoneOf[owner] === zone,
    );
  }

  /** Whether the owner of `partition` breaks node spacing there. */
  violatesNode(partition: number): boolean {
    const owner = this.owner(partition);
    return owner !== unowned && this.nodeConflicts(owner, partition) > 0;
  }

  violatesZone(partition: number): boolean {
    const owner = this.owner(partition);
    return owner !== unowned && this.zoneConflicts(owner, partition) > 0;
  }

  /** Partitions breaking node spacing, in ring order. */
  nodeViolations(): number[] {
    const found: number[] = [];
    for (let p = 0; p < this.partitionCount; p++) if (this.violatesNode(p)) found.push(p);
    return found;
  }

  private conflictsWithin(
    partition: number,
    distance: number,
    matches: (owner: number) => boolean,
  ): number {
    let conflicts = 0;
    const q = this.partitionCount;
    // On a ring too small for two disjoint sides, every other partition is a neighbour once.
    const offsets =
      2 * distance + 1 >= q ? { from: 1, to: q - 1 } : { from: -distance, to: distance };
    for (let offset = offsets.from; offset <= offsets.to; offset++) {
      if (offset === 0) continue;
      const owner = this.owner((((partition + offset) % q) + q) % q);
      if (owner !== unowned && matches(owner)) conflicts++;
    }
    return conflicts;
  }
}

export function zoneNumbers(members: readonly Member[]): { zoneOf: Int32Array; zoneCount: number } {
  const numbers = new Map<string, number>();
  const zoneOf = new Int32Array(members.length);
  let zoneCount = 0;
  members.forEach((member, index) => {
    if (member.zone === '') {
      zoneOf[index] = zoneCount++;
      return;
    }
    let zone = numbers.get(member.zone);
    if (zone === undefined) {
      zone = zoneCount++;
      numbers.set(member.zone, zone);
    }
    zoneOf[index] = zone;
  });
  return { zoneOf, zoneCount };
}
