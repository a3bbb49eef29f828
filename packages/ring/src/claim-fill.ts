import { unowned, type ClaimState } from './claim-state.js';

/**
 * How strictly a receiver must fit where it takes a partition:
 * - zone: no partition of its zone within zoneSpan-1, none of its own within N-1;
 * - node: none of its own within N-1 (node spacing);
 * - any: anywhere (only to reach balance; a spacing repair follows).
 */
export type FitLevel = 'zone' | 'node' | 'any';

/**
 * The members with too few partitions first take the ones still without an owner (their
 * previous owner left): each goes to the member that fits there best, preferring members below
 * target, so that no partition moves twice. Best: no node conflict, then below target, then
 * fewest zone conflicts, then most in need, then lowest index.
 */
export function assignOrphans(state: ClaimState): void {
  const neighbours: number[] = [];
  for (let p = 0; p < state.partitionCount; p++) {
    if (state.owner(p) !== unowned) continue;
    collectNeighbours(state, p, neighbours);
    let best = 0;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let member = 0; member < state.memberCount; member++) {
      // Conflicts only raise the score: skip members that cannot win even without any.
      if (orphanScoreWithout(state, member) >= bestScore) continue;
      const score = orphanScoreWith(state, member, neighbours);
      if (score < bestScore) {
        best = member;
        bestScore = score;
      }
    }
    state.assign(p, best);
  }
}

/**
 * Owners within replicas-1 of p, nearest first, alternating sides (unowned kept, as -1, so that
 * entry i is at distance floor(i/2) + 1). On a ring too small for two disjoint sides, each other
 * partition appears once.
 */
function collectNeighbours(state: ClaimState, p: number, into: number[]): void {
  into.length = 0;
  const q = state.partitionCount;
  const reach = Math.min(state.replicas - 1, Math.floor((q - 1) / 2));
  for (let d = 1; d <= reach; d++)
    into.push(state.owner(state.at(p, d)), state.owner(state.at(p, -d)));
  if (q % 2 === 0 && q > 1 && state.replicas - 1 >= q / 2)
    into.push(state.owner(state.at(p, q / 2)));
}

/** Each field of the orphan score is below this: 2^11 > membersMax and > 2 * (replicas - 1). */
const scoreFieldMax = 2048;

/**
 * The orphan score as one number, lower is better, fields from most to least significant: node
 * conflicts, not needing partitions, zone conflicts (within zoneSpan-1), need (largest first,
 * capped), member index. At most 2^45 * 2^12, exact in a double.
 */
function orphanScore(
  state: ClaimState,
  member: number,
  nodeConflicts: number,
  zoneConflicts: number,
): number {
  const deficit = state.deficit(member);
  const needless = deficit > 0 ? 0 : 1;
  const need = Math.max(0, Math.min(deficit, scoreFieldMax - 1));
  const high = (nodeConflicts * 2 + needless) * scoreFieldMax + zoneConflicts;
  return (high * scoreFieldMax + (scoreFieldMax - 1 - need)) * scoreFieldMax + member;
}

function orphanScoreWithout(state: ClaimState, member: number): number {
  return orphanScore(state, member, 0, 0);
}

function orphanScoreWith(state: ClaimState, member: number, neighbours: readonly number[]): number {
  let nodeConflicts = 0;
  let zoneConflicts = 0;
  const zone = state.zoneOf[member];
  const zoneReach = 2 * (state.zoneSpan - 1);
  for (let i = 0; i < neighbours.length; i++) {
    const neighbour = neighbours[i] ?? unowned;
    if (neighbour === member) nodeConflicts++;
    if (neighbour !== unowned && i < zoneReach && state.zoneOf[neighbour] === zone) zoneConflicts++;
  }
  return orphanScore(state, member, nodeConflicts, zoneConflicts);
}

/** Members below target, most in need first, then by index. */
export function receivers(state: ClaimState): number[] {
  const found: number[] = [];
  for (let member = 0; member < state.memberCount; member++)
    if (state.deficit(member) > 0) found.push(member);
  return found.sort((a, b) => state.deficit(b) - state.deficit(a) || a - b);
}

/**
 * Each member below target takes partitions from members above target. It first takes
 * partitions whose owner breaks spacing (fixing them for free), then sweeps the ring taking
 * partitions at least `gap` from its own, starting with the gap an even spread would leave
 * (Q / target) and narrowing it down to N, so its partitions end up spread around the ring.
 */
export function fillReceivers(state: ClaimState, strictest: FitLevel): void {
  const needy = receivers(state);
  needy.forEach((member, rank) => {
    const start = Math.floor((rank * state.partitionCount) / needy.length);
    const view = receiverView(state, member, start);
    if (strictest !== 'any') takeViolations(state, member, view);
    const minGap = strictest === 'any' ? 1 : state.replicas;
    let gap = Math.max(
      minGap,
      Math.floor(state.partitionCount / Math.max(1, state.target(member))),
    );
    // Each pass narrows the gap by at least 1, so at most Q passes, usually a few.
    for (let pass = 0; pass < state.partitionCount && state.deficit(member) > 0; pass++) {
      if (strictest === 'zone') sweep(state, member, view, gap, 'zone');
      sweep(state, member, view, gap, strictest === 'any' ? 'any' : 'node');
      if (gap <= minGap) break;
      gap = Math.max(minGap, gap - Math.max(1, Math.floor(gap / 4)));
    }
  });
}

/**
 * A receiver's view of the ring in rotated coordinates u = p - start: its own partitions and the
 * donor partitions it may take, both ascending. Donors only lose partitions while it fills, so
 * the candidates are found once, in O(Q), and each sweep visits only them.
 */
interface ReceiverView {
  readonly start: number;
  own: number[];
  candidates: number[];
}

function receiverView(state: ClaimState, member: number, start: number): ReceiverView {
  const own: number[] = [];
  const candidates: number[] = [];
  for (let u = 0; u < state.partitionCount; u++) {
    const owner = state.owner((start + u) % state.partitionCount);
    if (owner === member) own.push(u);
    else if (isDonor(state, owner)) candidates.push(u);
  }
  return { start, own, candidates };
}

function isDonor(state: ClaimState, owner: number): boolean {
  return owner === unowned || state.count(owner) > state.target(owner);
}

function fits(state: ClaimState, member: number, partition: number, level: FitLevel): boolean {
  if (level === 'any') return true;
  if (state.nodeConflicts(member, partition) > 0) return false;
  return level === 'node' || state.zoneConflicts(member, partition) === 0;
}

function takeViolations(state: ClaimState, member: number, view: ReceiverView): void {
  const taken: number[] = [];
  for (const u of view.candidates) {
    if (state.deficit(member) <= 0) break;
    const p = (view.start + u) % state.partitionCount;
    if (!isDonor(state, state.owner(p))) continue;
    if (
      state.violatesNode(p)
        ? fits(state, member, p, 'node')
        : state.violatesZone(p) && fits(state, member, p, 'zone')
    ) {
      state.assign(p, member);
      taken.push(u);
    }
  }
  settle(state, member, view, taken);
}

/** After a pass: taken candidates join `own`; candidates no longer takeable are dropped. */
function settle(
  state: ClaimState,
  member: number,
  view: ReceiverView,
  taken: readonly number[],
): void {
  if (taken.length > 0) view.own = [...view.own, ...taken].sort((a, b) => a - b);
  view.candidates = view.candidates.filter((u) => {
    const owner = state.owner((view.start + u) % state.partitionCount);
    return owner !== member && isDonor(state, owner);
  });
}

/**
 * One pass over the candidates, taking those whose distance to the member's nearest own
 * partition (before and after) is at least `gap`. `last` is the member's latest partition before
 * u, `first` its earliest, which bounds the distance across the wrap.
 */
function sweep(
  state: ClaimState,
  member: number,
  view: ReceiverView,
  gap: number,
  level: FitLevel,
): void {
  const q = state.partitionCount;
  const { own } = view;
  let last = own.length > 0 ? (own[own.length - 1] ?? 0) - q : undefined;
  let first = own[0];
  let nextIndex = 0;
  const taken: number[] = [];
  for (const u of view.candidates) {
    if (state.deficit(member) <= 0) break;
    while (nextIndex < own.length && (own[nextIndex] ?? 0) <= u) {
      last = Math.max(last ?? -q, own[nextIndex] ?? 0);
      nextIndex++;
    }
    const p = (view.start + u) % q;
    if (!isDonor(state, state.owner(p))) continue;
    const next = own[nextIndex] ?? (first === undefined ? undefined : first + q);
    if ((last !== undefined && u - last < gap) || (next !== undefined && next - u < gap)) continue;
    if (!fits(state, member, p, level)) continue;
    state.assign(p, member);
    taken.push(u);
    last = u;
    first = Math.min(first ?? u, u);
  }
  settle(state, member, view, taken);
}
