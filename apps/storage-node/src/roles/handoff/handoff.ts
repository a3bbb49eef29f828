import type { HandoffRequest, HandoffResponse, ReplicateRequest } from '@ringstore/proto';
import type { Hint, StorageEngine } from '@ringstore/storage';
import type { ClusterView } from '../../cluster-view.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import type { Liveness } from '../../liveness.js';
import {
  RingstoreError,
  asRingstoreError,
  invalidArgument,
  reasonOf,
  refused,
  suspectsPeer,
} from '../../errors.js';
import { checkKey, checkPartition, decodeReceived, madeUnderNewerRing } from '../../peer/checks.js';
import { unfenced, type LinkHandlers } from '../../peer/link.js';
import type { Peers } from '../../peer/peers.js';
import type { Replica } from '../replica/replica.js';

export interface HandoffOptions {
  /** Hints older than this are dropped (counted, logged): anti-entropy covers what they held. */
  readonly hintAgeMaxMs: number;
  /** Hints kept per target; the oldest beyond it are dropped. */
  readonly hintsPerTargetMax: number;
  /** Objects delivered per second per target, so a returning node is not flattened. */
  readonly handoffRatePerSecond: number;
  /** How often pending hints are looked at (and old ones dropped). */
  readonly handoffIntervalMs: number;
}

/** Objects per handoff message (one peer-link request). */
export const handoffBatchMax = 128;
/** Deadline of one handoff message. */
export const handoffRequestTimeoutMs = 5_000;

export interface HandoffDeps {
  readonly storage: StorageEngine;
  readonly view: ClusterView;
  readonly peers: Peers;
  readonly replica: Replica;
  readonly liveness: Liveness;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly options: HandoffOptions;
}

/**
 * Hinted handoff (DESIGN.md section 6): a fallback keeps each write it took for a down replica as
 * a persisted hint, and delivers it in throttled batches once the replica is seen up again.
 * A hint is deleted only after the replica acknowledged it; the fallback's own copy of a key it
 * does not replicate is then removed, unless a newer write changed it meanwhile.
 */
export class Handoff {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: HandoffDeps) {}

  start(): void {
    this.schedule(this.deps.options.handoffIntervalMs);
  }

  /** The target was seen up: deliver now rather than at the next tick. */
  kick(): void {
    if (!this.stopped && this.running === undefined) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** The handoff role's peer messages: hints delivered to this node (it is their replica). */
  readonly handlers: Pick<LinkHandlers, 'handoff'> = {
    handoff: (req) => this.receive(req),
  };

  /**
   * A write this node takes as a fallback for a down replica (a replicate with hintFor set):
   * merge it like any replica, then keep the hint for its delivery. Refused, changing nothing,
   * unless the target is a ring member that replicates the partition: a hint row, and the
   * pending-hints metric label of its target, never name an id a peer made up.
   */
  async hintedWrite(req: ReplicateRequest): Promise<Record<string, never>> {
    checkPartition(req.partition, this.deps.view.partitionCount);
    checkKey(req.key);
    this.checkHintTarget(req);
    const stored = await this.deps.replica.replicate(req);
    await this.addHint(req, stored);
    return {};
  }

  /**
   * The hint's target: not this node, an active member of the ring, and one of the partition's
   * replicas (read or pending). The last is waived for a request made under a newer ring than
   * this node's, which may have made the target a replica since; never the first two.
   */
  private checkHintTarget(req: ReplicateRequest): void {
    const { view } = this.deps;
    const target = req.hintFor;
    const shown = JSON.stringify(target.slice(0, 64));
    if (target === view.selfId) throw invalidArgument('a hint names the node that would keep it');
    if (!view.activeNodes().some((n) => n.id === target))
      throw refused('failed-precondition', `hint target ${shown} is not a member of the ring`);
    if (view.writeSet(req.partition).includes(target) || madeUnderNewerRing(req, view.document))
      return;
    throw refused(
      'failed-precondition',
      `hint target ${shown} does not replicate partition ${req.partition}`,
    );
  }

  /**
   * Hints delivered here. Refused whole, before anything is stored, when one is of a partition
   * this node does not store (its ring moved on since the hint was written): a row kept there
   * would be read by nobody, and found stale if the partition came back here. The sender keeps
   * the hints and re-targets them once its ring shows the partition's current replicas. Also
   * refused whole when a message holds more than a batch or an object that does not decode.
   */
  private async receive(req: HandoffRequest): Promise<HandoffResponse> {
    if (req.objects.length > handoffBatchMax)
      throw invalidArgument(`handoff of ${req.objects.length} objects, at most ${handoffBatchMax}`);
    for (const o of req.objects) {
      checkPartition(o.partition, this.deps.view.partitionCount);
      checkKey(o.key);
    }
    const foreign = req.objects.find((o) => !this.deps.view.holds(o.partition));
    if (foreign !== undefined)
      throw new RingstoreError(
        'failed-precondition',
        `partition ${foreign.partition} is not stored here: deliver its hints to its replicas`,
      );
    const decoded = req.objects.map((o) => ({
      ...o,
      received: decodeReceived(o.object, 'handed-off object'),
    }));
    for (const o of decoded) await this.deps.replica.apply(o.partition, o.key, o.received);
    return { applied: req.objects.length };
  }

  /** Stores the hints of a write this node took for `target` as a fallback; enforces the count bound. */
  async addHint(req: ReplicateRequest, object: Uint8Array): Promise<void> {
    await this.deps.storage.addHints([
      {
        target: req.hintFor,
        partition: req.partition,
        key: req.key,
        object,
        createdAtMs: Date.now(),
      },
    ]);
    this.deps.metrics.hintsStored.inc();
    const dropped = this.deps.storage.dropHintsBeyond(
      req.hintFor,
      this.deps.options.hintsPerTargetMax,
    );
    if (dropped > 0) this.dropped('count', dropped, req.hintFor);
  }

  private schedule(afterMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // A round that fails (the disk full while dropping old hints) is tried again next round;
      // unhandled, its rejection would end the process.
      this.running = this.tick()
        .catch((e: unknown) => {
          const err = asRingstoreError(e);
          if (err.code !== 'resource-exhausted')
            this.deps.log.warn({ reason: err.message }, 'hint delivery round failed');
        })
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.deps.options.handoffIntervalMs);
        });
    }, afterMs);
  }

  private dropped(reason: 'age' | 'count', count: number, target?: string): void {
    this.deps.metrics.hintsDropped.inc({ reason }, count);
    this.deps.log.warn(
      { reason, count, target },
      'hints dropped: anti-entropy must repair what they held',
    );
  }

  async tick(): Promise<void> {
    const { storage, options } = this.deps;
    const old = storage.dropHintsOlderThan(Date.now() - options.hintAgeMaxMs);
    if (old > 0) this.dropped('age', old);
    const budget = Math.max(
      1,
      Math.floor((options.handoffRatePerSecond * options.handoffIntervalMs) / 1000),
    );
    for (const target of storage.hintCounts().keys()) {
      if (this.stopped) return;
      const status = this.deps.view.statusOf(target);
      if (status === 'left' || status === 'removed') {
        await this.deliverTo(target, budget, (hints) => this.retarget(target, hints));
        continue;
      }
      if (!this.deps.liveness.isUp(target) || this.deps.view.addressOf(target) === undefined)
        continue;
      await this.deliverTo(target, budget, (hints) => this.deliverOrRetarget(target, hints));
    }
  }

  /** Delivers up to `budget` of the target's hints, oldest first, in batches; stops at the first failure. */
  private async deliverTo(
    target: string,
    budget: number,
    deliver: (hints: readonly Hint[]) => Promise<boolean>,
  ): Promise<void> {
    const batchesMax = Math.ceil(budget / handoffBatchMax);
    let left = budget;
    for (let batch = 0; batch < batchesMax && left > 0 && !this.stopped; batch++) {
      const hints = this.deps.storage.listHints(target, Math.min(handoffBatchMax, left));
      if (hints.length === 0) return;
      left -= hints.length;
      if (!(await deliver(hints))) return;
    }
  }

  /**
   * Hints for a node that left or was removed go to the partition's current replicas instead
   * (its replacement among them; MEMBERSHIP.md section 3), each of them, so the write keeps its
   * copies; kept for later if one of them cannot be reached now.
   */
  private async retarget(departed: string, hints: readonly Hint[]): Promise<boolean> {
    const objects = objectsToSend(hints, localCopies(this.deps.storage, hints));
    const byReplica = new Map<string, Outgoing[]>();
    for (const o of objects)
      for (const id of this.deps.view.writeSet(o.request.partition)) {
        if (id === this.deps.view.selfId) continue;
        byReplica.set(id, [...(byReplica.get(id) ?? []), o]);
      }
    for (const [replica, list] of byReplica) {
      if (!this.deps.liveness.isUp(replica)) return false;
      try {
        await this.deps.peers.request(
          replica,
          { $case: 'handoff', value: { objects: list.map((o) => o.request) } },
          handoffRequestTimeoutMs,
        );
      } catch (e) {
        const reason = reasonOf(e);
        this.deps.log.debug({ departed, replica, reason }, 're-targeted hint delivery failed');
        return false;
      }
    }
    this.deps.log.info(
      { departed, hints: hints.length, replicas: [...byReplica.keys()] },
      'hints for a departed node delivered to the current replicas',
    );
    await this.finish(hints, objects);
    return true;
  }

  /** Hints delivered: delete them, and the fallback copies this node holds only for them. */
  private async finish(hints: readonly Hint[], objects: readonly Outgoing[]): Promise<void> {
    await this.deps.storage.deleteHints(hints.map((h) => h.id));
    this.deps.metrics.hintsDelivered.inc(hints.length);
    for (const o of objects) {
      // A fallback's copy is only there for the down replica: drop it unless it changed since we sent it.
      if (!this.deps.view.holds(o.request.partition))
        await this.deps.storage.remove(o.request.partition, o.request.key, o.sent);
    }
  }

  /**
   * Hints of partitions the target still stores (in this node's ring) go to it; those of
   * partitions a ring change took away from it go to the partition's current replicas.
   */
  private async deliverOrRetarget(target: string, hints: readonly Hint[]): Promise<boolean> {
    const stored = hints.filter((h) => this.deps.view.writeSet(h.partition).includes(target));
    const moved = hints.filter((h) => !stored.includes(h));
    if (stored.length > 0 && !(await this.deliverBatch(target, stored))) return false;
    return moved.length === 0 || this.retarget(target, moved);
  }

  private async deliverBatch(target: string, hints: readonly Hint[]): Promise<boolean> {
    const objects = objectsToSend(hints, localCopies(this.deps.storage, hints));
    try {
      await this.deps.peers.request(
        target,
        { $case: 'handoff', value: { objects: objects.map((o) => o.request) } },
        handoffRequestTimeoutMs,
      );
    } catch (e) {
      if (suspectsPeer(e)) this.deps.liveness.suspect(target, reasonOf(e));
      this.deps.log.debug({ target, reason: reasonOf(e) }, 'hint delivery failed; retrying later');
      return false;
    }
    await this.finish(hints, objects);
    return true;
  }
}

export interface Outgoing {
  readonly request: ReplicateRequest;
  /** The object bytes sent, so the fallback's copy is removed only if it is still exactly that. */
  readonly sent: Uint8Array;
}

const keyId = (h: { partition: number; key: Uint8Array }): string =>
  `${h.partition}/${Buffer.from(h.key).toString('base64')}`;

/** The fallback's own copy of each hinted key it still stores, by keyId. */
function localCopies(storage: StorageEngine, hints: readonly Hint[]): Map<string, Uint8Array> {
  const copies = new Map<string, Uint8Array>();
  for (const h of hints) {
    const id = keyId(h);
    if (copies.has(id)) continue;
    const local = storage.get(h.partition, h.key);
    if (local.status === 'found') copies.set(id, local.object);
  }
  return copies;
}

/**
 * What a batch of hints delivers (pure): one object per key, the fallback's current copy when it
 * has one (it merged every hinted write), else the newest hint's (hints come oldest first, and
 * each holds the merge as it was stored).
 */
export function objectsToSend(
  hints: readonly Hint[],
  local: ReadonlyMap<string, Uint8Array>,
): Outgoing[] {
  const byKey = new Map<string, Outgoing>();
  for (const h of hints) {
    const id = keyId(h);
    byKey.set(id, outgoing(h, local.get(id) ?? h.object));
  }
  return [...byKey.values()];
}

function outgoing(h: Hint, sent: Uint8Array): Outgoing {
  return {
    request: {
      partition: h.partition,
      key: Buffer.from(h.key),
      object: Buffer.from(sent),
      hintFor: '',
      ...unfenced,
    },
    sent,
  };
}
