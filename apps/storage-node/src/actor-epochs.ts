import type { StorageEngine } from '@ringstore/storage';
import { epochActor } from '@ringstore/vclock';
import { ConfigError } from './config.js';

/** Where a coordinator gets the actors of its dots (see @ringstore/vclock's actor-epoch). */
export interface Actors {
  /** The storage actor: created with the data directory, new after a data loss. */
  readonly base: string;
  /** An epoch actor of `base` never handed out before, on this data directory. */
  newEpoch(): string;
}

/** Meta row holding the highest epoch that may have been handed out. */
const leaseMetaName = 'actor_epoch_lease';
/**
 * Epochs leased per meta write. A crash loses what is left of a lease (the numbers only grow), so
 * a lease is a balance between meta writes and epoch digits: a million restarts fit 13 digits.
 */
export const epochLeaseSize = 1_000_000;
/**
 * The lease is renewed, outside any transaction, when fewer epochs than this are left: more than
 * the storage engine's queued writes (pendingWritesMaxDefault, 100,000), each of which may take
 * one inside a group commit, where meta cannot be written.
 */
export const epochLeaseLowWater = 200_000;

/**
 * The node's epoch counter: persisted as a lease in meta before any epoch of it is used, so an
 * epoch is never handed out twice by one data directory, across restarts and crashes.
 */
export class ActorEpochs implements Actors {
  private next: number;
  private leasedUpTo: number;

  constructor(
    private readonly storage: Pick<StorageEngine, 'getMeta' | 'setMeta'>,
    readonly base: string,
  ) {
    const leased = Number(storage.getMeta(leaseMetaName) ?? '0');
    if (!Number.isSafeInteger(leased) || leased < 0)
      throw new ConfigError(`meta ${leaseMetaName} is not an epoch count: data directory damaged`);
    this.next = leased + 1;
    this.leasedUpTo = leased;
    this.renew();
  }

  /** Call before a write that may need an epoch: renews the lease while no transaction runs. */
  prepare(): void {
    const left = this.leasedUpTo - this.next + 1;
    if (left < epochLeaseLowWater) this.renew();
  }

  newEpoch(): string {
    if (this.next > this.leasedUpTo)
      throw new Error('actor epoch lease exhausted: prepare() was not called before the write');
    return epochActor(this.base, this.next++);
  }

  private renew(): void {
    const upTo = this.next - 1 + epochLeaseSize;
    this.storage.setMeta(leaseMetaName, String(upTo));
    this.leasedUpTo = upTo;
  }
}
