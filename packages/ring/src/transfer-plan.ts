import { assert } from './assert.js';
import { ownerOf, type Ring } from './ring.js';

/** A partition that changes owner between two rings: `to` fetches it from `from` (handoff). */
export interface Transfer {
  readonly partition: number;
  readonly from: string;
  readonly to: string;
}

/** Every partition whose owner differs between `before` and `after`, in partition order. */
export function transferPlan(before: Ring, after: Ring): Transfer[] {
  assert(
    before.partitionCount === after.partitionCount,
    `rings have ${before.partitionCount} and ${after.partitionCount} partitions: the partition count is fixed`,
  );
  const transfers: Transfer[] = [];
  for (let partition = 0; partition < before.partitionCount; partition++) {
    const from = ownerOf(before, partition);
    const to = ownerOf(after, partition);
    if (from !== to) transfers.push({ partition, from, to });
  }
  return transfers;
}
