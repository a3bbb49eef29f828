import { assert } from './assert.js';

/**
 * A member's administrative state, in lifecycle order ('up': a full member). Whether a member is
 * up for routing is not part of it: every node decides that for itself (LivenessTable). Each node
 * writes only its own entry; changes to the ring (join, leave, remove) travel in the ring
 * document, not here.
 */
export type MemberStatus = 'joining' | 'up' | 'leaving' | 'left';

export const memberStatuses: readonly MemberStatus[] = ['joining', 'up', 'leaving', 'left'];

export interface MemberState {
  readonly id: string;
  /** host:port of the client port. */
  readonly address: string;
  /** host:port of the peer port ('' from a node that does not say). */
  readonly peerAddress: string;
  /** '' when zones are not configured. */
  readonly zone: string;
  /** Incarnation: grows on every restart (e.g. start time in seconds), so a restart always wins. */
  readonly generation: number;
  /** Grows on every gossip round of the member itself (beat) and on every status change. */
  readonly heartbeat: number;
  readonly status: MemberStatus;
}

/** Member id -> state. Kept sorted by id, so equal states iterate (and encode) identically. */
export type GossipState = ReadonlyMap<string, MemberState>;

const statusRank: Readonly<Record<MemberStatus, number>> = {
  joining: 0,
  up: 1,
  leaving: 2,
  left: 3,
};

/**
 * Total order on the states of one member: generation, then heartbeat, then status (lifecycle
 * order), then address and zone (which never differ for equal generation and heartbeat unless a
 * node misbehaves, but the order must be total for merge to be a lattice join).
 */
export function compareMember(a: MemberState, b: MemberState): number {
  return (
    Math.sign(a.generation - b.generation) ||
    Math.sign(a.heartbeat - b.heartbeat) ||
    Math.sign(statusRank[a.status] - statusRank[b.status]) ||
    compareStrings(a.address, b.address) ||
    compareStrings(a.peerAddress, b.peerAddress) ||
    compareStrings(a.zone, b.zone)
  );
}

/**
 * The newer of two states of one member: the maximum under compareMember, so merging is
 * commutative, associative and idempotent, and a newer generation always wins. Returns one of its
 * arguments (no copy).
 */
export function mergeMember(a: MemberState, b: MemberState): MemberState {
  assert(a.id === b.id, `merging states of different members ${a.id} and ${b.id}`);
  return compareMember(a, b) >= 0 ? a : b;
}

/** Union of two gossip states, the newer state of each member winning. */
export function mergeState(a: GossipState, b: GossipState): GossipState {
  const merged = new Map(a);
  for (const [id, theirs] of b) {
    const ours = merged.get(id);
    merged.set(id, ours === undefined ? theirs : mergeMember(ours, theirs));
  }
  return sortedById(merged);
}

/** One gossip round of the local node: its own heartbeat goes up by one. */
export function beat(state: GossipState, selfId: string): GossipState {
  return replaceSelf(state, selfId, (self) => ({ ...self, heartbeat: self.heartbeat + 1 }));
}

/**
 * Ids, ascending, whose state is newer in `after` than in `before` (or new): the members whose
 * heartbeat just arrived, to feed their failure detectors.
 */
export function changedMembers(before: GossipState, after: GossipState): string[] {
  const changed: string[] = [];
  for (const [id, state] of after) {
    const previous = before.get(id);
    if (previous === undefined || compareMember(state, previous) > 0) changed.push(id);
  }
  return changed.sort(compareStrings);
}

/** A one-member state for a node that has just started (generation chosen by the caller). */
export function initialState(self: MemberState): GossipState {
  return new Map([[self.id, self]]);
}

function replaceSelf(
  state: GossipState,
  selfId: string,
  change: (self: MemberState) => MemberState,
): GossipState {
  const self = state.get(selfId);
  assert(self !== undefined, `the gossip state has no entry for the local node ${selfId}`);
  const next = new Map(state);
  next.set(selfId, change(self));
  return next;
}

function sortedById(state: ReadonlyMap<string, MemberState>): GossipState {
  return new Map([...state].sort(([x], [y]) => compareStrings(x, y)));
}

// Code-unit order, not locale order: every node must sort identically.
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
