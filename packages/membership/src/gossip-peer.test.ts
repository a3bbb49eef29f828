import { describe, expect, it } from 'vitest';
import type { GossipState, MemberState, MemberStatus } from './index.js';
import { pickGossipPeers } from './index.js';
import { seededRng } from './test-support/rng.js';

function stateOf(members: readonly [id: string, status: MemberStatus][]): GossipState {
  return new Map(
    members.map(([id, status]): [string, MemberState] => [
      id,
      {
        id,
        address: `${id}:7000`,
        peerAddress: `${id}:7001`,
        zone: '',
        generation: 1,
        heartbeat: 1,
        status,
      },
    ]),
  );
}

const state = stateOf([
  ['n1', 'up'],
  ['n2', 'up'],
  ['n3', 'up'],
  ['n4', 'up'],
  ['n5', 'left'],
  ['n6', 'leaving'],
]);
const down = new Set(['n4', 'n6']);
const isUp = (id: string): boolean => !down.has(id);

/** How often each member was picked over `rounds` rounds, and how many rounds picked two. */
function counts(downProbability: number, rounds: number, seed: number) {
  const rng = seededRng(seed);
  const picked = new Map<string, number>();
  let pairs = 0;
  for (let i = 0; i < rounds; i++) {
    const peers = pickGossipPeers(state, 'n1', isUp, rng, downProbability);
    expect(peers.length).toBeGreaterThan(0);
    if (peers.length === 2) pairs++;
    for (const peer of peers) picked.set(peer, (picked.get(peer) ?? 0) + 1);
  }
  return { picked, pairs };
}

describe('pickGossipPeers', () => {
  it('picks one peer that is up every round, uniformly, never itself or a member that left', () => {
    const { picked, pairs } = counts(0, 4000, 11);
    expect([...picked.keys()].sort()).toEqual(['n2', 'n3']);
    expect(Math.abs((picked.get('n2') ?? 0) - 2000)).toBeLessThan(200);
    expect(pairs).toBe(0);
  });

  it('adds a down peer with about the given probability, never instead of a live one', () => {
    const { picked, pairs } = counts(0.25, 4000, 12);
    const downPicks = (picked.get('n4') ?? 0) + (picked.get('n6') ?? 0);
    expect(downPicks).toBe(pairs);
    expect(downPicks / 4000).toBeGreaterThan(0.22);
    expect(downPicks / 4000).toBeLessThan(0.28);
    expect((picked.get('n2') ?? 0) + (picked.get('n3') ?? 0)).toBe(4000);
    expect(picked.has('n5')).toBe(false);
    expect(picked.has('n1')).toBe(false);
  });

  it('picks a down peer when none is up, and nobody when alone', () => {
    const rng = seededRng(13);
    const lonely = stateOf([
      ['n1', 'up'],
      ['n2', 'up'],
    ]);
    expect(pickGossipPeers(lonely, 'n1', () => false, rng, 0)).toEqual(['n2']);
    expect(pickGossipPeers(stateOf([['n1', 'up']]), 'n1', () => true, rng, 0.5)).toEqual([]);
    expect(pickGossipPeers(new Map(), 'n1', () => true, rng, 0.5)).toEqual([]);
  });

  it('is deterministic for a seed, and checks its inputs', () => {
    const run = (seed: number): string[][] => {
      const rng = seededRng(seed);
      return Array.from({ length: 20 }, () => pickGossipPeers(state, 'n1', isUp, rng, 0.3));
    };
    expect(run(5)).toEqual(run(5));
    expect(() => pickGossipPeers(state, 'n1', isUp, () => 1, 0)).toThrow(/rng returned 1/);
    expect(() => pickGossipPeers(state, 'n1', isUp, () => 0, 1.5)).toThrow(/downProbability/);
  });
});
