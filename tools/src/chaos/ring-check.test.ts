import type { Ring } from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import { transitionState } from './membership.js';
import { checkRings } from './ring-check.js';

/** A ring of the given owners (by id) over the given members, everything else idle. */
function ring(
  owners: readonly string[],
  members: Readonly<Record<string, string>>,
  fields: Partial<Ring> = {},
): Ring {
  const nodes = Object.entries(members).map(([id, status]) => ({
    id,
    address: `${id}:7001`,
    peerAddress: `${id}:7002`,
    zone: '',
    status,
  }));
  return {
    version: 9n,
    partitionCount: owners.length,
    replicas: 3,
    nodes,
    owners: owners.map((id) => nodes.findIndex((n) => n.id === id)),
    term: 1n,
    clusterId: 'c',
    claimant: 'n1',
    nextOwners: [],
    transfers: [],
    ...fields,
  };
}

const four = { n1: 'valid', n2: 'valid', n3: 'valid', n4: 'valid', n5: 'left' };
const spaced = ['n1', 'n2', 'n3', 'n4', 'n1', 'n2', 'n3', 'n4'];

describe('checkRings', () => {
  it('finds nothing when every live node holds one idle ring of valid, spaced owners', () => {
    const r = ring(spaced, four);
    const rings = new Map(['n1', 'n2', 'n3', 'n4'].map((id) => [id, r] as const));
    expect(checkRings(rings, 3)).toEqual({
      version: 9,
      members: ['n1', 'n2', 'n3', 'n4'],
      problems: [],
    });
  });

  it('names a silent node, differing versions, leftover transfers, and live nodes that are not valid members', () => {
    const r = ring(spaced, four);
    const behind = ring(spaced, four, {
      version: 8n,
      transfers: [{ partition: 0, added: ['n4'], removed: ['n1'], state: 'streaming', since: 8n }],
    });
    const check = checkRings(
      new Map<string, Ring | undefined>([
        ['n1', r],
        ['n2', behind],
        ['n3', undefined],
        ['n5', r],
      ]),
      3,
    );
    expect(check.version).toBeNull();
    expect(check.problems).toEqual([
      'n3 did not answer GetRing',
      'ring versions differ: n1 v9, n2 v8, n5 v9',
      'n2 still has 1 transfers',
      'live node n5 is not a valid member (left)',
      'valid member n4 is not running',
    ]);
  });

  it('refuses owners that are not valid and N consecutive partitions without N distinct owners', () => {
    const owners = ['n1', 'n2', 'n2', 'n3', 'n4', 'n1', 'n5', 'n3'];
    const rings = new Map([['n1', ring(owners, four)]]);
    const { problems } = checkRings(rings, 3);
    expect(problems).toContain('owner n5 is left');
    expect(problems).toContain('partitions 0..2 have owners n1 n2 n2');
    expect(problems).toContain('partitions 1..3 have owners n2 n2 n3');
    // With exactly N owners, spacing cannot hold around the ring; N distinct owners is enough.
    const three = ring(['n1', 'n2', 'n3', 'n1', 'n2', 'n3', 'n1', 'n2'], {
      n1: 'valid',
      n2: 'valid',
      n3: 'valid',
    });
    const ok = checkRings(new Map(['n1', 'n2', 'n3'].map((id) => [id, three] as const)), 3);
    expect(ok.problems).toEqual([]);
    const two = ring(['n1', 'n2', 'n1', 'n2'], { n1: 'valid', n2: 'valid', n3: 'valid' });
    expect(checkRings(new Map([['n1', two]]), 3).problems).toContain(
      'only 2 distinct owners for N=3',
    );
  });
});

describe('transitionState', () => {
  it('is done only when every live node answered one version with no transfers and nobody joining or leaving', () => {
    const idle = ring(spaced, four);
    expect(
      transitionState([
        ['n1', idle],
        ['n2', idle],
      ]),
    ).toBe('done');
    expect(transitionState([])).toBe('no live node');
    expect(
      transitionState([
        ['n1', idle],
        ['n2', undefined],
      ]),
    ).toBe('no ring from n2');
    expect(
      transitionState([
        ['n1', idle],
        ['n2', ring(spaced, four, { version: 8n })],
      ]),
    ).toBe('versions differ: n1 v9, n2 v8');
    const joining = ring(spaced, { ...four, n6: 'joining' });
    expect(transitionState([['n1', joining]])).toBe('n6 joining');
    const moving = ring(spaced, four, {
      transfers: [{ partition: 3, added: ['n4'], removed: ['n2'], state: 'read-new', since: 9n }],
    });
    expect(transitionState([['n1', moving]])).toBe('1 transfers at v9');
  });
});
