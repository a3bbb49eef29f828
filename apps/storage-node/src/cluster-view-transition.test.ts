import {
  advanceTransfers,
  type ChangeCommand,
  type NodeStatus,
  type RingDocument,
  type TransferState,
} from '@ringstore/membership';
import { primaryReplicas, type PreferenceEntry } from '@ringstore/ring';
import { describe, expect, it } from 'vitest';
import { ClusterView } from './cluster-view.js';
import { committed, founded as foundedCluster, ok } from './test-support/documents.js';

// ClusterView while a transition runs: read ring, pending replicas, fence, addresses.

const partitionCount = 16;
const replicas = 3;
const allUp = (): boolean => true;
const upExcept =
  (...down: string[]) =>
  (id: string): boolean =>
    !down.includes(id);

/** n1..n5, claimant n1, Q=16, N=3: version 1 (addresses 10.0.0.i:7000). */
function founded(): RingDocument {
  return foundedCluster(5, { partitionCount, replicas });
}

const joinN6: ChangeCommand = {
  kind: 'join',
  id: 'n6',
  address: '10.0.0.6:7000',
  peerAddress: '10.0.0.6:7001',
  zone: '',
};

/** Every transfer of `doc` moved, one version per step, up to `state`. */
function advancedTo(doc: RingDocument, state: TransferState): RingDocument {
  const order: TransferState[] = ['pending', 'streaming', 'catch-up', 'read-new', 'done'];
  let current = doc;
  const all = doc.transfers.map((t) => t.partition);
  for (const from of order.slice(0, order.indexOf(state)))
    current = ok(advanceTransfers(current, all, from));
  return current;
}

/** `doc` with only the transfer of `partition` moved one step on. */
function oneMoved(doc: RingDocument, partition: number): RingDocument {
  const t = doc.transfers.find((x) => x.partition === partition)!;
  return ok(advanceTransfers(doc, [partition], t.state));
}

const joining = committed(founded(), [joinN6]);
const moving = joining.transfers.map((t) => t.partition);
const still = Array.from({ length: partitionCount }, (_, p) => p).filter(
  (p) => !moving.includes(p),
);

function primariesOf(view: ClusterView): string[][] {
  return Array.from({ length: partitionCount }, (_, p) => view.primaries(p));
}

function ringPrimaries(doc: RingDocument, ring: RingDocument['ring']): string[][] {
  return Array.from({ length: partitionCount }, (_, p) => primaryReplicas(ring, p, doc.replicas));
}

describe('ClusterView: the read ring', () => {
  it('stays the document ring through pending, streaming and catch-up', () => {
    expect(moving.length).toBeGreaterThan(0);
    expect(still.length).toBeGreaterThan(0);
    for (const state of ['pending', 'streaming', 'catch-up'] as const) {
      const doc = advancedTo(joining, state);
      const view = new ClusterView('n1', doc);
      expect(view.ring, state).toBe(doc.ring);
      expect(primariesOf(view)).toEqual(ringPrimaries(doc, doc.ring));
      expect(view.primaries(moving[0]!)).not.toContain('n6');
    }
  });

  it('flips to the next ring, for every partition, once one transfer reads new', () => {
    const catchUp = advancedTo(joining, 'catch-up');
    const view = new ClusterView('n1', catchUp);
    const seen: [number, number][] = [];
    view.onChange((doc, previous) => seen.push([doc.version, previous.version]));
    const flipped = oneMoved(catchUp, moving[0]!);
    view.apply(flipped);
    expect(seen).toEqual([[flipped.version, catchUp.version]]);
    expect(view.ring).toBe(flipped.next);
    expect(primariesOf(view)).toEqual(ringPrimaries(flipped, flipped.next!));
    expect(primariesOf(view)).not.toEqual(ringPrimaries(flipped, flipped.ring));
    const done = advancedTo(joining, 'done');
    expect(new ClusterView('n1', done).ring).toBe(done.next);
  });
});

describe('ClusterView.pendingFor: the pending replicas a write also goes to', () => {
  const streaming = advancedTo(joining, 'streaming');
  const view = new ClusterView('n1', streaming);
  const p = moving[0]!;
  const list = view.preferenceList(p, allUp);

  it('adds an up pending replica as itself', () => {
    expect(streaming.transfers.find((t) => t.partition === p)!.added).toEqual(['n6']);
    expect(view.pendingFor(p, list, allUp)).toEqual([{ nodeId: 'n6', hintFor: undefined }]);
    expect(view.writeSet(p)).toEqual([...view.primaries(p), 'n6']);
  });

  /** The ring members outside the partition's list: the nodes that may keep a pending hint. */
  const outside = streaming.ring.members
    .map((m) => m.id)
    .filter((id) => !list.some((e) => e.nodeId === id));

  it('sends for a down one to an up node outside the list, which keeps a hint', () => {
    expect(outside).toHaveLength(2);
    const [standIn] = view.pendingFor(p, list, upExcept('n6'));
    expect(view.pendingFor(p, list, upExcept('n6'))).toHaveLength(1);
    expect(standIn!.hintFor).toBe('n6');
    expect(outside).toContain(standIn!.nodeId);
    // That node down too: the other outsider stands in; none up: the pending write has no target.
    const other = outside.find((id) => id !== standIn!.nodeId)!;
    expect(view.pendingFor(p, list, upExcept('n6', standIn!.nodeId))).toEqual([
      { nodeId: other, hintFor: 'n6' },
    ]);
    expect(view.pendingFor(p, list, upExcept('n6', ...outside))).toEqual([]);
  });

  it('never names a node already in the list', () => {
    const listed: PreferenceEntry[] = [...list, { nodeId: 'n6', hintFor: undefined }];
    expect(view.pendingFor(p, listed, allUp)).toEqual([]);
    expect(view.pendingFor(p, listed, upExcept('n6'))).toEqual([]);
    // A down pending replica's stand-in is not a node the list already sends to.
    for (const taken of outside) {
      const withOutsider: PreferenceEntry[] = [...list, { nodeId: taken, hintFor: 'n2' }];
      expect(view.pendingFor(p, withOutsider, upExcept('n6'))).toEqual([
        { nodeId: outside.find((id) => id !== taken), hintFor: 'n6' },
      ]);
    }
  });

  it('has nothing to add for a partition that is not moving, or when idle', () => {
    const q = still[0]!;
    expect(view.pendingFor(q, view.preferenceList(q, allUp), allUp)).toEqual([]);
    const idle = new ClusterView('n1', founded());
    expect(idle.pendingFor(p, idle.preferenceList(p, allUp), allUp)).toEqual([]);
  });
});

describe('ClusterView: what this node holds during a transition', () => {
  it('the joiner holds the partitions it receives as pending, reads none of them before the flip', () => {
    const view = new ClusterView('n6', advancedTo(joining, 'catch-up'));
    expect(view.partitionsReplicated()).toEqual([]);
    expect(view.partitionsHeld()).toEqual(moving);
    for (const p of moving)
      expect([view.isPending(p), view.holds(p), view.isReplica(p)]).toEqual([true, true, false]);
    for (const p of still) expect([view.isPending(p), view.holds(p)]).toEqual([false, false]);
  });

  it('after the flip the joiner reads them and the replica handing over is pending until done', () => {
    const readNew = advancedTo(joining, 'read-new');
    const joiner = new ClusterView('n6', readNew);
    expect(joiner.partitionsReplicated()).toEqual(moving);
    expect(moving.every((p) => !joiner.isPending(p))).toBe(true);
    const t = readNew.transfers[0]!;
    expect(t.removed).toHaveLength(1);
    const outgoing = new ClusterView(t.removed[0]!, readNew);
    expect([outgoing.isReplica(t.partition), outgoing.isPending(t.partition)]).toEqual([
      false,
      true,
    ]);
    expect(outgoing.holds(t.partition)).toBe(true);
    expect(outgoing.partitionsHeld()).toContain(t.partition);
    const done = new ClusterView(t.removed[0]!, advancedTo(joining, 'done'));
    expect([done.holds(t.partition), done.partitionsHeld().includes(t.partition)]).toEqual([
      false,
      false,
    ]);
  });
});

describe('ClusterView.addressOf and statusOf', () => {
  function withStatuses(doc: RingDocument, statuses: Record<string, NodeStatus>): RingDocument {
    return { ...doc, nodes: doc.nodes.map((n) => ({ ...n, status: statuses[n.id] ?? n.status })) };
  }

  it('knows the addresses of every node but the removed ones (a left node is told it left)', () => {
    const doc = withStatuses(joining, { n2: 'left', n3: 'removed', n5: 'leaving' });
    const view = new ClusterView('n1', doc);
    expect(['n1', 'n2', 'n3', 'n4', 'n5', 'n6'].map((id) => view.addressOf(id))).toEqual([
      '10.0.0.1:7000',
      '10.0.0.2:7000',
      undefined,
      '10.0.0.4:7000',
      '10.0.0.5:7000',
      '10.0.0.6:7000',
    ]);
    expect(['n2', 'n3', 'n5', 'n6', 'n7'].map((id) => view.statusOf(id))).toEqual([
      'left',
      'removed',
      'leaving',
      'joining',
      undefined,
    ]);
  });

  it('follows apply: a node that becomes removed loses its address', () => {
    const view = new ClusterView('n1', founded());
    expect(view.addressOf('n5')).toBe('10.0.0.5:7000');
    view.apply(withStatuses({ ...founded(), version: 2 }, { n5: 'removed' }));
    expect(view.addressOf('n5')).toBeUndefined();
  });
});

describe('ClusterView.lastChange: the fence per partition', () => {
  it('is the transfer state change for a moving partition, settledAt for the others', () => {
    expect(new ClusterView('n1', founded()).lastChange(0)).toBe(1);
    const streaming = advancedTo(joining, 'streaming');
    const onlyFirst = oneMoved(streaming, moving[0]!);
    const view = new ClusterView('n1', onlyFirst);
    expect(view.lastChange(moving[0]!)).toBe(onlyFirst.version);
    expect(view.lastChange(moving[1]!)).toBe(streaming.version);
    expect(view.lastChange(still[0]!)).toBe(onlyFirst.settledAt);
    expect(onlyFirst.settledAt).toBe(1);
  });
});
