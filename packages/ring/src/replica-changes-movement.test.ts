import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Member, Ring } from './index.js';
import { claim, movementStats, replicaChanges } from './index.js';

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

/** The S-member ring (fresh, or grown one join at a time as a real cluster is), then one join. */
function measureJoin(
  members: readonly Member[],
  joiner: Member,
  partitionCount: number,
  grownOneByOne: boolean,
): Join {
  let base: Ring = claim(members.slice(0, grownOneByOne ? 1 : members.length), {
    partitionCount,
    replicas,
  });
  for (let k = 2; grownOneByOne && k <= members.length; k++)
    base = claim(members.slice(0, k), { partitionCount, replicas, previous: base });
  const grown = claim([...members, joiner], { partitionCount, replicas, previous: base });
  const { added } = movementStats(replicaChanges(base, grown, replicas));
  const s = members.length;
  return { s, partitionCount, ratio: added / ((replicas * partitionCount) / (s + 1)) };
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

describe('replicaChanges: movement of a join', () => {
  it('adds at most 1.25x the ideal N*Q/(S+1) replica partitions in the median and 1.5x at worst, S = 3..16 without zones', () => {
    const memberSets = fc.sample(memberSetArbitrary, { seed, numRuns: memberSetsPerShape });
    const joins: Join[] = [];
    for (const partitionCount of [64, 256]) {
      for (let s = 3; s <= 16; s++) {
        for (const { ids, grownOneByOne } of memberSets) {
          const members = ids.slice(0, s).map((id) => ({ id, zone: '' }));
          joins.push(
            measureJoin(members, { id: ids[s]!, zone: '' }, partitionCount, grownOneByOne),
          );
        }
      }
    }
    for (const partitionCount of [64, 256])
      summary(
        `Q=${partitionCount} N=${replicas} S=3..16, no zones`,
        joins.filter((j) => j.partitionCount === partitionCount),
      );
    const all = summary(`Q=64,256 N=${replicas} S=3..16, no zones`, joins);
    expect(all.median).toBeLessThanOrEqual(medianFactorMax);
    expect(all.worst).toBeLessThanOrEqual(worstFactorMax);
  });
});
