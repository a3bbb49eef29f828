import type { RingDocument } from '@ringstore/membership';
import { reasonOf } from '../../errors.js';
import { fenceOf } from '../../peer/link.js';
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
import { scanPartitionPaced } from './trees.js';
import { exchangeRequestTimeoutMs } from './exchange.js';
import { handoffRequestTimeoutMs } from '../handoff/handoff.js';

/**
 * The shortest tombstone grace period that keeps deletes deleted: longer than any peer message that
 * carries an object may take to arrive (a receiver drops one later than its timeout), so no copy
 * written before the delete is still on its way when the tombstone is removed. Clock skew between
 * the delete's coordinator and the reaper comes on top.
 */
export function tombstoneGraceSafeMinMs(requestTimeoutMs: number): number {
  return Math.max(requestTimeoutMs, exchangeRequestTimeoutMs, handoffRequestTimeoutMs);
}

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
 * than the grace period is removed only when every copy of an older version of it is gone for
 * good: all N primary replicas answer that they hold exactly that object, and no node holds a hint
 * of the partition (a fallback's copy may be older, and its delivery after the removal would bring
 * the value back). So nothing is reaped while any member is down or the partition is in a
 * transition, and every request is fenced with this node's ring version: a replica that knows a
 * newer replica set refuses. Each replica removes the key only if its copy is still that object.
 */
export class Reaper {
  constructor(private readonly deps: ReaperDeps) {}

  async reap(partition: number): Promise<number> {
    const { view, selfId, liveness } = this.deps;
    // Paused while the partition is in a transition: a replica receiving it may not hold the
    // tombstone yet (Cassandra resurrected data by purging on a node receiving a range).
    if (inTransition(view.document, partition)) return 0;
    const primaries = view.primaries(partition);
    if (!primaries.includes(selfId)) return 0;
    const members = view
      .activeNodes()
      .map((n) => n.id)
      .filter((id) => id !== selfId);
    if (members.some((id) => !liveness.isUp(id))) return 0;
    const candidates = await this.candidates(partition);
    if (candidates.length === 0) return 0;
    if (!(await this.noHintsAnywhere(partition, members))) return 0;
    let reaped = 0;
    for (const candidate of candidates) {
      await this.deps.bucket.take(1);
      if (await this.reapOne(partition, primaries, candidate.key, candidate.object)) reaped++;
    }
    return reaped;
  }

  /** Tombstones past the grace period, from a paced scan that stops at reapCandidatesMax. */
  private async candidates(partition: number): Promise<{ key: Uint8Array; object: Uint8Array }[]> {
    const cutoffMs = Date.now() - this.deps.options.tombstoneGraceMs;
    const found: { key: Uint8Array; object: Uint8Array }[] = [];
    await scanPartitionPaced(this.deps.storage, partition, (rows) => {
      for (const row of rows) {
        const object = tryDecodeObject(row.object);
        if (object !== undefined && isReapable(object, cutoffMs)) found.push(row);
        if (found.length >= reapCandidatesMax) return false;
      }
      return true;
    });
    return found;
  }

  /**
   * No node holds a hint of the partition, asked after the candidates were chosen: a hint stored
   * later was written after the tombstones (each older than the grace period), so its copy holds
   * them, unless it spent longer than the grace period in flight, which the request deadlines bound.
   */
  private async noHintsAnywhere(partition: number, members: readonly string[]): Promise<boolean> {
    if (this.deps.storage.partitionHints(partition) > 0) return false;
    try {
      const answers = await Promise.all(
        members.map((id) =>
          this.deps.peers.request(
            id,
            { $case: 'hintsHeld', value: { partition } },
            reapRequestTimeoutMs,
          ),
        ),
      );
      return answers.every((a) => a.count === 0);
    } catch (e) {
      this.notReaped(partition, e);
      return false;
    }
  }

  private async reapOne(
    partition: number,
    primaries: readonly string[],
    key: Uint8Array,
    object: Uint8Array,
  ): Promise<boolean> {
    const others = primaries.filter((id) => id !== this.deps.selfId);
    const fence = fenceOf(this.deps.view.document);
    try {
      const copies = await Promise.all(
        others.map((id) =>
          this.deps.peers.request(
            id,
            { $case: 'read', value: { partition, key: Buffer.from(key), ...fence } },
            reapRequestTimeoutMs,
          ),
        ),
      );
      if (!copies.every((c) => c.found && Buffer.from(c.object).equals(Buffer.from(object))))
        return false;
      const value = { partition, key: Buffer.from(key), object: Buffer.from(object), ...fence };
      await Promise.all(
        others.map((id) =>
          this.deps.peers.request(id, { $case: 'reap', value }, reapRequestTimeoutMs),
        ),
      );
    } catch (e) {
      this.notReaped(partition, e);
      return false;
    }
    const removed = await this.deps.storage.remove(partition, key, object);
    if (removed) this.deps.metrics.tombstonesReaped.inc();
    return removed;
  }

  private notReaped(partition: number, e: unknown): void {
    this.deps.log.debug(
      { partition, reason: reasonOf(e) },
      'tombstones not reaped: a node did not confirm',
    );
  }
}

export function inTransition(doc: RingDocument, partition: number): boolean {
  return doc.transfers.some((t) => t.partition === partition);
}
