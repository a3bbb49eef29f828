import { assert } from './assert.js';
import { assertPartition, type Ring } from './ring.js';

/** One target of a request: a primary replica (hintFor undefined) or a fallback standing in for `hintFor`. */
export interface PreferenceEntry {
  readonly nodeId: string;
  readonly hintFor: string | undefined;
}

/** What walks need to know about a ring beyond its owners, computed once per ring object. */
interface WalkIndex {
  /** Zone number per member; a member without a zone has its own. */
  readonly zoneOf: Int32Array;
  /** Distinct zones, and members, among the owners: a walk can stop once it has seen them all. */
  readonly owningZones: number;
  readonly owningMembers: number;
}

const walkIndexes = new WeakMap<Ring, WalkIndex>();

function walkIndex(ring: Ring): WalkIndex {
  const cached = walkIndexes.get(ring);
  if (cached !== undefined) return cached;
  const zoneNumbers = new Map<string, number>();
  const zoneOf = Int32Array.from(ring.members, (member, index) => {
    if (member.zone === '') return -1 - index;
    const known = zoneNumbers.get(member.zone);
    if (known !== undefined) return known;
    zoneNumbers.set(member.zone, zoneNumbers.size);
    return zoneNumbers.size - 1;
  });
  const owning = new Set(ring.owners);
  const index: WalkIndex = {
    zoneOf,
    owningZones: new Set(Array.from(owning, (member) => zoneOf[member])).size,
    owningMembers: owning.size,
  };
  walkIndexes.set(ring, index);
  return index;
}

/**
 * The preference order from `partition`: walk the partitions clockwise collecting owners not yet
 * taken whose zone is not yet taken either (a member without a zone is a zone of its own); once
 * every zone is taken, or the walk has gone all the way round, walk again collecting the
 * remaining owners. `visit` gets member indexes in that order and returns false to stop.
 * Each pass visits at most Q partitions.
 */
function walk(ring: Ring, partition: number, visit: (member: number) => boolean): void {
  const { zoneOf, owningZones, owningMembers } = walkIndex(ring);
  const q = ring.partitionCount;
  const taken: number[] = [];
  const takenZones: number[] = [];
  for (let i = 0; i < q && takenZones.length < owningZones; i++) {
    const member = ring.owners[(partition + i) % q] ?? 0;
    const zone = zoneOf[member] ?? 0;
    if (takenZones.includes(zone)) continue;
    taken.push(member);
    takenZones.push(zone);
    if (!visit(member)) return;
  }
  for (let i = 0; i < q && taken.length < owningMembers; i++) {
    const member = ring.owners[(partition + i) % q] ?? 0;
    if (taken.includes(member)) continue;
    taken.push(member);
    if (!visit(member)) return;
  }
}

function assertReplicas(n: number): void {
  assert(Number.isInteger(n) && n >= 1, `replica count must be a positive integer, got ${n}`);
}

function memberId(ring: Ring, member: number): string {
  const found = ring.members[member];
  assert(found !== undefined, `owner index ${member} is not a member`);
  return found.id;
}

/**
 * The partition's N primary replicas, in preference order: distinct nodes, in distinct zones
 * while zones remain. Fewer than N when fewer nodes own partitions.
 */
export function primaryReplicas(ring: Ring, partition: number, n: number): string[] {
  assertPartition(ring, partition);
  assertReplicas(n);
  const primaries: string[] = [];
  walk(ring, partition, (member) => {
    primaries.push(memberId(ring, member));
    return primaries.length < n;
  });
  return primaries;
}

/**
 * Where a request for the partition goes (Dynamo's sloppy quorum): each primary that is up as
 * itself; each primary that is down replaced, in order, by the next node further along the walk
 * that is up and not already listed, marked with the primary it stands in for (the hint). A down
 * primary with no fallback left is omitted. No node appears twice. `isUp` is asked once per node.
 */
export function preferenceList(
  ring: Ring,
  partition: number,
  n: number,
  isUp: (nodeId: string) => boolean,
): PreferenceEntry[] {
  assertPartition(ring, partition);
  assertReplicas(n);
  const primaries: { nodeId: string; up: boolean }[] = [];
  const fallbacks: string[] = [];
  let down = 0;
  walk(ring, partition, (member) => {
    const nodeId = memberId(ring, member);
    if (primaries.length < n) {
      const up = isUp(nodeId);
      primaries.push({ nodeId, up });
      if (!up) down++;
      return primaries.length < n || down > 0;
    }
    if (isUp(nodeId)) fallbacks.push(nodeId);
    return fallbacks.length < down;
  });
  const entries: PreferenceEntry[] = [];
  let nextFallback = 0;
  for (const primary of primaries) {
    if (primary.up) {
      entries.push({ nodeId: primary.nodeId, hintFor: undefined });
      continue;
    }
    const fallback = fallbacks[nextFallback++];
    if (fallback !== undefined) entries.push({ nodeId: fallback, hintFor: primary.nodeId });
  }
  return entries;
}

/** The partitions for which `nodeId` is one of the N primary replicas, ascending. */
export function partitionsReplicatedBy(ring: Ring, nodeId: string, n: number): number[] {
  assertReplicas(n);
  const partitions: number[] = [];
  for (let p = 0; p < ring.partitionCount; p++) {
    if (primaryReplicas(ring, p, n).includes(nodeId)) partitions.push(p);
  }
  return partitions;
}
