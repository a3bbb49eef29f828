import { changedMembers, type GossipState, type MemberState } from '@ringstore/membership';

/**
 * What a node takes from a peer's gossip (pure: the wall clock is an argument). A member's
 * generation is its start time in ms (node.ts), so no honest one is far ahead of this node's
 * clock, and its heartbeat grows by one per gossip round (at least 50 ms apart, config), so none
 * is far beyond the milliseconds since that start. An entry past either bound is a forgery or a
 * broken clock: merged, it would win over every later state the member itself sends (the member
 * would look down everywhere, for good), so it is ignored and counted.
 */

/**
 * How far a generation may be ahead of this node's clock: wide enough for any clock skew a
 * cluster survives, narrow enough that an entry within it is overtaken by the member itself
 * (refutation, below) or by its next restart.
 */
export const generationAheadMaxMs = 24 * 60 * 60 * 1000;

/** Why an entry of a peer's gossip was not merged (the label values of ringstore_gossip_ignored_total). */
export type GossipIgnoreReason =
  'unknown-member' | 'generation-ahead' | 'heartbeat-ahead' | 'malformed';

export const gossipIgnoreReasons: readonly GossipIgnoreReason[] = [
  'unknown-member',
  'generation-ahead',
  'heartbeat-ahead',
  'malformed',
];

/**
 * The highest heartbeat a member of `generation` can have reached by `nowMs` (plus the skew
 * allowance): one beat per millisecond since its start, twenty times the fastest gossip there is.
 */
export function heartbeatMax(generation: number, nowMs: number): number {
  return Math.max(0, nowMs + generationAheadMaxMs - generation);
}

/** Why this entry cannot be true by this node's clock, or undefined when it can. */
export function clockProblem(
  member: MemberState,
  nowMs: number,
): 'generation-ahead' | 'heartbeat-ahead' | undefined {
  if (member.generation > nowMs + generationAheadMaxMs) return 'generation-ahead';
  if (member.heartbeat > heartbeatMax(member.generation, nowMs)) return 'heartbeat-ahead';
  return undefined;
}

export interface Screened {
  /** Entries of known members other than this node, within the clock's bounds: to merge. */
  readonly others: GossipState;
  /** The peer's entry for this node (within bounds), never merged: see outbid. */
  readonly aboutSelf: MemberState | undefined;
  readonly ignored: ReadonlyMap<GossipIgnoreReason, number>;
}

/** Sorts a peer's (checked) gossip into what is merged, what concerns this node, and what is ignored. */
export function screenGossip(
  remote: GossipState,
  selfId: string,
  known: (id: string) => boolean,
  nowMs: number,
): Screened {
  const others = new Map<string, MemberState>();
  const ignored = new Map<GossipIgnoreReason, number>();
  let aboutSelf: MemberState | undefined;
  for (const [id, member] of remote) {
    const reason = id === selfId || known(id) ? clockProblem(member, nowMs) : 'unknown-member';
    if (reason !== undefined) ignored.set(reason, (ignored.get(reason) ?? 0) + 1);
    else if (id === selfId) aboutSelf = member;
    else others.set(id, member);
  }
  return { others, aboutSelf, ignored };
}

/**
 * This node's answer to a peer that holds a newer state of it than its own (a forged one, or its
 * previous incarnation's after a restart with a clock set back): its own entry, raised just above
 * the claim, so its own gossip wins again everywhere. Only generation and heartbeat are raised;
 * nothing else of the claim is taken. Undefined when the claim is not newer.
 */
export function outbid(own: MemberState, claimed: MemberState): MemberState | undefined {
  const before = new Map([[own.id, own]]);
  const after = new Map([[own.id, { ...claimed, id: own.id }]]);
  if (changedMembers(before, after).length === 0) return undefined;
  const generation = Math.max(own.generation, claimed.generation);
  const base = claimed.generation === own.generation ? own.heartbeat : 0;
  return { ...own, generation, heartbeat: Math.max(base, claimed.heartbeat) + 1 };
}
