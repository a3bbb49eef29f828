import { receivers } from './claim-fill.js';
import { unowned, type ClaimState } from './claim-state.js';

/** Rounds of spacing repair over the remaining violations before claim gives up on the previous ring. */
const repairRoundsMax = 8;
/** Candidate moves a chain or spacing repair may try in all: bounds claim's time on large rings. */
const swapTriesMax = 1 << 21;

/**
 * When no donor partition fits a member below target, a chain of two moves may: the member
 * takes partition p from a member z at target, and z takes a partition q from a member above
 * target where z fits. Each chain is searched in O(Q * candidates); `chainsMax` bounds the total.
 */
export function chainMoves(state: ClaimState, chainsMax: number): void {
  let chains = 0;
  const budget = { tries: swapTriesMax };
  for (const member of receivers(state)) {
    while (state.deficit(member) > 0 && chains < chainsMax && chainOnce(state, member, budget))
      chains++;
  }
}

function chainOnce(state: ClaimState, member: number, budget: { tries: number }): boolean {
  const fitting = new Map<number, number[]>();
  for (let p = 0; p < state.partitionCount; p++) {
    const owner = state.owner(p);
    if (owner === unowned || owner === member || state.nodeConflicts(member, p) > 0) continue;
    const partitions = fitting.get(owner);
    if (partitions === undefined) fitting.set(owner, [p]);
    else partitions.push(p);
  }
  for (let q = 0; q < state.partitionCount; q++) {
    const donor = state.owner(q);
    if (donor === unowned || state.count(donor) <= state.target(donor)) continue;
    for (const [middle, partitions] of fitting) {
      // The middle member must fit at q (its conflict there could only be p itself: skipped).
      if (middle === donor || state.nodeConflicts(middle, q) > 0) continue;
      for (const p of partitions) {
        if (budget.tries-- <= 0) return false;
        if (tryMoves(state, [p, member], [q, middle])) return true;
      }
    }
  }
  return false;
}

/** Apply two moves, keep them if both new owners keep node spacing, otherwise undo them. */
function tryMoves(
  state: ClaimState,
  first: readonly [number, number],
  second: readonly [number, number],
): boolean {
  const [p, toP] = first;
  const [q, toQ] = second;
  const fromP = state.owner(p);
  const fromQ = state.owner(q);
  state.assign(p, toP);
  state.assign(q, toQ);
  if (state.nodeConflicts(toP, p) === 0 && state.nodeConflicts(toQ, q) === 0) return true;
  state.assign(q, fromQ);
  state.assign(p, fromP);
  return false;
}

/**
 * Fix node-spacing violations by swaps, which keep every member's count. For each violating
 * partition, the nearest swap that leaves both partitions without conflicts, or else the swap
 * that most lowers the number of conflicting pairs (ties: the nearest). The number only falls, so this ends; returns how many violations remain.
 */
export function repairSpacing(state: ClaimState): number {
  const budget = { tries: swapTriesMax };
  for (let round = 0; round < repairRoundsMax; round++) {
    const violations = state.nodeViolations();
    if (violations.length === 0) return 0;
    let repaired = false;
    for (const p of violations) {
      if (state.violatesNode(p) && bestNodeSwap(state, p, budget)) repaired = true;
    }
    if (!repaired) break;
  }
  return state.nodeViolations().length;
}

function bestNodeSwap(state: ClaimState, p: number, budget: { tries: number }): boolean {
  const owner = state.owner(p);
  let best = { q: -1, change: 0 };
  for (let offset = 1; offset < state.partitionCount && budget.tries > 0; offset++) {
    const q = state.at(p, offset);
    const other = state.owner(q);
    if (other === unowned || other === owner) continue;
    budget.tries--;
    const { change, clean } = nodeSwapChange(state, p, q);
    if (change < best.change) best = { q, change };
    if (clean) break;
  }
  if (best.q < 0) return false;
  swap(state, p, best.q);
  return true;
}

/** How the number of node conflicts around p and q changes if their owners swap; clean: none left there. */
function nodeSwapChange(
  state: ClaimState,
  p: number,
  q: number,
): { change: number; clean: boolean } {
  const before = state.nodeConflicts(state.owner(p), p) + state.nodeConflicts(state.owner(q), q);
  swap(state, p, q);
  const after = state.nodeConflicts(state.owner(p), p) + state.nodeConflicts(state.owner(q), q);
  swap(state, p, q);
  return { change: after - before, clean: after === 0 };
}

function swap(state: ClaimState, p: number, q: number): void {
  const owner = state.owner(p);
  state.assign(p, state.owner(q));
  state.assign(q, owner);
}
