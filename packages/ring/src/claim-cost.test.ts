import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { previousPrimaries, ReplicaCost } from './claim-cost.js';
import { ClaimState } from './claim-state.js';
import type { Member, Ring } from './index.js';
import { claim, movementStats, replicaChanges } from './index.js';

const seed = 8_080;

/**
 * ReplicaCost over `owners` (indexes into `members`, sorted by id), against the ring before. With
 * `everyMemberOwns`, members count as owning partitions even while they own none, as in claim
 * once targets are set; otherwise those with a slot do, as in a finished ring.
 */
function costOf(
  before: Ring,
  members: readonly Member[],
  owners: Int32Array,
  n: number,
  everyMemberOwns: boolean,
): ReplicaCost {
  const indexById = new Map(members.map((m, index) => [m.id, index]));
  const state = new ClaimState(members, before.partitionCount, n, Int32Array.from(owners));
  if (everyMemberOwns) state.targets.fill(1);
  return new ReplicaCost(state, previousPrimaries(before, indexById, n));
}

const membersArbitrary = fc.uniqueArray(
  fc.record({ id: fc.stringMatching(/^[a-z0-9]{1,4}$/), zone: fc.constantFrom('', 'a', 'b', 'c') }),
  { minLength: 1, maxLength: 12, selector: (m) => m.id },
);

describe('ReplicaCost', () => {
  // Claim's fill walks the ring with its own copy of the preference-list walk: it must count
  // exactly what replicaChanges (the walk itself) counts, or claim optimises the wrong thing.
  it('counts the replica partitions added as movementStats(replicaChanges) does, for any two rings', () => {
    fc.assert(
      fc.property(
        membersArbitrary,
        membersArbitrary,
        fc.constantFrom(16, 64, 256),
        fc.integer({ min: 1, max: 5 }),
        (first, second, partitionCount, n) => {
          const before = claim(first, { partitionCount, replicas: n });
          const after = claim(second, { partitionCount, replicas: n });
          const expected = movementStats(replicaChanges(before, after, n)).added;
          expect(
            costOf(before, after.members, Int32Array.from(after.owners), n, false).added(),
          ).toBe(expected);
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  // apply keeps the walks and loads up to date, and delta answers from what it found before
  // until apply changes a slot it read: both must agree with a ReplicaCost built afresh.
  it('after any applied moves, counts and scores as a ReplicaCost built afresh on the same owners', () => {
    fc.assert(
      fc.property(
        membersArbitrary,
        fc.constantFrom(16, 64),
        fc.integer({ min: 2, max: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 12 }),
        (members, partitionCount, n, moves) => {
          const before = claim(members, { partitionCount, replicas: n });
          const owners = Int32Array.from(before.owners);
          const cost = costOf(before, before.members, owners, n, true);
          for (const [slot, member] of moves) {
            const probes = [0, 1, 2].map((i) => (slot + i * 7) % partitionCount);
            const scores = probes.map((p) => cost.delta(p, member % members.length));
            cost.apply(slot % partitionCount, (member >> 3) % members.length);
            owners[slot % partitionCount] = (member >> 3) % members.length;
            const fresh = costOf(before, before.members, owners, n, true);
            expect(cost.added()).toBe(fresh.added());
            // While every member still owns a slot, the walk's owning members are the ring's.
            const ring = { ...before, owners: Array.from(owners) };
            if (new Set(owners).size === members.length)
              expect(cost.added()).toBe(movementStats(replicaChanges(before, ring, n)).added);
            for (const p of probes)
              expect(cost.delta(p, member % members.length)).toBe(
                fresh.delta(p, member % members.length),
              );
            expect(scores.every(Number.isFinite)).toBe(true);
          }
        },
      ),
      { seed, numRuns: 100 },
    );
  });
});
