import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GossipState, MemberState } from './index.js';
import { beat, changedMembers, memberStatuses, mergeState } from './index.js';
import { initialState, mergeMember } from './gossip-state.js';

const seed = 20240614;
const numRuns = 300;

// Small ranges on purpose: equal generations, heartbeats and statuses must come up often.
function memberArbitrary(id: fc.Arbitrary<string>): fc.Arbitrary<MemberState> {
  return fc.record({
    id,
    address: fc.constantFrom('10.0.0.1:7000', '10.0.0.2:7000'),
    // '' is what a node that does not name its peer port gossips.
    peerAddress: fc.constantFrom('', '10.0.0.1:7001', '10.0.0.9:7001'),
    zone: fc.constantFrom('', 'a', 'b'),
    generation: fc.nat(3),
    heartbeat: fc.nat(3),
    status: fc.constantFrom(...memberStatuses),
  });
}

const oneMember = memberArbitrary(fc.constant('n1'));
const stateArbitrary: fc.Arbitrary<GossipState> = fc
  .array(memberArbitrary(fc.constantFrom('n1', 'n2', 'n3', 'n4', 'n5')), { maxLength: 6 })
  .map((members) => new Map(members.map((member) => [member.id, member])));

function entries(state: GossipState): [string, MemberState][] {
  return [...state];
}

describe('mergeMember', () => {
  it('is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(oneMember, oneMember, oneMember, (a, b, c) => {
        expect(mergeMember(a, b)).toEqual(mergeMember(b, a));
        expect(mergeMember(mergeMember(a, b), c)).toEqual(mergeMember(a, mergeMember(b, c)));
        expect(mergeMember(a, a)).toBe(a);
        expect(mergeMember(mergeMember(a, b), b)).toEqual(mergeMember(a, b));
      }),
      { seed, numRuns },
    );
  });

  it('lets a newer generation win whatever the heartbeat and status', () => {
    fc.assert(
      fc.property(oneMember, oneMember, (a, b) => {
        fc.pre(a.generation !== b.generation);
        const newer = a.generation > b.generation ? a : b;
        expect(mergeMember(a, b)).toBe(newer);
      }),
      { seed, numRuns },
    );
    const old = {
      id: 'n1',
      address: 'x:1',
      peerAddress: 'x:2',
      zone: '',
      generation: 5,
      heartbeat: 9_000,
      status: 'left',
    } as const;
    const restarted = { ...old, generation: 6, heartbeat: 0, status: 'up' } as const;
    expect(mergeMember(old, restarted)).toBe(restarted);
  });

  it('within a generation, lets the higher heartbeat win, then the later status', () => {
    const base: MemberState = {
      id: 'n1',
      address: 'x:1',
      peerAddress: 'x:2',
      zone: '',
      generation: 1,
      heartbeat: 4,
      status: 'up',
    };
    const later = { ...base, heartbeat: 5, status: 'joining' } as const;
    expect(mergeMember(base, later)).toBe(later);
    const leaving = { ...base, status: 'leaving' } as const;
    expect(mergeMember(base, leaving)).toBe(leaving);
    expect(mergeMember(leaving, base)).toBe(leaving);
  });

  it('refuses to merge two different members', () => {
    const a: MemberState = {
      id: 'n1',
      address: 'x:1',
      peerAddress: 'x:2',
      zone: '',
      generation: 1,
      heartbeat: 1,
      status: 'up',
    };
    expect(() => mergeMember(a, { ...a, id: 'n2' })).toThrow(/different members n1 and n2/);
  });
});

describe('mergeState', () => {
  it('is commutative, associative and idempotent, entries in id order', () => {
    fc.assert(
      fc.property(stateArbitrary, stateArbitrary, stateArbitrary, (a, b, c) => {
        const ab = mergeState(a, b);
        expect(entries(ab)).toEqual(entries(mergeState(b, a)));
        expect(entries(mergeState(ab, c))).toEqual(entries(mergeState(a, mergeState(b, c))));
        expect(entries(mergeState(a, a))).toEqual(entries(mergeState(a, new Map())));
        expect(entries(mergeState(ab, b))).toEqual(entries(ab));
        const ids = [...ab.keys()];
        expect(ids).toEqual([...new Set([...a.keys(), ...b.keys()])].sort());
      }),
      { seed, numRuns },
    );
  });

  it('holds for every member the newer of the two states', () => {
    fc.assert(
      fc.property(stateArbitrary, stateArbitrary, (a, b) => {
        const merged = mergeState(a, b);
        for (const [id, member] of merged) {
          const ours = a.get(id);
          const theirs = b.get(id);
          if (ours !== undefined && theirs !== undefined)
            expect(member).toBe(mergeMember(ours, theirs));
          else expect(member).toBe(ours ?? theirs);
        }
      }),
      { seed, numRuns },
    );
  });
});

describe('beat and changedMembers', () => {
  const self: MemberState = {
    id: 'n2',
    address: 'b:1',
    peerAddress: 'b:2',
    zone: 'z',
    generation: 7,
    heartbeat: 0,
    status: 'joining',
  };
  const other: MemberState = {
    id: 'n1',
    address: 'a:1',
    peerAddress: 'a:2',
    zone: 'z',
    generation: 3,
    heartbeat: 10,
    status: 'up',
  };

  it('beat raises only the local heartbeat, and the change wins a merge', () => {
    const state = mergeState(initialState(self), initialState(other));
    const next = beat(beat(state, 'n2'), 'n2');
    expect(next.get('n2')).toEqual({ ...self, heartbeat: 2 });
    expect(next.get('n1')).toBe(other);
    expect(state.get('n2')).toBe(self);
    expect(mergeState(state, next).get('n2')).toEqual({ ...self, heartbeat: 2 });
    expect(() => beat(state, 'n9')).toThrow(/no entry for the local node n9/);
  });

  it('changedMembers names the members whose state advanced, for the failure detector', () => {
    const before = mergeState(initialState(self), initialState(other));
    const third: MemberState = { ...other, id: 'n3' };
    const remote = new Map([
      ['n1', { ...other, heartbeat: 11 }],
      ['n2', { ...self, heartbeat: 0 }],
      ['n3', third],
    ]);
    const after = mergeState(before, remote);
    expect(changedMembers(before, after)).toEqual(['n1', 'n3']);
    expect(changedMembers(after, after)).toEqual([]);
    expect(changedMembers(after, before)).toEqual([]);
  });

  it('changedMembers after a merge is exactly the members the remote state advanced', () => {
    fc.assert(
      fc.property(stateArbitrary, stateArbitrary, (local, remote) => {
        const changed = changedMembers(local, mergeState(local, remote));
        const expected = [...remote]
          .filter(([id, theirs]) => {
            const ours = local.get(id);
            return ours === undefined || mergeMember(ours, theirs) !== ours;
          })
          .map(([id]) => id)
          .sort();
        expect(changed).toEqual(expected);
      }),
      { seed, numRuns },
    );
  });
});
