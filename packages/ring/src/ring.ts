import { assert } from './assert.js';
import { membersMax, nameLengthMax, partitionCountMax } from './limits.js';

/** A node that may own partitions. `zone` '' means the node is in no zone (a zone of its own). */
export interface Member {
  readonly id: string;
  readonly zone: string;
}

/**
 * The owner of every partition. `members` are sorted by id, without duplicates; `owners[p]` is
 * the index in `members` of partition p's owner. Plain data, the same on every node and client.
 */
export interface Ring {
  readonly partitionCount: number;
  readonly members: readonly Member[];
  readonly owners: readonly number[];
}

export interface RingOptions {
  /** Q: a power of two in 1..partitionCountMax, fixed when the cluster is created. */
  partitionCount: number;
  /** N: how many distinct nodes replicate each partition; claim spaces owners for it. */
  replicas: number;
  /** The ring before this membership change: claim then moves as few partitions as it can. */
  previous?: Ring | undefined;
}

export function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && (value & (value - 1)) === 0;
}

/** Why these options cannot make a ring, or undefined when they can. */
export function validateRingOptions(options: RingOptions): string | undefined {
  const { partitionCount, replicas, previous } = options;
  if (!isPowerOfTwo(partitionCount) || partitionCount > partitionCountMax) {
    return `partitionCount must be a power of two in 1..${partitionCountMax}, got ${partitionCount}`;
  }
  if (
    !Number.isInteger(replicas) ||
    replicas < 1 ||
    replicas > Math.min(partitionCount, membersMax)
  ) {
    return `replicas must be an integer in 1..${Math.min(partitionCount, membersMax)} (at most partitionCount), got ${replicas}`;
  }
  if (previous === undefined) return undefined;
  if (previous.partitionCount !== partitionCount) {
    return `previous ring has ${previous.partitionCount} partitions, not ${partitionCount}: the partition count is fixed`;
  }
  return validateRing(previous);
}

/** Why these members cannot be claimed over, or undefined when they can. */
export function validateMembers(members: readonly Member[]): string | undefined {
  if (members.length < 1 || members.length > membersMax) {
    return `a ring needs 1..${membersMax} members, got ${members.length}`;
  }
  const ids = new Set<string>();
  for (const member of members) {
    if (member.id.length < 1 || member.id.length > nameLengthMax) {
      return `member id must be 1..${nameLengthMax} characters, got ${JSON.stringify(member.id)}`;
    }
    if (member.zone.length > nameLengthMax)
      return `zone of ${member.id} is longer than ${nameLengthMax} characters`;
    if (ids.has(member.id)) return `member ${member.id} is listed twice`;
    ids.add(member.id);
  }
  return undefined;
}

/** Why `ring` is not a well-formed ring (for one received from the wire), or undefined. */
export function validateRing(ring: Ring): string | undefined {
  if (!isPowerOfTwo(ring.partitionCount) || ring.partitionCount > partitionCountMax) {
    return `ring partitionCount must be a power of two in 1..${partitionCountMax}, got ${ring.partitionCount}`;
  }
  const membersProblem = validateMembers(ring.members);
  if (membersProblem !== undefined) return `ring: ${membersProblem}`;
  for (let i = 1; i < ring.members.length; i++) {
    if (compareIds(ring.members[i - 1]?.id ?? '', ring.members[i]?.id ?? '') >= 0)
      return 'ring members must be sorted by id';
  }
  if (ring.owners.length !== ring.partitionCount) {
    return `ring has ${ring.owners.length} owners for ${ring.partitionCount} partitions`;
  }
  const badOwner = ring.owners.findIndex(
    (owner) => !Number.isInteger(owner) || owner < 0 || owner >= ring.members.length,
  );
  if (badOwner >= 0) return `owner of partition ${badOwner} is not a member index`;
  return undefined;
}

/** Member ids in code-unit order: the same on every platform, unlike localeCompare. */
export function compareIds(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

export function assertPartition(ring: Ring, partition: number): void {
  assert(
    Number.isInteger(partition) && partition >= 0 && partition < ring.partitionCount,
    `partition ${partition} is not in 0..${ring.partitionCount - 1}`,
  );
}

/** The id of the node that owns `partition`. */
export function ownerOf(ring: Ring, partition: number): string {
  assertPartition(ring, partition);
  const member = ring.members[ring.owners[partition] ?? -1];
  assert(member !== undefined, `owner of partition ${partition} is not a member`);
  return member.id;
}
