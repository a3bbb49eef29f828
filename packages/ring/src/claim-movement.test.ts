import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Member, Ring } from './index.js';
import { claim, transferPlan } from './index.js';
import { imbalance, nodes, ownedCounts, spacingViolations } from './test-support/ring-checks.js';

const seed = 31_337;
const replicas = 3;
/** Movement allowed, as a multiple of the least possible. */
const movementFactorMax = 1.5;

interface Round {
  readonly s: number;
  readonly ideal: number;
  readonly joinMoved: number;
  readonly joinerOwned: number;
  readonly leaveMoved: number;
}

/** S members, then one joins (claimed from the S ring), then it leaves again (from the S+1 ring). */
function joinAndLeave(
  base: Ring,
  members: readonly Member[],
  joiner: Member,
): { round: Round; grown: Ring; shrunk: Ring } {
  const { partitionCount } = base;
  const grown = claim([...members, joiner], { partitionCount, replicas, previous: base });
  const shrunk = claim(members, { partitionCount, replicas, previous: grown });
  const round: Round = {
    s: members.length,
    ideal: Math.ceil(partitionCount / (members.length + 1)),
    joinMoved: transferPlan(base, grown).length,
    joinerOwned: ownedCounts(grown).get(joiner.id) ?? 0,
    leaveMoved: transferPlan(grown, shrunk).length,
  };
  return { round, grown, shrunk };
}

function expectRoundWithinLimits(round: Round, grown: Ring, shrunk: Ring): void {
  const where = `S=${round.s}`;
  expect(round.joinMoved, where).toBeLessThanOrEqual(movementFactorMax * round.ideal);
  expect(round.leaveMoved, where).toBeLessThanOrEqual(movementFactorMax * round.joinerOwned);
  expect(imbalance(grown), where).toBeLessThanOrEqual(1);
  expect(imbalance(shrunk), where).toBeLessThanOrEqual(1);
  expect(spacingViolations(grown, replicas), where).toEqual([]);
  if (round.s > replicas) expect(spacingViolations(shrunk, replicas), where).toEqual([]);
}

function table(partitionCount: number, rounds: readonly Round[]): string {
  const header = `Q=${partitionCount} N=${replicas}: partitions moved when a node joins S nodes, and when it leaves again
  S | ideal ceil(Q/(S+1)) | join moved | join/ideal | joiner owned | leave moved | leave/owned`;
  const lines = rounds.map((r) =>
    [
      String(r.s).padStart(3),
      String(r.ideal).padStart(19),
      String(r.joinMoved).padStart(10),
      (r.joinMoved / r.ideal).toFixed(2).padStart(10),
      String(r.joinerOwned).padStart(12),
      String(r.leaveMoved).padStart(11),
      (r.leaveMoved / r.joinerOwned).toFixed(2).padStart(11),
    ].join(' | '),
  );
  return [header, ...lines].join('\n');
}

describe('claim: movement', () => {
  for (const partitionCount of [256, 64, 1024]) {
    it(`moves at most 1.5x the ideal when a node joins S = 3..32 nodes and 1.5x its share when it leaves (Q=${partitionCount})`, () => {
      const rounds: Round[] = [];
      for (let s = 3; s <= 32; s++) {
        const members = nodes(s);
        // The joiner's id sorts into the middle of the members, not at the end.
        const joiner = {
          id: `node-${String(Math.floor(s / 2)).padStart(3, '0')}-joiner`,
          zone: '',
        };
        const { round, grown, shrunk } = joinAndLeave(
          claim(members, { partitionCount, replicas }),
          members,
          joiner,
        );
        expectRoundWithinLimits(round, grown, shrunk);
        rounds.push(round);
      }
      console.log(table(partitionCount, rounds));
    });
  }

  it('keeps those limits for random ids and for rings grown one node at a time', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 33, maxLength: 33 }),
        fc.integer({ min: 3, max: 32 }),
        fc.constantFrom(64, 256, 1024),
        fc.boolean(),
        (ids, s, partitionCount, grownOneByOne) => {
          const members = ids.slice(0, s).map((id) => ({ id, zone: '' }));
          let base = claim(members.slice(0, grownOneByOne ? 1 : s), { partitionCount, replicas });
          for (let k = 2; grownOneByOne && k <= s; k++)
            base = claim(members.slice(0, k), { partitionCount, replicas, previous: base });
          const { round, grown, shrunk } = joinAndLeave(base, members, { id: ids[s]!, zone: '' });
          expectRoundWithinLimits(round, grown, shrunk);
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  it('moves little when any member of a fresh ring leaves', () => {
    const lines: string[] = [];
    for (let s = 4; s <= 33; s++) {
      const ring = claim(nodes(s), { partitionCount: 256, replicas });
      for (const leaving of [0, Math.floor(s / 2)]) {
        const members = nodes(s).filter((_, i) => i !== leaving);
        const after = claim(members, { partitionCount: 256, replicas, previous: ring });
        const owned = ownedCounts(ring).get(nodes(s)[leaving]!.id) ?? 0;
        const movedCount = transferPlan(ring, after).length;
        // In a stripe the leaving member's 2(N-1) neighbours cannot take its partitions, so some
        // must go round through a third member: the least movement is about this factor times owned.
        const neighbourFactor = 1 + (2 * (replicas - 1)) / (s - 2);
        expect(movedCount, `S=${s} leaving ${leaving}`).toBeLessThanOrEqual(
          1.25 * neighbourFactor * owned + 4,
        );
        expect(imbalance(after)).toBeLessThanOrEqual(1);
        if (s - 1 > replicas) expect(spacingViolations(after, replicas)).toEqual([]);
        lines.push(`${s}->${s - 1} (member ${leaving}): ${movedCount}/${owned}`);
      }
    }
    console.log(
      `Q=256 N=3 a member of a fresh ring leaves, partitions moved / owned by it: ${lines.join(', ')}`,
    );
  });

  it('keeps balance and spacing through a history of joins and leaves, moving little at each step', () => {
    let members: Member[] = nodes(1);
    let ring = claim(members, { partitionCount: 256, replicas });
    const steps: string[] = [];
    const step = (next: Member[], allowed: number): void => {
      const after = claim(next, { partitionCount: 256, replicas, previous: ring });
      const movedCount = transferPlan(ring, after).length;
      steps.push(`${members.length}->${next.length}: ${movedCount}`);
      expect(imbalance(after)).toBeLessThanOrEqual(1);
      if (next.length > replicas) {
        expect(spacingViolations(after, replicas)).toEqual([]);
        expect(movedCount, `${members.length}->${next.length}`).toBeLessThanOrEqual(allowed);
      }
      members = next;
      ring = after;
    };
    for (let s = 2; s <= 33; s++)
      step(
        [...members, { id: `x${(s * 7919) % 1000}`, zone: '' }],
        movementFactorMax * Math.ceil(256 / s),
      );
    for (let s = 32; s >= 1; s--) {
      const leaving = members[(s * 31) % members.length]!;
      step(
        members.filter((m) => m !== leaving),
        movementFactorMax * (ownedCounts(ring).get(leaving.id) ?? 0),
      );
    }
    console.log(`Q=256 N=3 history, partitions moved per step: ${steps.join(', ')}`);
  });
});
