import { describe, expect, it } from 'vitest';
import type { GossipState, MemberState, MemberStatus } from './index.js';
import { pickGossipPeer } from './index.js';
import { seededRng } from './test-support/rng.js';

function stateOf(members: readonly [id: string, status: MemberStatus][]): GossipState {
  return new Map(
    members.map(([id, status]): [string, MemberState] => [
      id,
      { id, address: `${id}:7000`, zone: '', generation: 1, heartbeat: 1, status },
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

function counts(downProbability: number, rounds: number, seed: number): Map<string, number> {
  const rng = seededRng(seed);
  const picked = new Map<string, number>();
  for (let i = 0; i < rounds; i++) {
    const peer = pickGossipPeer(state, 'n1', isUp, rng, downProbability);
    expect(peer).toBeDefined();
    picked.set(peer!, (picked.get(peer!) ?? 0) + 1);
  }
  return picked;
}

describe('pickGossipPeer', () => {
  it('picks peers that are up uniformly, never itself or a member that left', () => {
    const picked = counts(0, 4000, 11);
    expect([...picked.keys()].sort()).toEqual(['n2', 'n3']);
    expect(Math.abs((picked.get('n2') ?? 0) - 2000)).toBeLessThan(200);
  });

  it('picks a down peer with about the given probability', () => {
    const picked = counts(0.25, 4000, 12);
    const downPicks = (picked.get('n4') ?? 0) + (picked.get('n6') ?? 0);
    expect(downPicks / 4000).toBeGreaterThan(0.22);
    expect(downPicks / 4000).toBeLessThan(0.28);
    expect(picked.has('n5')).toBe(false);
    expect(picked.has('n1')).toBe(false);
  });

  it('falls back to down peers when none is up, and to nobody when alone', () => {
    const rng = seededRng(13);
    const lonely = stateOf([
      ['n1', 'up'],
      ['n2', 'up'],
    ]);
    expect(pickGossipPeer(lonely, 'n1', () => false, rng, 0)).toBe('n2');
    expect(pickGossipPeer(stateOf([['n1', 'up']]), 'n1', () => true, rng, 0.5)).toBeUndefined();
    expect(pickGossipPeer(new Map(), 'n1', () => true, rng, 0.5)).toBeUndefined();
  });

  it('is deterministic for a seed, and checks its inputs', () => {
    const run = (seed: number): (string | undefined)[] => {
      const rng = seededRng(seed);
      return Array.from({ length: 20 }, () => pickGossipPeer(state, 'n1', isUp, rng, 0.3));
    };
    expect(run(5)).toEqual(run(5));
    expect(() => pickGossipPeer(state, 'n1', isUp, () => 1, 0)).toThrow(/rng returned 1/);
    expect(() => pickGossipPeer(state, 'n1', isUp, () => 0, 1.5)).toThrow(/downProbability/);
  });
});
