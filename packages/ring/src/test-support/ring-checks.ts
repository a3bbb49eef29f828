import type { Member, Ring } from '../index.js';

export function nodes(count: number, prefix = 'node'): Member[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${String(i).padStart(3, '0')}`,
    zone: '',
  }));
}

/** `zoneCount` zones of `perZone` members each, ids interleaved so zones are not id ranges. */
export function zonedNodes(zoneCount: number, perZone: number): Member[] {
  const members: Member[] = [];
  for (let i = 0; i < perZone; i++) {
    for (let z = 0; z < zoneCount; z++)
      members.push({ id: `n${String(i * zoneCount + z).padStart(3, '0')}`, zone: `zone-${z}` });
  }
  return members;
}

/** Partitions owned per member id (members owning none included, with 0). */
export function ownedCounts(ring: Ring): Map<string, number> {
  const counts = new Map(ring.members.map((m) => [m.id, 0]));
  for (const owner of ring.owners) {
    const id = ring.members[owner]!.id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Largest minus smallest number of partitions owned by a member. */
export function imbalance(ring: Ring): number {
  const counts = [...ownedCounts(ring).values()];
  return Math.max(...counts) - Math.min(...counts);
}

/** Start partitions of windows of `width` consecutive partitions (wrapping) with a repeated owner. */
export function spacingViolations(ring: Ring, width: number): number[] {
  const bad: number[] = [];
  const q = ring.partitionCount;
  for (let p = 0; p < q; p++) {
    const owners = new Set<number>();
    for (let d = 0; d < width; d++) owners.add(ring.owners[(p + d) % q]!);
    if (owners.size < Math.min(width, q)) bad.push(p);
  }
  return bad;
}

/** Windows of `width` consecutive partitions whose owners are not in `width` distinct zones. */
export function zoneWindowViolations(ring: Ring, width: number): number {
  let bad = 0;
  const q = ring.partitionCount;
  for (let p = 0; p < q; p++) {
    const zones = new Set<string>();
    for (let d = 0; d < width; d++) zones.add(zoneKey(ring.members[ring.owners[(p + d) % q]!]!));
    if (zones.size < width) bad++;
  }
  return bad;
}

export function zoneKey(member: Member): string {
  return member.zone === '' ? `node:${member.id}` : `zone:${member.zone}`;
}

/** How many partitions changed owner. */
export function moved(before: Ring, after: Ring): number {
  let count = 0;
  for (let p = 0; p < before.partitionCount; p++) {
    if (before.members[before.owners[p]!]!.id !== after.members[after.owners[p]!]!.id) count++;
  }
  return count;
}

/**
 * Reference model of the preference order, written the slow obvious way: walk once taking owners
 * in new zones, walk again taking the remaining owners.
 */
export function referenceOrder(ring: Ring, partition: number): string[] {
  const q = ring.partitionCount;
  const walkOwners = Array.from(
    { length: q },
    (_, i) => ring.members[ring.owners[(partition + i) % q]!]!,
  );
  const order: Member[] = [];
  for (const member of walkOwners) {
    if (!order.some((m) => zoneKey(m) === zoneKey(member))) order.push(member);
  }
  for (const member of walkOwners) {
    if (!order.includes(member)) order.push(member);
  }
  return order.map((m) => m.id);
}

/** Partitions replicated by each member (as a primary), counted from the reference order. */
export function replicatedCounts(ring: Ring, n: number): Map<string, number> {
  const counts = new Map(ring.members.map((m) => [m.id, 0]));
  for (let p = 0; p < ring.partitionCount; p++) {
    for (const id of referenceOrder(ring, p).slice(0, n)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}
