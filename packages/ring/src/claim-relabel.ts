import { unowned } from './claim-state.js';

/** Work (partition visits) the fallback may spend looking for the best rotation of a fresh stripe. */
const relabelWorkMax = 1 << 22;

/**
 * The fallback when the previous ring cannot be repaired: a fresh stripe, turned and relabelled
 * to overlap the previous owners as much as possible. Rotating a stripe or swapping two
 * members of the same zone keeps balance, node spacing and zone spacing, so the result is as good
 * as the fresh stripe while moving fewer partitions. For each rotation tried, members take the
 * stripe's members' places greedily by overlap (largest first, ties by index). `classOf` says
 * which members may swap places: those of one zone, or all those without a zone.
 */
export function relabelToPrevious(
  fresh: Int32Array,
  previous: Int32Array,
  classOf: Int32Array,
): Int32Array {
  const q = fresh.length;
  const rotations = Math.max(1, Math.min(q, Math.floor(relabelWorkMax / (4 * q))));
  const step = Math.floor(q / rotations);
  let best: { rotation: number; mapping: Int32Array; overlap: number } | undefined;
  for (let i = 0; i < rotations; i++) {
    const rotation = i * step;
    const { mapping, overlap } = bestMapping(fresh, previous, classOf, rotation);
    if (best === undefined || overlap > best.overlap) best = { rotation, mapping, overlap };
  }
  const chosen = best ?? { rotation: 0, mapping: Int32Array.from(classOf, (_, m) => m) };
  return Int32Array.from(
    { length: q },
    (_, p) => chosen.mapping[fresh[(p - chosen.rotation + q) % q] ?? 0] ?? 0,
  );
}

/** mapping[stripe member] = member taking its place, greedily maximising overlap with `previous`. */
function bestMapping(
  fresh: Int32Array,
  previous: Int32Array,
  classOf: Int32Array,
  rotation: number,
): { mapping: Int32Array; overlap: number } {
  const q = fresh.length;
  const memberCount = classOf.length;
  const pairs = new Map<number, number>();
  for (let p = 0; p < q; p++) {
    const before = previous[p] ?? unowned;
    const slot = fresh[(p - rotation + q) % q] ?? 0;
    if (before === unowned || classOf[before] !== classOf[slot]) continue;
    const key = slot * memberCount + before;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  const ranked = [...pairs.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const mapping = new Int32Array(memberCount).fill(unowned);
  const taken = new Uint8Array(memberCount);
  let overlap = 0;
  for (const [key, count] of ranked) {
    const slot = Math.floor(key / memberCount);
    const member = key % memberCount;
    if (mapping[slot] !== unowned || taken[member] === 1) continue;
    mapping[slot] = member;
    taken[member] = 1;
    overlap += count;
  }
  fillSameZone(mapping, taken, classOf);
  return { mapping, overlap };
}

/** Places still unmapped go to members still free, within the same zone, in index order. */
function fillSameZone(mapping: Int32Array, taken: Uint8Array, classOf: Int32Array): void {
  for (let slot = 0; slot < mapping.length; slot++) {
    if (mapping[slot] !== unowned) continue;
    for (let member = 0; member < taken.length; member++) {
      if (taken[member] === 1 || classOf[member] !== classOf[slot]) continue;
      mapping[slot] = member;
      taken[member] = 1;
      break;
    }
  }
}
