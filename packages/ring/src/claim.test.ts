import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimDetailed } from './claim.js';
import type { Ring } from './index.js';
import { claim, membersMax, primaryReplicas } from './index.js';
import {
  imbalance,
  moved,
  nodes,
  ownedCounts,
  spacingViolations,
  zoneKey,
  zonedNodes,
  zoneWindowViolations,
} from './test-support/ring-checks.js';

const seed = 20_240_601;
const replicas = 3;

function expectBalancedAndSpaced(ring: Ring, n: number): void {
  expect(imbalance(ring)).toBeLessThanOrEqual(1);
  if (ring.members.length > n) expect(spacingViolations(ring, n)).toEqual([]);
}

const idArbitrary = fc.stringMatching(/^[a-z0-9-]{1,8}$/);

describe('claim: determinism', () => {
  it('gives the same ring for the same members in any order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: idArbitrary, zone: fc.constantFrom('', 'a', 'b', 'c') }), {
          minLength: 1,
          maxLength: 40,
          selector: (m) => m.id,
        }),
        fc.constantFrom(64, 256, 1024),
        fc.integer({ min: 1, max: 5 }),
        fc.nat(),
        (members, partitionCount, n, shuffleSeed) => {
          const shuffled = shuffle(members, shuffleSeed);
          const a = claim(members, { partitionCount, replicas: n });
          const b = claim(shuffled, { partitionCount, replicas: n });
          expect(b).toEqual(a);
          expect(a.members.map((m) => m.id)).toEqual([...members.map((m) => m.id)].sort());
        },
      ),
      { seed, numRuns: 150 },
    );
  });

  it('gives the same ring from the same previous ring and members in any order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(idArbitrary, { minLength: 2, maxLength: 30 }),
        fc.nat(),
        (ids, shuffleSeed) => {
          const before = claim(
            ids.slice(1).map((id) => ({ id, zone: '' })),
            { partitionCount: 256, replicas },
          );
          const members = ids.slice(0, -1).map((id) => ({ id, zone: '' }));
          const a = claim(members, { partitionCount: 256, replicas, previous: before });
          const b = claim(shuffle(members, shuffleSeed), {
            partitionCount: 256,
            replicas,
            previous: before,
          });
          expect(b).toEqual(a);
        },
      ),
      { seed, numRuns: 60 },
    );
  });
});

describe('claim: determinism with zones', () => {
  // With zones claim also fills by replica cost, which must not depend on the members' order.
  it('gives the same ring from the same previous ring and zoned members in any order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ id: idArbitrary, zone: fc.constantFrom('', 'a', 'b', 'c') }), {
          minLength: 2,
          maxLength: 20,
          selector: (m) => m.id,
        }),
        fc.constantFrom(64, 256),
        fc.nat(),
        (members, partitionCount, shuffleSeed) => {
          const before = claim(members.slice(1), { partitionCount, replicas });
          const after = members.slice(0, -1);
          const a = claim(after, { partitionCount, replicas, previous: before });
          const b = claim(shuffle(after, shuffleSeed), {
            partitionCount,
            replicas,
            previous: before,
          });
          expect(b).toEqual(a);
          expectBalancedAndSpaced(a, replicas);
        },
      ),
      { seed, numRuns: 60 },
    );
  });
});

describe('claim: balance and spacing of a fresh ring', () => {
  it('gives every node floor or ceil of Q/S partitions, and N distinct owners in every N consecutive partitions, for S = 1..64', () => {
    for (const partitionCount of [256, 64, 128, 512, 1024]) {
      for (let s = 1; s <= 64; s++) {
        const ring = claim(nodes(s), { partitionCount, replicas });
        const counts = [...ownedCounts(ring).values()];
        expect(Math.min(...counts)).toBe(Math.floor(partitionCount / s));
        expect(Math.max(...counts)).toBe(Math.ceil(partitionCount / s));
        if (s > replicas)
          expect(spacingViolations(ring, replicas), `Q=${partitionCount} S=${s}`).toEqual([]);
      }
    }
  });

  it('keeps balance and spacing for other replica counts and small rings', () => {
    for (const partitionCount of [8, 16, 32, 256]) {
      for (const n of [1, 2, 4, 5]) {
        if (n > partitionCount) continue;
        for (let s = 1; s <= Math.min(64, partitionCount + 4); s++) {
          const ring = claim(nodes(s), { partitionCount, replicas: n });
          expect(imbalance(ring), `Q=${partitionCount} N=${n} S=${s}`).toBeLessThanOrEqual(1);
          // Spacing needs room: ceil(Q/S) partitions per node at least N apart.
          if (s > n && Math.ceil(partitionCount / s) * n <= partitionCount) {
            expect(spacingViolations(ring, n), `Q=${partitionCount} N=${n} S=${s}`).toEqual([]);
          }
        }
      }
    }
  });

  it('gives members beyond Q no partitions and the others one each', () => {
    const ring = claim(nodes(20), { partitionCount: 16, replicas });
    expect([...ownedCounts(ring).values()].filter((c) => c === 1)).toHaveLength(16);
    expect(spacingViolations(ring, replicas)).toEqual([]);
  });
});

describe('claim: zones', () => {
  it('makes every preference list span min(N, zones) zones, with equal zones of 1..8 nodes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(64, 256, 1024),
        fc.integer({ min: 2, max: 4 }),
        (zoneCount, perZone, partitionCount, n) => {
          const ring = claim(zonedNodes(zoneCount, perZone), { partitionCount, replicas: n });
          expectBalancedAndSpaced(ring, n);
          const zoneOf = new Map(ring.members.map((m) => [m.id, zoneKey(m)]));
          for (let p = 0; p < partitionCount; p++) {
            const zones = new Set(primaryReplicas(ring, p, n).map((id) => zoneOf.get(id)));
            expect(zones.size).toBe(Math.min(n, zoneCount));
          }
        },
      ),
      { seed, numRuns: 80 },
    );
  });

  it('spaces zones in a fresh ring: N consecutive partitions in N zones, except the unavoidable windows', () => {
    for (const partitionCount of [64, 256, 1024]) {
      for (let zoneCount = 2; zoneCount <= 5; zoneCount++) {
        for (let perZone = 2; perZone <= 8; perZone++) {
          const ring = claim(zonedNodes(zoneCount, perZone), { partitionCount, replicas });
          const width = Math.min(replicas, zoneCount);
          // With Q not a multiple of the zone rhythm the wrap breaks at most two windows.
          expect(
            zoneWindowViolations(ring, width),
            `Q=${partitionCount} Z=${zoneCount} per zone ${perZone}`,
          ).toBeLessThanOrEqual(2);
        }
      }
    }
  });

  it('keeps node spacing and zone-spanning preference lists through zone-aware membership changes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 2, max: 6 }),
        fc.nat(3),
        (zoneCount, perZone, zone) => {
          const members = zonedNodes(zoneCount, perZone);
          const before = claim(members, { partitionCount: 256, replicas });
          const after = claim([...members, { id: 'joiner', zone: `zone-${zone % zoneCount}` }], {
            partitionCount: 256,
            replicas,
            previous: before,
          });
          expectBalancedAndSpaced(after, replicas);
          const zoneOf = new Map(after.members.map((m) => [m.id, zoneKey(m)]));
          for (let p = 0; p < 256; p++) {
            expect(
              new Set(primaryReplicas(after, p, replicas).map((id) => zoneOf.get(id))).size,
            ).toBe(Math.min(replicas, zoneCount));
          }
        },
      ),
      { seed, numRuns: 30 },
    );
  });
});

describe('claim: from a previous ring', () => {
  it('moves nothing when the members have not changed', () => {
    const ring = claim(nodes(10), { partitionCount: 256, replicas });
    expect(moved(ring, claim(nodes(10), { partitionCount: 256, replicas, previous: ring }))).toBe(
      0,
    );
  });

  it('keeps balance and spacing through arbitrary membership changes', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(idArbitrary, { minLength: 2, maxLength: 60 }),
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        fc.constantFrom(64, 256, 1024),
        (ids, before, after, partitionCount) => {
          const first = claim(
            ids.slice(0, before).map((id) => ({ id, zone: '' })),
            { partitionCount, replicas },
          );
          const members = ids
            .slice(Math.max(0, ids.length - after))
            .map((id) => ({ id, zone: '' }));
          const { ring } = claimDetailed(members, { partitionCount, replicas, previous: first });
          expectBalancedAndSpaced(ring, replicas);
          // A leaving member's 2(N-1) neighbours cannot take its partitions without breaking
          // spacing, so even the best claim moves about 1 + 2(N-1)/(S-1) times the bare minimum.
          const neighbourFactor = 1 + (2 * (replicas - 1)) / Math.max(1, members.length - 1);
          expect(moved(first, ring)).toBeLessThanOrEqual(
            1.25 * neighbourFactor * necessaryMovement(first, members) + 4,
          );
        },
      ),
      { seed, numRuns: 120 },
    );
  });

  it('moves the partitions of members that left, and few others', () => {
    const before = claim(nodes(12), { partitionCount: 256, replicas });
    const leaving = new Set([nodes(12)[3]!.id, nodes(12)[7]!.id]);
    const after = claim(
      nodes(12).filter((m) => !leaving.has(m.id)),
      { partitionCount: 256, replicas, previous: before },
    );
    const leftOwned = before.owners.filter((owner) =>
      leaving.has(before.members[owner]!.id),
    ).length;
    expect(leftOwned).toBe(43);
    expect(moved(before, after)).toBeGreaterThanOrEqual(leftOwned);
    expect(moved(before, after)).toBeLessThanOrEqual(1.5 * leftOwned);
    expectBalancedAndSpaced(after, replicas);
  });

  it('refuses bad input as a programmer error', () => {
    expect(() => claim([], { partitionCount: 256, replicas })).toThrow(/1\.\.1024 members/);
    expect(() =>
      claim(
        [
          { id: 'a', zone: '' },
          { id: 'a', zone: 'z' },
        ],
        { partitionCount: 256, replicas },
      ),
    ).toThrow(/listed twice/);
    expect(() => claim(nodes(3), { partitionCount: 100, replicas })).toThrow(/power of two/);
    expect(() => claim(nodes(membersMax + 1), { partitionCount: 256, replicas })).toThrow(
      /members/,
    );
    const other = claim(nodes(3), { partitionCount: 128, replicas });
    expect(() => claim(nodes(3), { partitionCount: 256, replicas, previous: other })).toThrow(
      /fixed/,
    );
  });
});

describe('claim: small and odd shapes', () => {
  it('stays balanced, and spaced where there is room, for tiny rings, any N and zones, with or without a previous ring', () => {
    const memberArbitrary = fc.uniqueArray(
      fc.record({ id: fc.stringMatching(/^[a-h]{1,2}$/), zone: fc.constantFrom('', 'x', 'y') }),
      {
        minLength: 1,
        maxLength: 12,
        selector: (m) => m.id,
      },
    );
    fc.assert(
      fc.property(
        memberArbitrary,
        memberArbitrary,
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        (first, second, bits, n) => {
          const partitionCount = 2 ** bits;
          const replicas = Math.min(n, partitionCount);
          const before = claim(first, { partitionCount, replicas });
          for (const ring of [
            before,
            claim(second, { partitionCount, replicas, previous: before }),
          ]) {
            expect(imbalance(ring)).toBeLessThanOrEqual(1);
            const s = ring.members.length;
            if (s > replicas && Math.ceil(partitionCount / s) * replicas <= partitionCount) {
              expect(spacingViolations(ring, replicas)).toEqual([]);
            }
            const owning = new Set(ring.owners).size;
            for (let p = 0; p < partitionCount; p++)
              expect(primaryReplicas(ring, p, replicas)).toHaveLength(Math.min(replicas, owning));
          }
        },
      ),
      { seed: 5150, numRuns: 400 },
    );
  });
});

/**
 * A lower bound on the partitions a membership change must move: those of members that left,
 * plus each staying member's excess over ceil(Q/S), or what the joiners need at least.
 */
function necessaryMovement(before: Ring, members: readonly { id: string }[]): number {
  const q = before.partitionCount;
  const staying = new Set(members.map((m) => m.id));
  const counts = ownedCounts(before);
  let released = 0;
  for (const [id, count] of counts)
    released += staying.has(id) ? Math.max(0, count - Math.ceil(q / members.length)) : count;
  const joiners = members.filter((m) => !counts.has(m.id)).length;
  return Math.max(released, joiners * Math.floor(q / members.length));
}

function shuffle<T>(items: readonly T[], shuffleSeed: number): T[] {
  const copy = [...items];
  let state = shuffleSeed | 1;
  for (let i = copy.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    const j = state % (i + 1);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
