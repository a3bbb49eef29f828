import { partitionOf, primaryReplicas, type PreferenceEntry } from '@ringstore/ring';
import { describe, expect, it } from 'vitest';
import { ClusterView } from './cluster-view.js';

const nodeIds = ['n1', 'n2', 'n3', 'n4', 'n5'];
const nodes = nodeIds.map((id, i) => ({
  id,
  address: `127.0.0.1:${7_001 + i}`,
  peerAddress: `127.0.0.1:${7_101 + i}`,
}));
const partitionCount = 256;
const replicas = 3;
const view = ClusterView.ofNodes('n1', nodes, partitionCount, replicas);
const partitions = Array.from({ length: partitionCount }, (_, p) => p);

/** The full preference order of a partition: every node, primaries first, then the fallbacks in walk order. */
function order(p: number): string[] {
  return primaryReplicas(view.ring, p, nodeIds.length);
}

/** A fake failure detector: every node but the given ones is up. */
function upExcept(down: Iterable<string>): (nodeId: string) => boolean {
  const set = new Set(down);
  return (nodeId) => nodeIds.includes(nodeId) && !set.has(nodeId);
}

function subsets<T>(items: readonly T[], size: number): T[][] {
  if (size === 0) return [[]];
  const [first, ...rest] = items;
  if (first === undefined) return [];
  return [...subsets(rest, size - 1).map((s) => [first, ...s]), ...subsets(rest, size)];
}

/** What holds of every target list: no node twice, only up nodes, hintFor only on non-primaries and naming a down primary. */
function expectWellFormed(
  targets: readonly PreferenceEntry[],
  primaries: readonly string[],
  isUp: (id: string) => boolean,
): void {
  const problems: string[] = [];
  const ids = targets.map((t) => t.nodeId);
  const hinted = targets.flatMap((t) => (t.hintFor === undefined ? [] : [t.hintFor]));
  if (new Set(ids).size !== ids.length) problems.push(`a node twice: ${ids.join(',')}`);
  if (new Set(hinted).size !== hinted.length)
    problems.push(`a primary stood in for twice: ${hinted.join(',')}`);
  for (const t of targets) {
    if (!isUp(t.nodeId)) problems.push(`${t.nodeId} is down`);
    if (primaries.includes(t.nodeId) !== (t.hintFor === undefined))
      problems.push(
        `${t.nodeId}: hintFor ${t.hintFor} on a ${primaries.includes(t.nodeId) ? 'primary' : 'fallback'}`,
      );
    if (t.hintFor !== undefined && (!primaries.includes(t.hintFor) || isUp(t.hintFor)))
      problems.push(`${t.nodeId}: hint for ${t.hintFor}, not a down primary`);
  }
  expect(problems).toEqual([]);
}

describe('ClusterView: primaries and isReplica', () => {
  it('agrees with @ringstore/ring primaryReplicas on every partition, for every node', () => {
    const views = nodes.map((n) => ClusterView.ofNodes(n.id, nodes, partitionCount, replicas));
    let replicaSlots = 0;
    for (const p of partitions) {
      const expected = primaryReplicas(view.ring, p, replicas);
      expect(expected).toHaveLength(replicas);
      expect(new Set(expected).size).toBe(replicas);
      for (const v of views) {
        expect(v.primaries(p)).toEqual(expected);
        expect(v.isReplica(p)).toBe(expected.includes(v.selfId));
        if (v.isReplica(p)) replicaSlots++;
      }
    }
    expect(replicaSlots).toBe(partitionCount * replicas);
    // Each node replicates a fair share (3/5 of 256 is about 154).
    for (const v of views) {
      const mine = partitions.filter((p) => v.isReplica(p)).length;
      expect(mine).toBeGreaterThan(120);
      expect(mine).toBeLessThan(190);
    }
  });

  it('knows every node address and maps keys to partitions as the ring does', () => {
    for (const n of nodes) expect(view.addressOf(n.id)).toBe(n.address);
    for (const n of nodes) expect(view.peerAddressOf(n.id)).toBe(n.peerAddress);
    expect(view.addressOf('n6')).toBeUndefined();
    expect(view.peerAddressOf('n6')).toBeUndefined();
    for (const k of ['a', 'user:42', '', 'ü']) {
      const key = new TextEncoder().encode(k);
      expect(view.partitionOf(key)).toBe(partitionOf(key, partitionCount));
    }
  });
});

describe('ClusterView addresses', () => {
  it('gives a node named without a peer address its client port + 1, as --nodes does', () => {
    const bare = ClusterView.ofNodes('n1', [{ id: 'n1', address: '10.0.0.1:7001' }], 16, 1);
    expect(bare.addressOf('n1')).toBe('10.0.0.1:7001');
    expect(bare.peerAddressOf('n1')).toBe('10.0.0.1:7002');
  });

  it('keeps both addresses of a node that left, forgets those of a removed one', () => {
    const doc = view.document;
    const statusOf = (id: string) => (id === 'n4' ? 'left' : id === 'n5' ? 'removed' : 'valid');
    const after = new ClusterView('n1', {
      ...doc,
      nodes: doc.nodes.map((n) => ({ ...n, status: statusOf(n.id) })),
    });
    expect([after.addressOf('n4'), after.peerAddressOf('n4')]).toEqual([
      '127.0.0.1:7004',
      '127.0.0.1:7104',
    ]);
    expect([after.addressOf('n5'), after.peerAddressOf('n5')]).toEqual([undefined, undefined]);
  });
});

describe('ClusterView.targets: coordinator fallback selection with a fake detector', () => {
  it('with every node up, sends to the primaries as themselves, sloppy or strict', () => {
    const isUp = upExcept([]);
    for (const p of partitions) {
      const expected = view.primaries(p).map((nodeId) => ({ nodeId, hintFor: undefined }));
      expect(view.preferenceList(p, isUp)).toEqual(expected);
      expect(view.preferenceList(p, isUp, false)).toEqual(expected);
      expect(view.preferenceList(p, isUp, true)).toEqual(expected);
    }
  });

  it('with one primary down, adds exactly one fallback holding the hint (sloppy) or none (strict)', () => {
    for (const p of partitions) {
      const primaries = view.primaries(p);
      for (const down of primaries) {
        const isUp = upExcept([down]);
        const upPrimaries = primaries.filter((id) => id !== down);
        const sloppy = view.preferenceList(p, isUp);
        expectWellFormed(sloppy, primaries, isUp);
        expect(sloppy).toHaveLength(replicas);
        expect(sloppy.filter((t) => t.hintFor === undefined).map((t) => t.nodeId)).toEqual(
          upPrimaries,
        );
        const fallbacks = sloppy.filter((t) => t.hintFor !== undefined);
        // The next node along the ring after the primaries stands in, in the down primary's place.
        expect(fallbacks).toEqual([{ nodeId: order(p)[replicas], hintFor: down }]);
        expect(sloppy[primaries.indexOf(down)]).toEqual(fallbacks[0]);
        expect(view.preferenceList(p, isUp, true)).toEqual(
          upPrimaries.map((nodeId) => ({ nodeId, hintFor: undefined })),
        );
      }
    }
  });

  it('with 3 of 5 nodes down, fills what fallbacks it can, never naming a node twice', () => {
    let fallbacksSeen = 0;
    for (const p of partitions) {
      const primaries = view.primaries(p);
      for (const down of subsets(nodeIds, 3)) {
        const isUp = upExcept(down);
        const sloppy = view.preferenceList(p, isUp);
        const strict = view.preferenceList(p, isUp, true);
        expectWellFormed(sloppy, primaries, isUp);
        expectWellFormed(strict, primaries, isUp);
        const upPrimaries = primaries.filter(isUp);
        const downPrimaries = primaries.filter((id) => !isUp(id));
        const upFallbacks = order(p).slice(replicas).filter(isUp);
        expect(strict).toEqual(upPrimaries.map((nodeId) => ({ nodeId, hintFor: undefined })));
        // Down primaries are stood in for in order, by the up non-primaries in ring order, while they last.
        const standIns = Math.min(downPrimaries.length, upFallbacks.length);
        const expectedFallbacks = upFallbacks
          .slice(0, standIns)
          .map((nodeId, i) => ({ nodeId, hintFor: downPrimaries[i] }));
        expect(sloppy.filter((t) => t.hintFor !== undefined)).toEqual(expectedFallbacks);
        // Two nodes are up, and with 3 primaries down at least one each: both are used.
        expect(new Set(sloppy.map((t) => t.nodeId))).toEqual(new Set(nodeIds.filter(isUp)));
        fallbacksSeen += standIns;
      }
    }
    expect(fallbacksSeen).toBeGreaterThan(0);
  });

  it('with every node down, has no target at all', () => {
    const isUp = upExcept(nodeIds);
    for (const p of partitions) {
      expect(view.preferenceList(p, isUp)).toEqual([]);
      expect(view.preferenceList(p, isUp, true)).toEqual([]);
    }
  });
});
