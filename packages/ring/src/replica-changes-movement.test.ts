import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Member, Ring } from './index.js';
import { claim, movementStats, primaryReplicas, replicaChanges } from './index.js';

const seed = 4_242;
const replicas = 3;
/** Member sets per (S, Q): enough for a median and a worst case that do not hang on one id set. */
const memberSetsPerShape = 12;
/** Replica partitions a join may add, as a multiple of the ideal N*Q/(S+1) (issue 12). */
const medianFactorMax = 1.25;
const worstFactorMax = 1.5;

interface Join {
  readonly s: number;
  readonly partitionCount: number;
  /** Replica partitions added, over the ideal N*Q/(S+1). */
  readonly ratio: number;
}

/** Member ids, one more than the largest S (the joiner), and whether the ring grew one by one. */
const memberSetArbitrary = fc.record({
  ids: fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 17, maxLength: 17 }),
  grownOneByOne: fc.boolean(),
});
const sMin = 3;
const sMax = 16;

function ratio(before: Ring, after: Ring, s: number): Join {
  const { partitionCount } = before;
  const { added } = movementStats(replicaChanges(before, after, replicas));
  return { s, partitionCount, ratio: added / ((replicas * partitionCount) / (s + 1)) };
}

/**
 * A join of member s to the first s members, for S = 3..16: to a fresh ring, or to the ring grown
 * one join at a time as a real cluster is (where the join of member s is the step to s+1 members).
 */
function measureJoins(
  members: readonly Member[],
  partitionCount: number,
  grownOneByOne: boolean,
): Join[] {
  const options = { partitionCount, replicas };
  const joins: Join[] = [];
  if (!grownOneByOne) {
    for (let s = sMin; s <= sMax; s++) {
      const base = claim(members.slice(0, s), options);
      joins.push(ratio(base, claim(members.slice(0, s + 1), { ...options, previous: base }), s));
    }
    return joins;
  }
  let base: Ring = claim(members.slice(0, 1), options);
  for (let k = 2; k <= sMax + 1; k++) {
    const grown = claim(members.slice(0, k), { ...options, previous: base });
    if (k - 1 >= sMin) joins.push(ratio(base, grown, k - 1));
    base = grown;
  }
  return joins;
}

/** Every join of measureJoins over the member sets, Q = 64 and 256, members in `zoneOf(i)`. */
function allJoins(zoneOf: (index: number) => string): Join[] {
  const memberSets = fc.sample(memberSetArbitrary, { seed, numRuns: memberSetsPerShape });
  const joins: Join[] = [];
  for (const partitionCount of [64, 256]) {
    for (const { ids, grownOneByOne } of memberSets) {
      const members = ids.map((id, i) => ({ id, zone: zoneOf(i) }));
      joins.push(...measureJoins(members, partitionCount, grownOneByOne));
    }
  }
  return joins;
}

function median(sorted: readonly number[]): number {
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle]!;
  return (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function summary(label: string, joins: readonly Join[]): { median: number; worst: number } {
  const ratios = joins.map((j) => j.ratio).sort((a, b) => a - b);
  const figures = { median: median(ratios), worst: ratios[ratios.length - 1]! };
  console.log(
    `${label}: ${joins.length} joins, replica partitions added / ideal N*Q/(S+1): median ${figures.median.toFixed(3)}, worst ${figures.worst.toFixed(3)}`,
  );
  return figures;
}

function expectWithinFactors(label: string, joins: readonly Join[]): void {
  for (const partitionCount of [64, 256])
    summary(
      `Q=${partitionCount} N=${replicas} S=${sMin}..${sMax}, ${label}`,
      joins.filter((j) => j.partitionCount === partitionCount),
    );
  const all = summary(`Q=64,256 N=${replicas} S=${sMin}..${sMax}, ${label}`, joins);
  expect(all.median).toBeLessThanOrEqual(medianFactorMax);
  expect(all.worst).toBeLessThanOrEqual(worstFactorMax);
}

describe('replicaChanges: movement of a join', () => {
  it('adds at most 1.25x the ideal N*Q/(S+1) replica partitions in the median and 1.5x at worst, S = 3..16 without zones', () => {
    const joins = allJoins(() => '');
    expect(joins).toHaveLength(2 * memberSetsPerShape * (sMax - sMin + 1));
    expectWithinFactors('no zones', joins);
  });

  // Members join the zones in turn, so the joiner goes to a smallest zone (never a new one: a
  // joiner alone in its zone is a primary of nearly every partition, whatever claim does).
  for (const zoneCount of [2, 3]) {
    it(`adds at most 1.25x the ideal in the median and 1.5x at worst with ${zoneCount} zones, S = 3..16`, () => {
      const joins = allJoins((i) => `zone-${i % zoneCount}`);
      expect(joins).toHaveLength(2 * memberSetsPerShape * (sMax - sMin + 1));
      expectWithinFactors(`${zoneCount} zones`, joins);
    });
  }
});

/** Largest over smallest replica load (partitions a member is a primary of) within one zone. */
function worstZoneSpread(ring: Ring): number {
  const loads = new Map<string, number>();
  for (let p = 0; p < ring.partitionCount; p++) {
    for (const id of primaryReplicas(ring, p, replicas)) loads.set(id, (loads.get(id) ?? 0) + 1);
  }
  const byZone = new Map<string, number[]>();
  for (const member of ring.members)
    byZone.set(member.zone, [...(byZone.get(member.zone) ?? []), loads.get(member.id) ?? 0]);
  return Math.max(...[...byZone.values()].map((l) => Math.max(...l) / Math.min(...l)));
}

/** Replica load within a zone may differ by this factor at most (Q=256, histories below). */
const zoneSpreadMax = 1.5;

describe('claim with zones: replica load', () => {
  // Claim may take slots where a joiner gains few replicas (that moves less), but must not let
  // the members of one zone drift apart in what they store, join after join.
  it('keeps the replica load within each zone within 1.5x through a history of joins (Q=256, 2 to 4 zones, up to 24 members)', () => {
    const spreads: string[] = [];
    for (const zoneCount of [2, 3, 4]) {
      let members: Member[] = [{ id: 'm00', zone: 'zone-0' }];
      let ring = claim(members, { partitionCount: 256, replicas });
      let worst = 1;
      for (let s = 2; s <= 24; s++) {
        members = [
          ...members,
          {
            id: `m${String((s * 37) % 100).padStart(2, '0')}`,
            zone: `zone-${(s - 1) % zoneCount}`,
          },
        ];
        ring = claim(members, { partitionCount: 256, replicas, previous: ring });
        if (s > zoneCount) worst = Math.max(worst, worstZoneSpread(ring));
      }
      spreads.push(`${zoneCount} zones ${worst.toFixed(2)}`);
      expect(worst, `${zoneCount} zones`).toBeLessThanOrEqual(zoneSpreadMax);
    }
    console.log(
      `Q=256 N=${replicas} joins 1->24, largest/smallest replica load in a zone: ${spreads.join(', ')}`,
    );
  });
});
