import { assert } from './assert.js';
import { fillByReplicaCost, previousPrimaries, ReplicaCost } from './claim-cost.js';
import { assignOrphans, fillReceivers } from './claim-fill.js';
import { relabelToPrevious } from './claim-relabel.js';
import { chainMoves, repairSpacing } from './claim-repair.js';
import { repairSegments } from './claim-segment.js';
import { ClaimState, unowned, zoneNumbers } from './claim-state.js';
import { skipRun, stripe, stripeOrder } from './claim-stripe.js';
import {
  compareIds,
  validateMembers,
  validateRingOptions,
  type Member,
  type Ring,
  type RingOptions,
} from './ring.js';

/** Two-move chains claim may try per membership change before falling back to a fresh stripe. */
const chainsMax = 64;
/**
 * Orphan placement costs O(orphans * (members + N)); past this much work (a membership change that
 * replaces most of a large cluster) claim stripes afresh instead, relabelled to keep what it can.
 */
const orphanWorkMax = 1 << 25;
/**
 * Slots the replica-cost fill may visit in walks (about 50 ms per 2^20). A join takes Q/(S+1)
 * slots, each after a scan of the Q slots (and one more to reconsider it), most of them answered
 * from the last scan: 2^17 at Q=256 from 4 to 5 members, 2^21 at Q=1024. Past this (rings of
 * thousands of partitions with few members) the fill stops and the spread fill places the rest.
 */
const replicaCostWorkMax = 1 << 22;

/** How claim arrived at a ring: for tests and logs. */
export type ClaimMethod = 'fresh' | 'previous' | 'fallback';

/**
 * Assign every partition an owner, deterministically: the same members (in any order) and the
 * same previous ring give the same ring everywhere. Each member owns floor or ceil of Q/S
 * partitions; with more members than replicas, every N consecutive partitions have N distinct
 * owners, in distinct zones where the zones allow. With `previous`, partitions stay where they are
 * unless they must move.
 */
export function claim(members: readonly Member[], options: RingOptions): Ring {
  return claimDetailed(members, options).ring;
}

export function claimDetailed(
  members: readonly Member[],
  options: RingOptions,
): { ring: Ring; method: ClaimMethod } {
  const problem = validateRingOptions(options) ?? validateMembers(members);
  assert(problem === undefined, `claim: ${problem}`);
  const sorted = members
    .map((m) => ({ id: m.id, zone: m.zone }))
    .sort((a, b) => compareIds(a.id, b.id));
  const { partitionCount, replicas, previous } = options;
  let method: ClaimMethod = 'fresh';
  let owners: Int32Array | undefined;
  if (previous !== undefined) {
    owners = claimFromPreviousLeastMoving(sorted, partitionCount, replicas, previous);
    method = owners === undefined ? 'fallback' : 'previous';
  }
  if (owners === undefined) {
    owners = claimFresh(sorted, partitionCount, replicas);
    if (previous !== undefined)
      owners = relabelToPrevious(owners, previousOwners(sorted, previous), relabelClasses(sorted));
  }
  return { ring: { partitionCount, members: sorted, owners: Array.from(owners) }, method };
}

function claimFresh(
  members: readonly Member[],
  partitionCount: number,
  replicas: number,
): Int32Array {
  const { zoneOf } = zoneNumbers(members);
  const owners = stripe(
    partitionCount,
    replicas,
    stripeOrder(members, zoneOf),
    skipRun(zoneOf, partitionCount, replicas),
  );
  const state = new ClaimState(members, partitionCount, replicas, owners);
  if (state.spacingRequired() && repairSpacing(state) > 0) repairSegments(state);
  return owners;
}

/**
 * Where zones make the walk skip (see walksSkipZones), a slot's owner decides the replicas of
 * partitions well before it, so the spread fill, which only looks at slots, can move far more
 * replica partitions than the slots it moves. Then claim also fills by replica cost (the walk's
 * own result) and keeps whichever ring adds fewer replica partitions, the spread fill's on a tie:
 * never more than the spread fill alone, and without zones exactly as before.
 */
function claimFromPreviousLeastMoving(
  members: readonly Member[],
  partitionCount: number,
  replicas: number,
  previous: Ring,
): Int32Array | undefined {
  const spread = claimFromPrevious(members, partitionCount, replicas, previous, undefined);
  if (!walksSkipZones(members, replicas, previous)) return spread;
  const indexById = new Map(members.map((m, index) => [m.id, index]));
  const before = previousPrimaries(previous, indexById, replicas);
  const costed = claimFromPrevious(members, partitionCount, replicas, previous, before);
  if (costed === undefined) return spread;
  if (spread === undefined) return costed;
  const added = (owners: Int32Array): number =>
    new ReplicaCost(new ClaimState(members, partitionCount, replicas, owners), before).added();
  return added(costed) < added(spread) ? costed : spread;
}

/**
 * Whether where a slot sits among the zones changes more replica sets than the slot's N: with
 * two zones or more and one of them holding two members or more, N >= 2, and more than N owners
 * before and after (with N or fewer every member is a primary of every partition anyway).
 */
function walksSkipZones(members: readonly Member[], replicas: number, previous: Ring): boolean {
  const { zoneCount } = zoneNumbers(members);
  if (replicas < 2 || zoneCount < 2 || zoneCount === members.length) return false;
  return members.length > replicas && new Set(previous.owners).size > replicas;
}

/**
 * Keep previous owners that are still members, then: orphans go to members below target,
 * members below target take from members above (by replica cost against `primariesBefore`
 * when given, where every zone already owns a slot; then spread, keeping spacing), chains of two
 * moves where no direct move fits, swaps (then segment re-solves, without replica cost) for any
 * spacing left broken. Undefined when that fails to give a balanced, spaced ring (the caller then
 * stripes afresh) or when the replica-cost fill was asked for but does not apply.
 */
function claimFromPrevious(
  members: readonly Member[],
  partitionCount: number,
  replicas: number,
  previous: Ring,
  primariesBefore: Int32Array | undefined,
): Int32Array | undefined {
  const owners = previousOwners(members, previous);
  const orphans = owners.reduce((sum, owner) => sum + (owner === unowned ? 1 : 0), 0);
  if (orphans * (members.length + 2 * replicas) > orphanWorkMax) return undefined;
  const state = new ClaimState(members, partitionCount, replicas, owners);
  setTargets(state);
  assignOrphans(state);
  if (primariesBefore !== undefined) {
    if (!everyZoneOwns(state)) return undefined;
    fillByReplicaCost(state, new ReplicaCost(state, primariesBefore), replicaCostWorkMax);
  }
  fillReceivers(state, 'zone');
  if (state.spacingRequired()) chainMoves(state, chainsMax);
  fillReceivers(state, 'any');
  for (let member = 0; member < members.length; member++) {
    assert(
      state.deficit(member) === 0,
      `claim: member ${members[member]?.id} still needs ${state.deficit(member)} partitions`,
    );
  }
  if (!state.spacingRequired() || repairSpacing(state) === 0) return owners;
  // Segment re-solves are claim's slowest step; the spread fill's ring has had its turn at them.
  if (primariesBefore !== undefined) return undefined;
  return repairSegments(state) > 0 ? undefined : owners;
}

/**
 * Each member should own floor(Q/S) partitions, and Q mod S of them one more: those that own
 * the most already (ties by id), so that as few partitions as possible move.
 */
function setTargets(state: ClaimState): void {
  const base = Math.floor(state.partitionCount / state.memberCount);
  const extra = state.partitionCount % state.memberCount;
  const ranked = Array.from({ length: state.memberCount }, (_, member) => member);
  ranked.sort((a, b) => state.count(b) - state.count(a) || a - b);
  ranked.forEach((member, rank) => {
    state.targets[member] = base + (rank < extra ? 1 : 0);
  });
}

/**
 * Whether each zone of a member that is to own partitions owns one already: a joiner bringing a
 * new zone becomes a primary of almost every partition whatever claim does, and until it owns a
 * slot every walk goes round the whole ring looking for its zone.
 */
function everyZoneOwns(state: ClaimState): boolean {
  const owning = new Set<number>();
  for (let p = 0; p < state.partitionCount; p++) owning.add(state.zoneOf[state.owner(p)] ?? -1);
  for (let member = 0; member < state.memberCount; member++) {
    if (state.target(member) > 0 && !owning.has(state.zoneOf[member] ?? -1)) return false;
  }
  return true;
}

/** The previous owners as indexes into `members`, `unowned` where the owner left. */
function previousOwners(members: readonly Member[], previous: Ring): Int32Array {
  const indexById = new Map(members.map((m, index) => [m.id, index]));
  return Int32Array.from(
    previous.owners,
    (owner) => indexById.get(previous.members[owner]?.id ?? '') ?? unowned,
  );
}

/** Members that may trade places in a relabelled stripe: one class per zone, one for all zoneless. */
function relabelClasses(members: readonly Member[]): Int32Array {
  const { zoneOf } = zoneNumbers(members);
  return Int32Array.from(members, (member, index) =>
    member.zone === '' ? -1 : (zoneOf[index] ?? 0),
  );
}
