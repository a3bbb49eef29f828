import { assert } from './assert.js';
import { membersMax } from './limits.js';
import { primaryReplicas } from './preference-list.js';
import { compareIds, type Ring } from './ring.js';

/** How the primary replicas of one partition differ between two rings. */
export interface ReplicaChange {
  readonly partition: number;
  /** The partition's N primaries in the ring before, in preference order. */
  readonly before: readonly string[];
  /** The partition's N primaries in the ring after, in preference order. */
  readonly after: readonly string[];
  /** In `after` but not `before`, in `after`'s order: each must receive the partition. */
  readonly added: readonly string[];
  /** In `before` but not `after`, in `before`'s order: each may drop the partition once it moved. */
  readonly removed: readonly string[];
}

/**
 * Every partition whose set of N primary replicas differs between `before` and `after`, in
 * partition order: the transfers a membership change needs. A node stores each partition it is a
 * primary of, so changing the owner of one slot changes the replicas of the N partitions whose
 * walk reaches it (more when the walk skips zones); `transferPlan`'s owner-slot diff misses those.
 * A partition whose primaries only change order is not listed: every replica already holds it,
 * and only which one a request tries first changes, so nothing has to move.
 */
export function replicaChanges(before: Ring, after: Ring, n: number): ReplicaChange[] {
  assert(
    before.partitionCount === after.partitionCount,
    `rings have ${before.partitionCount} and ${after.partitionCount} partitions: the partition count is fixed`,
  );
  const replicasMax = Math.min(before.partitionCount, membersMax);
  assert(
    Number.isInteger(n) && n >= 1 && n <= replicasMax,
    `replica count must be an integer in 1..${replicasMax}, got ${n}`,
  );
  const changes: ReplicaChange[] = [];
  for (let partition = 0; partition < before.partitionCount; partition++) {
    const change = replicaChange(before, after, partition, n);
    if (change !== undefined) changes.push(change);
  }
  return changes;
}

function replicaChange(
  before: Ring,
  after: Ring,
  partition: number,
  n: number,
): ReplicaChange | undefined {
  const was = primaryReplicas(before, partition, n);
  const is = primaryReplicas(after, partition, n);
  // At most N ids each, so includes is cheaper than building sets.
  const added = is.filter((id) => !was.includes(id));
  const removed = was.filter((id) => !is.includes(id));
  if (added.length === 0 && removed.length === 0) return undefined;
  return { partition, before: was, after: is, added, removed };
}

/** The replica partitions one node gains and loses in a membership change. */
export interface NodeMovement {
  readonly nodeId: string;
  /** Partitions the node becomes a primary of: it receives each one. */
  readonly added: number;
  /** Partitions the node stops being a primary of: it is a source, then drops each one. */
  readonly removed: number;
}

/** What a membership change moves, as `ringctl cluster plan` shows it. */
export interface MovementStats {
  /** Partitions whose replica set changes. */
  readonly partitions: number;
  /** Replica partitions added in total: how many partition copies are streamed. */
  readonly added: number;
  /**
   * Replica partitions removed in total: equal to `added` unless the number of replicas per
   * partition changes, as when a ring has fewer than N nodes.
   */
  readonly removed: number;
  /** Every node that gains or loses a replica partition, by id. */
  readonly perNode: readonly NodeMovement[];
}

/** Totals and per-node counts of `replicaChanges`' result. */
export function movementStats(changes: readonly ReplicaChange[]): MovementStats {
  const counts = new Map<string, { added: number; removed: number }>();
  const countOf = (nodeId: string): { added: number; removed: number } => {
    let count = counts.get(nodeId);
    if (count === undefined) {
      count = { added: 0, removed: 0 };
      counts.set(nodeId, count);
    }
    return count;
  };
  let added = 0;
  let removed = 0;
  for (const change of changes) {
    for (const nodeId of change.added) countOf(nodeId).added++;
    for (const nodeId of change.removed) countOf(nodeId).removed++;
    added += change.added.length;
    removed += change.removed.length;
  }
  const perNode = Array.from(counts, ([nodeId, count]) => ({ nodeId, ...count })).sort((a, b) =>
    compareIds(a.nodeId, b.nodeId),
  );
  return { partitions: changes.length, added, removed, perNode };
}
