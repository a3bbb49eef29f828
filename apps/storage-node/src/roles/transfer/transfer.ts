import {
  partitionReplicas,
  type PartitionTransfer,
  type RingDocument,
} from '@ringstore/membership';
import type {
  TransferLimits,
  TransferPageRequest,
  TransferPageResponse,
  TransferProgress,
} from '@ringstore/proto';
import { primaryReplicas } from '@ringstore/ring';
import type { StorageEngine } from '@ringstore/storage';
import type { ClusterView } from '../../cluster-view.js';
import { RingstoreError, reasonOf } from '../../errors.js';
import type { Liveness } from '../../liveness.js';
import type { Metrics } from '../../metrics.js';
import type { Logger } from '../../logger.js';
import { tryDecodeObject } from '../../object.js';
import { checkKey, checkPartition } from '../../peer/checks.js';
import type { LinkHandlers } from '../../peer/link.js';
import type { Peers } from '../../peer/peers.js';
import type { Exchanger } from '../anti-entropy/exchange.js';
import type { PartitionTrees } from '../anti-entropy/trees.js';
import type { Replica } from '../replica/replica.js';

/** A page of a transfer: ~1,000 objects or 1 MiB (MEMBERSHIP.md section 3), whichever first. */
export const pageObjectsMax = 1_000;
/** Objects of a page merged per commit on the receiver: a few milliseconds of event loop each. */
export const applySliceMax = 100;
export const pageBytesMax = 1024 * 1024;
/** A page request's deadline: a page is one indexed range read on the source. */
const pageTimeoutMs = 10_000;
const reportTimeoutMs = 2_000;
/** How often the receiver looks for work and re-sends reports the claimant has not taken. */
const tickMs = 250;
/** After a failed page or exchange, the receiver waits this long before trying again. */
const retryMs = 1_000;
/** Deletes per clean-up batch of a partition this node no longer holds. */
const cleanupBatchMax = 500;

export interface TransferDeps {
  readonly selfId: string;
  readonly storage: StorageEngine;
  readonly view: ClusterView;
  readonly peers: Peers;
  readonly liveness: Liveness;
  readonly replica: Replica;
  readonly trees: PartitionTrees;
  readonly exchanger: Exchanger;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly limits: { concurrency: number; objectsPerSecond: number; bytesPerSecond: number };
  /** Test only (config unsafeSkipCatchUp): report catch-up done without exchanging. */
  readonly skipCatchUp?: boolean;
}

interface Progress {
  partition: number;
  transition: number;
  from: string;
  objectsDone: number;
  objectsTotal: number;
  bytesDone: number;
  pages: number;
  lastProgressMs: number;
  startedMs: number;
  stalled: string;
  /** The state this receiver finished (reported until the claimant moves the transfer on). */
  finished: 'streaming' | 'catch-up' | undefined;
}

/**
 * The transfer role (MEMBERSHIP.md section 3), receiver side: for each partition this node is
 * being added to, pull the partition in pages from an old replica (the displaced one first),
 * checkpointing the last key in meta so a crash re-sends at most one page; then a Merkle catch-up
 * with every live old replica; report each finished step to the claimant. Source side: serve
 * pages from the partition scan, stateless. And clean-up: a partition this node no longer holds
 * once a transition ends is deleted.
 */
export class Transfers {
  private readonly progress = new Map<number, Progress>();
  private readonly working = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private cleaning: Promise<void> = Promise.resolve();
  private bucketMs = Date.now();
  private tokens = { objects: 0, bytes: 0 };

  /** Objects this node sent as a transfer source (GetNodeStats), re-sent pages included. */
  objectsSent = 0;

  constructor(private readonly deps: TransferDeps) {
    deps.view.onChange((doc, previous) => this.ringChanged(doc, previous));
  }

  readonly handlers: Pick<LinkHandlers, 'transferPage'> = {
    transferPage: (req) => Promise.resolve(this.page(req)),
  };

  start(): void {
    this.cleanUpLater(this.leftovers());
    const loop = (): void => {
      if (this.stopped) return;
      this.tick();
      this.timer = setTimeout(loop, tickMs);
    };
    this.timer = setTimeout(loop, tickMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.cleaning;
  }

  setLimits(req: { concurrency?: number; objectsPerSecond?: number; bytesPerSecond?: number }) {
    const l = this.deps.limits;
    if (req.concurrency !== undefined) l.concurrency = req.concurrency;
    if (req.objectsPerSecond !== undefined) l.objectsPerSecond = req.objectsPerSecond;
    if (req.bytesPerSecond !== undefined) l.bytesPerSecond = req.bytesPerSecond;
  }

  limitsMessage(): TransferLimits {
    const l = this.deps.limits;
    return {
      concurrency: l.concurrency,
      objectsPerSecond: BigInt(l.objectsPerSecond),
      bytesPerSecond: BigInt(l.bytesPerSecond),
    };
  }

  /** The source side: one page of the partition after `afterKey`, from committed storage. */
  page(req: TransferPageRequest): TransferPageResponse {
    const doc = this.deps.view.document;
    checkPartition(req.partition, this.deps.view.partitionCount);
    if (req.afterKey.length > 0) checkKey(req.afterKey);
    if (req.transition !== BigInt(doc.transition) || doc.transition === 0)
      throw new RingstoreError(
        'failed-precondition',
        `transfer of transition ${req.transition} asked, this node runs ${doc.transition}`,
      );
    if (!primaryReplicas(doc.ring, req.partition, doc.replicas).includes(this.deps.selfId))
      throw new RingstoreError(
        'failed-precondition',
        `partition ${req.partition} was not replicated here before the transition`,
      );
    const objectsMax = Math.min(Math.max(1, req.objectsMax), pageObjectsMax);
    const bytesMax = Math.min(Math.max(1, req.bytesMax), pageBytesMax);
    const afterKey = req.afterKey.length === 0 ? undefined : req.afterKey;
    const rows = this.deps.storage.scan(req.partition, { afterKey, limit: objectsMax });
    const objects: TransferPageResponse['objects'] = [];
    let bytes = 0;
    for (const row of rows) {
      if (objects.length > 0 && bytes + row.key.length + row.object.length > bytesMax) break;
      objects.push({ key: Buffer.from(row.key), object: Buffer.from(row.object) });
      bytes += row.key.length + row.object.length;
    }
    const done = objects.length === rows.length && rows.length < objectsMax;
    this.objectsSent += objects.length;
    this.deps.metrics.transferObjectsSent.inc(objects.length);
    const estimatedObjects = BigInt(this.deps.trees.keys(req.partition));
    return { objects, done, estimatedObjects };
  }

  /** Inbound transfers being worked on now, and those whose last step failed. */
  counts(): { active: number; stalled: number } {
    let stalled = 0;
    for (const p of this.progress.values()) if (p.stalled !== '') stalled++;
    return { active: this.working.size, stalled };
  }

  list(): TransferProgress[] {
    const doc = this.deps.view.document;
    return doc.transfers
      .filter((t) => t.added.includes(this.deps.selfId))
      .map((t) => this.progressMessage(t));
  }

  private progressMessage(t: PartitionTransfer): TransferProgress {
    const p = this.progress.get(t.partition);
    const seconds = p === undefined ? 0 : Math.max(0.001, (p.lastProgressMs - p.startedMs) / 1000);
    const bytesTotal =
      p === undefined || p.objectsDone === 0
        ? 0
        : Math.round((p.bytesDone / p.objectsDone) * p.objectsTotal);
    return {
      partition: t.partition,
      from: p?.from ?? '',
      to: this.deps.selfId,
      state: t.state,
      objectsDone: BigInt(p?.objectsDone ?? 0),
      objectsTotal: BigInt(p?.objectsTotal ?? 0),
      bytesDone: BigInt(p?.bytesDone ?? 0),
      bytesTotal: BigInt(bytesTotal),
      objectsPerSecond: p === undefined ? 0 : p.objectsDone / seconds,
      bytesPerSecond: p === undefined ? 0 : p.bytesDone / seconds,
      lastProgressMs: BigInt(p?.lastProgressMs ?? 0),
      stalled: p?.stalled ?? '',
      pages: BigInt(p?.pages ?? 0),
    };
  }

  private ringChanged(doc: RingDocument, previous: RingDocument): void {
    this.deps.trees.follow(this.deps.view.partitionsHeld());
    if (previous.transition !== doc.transition) this.progress.clear();
    // A partition stops being held here at a transfer's `done` step (writes go to the new replicas
    // only, reads moved one deadline earlier) or when a transition is cancelled: delete it then.
    // (Waiting until no transfer names it missed every partition: at completion it was already
    // not held in the previous version, so nothing was ever cleaned up.)
    const dropped = heldBy(previous, this.deps.selfId).filter((p) => !this.deps.view.holds(p));
    this.cleanUpLater(dropped);
    this.tick();
  }

  private tick(): void {
    const doc = this.deps.view.document;
    if (this.stopped || doc.transition === 0) return;
    for (const t of doc.transfers) {
      if (!t.added.includes(this.deps.selfId) || this.working.has(t.partition)) continue;
      if (t.state !== 'streaming' && t.state !== 'catch-up') continue;
      this.working.add(t.partition);
      void this.work(doc.transition, t).finally(() => this.working.delete(t.partition));
    }
  }

  /** Runs the receiver's part of the transfer's current state once, then reports it. */
  private async work(transition: number, t: PartitionTransfer): Promise<void> {
    const p = this.progressOf(transition, t.partition);
    try {
      if (p.finished !== t.state) {
        if (t.state === 'streaming') await this.stream(transition, t, p);
        else await this.catchUp(t, p);
        p.finished = t.state as 'streaming' | 'catch-up';
        this.deps.log.info(
          { partition: t.partition, state: t.state, objects: p.objectsDone, from: p.from },
          'transfer step finished',
        );
      }
      p.stalled = '';
      await this.report(transition, t, p);
    } catch (e) {
      p.stalled = reasonOf(e);
      this.deps.log.warn(
        { partition: t.partition, state: t.state, reason: p.stalled },
        'transfer stalled',
      );
      await sleep(retryMs);
    }
  }

  private progressOf(transition: number, partition: number): Progress {
    let p = this.progress.get(partition);
    if (p === undefined || p.transition !== transition) {
      const now = Date.now();
      p = {
        partition,
        transition,
        from: '',
        objectsDone: 0,
        objectsTotal: 0,
        bytesDone: 0,
        pages: 0,
        lastProgressMs: 0,
        startedMs: now,
        stalled: '',
        finished: undefined,
      };
      this.progress.set(partition, p);
    }
    return p;
  }

  /** Pulls every page after the checkpoint; merges each object, then moves the checkpoint. */
  private async stream(transition: number, t: PartitionTransfer, p: Progress): Promise<void> {
    const checkpoint = `transfer:${transition}:${t.partition}`;
    for (let page = 0; !this.stopped; page++) {
      const saved = this.deps.storage.getMeta(checkpoint);
      if (saved === 'done') return;
      const source = this.sourceFor(t);
      p.from = source;
      const afterKey = saved === undefined ? Buffer.alloc(0) : Buffer.from(saved, 'base64');
      const reply = await this.deps.peers.request(
        source,
        {
          $case: 'transferPage',
          value: {
            partition: t.partition,
            afterKey,
            objectsMax: pageObjectsMax,
            bytesMax: pageBytesMax,
            transition: BigInt(transition),
          },
        },
        pageTimeoutMs,
      );
      await this.apply(t.partition, reply, p);
      const last = reply.objects.at(-1);
      const next = reply.done ? 'done' : last === undefined ? saved : last.key.toString('base64');
      if (next !== undefined) this.deps.storage.setMeta(checkpoint, next);
      p.stalled = '';
    }
    throw new RingstoreError('unavailable', 'node stopping');
  }

  /**
   * Merges a page in slices of applySliceMax objects, each committed before the next is decoded:
   * a whole page in one commit held the event loop for tens of milliseconds, which client requests
   * on this node waited out (p99 during a join grew 4x even at 2,000 objects/s). An object that
   * does not decode (a corrupt copy, or a clock with a counter out of range) is skipped and
   * counted, as a corrupt stored copy is: refusing the page would stall the transfer for good,
   * and the catch-up exchange brings the key from the other old replicas.
   */
  private async apply(partition: number, reply: TransferPageResponse, p: Progress): Promise<void> {
    let bytes = 0;
    let skipped = 0;
    for (let start = 0; start < reply.objects.length; start += applySliceMax) {
      const writes: Promise<unknown>[] = [];
      for (const o of reply.objects.slice(start, start + applySliceMax)) {
        bytes += o.key.length + o.object.length;
        const object = tryDecodeObject(o.object);
        if (object === undefined) skipped++;
        else writes.push(this.deps.replica.apply(partition, o.key, object));
      }
      await Promise.all(writes);
    }
    if (skipped > 0) this.skippedUndecodable(partition, p.from, skipped);
    await this.throttle(reply.objects.length, bytes);
    p.objectsDone += reply.objects.length;
    p.bytesDone += bytes;
    this.deps.metrics.transferObjects.inc(reply.objects.length);
    this.deps.metrics.transferBytes.inc(bytes);
    p.pages++;
    p.objectsTotal = Math.max(Number(reply.estimatedObjects), p.objectsDone);
    p.lastProgressMs = Date.now();
  }

  private skippedUndecodable(partition: number, from: string, count: number): void {
    this.deps.metrics.corruptObjects.inc(count);
    this.deps.log.warn(
      { partition, from, count },
      'streamed objects that do not decode were skipped: the catch-up brings them from the other replicas',
    );
  }

  /** Waits so received objects and bytes stay within the per-second limits (0: unlimited). */
  private async throttle(objects: number, bytes: number): Promise<void> {
    const { objectsPerSecond, bytesPerSecond } = this.deps.limits;
    const now = Date.now();
    if (now - this.bucketMs >= 1_000) {
      this.bucketMs = now;
      this.tokens = { objects: 0, bytes: 0 };
    }
    this.tokens.objects += objects;
    this.tokens.bytes += bytes;
    const over =
      (objectsPerSecond > 0 && this.tokens.objects >= objectsPerSecond) ||
      (bytesPerSecond > 0 && this.tokens.bytes >= bytesPerSecond);
    if (over) await sleep(Math.max(0, 1_000 - (Date.now() - this.bucketMs)));
  }

  /** The displaced replica first (Cassandra's consistent range movement), else any live old one. */
  private sourceFor(t: PartitionTransfer): string {
    const doc = this.deps.view.document;
    const old = primaryReplicas(doc.ring, t.partition, doc.replicas);
    const up = (id: string): boolean => id !== this.deps.selfId && this.deps.liveness.isUp(id);
    const source = t.removed.find((id) => old.includes(id) && up(id)) ?? old.find(up);
    if (source === undefined)
      throw new RingstoreError('unavailable', `no live old replica of partition ${t.partition}`);
    return source;
  }

  /** A Merkle exchange with every live old replica: the receiver then holds their union. */
  private async catchUp(t: PartitionTransfer, p: Progress): Promise<void> {
    if (this.deps.skipCatchUp === true) return;
    const doc = this.deps.view.document;
    const old = primaryReplicas(doc.ring, t.partition, doc.replicas).filter(
      (id) => id !== this.deps.selfId,
    );
    for (const peer of old) {
      if (!this.deps.liveness.isUp(peer)) continue;
      const result = await this.deps.exchanger.exchange(t.partition, peer);
      p.objectsDone += result.repairs;
      p.lastProgressMs = Date.now();
    }
  }

  private async report(transition: number, t: PartitionTransfer, p: Progress): Promise<void> {
    const claimant = this.deps.view.document.claimant;
    const value = { transition: BigInt(transition), partition: t.partition, finished: t.state };
    const reply = await this.deps.peers.request(
      claimant,
      { $case: 'transferReport', value },
      reportTimeoutMs,
    );
    if (!reply.accepted) p.stalled = `claimant ${claimant} did not take the ${t.state} report`;
  }

  /**
   * Rows left in partitions this node does not hold: a clean-up a crash or a stop interrupted,
   * or data from before clean-ups ran. Deleted at start, so a partition that comes back to this
   * node as a receiver starts from what it streams, not from stale rows (fallback copies go too;
   * each hint keeps its own copy of what it delivers).
   */
  private leftovers(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.deps.view.partitionCount; p++)
      if (!this.deps.view.holds(p) && this.deps.storage.scan(p, { limit: 1 }).length > 0)
        out.push(p);
    return out;
  }

  private cleanUpLater(partitions: readonly number[]): void {
    if (partitions.length > 0) this.cleaning = this.cleaning.then(() => this.cleanUp(partitions));
  }

  /** Deletes a partition this node no longer holds, in batches (only if unchanged since read). */
  private async cleanUp(partitions: readonly number[]): Promise<void> {
    for (const partition of partitions) {
      let removed = 0;
      for (let batch = 0; !this.stopped && !this.deps.view.holds(partition); batch++) {
        const rows = this.deps.storage.scan(partition, { limit: cleanupBatchMax });
        if (rows.length === 0) break;
        const done = await Promise.all(
          rows.map((r) => this.deps.storage.remove(partition, r.key, r.object)),
        );
        const count = done.filter(Boolean).length;
        removed += count;
        // Rows rewritten under us (a late write) come back in the next batch; none removed
        // means only such rows are left: stop rather than spin on them.
        if (count === 0) break;
      }
      this.deps.log.info({ partition, removed }, 'partition handed over: local copy removed');
    }
  }
}

function heldBy(doc: RingDocument, nodeId: string): number[] {
  const out: number[] = [];
  for (let p = 0; p < doc.ring.partitionCount; p++) {
    const r = partitionReplicas(doc, p);
    if (r.read.includes(nodeId) || r.pending.includes(nodeId)) out.push(p);
  }
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
