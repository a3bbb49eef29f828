import { assert } from './assert.js';
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
    owners = claimFromPrevious(sorted, partitionCount, replicas, previous);
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
 * Keep previous owners that are still members, then: orphans go to members below target,
 * members below target take from members above (spread, keeping spacing), chains of two moves
 * where no direct move fits, swaps for any spacing left broken. Undefined when that fails to
 * give a balanced, spaced ring (the caller then stripes afresh).
 */
function claimFromPrevious(
  members: readonly Member[],
  partitionCount: number,
  replicas: number,
  previous: Ring,
): Int32Array | undefined {
  const owners = previousOwners(members, previous);
  const orphans = owners.reduce((sum, owner) => sum + (owner === unowned ? 1 : 0), 0);
  if (orphans * (members.length + 2 * replicas) > orphanWorkMax) return undefined;
  const state = new ClaimState(members, partitionCount, replicas, owners);
  setTargets(state);
  assignOrphans(state);
  fillReceivers(state, 'zone');
  if (state.spacingRequired()) chainMoves(state, chainsMax);
  fillReceivers(state, 'any');
  for (let member = 0; member < members.length; member++) {
    assert(
      state.deficit(member) === 0,
      `claim: member ${members[member]?.id} still needs ${state.deficit(member)} partitions`,
    );
  }
  if (state.spacingRequired() && repairSpacing(state) > 0 && repairSegments(state) > 0)
    return undefined;
  return owners;
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
