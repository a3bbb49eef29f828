import type { Ring as RingMessage } from '@ringstore/proto';
import { claim, primaryReplicas } from '@ringstore/ring';
import { describe, expect, it } from 'vitest';
import { RingView, isNewerRing, type RingNodeStatus } from './ring-view.js';

const partitionCount = 16;
const replicas = 3;

/** A GetRing answer: owners claimed over `ownerIds`, every node of `statuses` listed. */
function ringMessage(
  ownerIds: readonly string[],
  statuses: Readonly<Record<string, RingNodeStatus>>,
): RingMessage {
  const claimed = claim(
    ownerIds.map((id) => ({ id, zone: '' })),
    { partitionCount, replicas },
  );
  const ids = Object.keys(statuses).sort();
  const owners = claimed.owners.map((o) => ids.indexOf(claimed.members[o]?.id ?? ''));
  return {
    version: 2n,
    term: 1n,
    clusterId: 'c1',
    claimant: ids[0] ?? '',
    partitionCount,
    replicas,
    nodes: ids.map((id, i) => ({
      id,
      address: `10.0.0.${i + 1}:7000`,
      zone: '',
      status: statuses[id] ?? 'valid',
      peerAddress: '',
    })),
    owners,
    nextOwners: [],
    transfers: [],
  };
}

function viewOf(message: RingMessage): RingView {
  const view = RingView.fromMessage(message);
  if (typeof view === 'string') throw new Error(view);
  return view;
}

describe('RingView routing', () => {
  it('never offers a node that left or was removed, even where a stale owners entry names it', () => {
    const view = viewOf(
      ringMessage(['n1', 'n2', 'n3', 'n4'], {
        n1: 'valid',
        n2: 'left',
        n3: 'valid',
        n4: 'removed',
        n5: 'valid',
      }),
    );
    expect(view.servingIds).toEqual(['n1', 'n3', 'n5']);
    for (let p = 0; p < partitionCount; p++) {
      const primaries = primaryReplicas(view.ring, p, replicas);
      const order = view.order(p);
      // Routable primaries first, in preference order, then the other serving nodes.
      const first = primaries.filter((id) => id === 'n1' || id === 'n3');
      expect(order.slice(0, first.length)).toEqual(first);
      expect([...order].sort()).toEqual(['n1', 'n3', 'n5']);
    }
    // primaries() says what the ring says, gone nodes included; routing is what skips them.
    expect(view.primaries(Buffer.from('k')).length).toBe(3);
    expect(view.isRoutable('n2')).toBe(false);
    expect(view.isRoutable('n4')).toBe(false);
    expect(view.isRoutable('n9')).toBe(false);
  });

  it('routes to a joining node only once the read ring names it', () => {
    const before = viewOf(
      ringMessage(['n1', 'n2', 'n3'], { n1: 'valid', n2: 'valid', n3: 'valid', n4: 'joining' }),
    );
    expect(before.isRoutable('n4')).toBe(false);
    for (let p = 0; p < partitionCount; p++) expect(before.order(p)).not.toContain('n4');

    // After the flip the read ring names n4 while it is still joining.
    const after = viewOf(
      ringMessage(['n1', 'n2', 'n3', 'n4'], {
        n1: 'valid',
        n2: 'valid',
        n3: 'valid',
        n4: 'joining',
      }),
    );
    expect(after.isRoutable('n4')).toBe(true);
    expect(after.servingIds).toContain('n4');
  });

  it('keeps a leaving node routable: it serves until it has left', () => {
    const view = viewOf(
      ringMessage(['n1', 'n2', 'n3'], { n1: 'valid', n2: 'leaving', n3: 'valid' }),
    );
    expect(view.servingIds).toEqual(['n1', 'n2', 'n3']);
  });

  it('knows the addresses of gone nodes, unless a serving node has the same one', () => {
    const message = ringMessage(['n1', 'n2', 'n3'], {
      n1: 'valid',
      n2: 'valid',
      n3: 'valid',
      n4: 'left',
      n5: 'removed',
    });
    const n4 = message.nodes[3]!;
    const n5 = message.nodes[4]!;
    message.nodes[4] = { ...n5, address: message.nodes[0]!.address };
    const view = viewOf(message);
    expect(view.isGoneAddress(n4.address)).toBe(true);
    expect(view.isGoneAddress(message.nodes[0]!.address)).toBe(false);
  });

  it('refuses a ring with a status it does not know, or a node without an address', () => {
    const unknown = ringMessage(['n1', 'n2', 'n3'], { n1: 'valid', n2: 'valid', n3: 'valid' });
    unknown.nodes[1] = { ...unknown.nodes[1]!, status: 'draining' };
    expect(RingView.fromMessage(unknown)).toBe('ring node n2 has unknown status "draining"');
    const noAddress = ringMessage(['n1', 'n2', 'n3'], { n1: 'valid', n2: 'valid', n3: 'valid' });
    noAddress.nodes[0] = { ...noAddress.nodes[0]!, address: '' };
    expect(RingView.fromMessage(noAddress)).toBe('ring node n1 has no address');
  });

  it('exposes term, cluster id, claimant, statuses and transfers', () => {
    const message = ringMessage(['n1', 'n2', 'n3'], {
      n1: 'valid',
      n2: 'valid',
      n3: 'valid',
      n4: 'joining',
    });
    message.term = 3n;
    message.transfers = [
      { partition: 5, added: ['n4'], removed: ['n2'], state: 'streaming', since: 2n },
    ];
    const ring = viewOf(message).message;
    expect(ring).toMatchObject({ term: 3n, version: 2n, clusterId: 'c1', claimant: 'n1' });
    expect(ring.nodes.map((n) => n.status)).toEqual(['valid', 'valid', 'valid', 'joining']);
    expect(ring.transfers).toEqual([
      { partition: 5, added: ['n4'], removed: ['n2'], state: 'streaming', since: 2n },
    ]);
  });
});

describe('isNewerRing', () => {
  it('orders by term first, then version', () => {
    expect(isNewerRing({ term: 1n, version: 6n }, { term: 1n, version: 5n })).toBe(true);
    expect(isNewerRing({ term: 1n, version: 5n }, { term: 1n, version: 5n })).toBe(false);
    expect(isNewerRing({ term: 1n, version: 4n }, { term: 1n, version: 5n })).toBe(false);
    expect(isNewerRing({ term: 2n, version: 1n }, { term: 1n, version: 9n })).toBe(true);
    expect(isNewerRing({ term: 1n, version: 9n }, { term: 2n, version: 1n })).toBe(false);
  });
});
