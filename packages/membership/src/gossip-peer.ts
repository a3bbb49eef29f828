import { assert } from './assert.js';
import type { GossipState } from './gossip-state.js';

/**
 * The peers of this gossip round (Cassandra's Gossiper): a random member that is up, and also,
 * with probability downProbability (always when no member is up), a random member that is down,
 * so a healed partition or a restarted node is noticed without a round ever going to a dead
 * address instead of a live one. Cassandra uses down / (up + 1) as that probability.
 * Members that have left and the local node are never picked; empty when nobody is left.
 * rng returns uniform numbers in [0, 1) and is called at most three times.
 */
export function pickGossipPeers(
  state: GossipState,
  selfId: string,
  isUp: (id: string) => boolean,
  rng: () => number,
  downProbability: number,
): string[] {
  assert(downProbability >= 0 && downProbability <= 1, `downProbability ${downProbability}`);
  const up: string[] = [];
  const down: string[] = [];
  // The state iterates in id order, so the same rng draws pick the same peers on every run.
  for (const [id, member] of state) {
    if (id === selfId || member.status === 'left') continue;
    (isUp(id) ? up : down).push(id);
  }
  const picked: string[] = [];
  if (up.length > 0) picked.push(pickOne(up, rng));
  if (down.length > 0 && (up.length === 0 || draw(rng) < downProbability))
    picked.push(pickOne(down, rng));
  return picked;
}

function pickOne(pool: readonly string[], rng: () => number): string {
  return pool[Math.floor(draw(rng) * pool.length)] as string;
}

function draw(rng: () => number): number {
  const value = rng();
  assert(value >= 0 && value < 1, `rng returned ${value}, not a number in [0, 1)`);
  return value;
}
