import type { Member } from './ring.js';

/**
 * The order members take turns in a fresh stripe: each zone's members spread evenly over the
 * sequence (member i of a zone of size k sits at fraction (2i+1)/2k), so consecutive turns go to
 * different zones as far as the zone sizes allow. Without zones this is simply id order.
 */
export function stripeOrder(members: readonly Member[], zoneOf: Int32Array): number[] {
  const zoneSizes = new Map<number, number>();
  const rankInZone = members.map((_, index) => {
    const zone = zoneOf[index] ?? 0;
    const rank = zoneSizes.get(zone) ?? 0;
    zoneSizes.set(zone, rank + 1);
    return rank;
  });
  const indexes = members.map((_, index) => index);
  return indexes.sort((a, b) => {
    const sizeA = zoneSizes.get(zoneOf[a] ?? 0) ?? 1;
    const sizeB = zoneSizes.get(zoneOf[b] ?? 0) ?? 1;
    // Compare (2 rank + 1) / (2 size) exactly, by cross-multiplying.
    const byFraction =
      (2 * (rankInZone[a] ?? 0) + 1) * sizeB - (2 * (rankInZone[b] ?? 0) + 1) * sizeA;
    if (byFraction !== 0) return byFraction;
    return (zoneOf[a] ?? 0) - (zoneOf[b] ?? 0) || a - b;
  });
}

/**
 * How many consecutive turns a fresh stripe skips together: with zones of equal size, a whole
 * round of zones (one turn of each), so the zones keep their rhythm around the ring; otherwise one.
 * Skipping a run of k turns is safe for node spacing while S >= N + k.
 */
export function skipRun(zoneOf: Int32Array, partitionCount: number, replicas: number): number {
  const sizes = new Map<number, number>();
  for (const zone of zoneOf) sizes.set(zone, (sizes.get(zone) ?? 0) + 1);
  const zoneCount = sizes.size;
  const memberCount = zoneOf.length;
  const equal = new Set(sizes.values()).size === 1;
  const rounds = Math.floor(partitionCount / memberCount);
  const spaced = memberCount >= replicas + zoneCount && rounds * zoneCount >= replicas - 1;
  return equal && zoneCount > 1 && zoneCount < memberCount && spaced ? zoneCount : 1;
}

/**
 * A fresh ring: the members take turns in `order` around the ring (Riak's diagonal stripe), so
 * each owns floor or ceil of Q/S partitions, and any S consecutive partitions have S distinct
 * owners. With Q = qS + r, plain turns break spacing at the wrap when r is 1..N-1 (the last r
 * turns are followed by the first turns again). Then the stripe is built as q+1 full rounds
 * from which each of the S-r members that get only q partitions skips one turn, in runs of
 * `run` consecutive turns, the runs spread over the rounds, so that no N consecutive owners
 * repeat a member.
 */
export function stripe(
  partitionCount: number,
  replicas: number,
  order: readonly number[],
  run: number,
): Int32Array {
  const memberCount = order.length;
  const rounds = Math.floor(partitionCount / memberCount);
  const remainder = partitionCount % memberCount;
  const owners = new Int32Array(partitionCount);
  if (rounds === 0 || remainder === 0 || remainder >= replicas) {
    for (let p = 0; p < partitionCount; p++) owners[p] = order[p % memberCount] ?? 0;
    return owners;
  }
  // Turn j (j >= remainder) is skipped in round floor((j - remainder) / run) mod (rounds + 1).
  let p = 0;
  for (let round = 0; round <= rounds; round++) {
    for (let turn = 0; turn < memberCount; turn++) {
      const skipped =
        turn >= remainder && Math.floor((turn - remainder) / run) % (rounds + 1) === round;
      if (!skipped) owners[p++] = order[turn] ?? 0;
    }
  }
  return owners;
}
