import type { ClaimState } from './claim-state.js';

/** Search nodes one segment re-solve may visit. */
const segmentNodesMax = 50_000;
/** Segments of at most this many partitions times N are re-solved. */
const segmentLengthFactorMax = 12;
/** Search nodes all segment re-solves of one claim may visit. */
const segmentWorkMax = 1 << 21;

/**
 * For violations that single swaps cannot fix (rings with barely more members than replicas,
 * where spacing leaves little freedom): re-arrange the owners of a segment around the violation,
 * keeping the segment's owners (so every member's count), such that node spacing holds inside
 * it and against the fixed partitions on both sides, changing as few partitions as possible.
 * Segments grow from 2N to 12N partitions. Returns how many violations remain.
 */
export function repairSegments(state: ClaimState): number {
  const budget = { nodes: segmentWorkMax };
  const n = state.replicas;
  for (let length = 2 * n; length <= segmentLengthFactorMax * n && budget.nodes > 0; length += n) {
    if (length + 2 * (n - 1) > state.partitionCount) break;
    for (const p of state.nodeViolations()) {
      if (state.violatesNode(p))
        resolveSegment(state, state.at(p, -Math.floor(length / 2)), length, budget);
    }
  }
  return state.nodeViolations().length;
}

interface Search {
  readonly state: ClaimState;
  readonly start: number;
  /** Distinct owners in the segment; the search works with their slots 0..k-1. */
  readonly members: Int32Array;
  /** Per position: the original owner's slot first, then the other slots. */
  readonly order: readonly Int32Array[];
  readonly remaining: Int32Array;
  readonly chosen: Int32Array;
  best: Int32Array | undefined;
  bestChanges: number;
  nodesLeft: number;
}

function resolveSegment(
  state: ClaimState,
  start: number,
  length: number,
  budget: { nodes: number },
): boolean {
  const original = Int32Array.from({ length }, (_, i) => state.owner(state.at(start, i)));
  const members = Int32Array.from(new Set(original)).sort();
  const slotOf = new Map(Array.from(members, (member, slot) => [member, slot]));
  const remaining = new Int32Array(members.length);
  const order = Array.from(original, (owner) => {
    const slot = slotOf.get(owner) ?? 0;
    remaining[slot] = (remaining[slot] ?? 0) + 1;
    return Int32Array.from([slot, ...Array.from(members.keys()).filter((other) => other !== slot)]);
  });
  const search: Search = {
    state,
    start,
    members,
    order,
    remaining,
    chosen: new Int32Array(length),
    best: undefined,
    bestChanges: length + 1,
    nodesLeft: Math.min(segmentNodesMax, budget.nodes),
  };
  const nodesBefore = search.nodesLeft;
  place(search, 0, 0);
  budget.nodes -= nodesBefore - search.nodesLeft;
  if (search.best === undefined) return false;
  search.best.forEach((owner, i) => {
    state.assign(state.at(start, i), owner);
  });
  return true;
}

/** Depth-first, original owner first, pruning branches that cannot change fewer partitions. */
function place(search: Search, index: number, changes: number): void {
  if (changes >= search.bestChanges || search.nodesLeft <= 0) return;
  search.nodesLeft--;
  if (index === search.chosen.length) {
    search.best = Int32Array.from(search.chosen);
    search.bestChanges = changes;
    return;
  }
  const order = search.order[index] ?? new Int32Array(0);
  for (let k = 0; k < order.length; k++) {
    const slot = order[k] ?? 0;
    const left = search.remaining[slot] ?? 0;
    const member = search.members[slot] ?? 0;
    if (left === 0 || !fitsInSegment(search, index, member)) continue;
    search.remaining[slot] = left - 1;
    search.chosen[index] = member;
    place(search, index + 1, changes + (k === 0 ? 0 : 1));
    search.remaining[slot] = left;
  }
}
/** Node spacing against what is placed before, and against the fixed partitions after the segment. */
function fitsInSegment(search: Search, index: number, member: number): boolean {
  const { state, start, chosen } = search;
  for (let d = 1; d < state.replicas; d++) {
    const before = index - d >= 0 ? chosen[index - d] : state.owner(state.at(start, index - d));
    if (before === member) return false;
    if (index + d >= chosen.length && state.owner(state.at(start, index + d)) === member)
      return false;
  }
  return true;
}
