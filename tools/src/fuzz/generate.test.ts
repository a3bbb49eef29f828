import { createHash } from 'node:crypto';
import {
  DeleteRequest,
  LinkFrame,
  MoveClaimantRequest,
  PushRingRequest,
  PutRequest,
  type RingDocument,
  BatchPutRequest,
} from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import { RequestSequence } from './generate.js';
import { encodeRawObject } from './wire.js';
import type { FuzzRequest, FuzzWorld } from './world.js';

const ringDocument: RingDocument = {
  clusterId: 'c-1',
  term: 1n,
  version: 3n,
  claimant: 'n1',
  replicas: 3,
  partitionCount: 64,
  nodes: [],
  ring: undefined,
  next: undefined,
  transfers: [],
  transition: 0n,
  settledAt: 1n,
};

const world: FuzzWorld = {
  nodeIds: ['n1', 'n2', 'n3'],
  claimant: 'n1',
  partitionCount: 64,
  ringTerm: 1n,
  ringVersion: 3n,
  ringDocument,
  knownKeys: Array.from({ length: 8 }, (_, i) => Buffer.from(`known-00${i}-1`)),
  objects: [encodeRawObject([{ actor: 'n1.a/1', counter: 1n, values: [] }])],
  contexts: [Buffer.from('0101016105', 'hex')],
  actors: ['n1.a/1'],
  members: [],
  startedAtMs: 1_800_000_000_000n,
};

const requests = (seed: number, count: number): FuzzRequest[] => {
  const sequence = new RequestSequence(seed, world);
  return Array.from({ length: count }, () => sequence.next());
};

const known = (key: Uint8Array): boolean => world.knownKeys.some((k) => k.equals(Buffer.from(key)));

/** The keys a request as generated (not mutated) would write, or [] when it writes none. */
function writtenKeys(r: FuzzRequest): Uint8Array[] {
  if (r.variant !== 'message') return [];
  switch (r.rpc) {
    case 'KV.Put':
      return [PutRequest.decode(r.body).key];
    case 'KV.Delete':
      return [DeleteRequest.decode(r.body).key];
    case 'KV.BatchPut':
      return BatchPutRequest.decode(r.body).items.flatMap((i) =>
        i.write === undefined ? [] : [i.write.value.key],
      );
    case 'Peer.Link':
      return LinkFrame.decode(r.body).messages.flatMap((m) => {
        const body = m.body;
        if (body?.$case === 'handoff') return body.value.objects.map((o) => o.key);
        const writes = ['replicate', 'forwardPut', 'forwardDelete'];
        if (body === undefined || !writes.includes(body.$case)) return [];
        return [(body.value as { key: Uint8Array }).key];
      });
    default:
      return [];
  }
}

describe('RequestSequence', () => {
  it('is the same sequence for the same seed, and another for another seed', () => {
    const digest = (r: FuzzRequest): string =>
      `${r.index} ${r.rpc} ${r.node} ${r.from} ${r.variant} ` +
      createHash('sha256').update(r.body).digest('hex');
    const first = requests(42, 1000).map(digest);
    expect(requests(42, 1000).map(digest)).toEqual(first);
    expect(requests(43, 1000).map(digest)).not.toEqual(first);
  });

  it('sends every client and peer RPC, and every kind of body', () => {
    const many = requests(7, 5000);
    const rpcs = new Set(many.map((r) => r.rpc));
    for (const rpc of new RequestSequence(7, world).rpcs) expect(rpcs, rpc).toContain(rpc);
    const variants = new Set(many.map((r) => r.variant));
    expect([...variants].sort()).toEqual([
      'byte-mutated',
      'empty',
      'message',
      'random-bytes',
      'truncated',
    ]);
    const kinds = new Set(many.flatMap((r) => r.link?.map((m) => m.kind) ?? []));
    for (const kind of ['replicate', 'read', 'forwardGet', 'forwardPut', 'handoff', 'reap'])
      expect(kinds, kind).toContain(kind);
  });

  it('never writes a known key, and reads them', () => {
    const many = requests(11, 5000);
    expect(many.flatMap(writtenKeys).filter(known)).toEqual([]);
    const reads = many.filter((r) => r.rpc === 'KV.Get' && r.variant === 'message');
    expect(reads.some((r) => world.knownKeys.some((k) => r.body.includes(k)))).toBe(true);
  });

  it('never lets a membership change through: no commit, cancel or move at the claimant, never forced', () => {
    const many = requests(13, 5000);
    const guarded = ['Cluster.CommitPlan', 'Cluster.CancelTransition', 'Cluster.MoveClaimant'];
    expect(many.filter((r) => guarded.includes(r.rpc) && r.node === world.claimant)).toEqual([]);
    for (const r of many.filter((m) => m.rpc === 'Cluster.MoveClaimant')) {
      expect(['message', 'truncated', 'empty']).toContain(r.variant);
      // A prefix may not decode (the node refuses it); one that decodes is never forced.
      let force = false;
      try {
        force = MoveClaimantRequest.decode(r.body).force;
      } catch {
        continue;
      }
      expect(force).toBe(false);
    }
  });

  it('never pushes a newer ring document of this cluster', () => {
    const pushes = requests(17, 8000).filter(
      (r) => r.rpc === 'Peer.PushRing' && r.variant === 'message',
    );
    expect(pushes.length).toBeGreaterThan(20);
    for (const r of pushes) {
      const doc = PushRingRequest.decode(r.body).document;
      if (doc?.clusterId !== ringDocument.clusterId) continue;
      expect(doc.term).toBe(ringDocument.term);
      expect(doc.version <= ringDocument.version).toBe(true);
    }
  });
});
