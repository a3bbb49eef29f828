import { claim } from '@ringstore/ring';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { NodeStatus, RingDocument, RingNode } from './index.js';
import {
  checkRingDocument,
  compareVersions,
  defaultPeerAddress,
  initialDocument,
  mergeDocument,
} from './index.js';
import { addressLengthMax, membersMax } from './gossip-check.js';
import { commit, plan, stage } from './staging.js';
import { deepFreeze, documentOf, newNodes } from './test-support/documents.js';

const seed = 20251202;
const numRuns = 300;

/** The same plain data with every object's keys in reverse order (as another decoder may make it). */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).reverse();
  return Object.fromEntries(entries.map(([k, v]) => [k, reverseKeys(v)]));
}

describe('initialDocument', () => {
  const nodes = [...newNodes(4)].reverse();
  const doc = initialDocument({
    clusterId: 'c1',
    claimant: 'n2',
    partitionCount: 16,
    replicas: 3,
    nodes,
  });

  it('is version 1 of term 1, every node valid and sorted by id, nothing moving', () => {
    expect({ term: doc.term, version: doc.version }).toEqual({ term: 1, version: 1 });
    expect(doc.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(doc.nodes.every((n) => n.status === 'valid')).toBe(true);
    expect(doc.nodes[0]).toEqual({
      id: 'n1',
      address: '10.0.0.1:7000',
      peerAddress: '10.0.0.1:7001',
      zone: '',
      status: 'valid',
    });
    expect({ clusterId: doc.clusterId, claimant: doc.claimant, replicas: doc.replicas }).toEqual({
      clusterId: 'c1',
      claimant: 'n2',
      replicas: 3,
    });
    expect(doc.next).toBeUndefined();
    expect(doc.transfers).toEqual([]);
  });

  it('has as its ring the claim of its nodes', () => {
    const members = newNodes(4).map((n) => ({ id: n.id, zone: n.zone }));
    expect(doc.ring).toEqual(claim(members, { partitionCount: 16, replicas: 3 }));
    expect(checkRingDocument(doc)).toBeUndefined();
  });

  it('asserts when the claimant is not one of the nodes (a programmer error)', () => {
    const c = { clusterId: 'c1', claimant: 'n9', partitionCount: 16, replicas: 3, nodes };
    expect(() => initialDocument(c)).toThrow(/claimant n9 is not a node/);
  });
});

describe('defaultPeerAddress', () => {
  it('is the client port + 1 on the same host', () => {
    expect(defaultPeerAddress('127.0.0.1:7001')).toBe('127.0.0.1:7002');
    expect(defaultPeerAddress('db-3.example:9')).toBe('db-3.example:10');
    expect(defaultPeerAddress('[::1]:7001')).toBe('[::1]:7002');
    expect(defaultPeerAddress('h:65534')).toBe('h:65535');
  });

  it('returns an address without a usable port unchanged (validation refuses it later)', () => {
    for (const address of ['no-port', 'h:x', 'h:65535', 'h:1.5'])
      expect(defaultPeerAddress(address)).toBe(address);
  });
});

describe('compareVersions', () => {
  it('orders by term first, then by version', () => {
    expect(compareVersions({ term: 2, version: 1 }, { term: 1, version: 9 })).toBeGreaterThan(0);
    expect(compareVersions({ term: 1, version: 9 }, { term: 2, version: 1 })).toBeLessThan(0);
    expect(compareVersions({ term: 1, version: 3 }, { term: 1, version: 2 })).toBeGreaterThan(0);
    expect(compareVersions({ term: 1, version: 2 }, { term: 1, version: 3 })).toBeLessThan(0);
    expect(compareVersions({ term: 3, version: 4 }, { term: 3, version: 4 })).toBe(0);
  });
});

describe('mergeDocument', () => {
  const v1 = documentOf(3);
  const v2 = deepFreeze({ ...v1, version: 2, claimant: 'n2' });
  const term2 = deepFreeze({ ...v1, term: 2, version: 1, claimant: 'n3' });

  it('keeps the newer document, and says whether it was the remote one', () => {
    expect(mergeDocument(v1, v2)).toEqual({ ok: true, document: v2, newer: true });
    expect(mergeDocument(v2, v1)).toEqual({ ok: true, document: v2, newer: false });
    expect(mergeDocument(v2, term2)).toEqual({ ok: true, document: term2, newer: true });
    expect(mergeDocument(term2, v2)).toEqual({ ok: true, document: term2, newer: false });
  });

  it('refuses a document of another cluster, even a newer one', () => {
    const other = deepFreeze({ ...v2, clusterId: 'c2' });
    const outcome = mergeDocument(v1, other);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.problem.code).toBe('other-cluster');
    expect(outcome.problem.message).toMatch(/cluster c2.*c1/);
  });

  it('refuses a different document with the same (term, version)', () => {
    const forged = deepFreeze({ ...v1, claimant: 'n3' });
    const outcome = mergeDocument(v1, forged);
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.problem.code).toBe('conflict');
    expect(outcome.problem.message).toMatch(/term 1 version 1/);
  });

  it('refuses a same-version document that differs only deep inside (one owner)', () => {
    const owners = [...v1.ring.owners];
    owners[0] = ((owners[0] ?? 0) + 1) % v1.ring.members.length;
    const forged = deepFreeze({ ...v1, ring: { ...v1.ring, owners } });
    const outcome = mergeDocument(v1, forged);
    expect(outcome.ok ? undefined : outcome.problem.code).toBe('conflict');
  });

  it('accepts an equal document built with another key order, keeping the local one', () => {
    const decoded = reverseKeys(v1) as RingDocument;
    expect(Object.keys(decoded)).not.toEqual(Object.keys(v1));
    const outcome = mergeDocument(v1, decoded);
    expect(outcome.ok).toBe(true);
    expect(outcome.ok && outcome.document).toBe(v1);
    expect(outcome.ok && outcome.newer).toBe(false);
  });

  describe('over documents of one cluster with distinct (term, version)', () => {
    const base = documentOf(3);
    const claimants = ['n1', 'n2', 'n3'];
    const three = fc
      .uniqueArray(
        fc.record({
          term: fc.integer({ min: 1, max: 3 }),
          version: fc.integer({ min: 1, max: 4 }),
          claimant: fc.constantFrom(...claimants),
        }),
        { minLength: 3, maxLength: 3, selector: (v) => `${v.term}/${v.version}` },
      )
      .map((vs) => vs.map((v) => deepFreeze({ ...base, ...v })));

    function merged(a: RingDocument, b: RingDocument): RingDocument {
      const outcome = mergeDocument(a, b);
      if (!outcome.ok) throw new Error(outcome.problem.message);
      return outcome.document;
    }

    it('is commutative, associative and idempotent, and keeps the maximum', () => {
      fc.assert(
        fc.property(three, ([a, b, c]) => {
          if (a === undefined || b === undefined || c === undefined) throw new Error('3 expected');
          expect(merged(a, b)).toBe(merged(b, a));
          expect(merged(merged(a, b), c)).toBe(merged(a, merged(b, c)));
          expect(merged(a, a)).toBe(a);
          expect(mergeDocument(a, a)).toEqual({ ok: true, document: a, newer: false });
          const newest = [a, b, c].reduce((x, y) => (compareVersions(x, y) >= 0 ? x : y));
          expect(merged(merged(a, b), c)).toBe(newest);
        }),
        { seed, numRuns },
      );
    });
  });
});

describe('checkRingDocument', () => {
  const doc = documentOf(3);

  it('passes a well-formed document, idle or in a transition', () => {
    expect(checkRingDocument(doc)).toBeUndefined();
    const staged = stage(
      doc,
      undefined,
      { kind: 'join', id: 'n4', address: '10.0.0.4:7000', peerAddress: '10.0.0.4:7001', zone: '' },
      () => true,
    );
    if (!staged.ok) throw new Error(staged.refusal.message);
    const committed = commit(doc, staged.staged, plan(doc, staged.staged));
    if (!committed.ok) throw new Error(committed.refusal.message);
    expect(committed.document.next).toBeDefined();
    expect(committed.document.transfers.length).toBeGreaterThan(0);
    expect(checkRingDocument(committed.document)).toBeUndefined();
  });

  const node = (id: string, status: NodeStatus = 'valid'): RingNode => ({
    id,
    address: `${id}:7000`,
    peerAddress: `${id}:7001`,
    zone: '',
    status,
  });
  const members = (...ids: string[]) => ids.map((id) => ({ id, zone: '' }));
  const ringOf = (ids: string[], partitionCount = 16) =>
    claim(members(...ids), { partitionCount, replicas: 3 });
  // Node ids that sort after n1..n3, so a document with them stays sorted.
  const extra = Array.from({ length: membersMax - 2 }, (_, i) =>
    node(`x${String(i).padStart(4, '0')}`),
  );

  // Each case breaks exactly one thing, so only that check can name it.
  const cases: { name: string; broken: RingDocument; problem: RegExp }[] = [
    { name: 'term 0', broken: { ...doc, term: 0 }, problem: /term and version/ },
    { name: 'a fractional version', broken: { ...doc, version: 1.5 }, problem: /term and version/ },
    { name: 'a NaN term', broken: { ...doc, term: Number.NaN }, problem: /term and version/ },
    { name: 'an empty cluster id', broken: { ...doc, clusterId: '' }, problem: /cluster id/ },
    { name: 'replicas 0', broken: { ...doc, replicas: 0 }, problem: /replicas/ },
    {
      name: 'unsorted node ids',
      broken: { ...doc, nodes: [node('n2'), node('n1'), node('n3')] },
      problem: /sorted by id/,
    },
    {
      name: 'a repeated node id',
      broken: { ...doc, nodes: [node('n1'), node('n2'), node('n2'), node('n3')] },
      problem: /without repeats/,
    },
    {
      name: 'an unknown status',
      broken: { ...doc, nodes: [node('n1'), node('n2', 'gone' as NodeStatus), node('n3')] },
      problem: /node n2: unknown status/,
    },
    {
      name: 'a peer address too long',
      broken: {
        ...doc,
        nodes: [
          node('n1'),
          { ...node('n2'), peerAddress: 'p'.repeat(addressLengthMax + 1) },
          node('n3'),
        ],
      },
      problem: /node n2: address or zone too long/,
    },
    {
      name: 'a claimant that is not a node',
      broken: { ...doc, claimant: 'n9' },
      problem: /claimant n9 is not a node/,
    },
    {
      name: 'a ring member that is not a node',
      broken: { ...doc, ring: ringOf(['n1', 'n2', 'n9']) },
      problem: /ring: member n9 is not a node/,
    },
    {
      name: 'a next-ring member that is not a node',
      broken: { ...doc, next: ringOf(['n1', 'n2', 'n3', 'n9']) },
      problem: /next: member n9 is not a node/,
    },
    {
      name: 'transfers without a next ring',
      broken: {
        ...doc,
        transfers: [{ partition: 0, added: ['n3'], removed: ['n2'], state: 'pending', since: 1 }],
      },
      problem: /transfers without a next ring/,
    },
    {
      name: 'a next ring with another partition count',
      broken: { ...doc, next: ringOf(['n1', 'n2', 'n3'], 32) },
      problem: /next has another partition count/,
    },
    {
      name: `more than ${membersMax} nodes`,
      broken: { ...doc, nodes: [...doc.nodes, ...extra] },
      problem: new RegExp(`1\\.\\.${membersMax} nodes`),
    },
  ];

  it.each(cases)('names $name as malformed', ({ broken, problem }) => {
    const found = checkRingDocument(broken);
    expect(found?.code).toBe('malformed');
    expect(found?.message).toMatch(problem);
  });

  it(`passes exactly ${membersMax} nodes`, () => {
    const full = { ...doc, nodes: [...doc.nodes, ...extra.slice(1)] };
    expect(full.nodes).toHaveLength(membersMax);
    expect(checkRingDocument(full)).toBeUndefined();
  });

  // Each passes the checks today, and the first plan or request on it would then assert (crash):
  // input from the wire must be refused as data instead.
  const transfer = {
    partition: 0,
    added: ['n3'],
    removed: ['n2'],
    state: 'pending',
    since: 2,
  } as const;
  const inTransition = { ...doc, version: 2, transition: 2, next: ringOf(['n1', 'n2', 'n3']) };
  const unusable: { name: string; broken: RingDocument; problem: RegExp }[] = [
    {
      name: 'more replicas than partitions',
      broken: { ...doc, replicas: doc.ring.partitionCount + 1 },
      problem: /replicas/,
    },
    {
      name: 'a transfer of a partition outside the ring',
      broken: { ...inTransition, transfers: [{ ...transfer, partition: 16 }] },
      problem: /partition 16/,
    },
    {
      name: 'a transfer in an unknown state',
      broken: { ...inTransition, transfers: [{ ...transfer, state: 'gone' as 'pending' }] },
      problem: /state/,
    },
    {
      name: 'a transfer to a node that is not a node',
      broken: { ...inTransition, transfers: [{ ...transfer, added: ['n9'] }] },
      problem: /n9/,
    },
    {
      name: 'a transfer changed after the document version',
      broken: { ...inTransition, transfers: [{ ...transfer, since: 3 }] },
      problem: /since out of range/,
    },
    {
      name: 'a transfer changed before its transition began',
      broken: { ...inTransition, transfers: [{ ...transfer, since: 1 }] },
      problem: /since out of range/,
    },
    {
      name: 'a next ring without a transition number',
      broken: { ...inTransition, transition: 0 },
      problem: /transition number/,
    },
    {
      name: 'a transition number while idle',
      broken: { ...doc, version: 2, transition: 2 },
      problem: /transition number/,
    },
    {
      name: 'a settled version above the document version',
      broken: { ...doc, settledAt: 2 },
      problem: /settledAt/,
    },
  ];

  it('passes a document in transition', () => {
    expect(checkRingDocument({ ...inTransition, transfers: [transfer] })).toBeUndefined();
  });

  it.each(unusable)('names $name as malformed', ({ broken, problem }) => {
    const found = checkRingDocument(broken);
    expect(found?.code).toBe('malformed');
    expect(found?.message).toMatch(problem);
  });
});
