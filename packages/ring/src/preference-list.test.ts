import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Member, PreferenceEntry, Ring } from './index.js';
import { claim, partitionsReplicatedBy, preferenceList, primaryReplicas } from './index.js';
import { nodes, ownedCounts, referenceOrder } from './test-support/ring-checks.js';

const seed = 777;

const ringArbitrary: fc.Arbitrary<{ ring: Ring; n: number }> = fc
  .record({
    ids: fc.uniqueArray(fc.stringMatching(/^[a-z]{1,5}$/), { minLength: 1, maxLength: 24 }),
    zones: fc.array(fc.constantFrom('', 'east', 'west', 'north'), { minLength: 24, maxLength: 24 }),
    partitionCount: fc.constantFrom(8, 32, 64, 256),
    n: fc.integer({ min: 1, max: 5 }),
  })
  .map(({ ids, zones, partitionCount, n }) => {
    const members: Member[] = ids.map((id, i) => ({ id, zone: zones[i] ?? '' }));
    return { ring: claim(members, { partitionCount, replicas: Math.min(n, partitionCount) }), n };
  });

/** The expected preference list, built from the reference order the obvious way. */
function expectedList(
  ring: Ring,
  partition: number,
  n: number,
  down: ReadonlySet<string>,
): PreferenceEntry[] {
  const order = referenceOrder(ring, partition);
  const fallbacks = order.slice(n).filter((id) => !down.has(id));
  const entries: PreferenceEntry[] = [];
  for (const primary of order.slice(0, n)) {
    if (!down.has(primary)) entries.push({ nodeId: primary, hintFor: undefined });
    else {
      const fallback = fallbacks.shift();
      if (fallback !== undefined) entries.push({ nodeId: fallback, hintFor: primary });
    }
  }
  return entries;
}

describe('primaryReplicas', () => {
  it('is the first N of the preference order: distinct nodes, distinct zones first', () => {
    fc.assert(
      fc.property(ringArbitrary, fc.nat(), ({ ring, n }, at) => {
        const partition = at % ring.partitionCount;
        const primaries = primaryReplicas(ring, partition, n);
        expect(primaries).toEqual(referenceOrder(ring, partition).slice(0, n));
        expect(new Set(primaries).size).toBe(primaries.length);
      }),
      { seed, numRuns: 300 },
    );
  });

  it('starts with the owner and walks clockwise', () => {
    const ring = claim(nodes(5), { partitionCount: 16, replicas: 3 });
    const owner = (p: number): string => ring.members[ring.owners[p % 16]!]!.id;
    expect(primaryReplicas(ring, 15, 3)).toEqual([owner(15), owner(16), owner(17)]);
  });

  it('returns every node when there are N or fewer', () => {
    const ring = claim(nodes(2), { partitionCount: 64, replicas: 3 });
    expect(primaryReplicas(ring, 0, 3).sort()).toEqual(nodes(2).map((m) => m.id));
  });

  it('refuses a partition or replica count out of range', () => {
    const ring = claim(nodes(3), { partitionCount: 64, replicas: 3 });
    expect(() => primaryReplicas(ring, 64, 3)).toThrow(/partition 64/);
    expect(() => primaryReplicas(ring, -1, 3)).toThrow(/partition -1/);
    expect(() => primaryReplicas(ring, 0, 0)).toThrow(/replica count/);
  });
});

describe('preferenceList', () => {
  it('names the up primaries as themselves and a fallback for each down one, never a node twice', () => {
    fc.assert(
      fc.property(
        ringArbitrary,
        fc.nat(),
        fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }),
        ({ ring, n }, at, downFlags) => {
          const partition = at % ring.partitionCount;
          const down = new Set(ring.members.filter((_, i) => downFlags[i]).map((m) => m.id));
          const list = preferenceList(ring, partition, n, (id) => !down.has(id));
          expect(list).toEqual(expectedList(ring, partition, n, down));
          expect(new Set(list.map((e) => e.nodeId)).size).toBe(list.length);
          const primaries = primaryReplicas(ring, partition, n);
          for (const entry of list) {
            expect(down.has(entry.nodeId)).toBe(false);
            // hintFor is set exactly for fallbacks, and names a down primary.
            expect(entry.hintFor === undefined).toBe(primaries.includes(entry.nodeId));
            if (entry.hintFor !== undefined) expect(down.has(entry.hintFor)).toBe(true);
          }
        },
      ),
      { seed, numRuns: 400 },
    );
  });

  it('keeps the primaries order, fallbacks in the place of the primary they stand in for', () => {
    const ring = claim(nodes(6), { partitionCount: 64, replicas: 3 });
    const order = referenceOrder(ring, 10);
    const [first, second, third, fourth, fifth] = order;
    const list = preferenceList(ring, 10, 3, (id) => id !== first && id !== third);
    expect(list).toEqual([
      { nodeId: fourth, hintFor: first },
      { nodeId: second, hintFor: undefined },
      { nodeId: fifth, hintFor: third },
    ]);
  });

  it('omits a down primary when no node is left to stand in', () => {
    const ring = claim(nodes(3), { partitionCount: 64, replicas: 3 });
    const down = ring.members[ring.owners[0]!]!.id;
    const list = preferenceList(ring, 0, 3, (id) => id !== down);
    expect(list).toHaveLength(2);
    expect(list.every((e) => e.hintFor === undefined && e.nodeId !== down)).toBe(true);
    expect(preferenceList(ring, 0, 3, () => false)).toEqual([]);
  });

  it('asks whether a node is up at most once per node', () => {
    const ring = claim(nodes(8), { partitionCount: 256, replicas: 3 });
    const asked: string[] = [];
    preferenceList(ring, 42, 3, (id) => {
      asked.push(id);
      return asked.length > 2;
    });
    expect(new Set(asked).size).toBe(asked.length);
    expect(asked.length).toBe(5);
  });
});

describe('partitionsReplicatedBy', () => {
  it('gives every node an equal share: N times what it owns, when spaced', () => {
    for (const s of [4, 5, 8, 13, 32]) {
      const ring = claim(nodes(s), { partitionCount: 256, replicas: 3 });
      for (const member of ring.members) {
        const replicated = partitionsReplicatedBy(ring, member.id, 3);
        expect(replicated.length).toBe(3 * (ownedCounts(ring).get(member.id) ?? 0));
        expect(replicated.every((p) => primaryReplicas(ring, p, 3).includes(member.id))).toBe(true);
      }
    }
  });

  it('gives every node every partition with N or fewer nodes, and nothing to a stranger', () => {
    const ring = claim(nodes(3), { partitionCount: 64, replicas: 3 });
    for (const member of ring.members)
      expect(partitionsReplicatedBy(ring, member.id, 3)).toHaveLength(64);
    expect(partitionsReplicatedBy(ring, 'stranger', 3)).toEqual([]);
  });
});
