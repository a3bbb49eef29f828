import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Member, ReplicaChange, Ring } from './index.js';
import {
  claim,
  movementStats,
  partitionsReplicatedBy,
  replicaChanges,
  validateRing,
} from './index.js';
import { nodes, referenceOrder } from './test-support/ring-checks.js';

const seed = 1_212;

/** A hand-made ring (members sorted by id, owners as member indexes). */
function ring(ids: readonly string[], owners: readonly number[]): Ring {
  const made = {
    partitionCount: owners.length,
    members: ids.map((id) => ({ id, zone: '' })),
    owners,
  };
  expect(validateRing(made)).toBeUndefined();
  return made;
}

type Change =
  | { readonly kind: 'join'; readonly member: Member }
  | { readonly kind: 'leave'; readonly index: number }
  | { readonly kind: 'replace'; readonly index: number; readonly member: Member };

const zoneArbitrary = fc.constantFrom('', 'a', 'b', 'c');
/** Six letters, longer than any member's id: a joiner or replacement is never a member already. */
const newcomerArbitrary = fc.record({ id: fc.stringMatching(/^[a-z]{6}$/), zone: zoneArbitrary });
const changeArbitrary: fc.Arbitrary<Change> = fc.oneof(
  newcomerArbitrary.map((member) => ({ kind: 'join' as const, member })),
  fc.nat().map((index) => ({ kind: 'leave' as const, index })),
  fc
    .tuple(fc.nat(), newcomerArbitrary)
    .map(([index, member]) => ({ kind: 'replace' as const, index, member })),
);

/**
 * Random members (1..15, so with Q >= 16 every member owns a partition), Q, N and one change,
 * claimed from the ring before, as the claimant will.
 */
const transitionArbitrary = fc
  .record({
    members: fc.uniqueArray(
      fc.record({ id: fc.stringMatching(/^[a-z0-9]{1,5}$/), zone: zoneArbitrary }),
      { minLength: 1, maxLength: 15, selector: (m) => m.id },
    ),
    partitionCount: fc.constantFrom(16, 64, 256),
    n: fc.integer({ min: 1, max: 5 }),
    change: changeArbitrary,
  })
  .filter(({ members, change }) => change.kind !== 'leave' || members.length > 1)
  .map(({ members, partitionCount, n, change }) => {
    const before = claim(members, { partitionCount, replicas: n });
    const next = applyChange(members, change);
    return {
      before,
      after: claim(next, { partitionCount, replicas: n, previous: before }),
      n,
      change,
      leaving: change.kind === 'join' ? undefined : members[change.index % members.length]!.id,
    };
  });

function applyChange(members: readonly Member[], change: Change): Member[] {
  if (change.kind === 'join') return [...members, change.member];
  const rest = members.filter((_, i) => i !== change.index % members.length);
  return change.kind === 'leave' ? rest : [...rest, change.member];
}

/** Checks one partition against the reference order: the set law, or absence when unchanged. */
function expectPartitionLaw(
  before: Ring,
  after: Ring,
  n: number,
  partition: number,
  change: ReplicaChange | undefined,
): void {
  const was = referenceOrder(before, partition).slice(0, n);
  const is = referenceOrder(after, partition).slice(0, n);
  expect(was).toHaveLength(Math.min(n, before.members.length));
  expect(is).toHaveLength(Math.min(n, after.members.length));
  const same = was.length === is.length && was.every((id) => is.includes(id));
  if (change === undefined) {
    expect(same, `partition ${partition} changed but is not listed`).toBe(true);
    return;
  }
  expect(same, `partition ${partition} is listed but its replica set is the same`).toBe(false);
  expect(change.before).toEqual(was);
  expect(change.after).toEqual(is);
  expect(change.added.filter((id) => change.removed.includes(id))).toEqual([]);
  expect(change.removed.every((id) => was.includes(id))).toBe(true);
  const rebuilt = [...was.filter((id) => !change.removed.includes(id)), ...change.added];
  expect(new Set(rebuilt)).toEqual(new Set(is));
  expect(rebuilt).toHaveLength(is.length);
}

describe('replicaChanges', () => {
  it('lists the N partitions whose walk reaches a slot that changes owner, with who is added and removed', () => {
    // Slot 2 passes from c to e; with N = 2 the replica sets of partitions 1 and 2 include it.
    const before = ring(['a', 'b', 'c', 'd', 'e'], [0, 1, 2, 3, 0, 1, 2, 3]);
    const after = ring(['a', 'b', 'c', 'd', 'e'], [0, 1, 4, 3, 0, 1, 2, 3]);
    expect(replicaChanges(before, after, 2)).toEqual([
      { partition: 1, before: ['b', 'c'], after: ['b', 'e'], added: ['e'], removed: ['c'] },
      { partition: 2, before: ['c', 'd'], after: ['e', 'd'], added: ['e'], removed: ['c'] },
    ]);
  });

  it('does not list a partition whose replicas only change order', () => {
    // Three owners and N = 3: every partition is replicated by all three whatever the order.
    const before = ring(['a', 'b', 'c'], [0, 1, 2, 0, 1, 2, 0, 1]);
    const after = ring(['a', 'b', 'c'], [1, 0, 2, 1, 0, 2, 1, 0]);
    expect(referenceOrder(after, 0).slice(0, 3)).not.toEqual(referenceOrder(before, 0).slice(0, 3));
    expect(replicaChanges(before, after, 3)).toEqual([]);
  });

  it('gives [] for identical rings and for a claim over unchanged members', () => {
    fc.assert(
      fc.property(transitionArbitrary, ({ before, n }) => {
        expect(replicaChanges(before, before, n)).toEqual([]);
        const again = claim(before.members, {
          partitionCount: before.partitionCount,
          replicas: n,
          previous: before,
        });
        expect(replicaChanges(before, again, n)).toEqual([]);
      }),
      { seed, numRuns: 60 },
    );
  });

  it('keeps after = before - removed + added for every partition of a join, leave or replace, and lists only changed partitions, in order', () => {
    fc.assert(
      fc.property(transitionArbitrary, ({ before, after, n }) => {
        const changes = replicaChanges(before, after, n);
        const partitions = changes.map((c) => c.partition);
        expect(partitions).toEqual([...new Set(partitions)].sort((a, b) => a - b));
        const byPartition = new Map(changes.map((c) => [c.partition, c]));
        for (let p = 0; p < before.partitionCount; p++)
          expectPartitionLaw(before, after, n, p, byPartition.get(p));
      }),
      { seed, numRuns: 120 },
    );
  });

  it('adds a joiner to every partition it replicates and removes a leaver from every one it did', () => {
    fc.assert(
      fc.property(transitionArbitrary, ({ before, after, n, change, leaving }) => {
        const stats = movementStats(replicaChanges(before, after, n));
        const of = (id: string) => stats.perNode.find((m) => m.nodeId === id);
        if (change.kind !== 'leave') {
          const gained = partitionsReplicatedBy(after, change.member.id, n).length;
          expect(of(change.member.id)).toEqual({
            nodeId: change.member.id,
            added: gained,
            removed: 0,
          });
        }
        if (leaving !== undefined) {
          const lost = partitionsReplicatedBy(before, leaving, n).length;
          expect(of(leaving)).toEqual({ nodeId: leaving, added: 0, removed: lost });
        }
      }),
      { seed, numRuns: 200 },
    );
  });

  it('refuses rings of different sizes and a replica count outside 1..Q', () => {
    const small = claim(nodes(4), { partitionCount: 64, replicas: 3 });
    const large = claim(nodes(4), { partitionCount: 128, replicas: 3 });
    expect(() => replicaChanges(small, large, 3)).toThrow(/partition count is fixed/);
    for (const n of [0, -1, 1.5, Number.NaN, 65])
      expect(() => replicaChanges(small, small, n)).toThrow(/replica count must be an integer/);
  });
});

describe('movementStats', () => {
  it('totals the replica partitions added and removed, per node by id', () => {
    const changes: ReplicaChange[] = [
      { partition: 1, before: ['b', 'c'], after: ['b', 'e'], added: ['e'], removed: ['c'] },
      { partition: 2, before: ['c'], after: ['e', 'a'], added: ['e', 'a'], removed: ['c'] },
    ];
    expect(movementStats(changes)).toEqual({
      partitions: 2,
      added: 3,
      removed: 2,
      perNode: [
        { nodeId: 'a', added: 1, removed: 0 },
        { nodeId: 'c', added: 0, removed: 2 },
        { nodeId: 'e', added: 2, removed: 0 },
      ],
    });
    expect(movementStats([])).toEqual({ partitions: 0, added: 0, removed: 0, perNode: [] });
  });

  it('counts as many added as removed when every ring has at least N nodes', () => {
    fc.assert(
      fc.property(transitionArbitrary, ({ before, after, n }) => {
        fc.pre(before.members.length >= n && after.members.length >= n);
        const stats = movementStats(replicaChanges(before, after, n));
        expect(stats.added).toBe(stats.removed);
        expect(stats.perNode.reduce((sum, m) => sum + m.added, 0)).toBe(stats.added);
        expect(stats.perNode.reduce((sum, m) => sum + m.removed, 0)).toBe(stats.removed);
      }),
      { seed, numRuns: 100 },
    );
  });
});
