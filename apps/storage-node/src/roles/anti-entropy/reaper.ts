import { unfenced } from '../../peer/link.js';
import type { StorageEngine } from '@ringstore/storage';
import type { ClusterView } from '../../cluster-view.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { tryDecodeObject } from '../../object.js';
import type { Liveness } from '../../liveness.js';
import type { Peers } from '../../peer/peers.js';
import { values } from '@ringstore/vclock';
import type { KeyObject } from '../../object.js';
import type { TokenBucket } from './token-bucket.js';
import { scanPartition } from './trees.js';

/** Tombstones considered per partition per round at most. */
export const reapCandidatesMax = 1_000;
export const reapRequestTimeoutMs = 5_000;

export interface ReaperDeps {
  readonly selfId: string;
  readonly storage: StorageEngine;
  readonly view: ClusterView;
  readonly peers: Peers;
  readonly liveness: Liveness;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly bucket: TokenBucket;
  readonly options: { readonly tombstoneGraceMs: number };
}

/**
 * The reaper's candidate rule (pure): every value of the key is a tombstone written before the
 * cutoff. Whether every replica holds exactly that object is asked of the replicas afterwards.
 */
export function isReapable(object: KeyObject, cutoffMs: number): boolean {
  const all = values(object);
  return all.length > 0 && all.every((v) => v.tombstone && v.timestampMs < cutoffMs);
}

/**
 * Tombstone garbage collection (DESIGN.md section 6). A key whose every value is a tombstone older
 * than the grace period is removed only when all N primary replicas answer that they hold exactly
 * the same object: never while a replica is down, unknown or behind, so a replica that missed the
 * delete cannot bring the key back. Each replica removes it only if its copy is still that object.
 */
export class Reaper {
  constructor(private readonly deps: ReaperDeps) {}

  async reap(partition: number): Promise<number> {
    // Paused while the partition is in a transition: a replica receiving it may not hold the
    // tombstone yet (Cassandra resurrected data by purging on a node receiving a range).
    if (this.deps.view.document.transfers.some((t) => t.partition === partition)) return 0;
    const primaries = this.deps.view.primaries(partition);
    if (!primaries.includes(this.deps.selfId)) return 0;
    if (primaries.some((id) => !this.deps.liveness.isUp(id))) return 0;
    let reaped = 0;
    for (const candidate of this.candidates(partition)) {
      await this.deps.bucket.take(1);
      if (await this.reapOne(partition, primaries, candidate.key, candidate.object)) reaped++;
    }
    return reaped;
  }

  private candidates(partition: number): { key: Uint8Array; object: Uint8Array }[] {
    const cutoffMs = Date.now() - this.deps.options.tombstoneGraceMs;
    const found: { key: Uint8Array; object: Uint8Array }[] = [];
    for (const row of scanPartition(this.deps.storage, partition)) {
      const object = tryDecodeObject(row.object);
      if (object !== undefined && isReapable(object, cutoffMs)) found.push(row);
      if (found.length >= reapCandidatesMax) break;
    }
    return found;
  }

  private async reapOne(
    partition: number,
    primaries: readonly string[],
    key: Uint8Array,
    object: Uint8Array,
  ): Promise<boolean> {
    const others = primaries.filter((id) => id !== this.deps.selfId);
    try {
      const copies = await Promise.all(
        others.map((id) =>
          this.deps.peers.request(
            id,
            { $case: 'read', value: { partition, key: Buffer.from(key), ...unfenced } },
            reapRequestTimeoutMs,
          ),
        ),
      );
      if (!copies.every((c) => c.found && Buffer.from(c.object).equals(Buffer.from(object))))
        return false;
      const value = { partition, key: Buffer.from(key), object: Buffer.from(object) };
      await Promise.all(
        others.map((id) =>
          this.deps.peers.request(id, { $case: 'reap', value }, reapRequestTimeoutMs),
        ),
      );
    } catch (e) {
      this.deps.log.debug(
        { partition, reason: e instanceof Error ? e.message : String(e) },
        'tombstone not reaped: a replica did not confirm',
      );
      return false;
    }
    const removed = await this.deps.storage.remove(partition, key, object);
    if (removed) this.deps.metrics.tombstonesReaped.inc();
    return removed;
  }
}
