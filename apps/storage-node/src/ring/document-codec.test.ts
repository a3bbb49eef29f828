import { advanceTransfers, type RingDocument } from '@ringstore/membership';
import type { RingDocument as DocumentMessage } from '@ringstore/proto';
import type { Ring } from '@ringstore/ring';
import { describe, expect, it } from 'vitest';
import { RingstoreError } from '../errors.js';
import { committedJoin, founded, ok } from '../test-support/documents.js';
import {
  decodeDocument,
  documentFromMessage,
  documentToMessage,
  encodeDocument,
  ringMessage,
} from './document-codec.js';

const partitionCount = 16;

/** n1..n3 in zones a, b, c, claimant n1, Q=16, N=3: version 1. */
function foundedInZones(): RingDocument {
  return founded(3, { partitionCount, zones: ['a', 'b', 'c'] });
}

/**
 * n4 (zone a) joined through stage, plan and commit (version 2), then its first two transfers
 * streaming (3) and the first of them in catch-up (4): a next ring and transfers in three states.
 */
function inTransition(): RingDocument {
  const joined = committedJoin(foundedInZones(), 'n4', 'a');
  const [first, second] = joined.transfers.map((t) => t.partition);
  const streaming = ok(advanceTransfers(joined, [first!, second!], 'pending'));
  return ok(advanceTransfers(streaming, [first!], 'streaming'));
}

function refusalOf(f: () => unknown): RingstoreError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RingstoreError);
    return e as RingstoreError;
  }
  throw new Error('expected a refusal');
}

/** `m` changed by `edit`, decoded: the refusal it gets. */
function refusedAs(edit: (m: DocumentMessage) => DocumentMessage): RingstoreError {
  const m = documentToMessage(inTransition());
  return refusalOf(() => documentFromMessage(edit(m)));
}

/** The node id each partition's owner slot names, read through a Ring message's indexes. */
function ownerIds(nodes: readonly { id: string }[], owners: readonly number[]): string[] {
  return owners.map((i) => nodes[i]!.id);
}

function ringOwnerIds(ring: Ring): string[] {
  return ring.owners.map((o) => ring.members[o]!.id);
}

describe('document codec: round trips', () => {
  it('a document in transition survives documentToMessage and documentFromMessage', () => {
    const doc = inTransition();
    expect(doc.next).toBeDefined();
    expect(new Set(doc.transfers.map((t) => t.state))).toEqual(
      new Set(['pending', 'streaming', 'catch-up']),
    );
    expect(documentFromMessage(documentToMessage(doc))).toEqual(doc);
  });

  it('an idle document survives the round trip with no next ring', () => {
    const doc = foundedInZones();
    const back = documentFromMessage(documentToMessage(doc));
    expect(back).toEqual(doc);
    expect(back.next).toBeUndefined();
  });

  it("keeps each node's peer address; a ring written before the split (none) gets client + 1", () => {
    const base = foundedInZones();
    const doc: RingDocument = {
      ...base,
      nodes: base.nodes.map((n, i) => ({ ...n, peerAddress: `10.9.9.${i + 1}:9000` })),
    };
    expect(documentFromMessage(documentToMessage(doc))).toEqual(doc);
    const m = documentToMessage(doc);
    const old = { ...m, nodes: m.nodes.map((n) => ({ ...n, peerAddress: '' })) };
    expect(documentFromMessage(old).nodes.map((n) => [n.address, n.peerAddress])).toEqual([
      ['10.0.0.1:7000', '10.0.0.1:7001'],
      ['10.0.0.2:7000', '10.0.0.2:7001'],
      ['10.0.0.3:7000', '10.0.0.3:7001'],
    ]);
  });

  it('encodeDocument and decodeDocument round trip through base64 text', () => {
    for (const doc of [foundedInZones(), inTransition()]) {
      const text = encodeDocument(doc);
      expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
      expect(decodeDocument(text)).toEqual(doc);
    }
  });

  it('keeps numbers exact up to the largest safe integer', () => {
    const doc = {
      ...foundedInZones(),
      term: Number.MAX_SAFE_INTEGER,
      version: Number.MAX_SAFE_INTEGER,
    };
    expect(documentFromMessage(documentToMessage(doc))).toEqual(doc);
  });
});

describe('document codec: malformed input is INVALID_ARGUMENT', () => {
  const aboveSafe = 2n ** 53n;
  const uint64Max = 2n ** 64n - 1n;

  it('refuses a document without a ring', () => {
    const e = refusedAs((m) => ({ ...m, ring: undefined }));
    expect([e.code, e.message]).toEqual(['invalid-argument', 'ring document: no ring']);
    // Empty text decodes to an empty message: refused the same way, never a document.
    expect(refusalOf(() => decodeDocument('')).message).toBe('ring document: no ring');
  });

  it('refuses a node status outside the lifecycle', () => {
    const e = refusedAs((m) => ({
      ...m,
      nodes: m.nodes.map((n) => (n.id === 'n2' ? { ...n, status: 'sleeping' } : n)),
    }));
    expect([e.code, e.message]).toEqual([
      'invalid-argument',
      'ring document: node n2: unknown status',
    ]);
  });

  it('refuses a transfer state outside the state machine', () => {
    let partition = -1;
    const e = refusedAs((m) => {
      partition = m.transfers[0]!.partition;
      return {
        ...m,
        transfers: m.transfers.map((t, i) => (i === 0 ? { ...t, state: 'moving' } : t)),
      };
    });
    expect([e.code, e.message]).toEqual([
      'invalid-argument',
      `ring document: transfer of ${partition}: unknown state`,
    ]);
  });

  it.each([
    ['term', (m: DocumentMessage, n: bigint) => ({ ...m, term: n })],
    ['version', (m: DocumentMessage, n: bigint) => ({ ...m, version: n })],
    ['transition', (m: DocumentMessage, n: bigint) => ({ ...m, transition: n })],
    ['settledAt', (m: DocumentMessage, n: bigint) => ({ ...m, settledAt: n })],
    [
      'since',
      (m: DocumentMessage, n: bigint) => ({
        ...m,
        transfers: m.transfers.map((t, i) => (i === 0 ? { ...t, since: n } : t)),
      }),
    ],
  ] as const)('refuses a %s above 2^53 (not exact in a number)', (what, edit) => {
    for (const n of [aboveSafe, uint64Max]) {
      const e = refusedAs((m) => edit(m, n));
      expect([e.code, e.message]).toEqual([
        'invalid-argument',
        `ring document: ${what} out of range`,
      ]);
    }
  });

  it('refuses owners that do not cover the partition count', () => {
    const longer = refusedAs((m) => ({ ...m, partitionCount: partitionCount * 2 }));
    const shorter = refusedAs((m) => ({
      ...m,
      ring: { members: m.ring!.members, owners: m.ring!.owners.slice(0, partitionCount / 2) },
    }));
    for (const e of [longer, shorter])
      expect([e.code, e.message]).toEqual([
        'invalid-argument',
        'ring document: owners do not match the count',
      ]);
  });

  it('refuses what checkRingDocument refuses, with its message', () => {
    const unsorted = refusedAs((m) => ({ ...m, nodes: [...m.nodes].reverse() }));
    expect(unsorted.message).toBe('ring document: nodes must be sorted by id, without repeats');
    const strangeClaimant = refusedAs((m) => ({ ...m, claimant: 'n9' }));
    expect(strangeClaimant.message).toBe('ring document: claimant n9 is not a node');
    const strangeReceiver = refusedAs((m) => ({
      ...m,
      transfers: m.transfers.map((t, i) => (i === 0 ? { ...t, added: ['n9'] } : t)),
    }));
    expect(strangeReceiver.message).toMatch(
      /^ring document: transfer of partition \d+: n9 is not a node$/,
    );
    const halfNext = refusedAs((m) => ({
      ...m,
      next: { members: m.next!.members, owners: m.next!.owners.slice(0, partitionCount / 2) },
    }));
    expect(halfNext.message).toBe('ring document: next has another partition count');
    for (const e of [unsorted, strangeClaimant, strangeReceiver, halfNext])
      expect(e.code).toBe('invalid-argument');
  });

  it('refuses through decodeDocument as well (meta is checked like the wire)', () => {
    const text = encodeDocument({ ...inTransition(), claimant: 'n9' });
    const e = refusalOf(() => decodeDocument(text));
    expect([e.code, e.message]).toEqual([
      'invalid-argument',
      'ring document: claimant n9 is not a node',
    ]);
  });
});

describe('ringMessage: the public Cluster.Ring', () => {
  it('indexes owners into the document nodes, a retired node included, next_owners empty when idle', () => {
    const base = foundedInZones();
    // A removed n0 sorts first: every ring member's node index is one more than its member index.
    const removed = {
      id: 'n0',
      address: '10.0.0.9:7000',
      peerAddress: '10.0.0.9:7001',
      zone: 'a',
      status: 'removed' as const,
    };
    const doc: RingDocument = { ...base, nodes: [removed, ...base.nodes] };
    const m = ringMessage(doc, doc.ring);
    expect(m.nodes.map((n) => n.id)).toEqual(['n0', 'n1', 'n2', 'n3']);
    expect(m.nodes[0]).toEqual(removed);
    expect(m.owners).toHaveLength(partitionCount);
    expect(ownerIds(m.nodes, m.owners)).toEqual(ringOwnerIds(doc.ring));
    expect(m.owners).not.toContain(0);
    expect(m.nextOwners).toEqual([]);
    expect(m.transfers).toEqual([]);
    expect({
      version: m.version,
      term: m.term,
      clusterId: m.clusterId,
      claimant: m.claimant,
    }).toEqual({ version: 1n, term: 1n, clusterId: 'c1', claimant: 'n1' });
    expect([m.partitionCount, m.replicas]).toEqual([partitionCount, 3]);
  });

  it('in a transition: owners from the read ring given, next_owners from the next ring', () => {
    const doc = inTransition();
    const next = doc.next!;
    const before = ringMessage(doc, doc.ring);
    expect(ownerIds(before.nodes, before.owners)).toEqual(ringOwnerIds(doc.ring));
    expect(ownerIds(before.nodes, before.nextOwners)).toEqual(ringOwnerIds(next));
    expect(ringOwnerIds(next)).not.toEqual(ringOwnerIds(doc.ring));
    const flipped = ringMessage(doc, next);
    expect(ownerIds(flipped.nodes, flipped.owners)).toEqual(ringOwnerIds(next));
    expect(flipped.transfers).toEqual(documentToMessage(doc).transfers);
    expect(flipped.transfers.map((t) => t.state)).toEqual(doc.transfers.map((t) => t.state));
  });
});
