import type { Actors } from '../../actor-epochs.js';
import type { ClusterView } from '../../cluster-view.js';
import { fenceOf, unfenced } from '../../peer/link.js';
import {
  HedgeDelay,
  startGet,
  startPut,
  stepGet,
  stepPut,
  type GetEffect,
  type GetEvent,
  type PutEffect,
  type PutEvent,
} from '@ringstore/quorum';
import type { PreferenceEntry } from '@ringstore/ring';
import type { StorageEngine } from '@ringstore/storage';
import { CounterRangeError, join, type StoredValue, type VersionVector } from '@ringstore/vclock';
import { RingstoreError, quorumError, reasonOf, refused, suspectsPeer } from '../../errors.js';
import type { Liveness } from '../../liveness.js';
import { keyTag, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import {
  coordinateWrite,
  encodeObject,
  objectOps,
  tryDecodeObject,
  type KeyObject,
} from '../../object.js';
import type { Peers } from '../../peer/peers.js';
import type { Replica } from '../replica/replica.js';
import { drive, type PerformedEffect } from './drive.js';

/** How long a get keeps listening for slower replicas after answering, to read-repair them. */
export const repairWaitMs = 200;
/**
 * Deadline of one read-repair write: the client already has its answer, so a slow replica must
 * not hold the repair for long; anti-entropy catches what a failed repair leaves.
 */
export const repairTimeoutMs = 1_000;

export interface CoordinatorDeps {
  readonly selfId: string;
  /** This node's dot actors: its newest epoch in the key's clock, or a new one. */
  readonly actors: Actors & { prepare(): void };
  readonly storage: StorageEngine;
  readonly replica: Replica;
  readonly peers: Peers;
  readonly liveness: Liveness;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** The ring the coordinator's requests are made under (their version is fenced by replicas). */
  readonly view: Pick<ClusterView, 'document'>;
  /** --read-fanout: R replicas first (this node's own first) and the rest on demand, or all. */
  readonly readFanout: 'quorum' | 'all';
}

/** One key's request as the coordinator runs it: where it goes and until when. */
export interface KeyRequest {
  readonly key: Uint8Array;
  readonly partition: number;
  /** The key's preference list for this request (primaries and fallbacks for the down ones). */
  readonly preferenceList: readonly PreferenceEntry[];
  /** Writes only: replicas a transfer is swapping in or out; the put then needs W + p acks. */
  readonly pending?: readonly PreferenceEntry[];
  readonly deadlineMs: number;
}

/** What a put's local write left for its replicate effects to send. */
interface PutRun {
  readonly req: KeyRequest;
  object?: KeyObject;
  bytes?: Buffer;
  localError?: unknown;
}

/**
 * The coordinator role: runs the pure put and get machines of @ringstore/quorum with the one
 * driver (drive.ts), performing their storage and network effects. A put: validate, persist-local
 * (the new dot), replicate what was written, answer after W; a get: read every target, answer
 * after R, read-repair the ones behind; a delete: a put of a tombstone.
 */
export class Coordinator {
  /** Remote replica reads' latency: the speculative-read delay of a quorum-fanout get (p95). */
  private readonly readLatency = new HedgeDelay();

  constructor(private readonly deps: CoordinatorDeps) {}

  /** Writes locally (new dot under this node's actor), replicates, answers after W acks. */
  async put(
    req: KeyRequest,
    value: StoredValue,
    context: VersionVector,
    w: number,
  ): Promise<KeyObject> {
    const run: PutRun = { req };
    const start = startPut({
      preferenceList: req.preferenceList,
      pending: req.pending ?? [],
      w,
      localNodeId: this.deps.selfId,
      requestTimeoutMs: remainingMs(req.deadlineMs),
    });
    const result = await drive(start, stepPut, (effect, feed) =>
      this.performPut(run, effect, feed, value, context),
    );
    if (!result.ok) {
      // A local write refused as bad input ran before any replicate: that refusal is the answer.
      const local = run.localError;
      if (local instanceof RingstoreError && local.code === 'invalid-argument') throw local;
      throw quorumError(result.failure, local);
    }
    if (run.object === undefined) throw new Error('put answered ok without a local write');
    return run.object;
  }

  /**
   * Reads R replicas (this node's own first; the others when one fails, or after the p95 of
   * replica reads; every replica with --read-fanout all), answers with the merge, then
   * read-repairs the replicas read that were behind.
   */
  async get(req: KeyRequest, r: number): Promise<KeyObject | undefined> {
    const quorum = this.deps.readFanout === 'quorum';
    const start = startGet<KeyObject>({
      preferenceList: quorum ? ownFirst(req.preferenceList, this.deps.selfId) : req.preferenceList,
      r,
      requestTimeoutMs: remainingMs(req.deadlineMs),
      repairWaitMs,
      ops: objectOps,
      fanout: quorum ? { hedgeAfterMs: this.readLatency.delayMs() } : 'all',
    });
    const result = await drive(start, stepGet<KeyObject>, (effect, feed) =>
      this.performGet(req, effect, feed),
    );
    if (!result.ok) throw quorumError(result.failure);
    return result.object;
  }

  /**
   * A put of a tombstone. Without a context, the key's current context is read first (as Riak
   * does), so the delete supersedes what the replicas hold.
   */
  async delete(req: KeyRequest, context: VersionVector | undefined, w: number, r: number) {
    const covered = context ?? contextOf(await this.get(req, r));
    const tombstone = { bytes: new Uint8Array(), tombstone: true, timestampMs: Date.now() };
    await this.put(req, tombstone, covered, w);
  }

  private performPut(
    run: PutRun,
    effect: PerformedEffect<PutEffect>,
    feed: (event: PutEvent) => void,
    value: StoredValue,
    context: VersionVector,
  ): void {
    switch (effect.type) {
      case 'persist-local':
        this.persistLocal(run, value, context).then(
          () => feed({ type: 'local-written' }),
          (e: unknown) => {
            run.localError = e;
            feed({ type: 'local-failed', reason: reasonOf(e) });
          },
        );
        break;
      case 'replicate': {
        const { nodeId } = effect;
        this.send(nodeId, run, effect.hintFor).then(
          () => feed({ type: 'ack', nodeId }),
          (e: unknown) => feed({ type: 'fail', nodeId, reason: this.failed(nodeId, e) }),
        );
        break;
      }
    }
  }

  private performGet(
    req: KeyRequest,
    effect: PerformedEffect<GetEffect<KeyObject>>,
    feed: (event: GetEvent<KeyObject>) => void,
  ): void {
    switch (effect.type) {
      case 'read': {
        const { nodeId } = effect;
        this.readFrom(nodeId, req).then(feed, (e: unknown) =>
          feed({ type: 'fail', nodeId, reason: this.failed(nodeId, e) }),
        );
        break;
      }
      case 'repair':
        this.repair(effect.nodeIds, req, effect.object);
        break;
    }
  }

  /**
   * The coordinator's own write: supersede what the context covers, add this node's dot. A clock
   * whose counter for the dot's actor is used up (only a hostile or broken peer or client gets it
   * there) is refused INVALID_ARGUMENT, writing nothing: never an overflowed counter, never INTERNAL.
   */
  private async persistLocal(run: PutRun, value: StoredValue, context: VersionVector) {
    const { partition, key } = run.req;
    this.deps.actors.prepare(); // an epoch may be taken inside the commit, where meta is not written
    await this.deps.storage.update(partition, key, (current) => {
      run.object = refuseCounterRange(() =>
        coordinateWrite(current, value, context, this.deps.actors),
      );
      const bytes = encodeObject(run.object);
      // The replicas get the very bytes stored here: encoded once, viewed, not copied.
      run.bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return bytes;
    });
  }

  /**
   * A replica's request failed: suspect it (routing avoids it for a while) unless it answered (an
   * error it sent, such as ring stale or bad input, comes from a live node), and say why.
   */
  private failed(nodeId: string, e: unknown): string {
    const reason = reasonOf(e);
    if (nodeId !== this.deps.selfId && suspectsPeer(e)) this.deps.liveness.suspect(nodeId, reason);
    return reason;
  }

  private async readFrom(nodeId: string, req: KeyRequest): Promise<GetEvent<KeyObject>> {
    const { partition, key } = req;
    if (nodeId === this.deps.selfId) {
      await Promise.resolve(); // deliver asynchronously, like a remote reply
      const copy = this.deps.replica.read(partition, key);
      return { type: 'reply', nodeId, object: copy.object, corrupt: copy.corrupt };
    }
    const value = { partition, key: Buffer.from(key), ...this.fence() };
    const timeoutMs = remainingMs(req.deadlineMs);
    const sentAt = performance.now();
    const reply = await this.deps.peers.request(nodeId, { $case: 'read', value }, timeoutMs);
    this.readLatency.record(performance.now() - sentAt);
    if (!reply.found) return { type: 'reply', nodeId, object: undefined, corrupt: reply.corrupt };
    const object = tryDecodeObject(reply.object);
    return { type: 'reply', nodeId, object, corrupt: object === undefined };
  }

  /** The ring version this request is made under, for the replicas' "ring stale" fence. */
  private fence(): { ringTerm: bigint; ringVersion: bigint } {
    return fenceOf(this.deps.view.document);
  }

  /** Sends the put's written object to a replica (never to this node: it wrote it already). */
  private send(nodeId: string, run: PutRun, hintFor: string | undefined): Promise<unknown> {
    const { partition, key, deadlineMs } = run.req;
    const object = run.bytes ?? Buffer.alloc(0);
    const value = {
      partition,
      key: Buffer.from(key),
      object,
      hintFor: hintFor ?? '',
      ...this.fence(),
    };
    return this.deps.peers.request(nodeId, { $case: 'replicate', value }, remainingMs(deadlineMs));
  }

  private repair(nodeIds: readonly string[], req: KeyRequest, object: KeyObject): void {
    const value = {
      partition: req.partition,
      key: Buffer.from(req.key),
      object: Buffer.from(encodeObject(object)),
      hintFor: '',
      ...unfenced,
    };
    // The quorum machine repairs replicas that answered behind, without the key, or corrupt.
    const keyShown = keyTag(req.key);
    const cause = 'behind, missing or corrupt';
    this.deps.log.info(
      { partition: req.partition, key: keyShown, replicas: nodeIds, cause },
      'read repair',
    );
    for (const nodeId of nodeIds) {
      this.deps.metrics.readRepairs.inc();
      const repaired =
        nodeId === this.deps.selfId
          ? this.deps.replica.replicate(value)
          : this.deps.peers.request(nodeId, { $case: 'replicate', value }, repairTimeoutMs);
      repaired.catch((e: unknown) =>
        this.deps.log.debug({ peer: nodeId, reason: reasonOf(e) }, 'read repair failed'),
      );
    }
  }
}

/** The preference list with this node's own entry first (a local read costs no message). */
export function ownFirst(list: readonly PreferenceEntry[], selfId: string): PreferenceEntry[] {
  const own = list.filter((t) => t.nodeId === selfId);
  return own.length === 0 ? [...list] : [...own, ...list.filter((t) => t.nodeId !== selfId)];
}

/** The context a Get would return for `object`: the join of its clock; none for no object. */
function contextOf(object: KeyObject | undefined): VersionVector {
  return object === undefined ? [] : join(object);
}

function refuseCounterRange<T>(write: () => T): T {
  try {
    return write();
  } catch (e) {
    if (e instanceof CounterRangeError) throw refused('invalid-argument', e.message);
    throw e;
  }
}

/** Time left until an absolute deadline, at least 1 ms (a machine needs a positive timeout). */
export function remainingMs(deadlineMs: number): number {
  return Math.max(1, deadlineMs - Date.now());
}
