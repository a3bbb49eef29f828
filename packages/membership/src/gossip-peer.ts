import { assert } from './assert.js';
import type { GossipState } from './gossip-state.js';

/**
 * The peer for this gossip round: a random member that is up, or with probability downProbability
 * (and always when no member is up) a random member that is down, so a healed partition or a
 * restarted node is noticed. Cassandra uses down / (up + 1) as that probability.
 * Members that have left and the local node are never picked; undefined when nobody is left.
 * rng returns uniform numbers in [0, 1) and is called at most twice.
 */
export function pickGossipPeer(
  state: GossipState,
  selfId: string,
  isUp: (id: string) => boolean,
  rng: () => number,
  downProbability: number,
): string | undefined {
  assert(downProbability >= 0 && downProbability <= 1, `downProbability ${downProbability}`);
  const up: string[] = [];
  const down: string[] = [];
  // The state iterates in id order, so the same rng draws pick the same peer on every run.
  for (const [id, member] of state) {
    if (id === selfId || member.status === 'left') continue;
    (isUp(id) ? up : down).push(id);
  }
  if (up.length === 0 && down.length === 0) return undefined;
  const pickDown = up.length === 0 || (down.length > 0 && draw(rng) < downProbability);
  const pool = pickDown ? down : up;
  return pool[Math.floor(draw(rng) * pool.length)];
}

function draw(rng: () => number): number {
  const value = rng();
  assert(value >= 0 && value < 1, `rng returned ${value}, not a number in [0, 1)`);
  return value;
}
