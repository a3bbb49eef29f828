import {
  startGet,
  startPut,
  stepGet,
  stepPut,
  type GetEffect,
  type GetEvent,
  type PutEffect,
  type PutEvent,
  type QuorumFailure,
} from '@ringstore/quorum';
import type { PreferenceEntry } from '@ringstore/ring';
import type { StorageEngine } from '@ringstore/storage';
import type { StoredValue, VersionVector } from '@ringstore/vclock';
import { RingstoreError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import {
  coordinateWrite,
  encodeObject,
  objectOps,
  tryDecodeObject,
  type KeyObject,
} from '../../object.js';
import type { PeerLinks } from '../../peer-link.js';
import type { Liveness } from '../gossip/liveness.js';
import type { Replica } from '../replica/replica.js';

/** How long a get keeps listening for slower replicas after answering, to read-repair them. */
export const repairWaitMs = 200;

export interface CoordinatorDeps {
  readonly selfId: string;
  readonly actor: string;
  readonly storage: StorageEngine;
  readonly replica: Replica;
  readonly links: PeerLinks;
  readonly liveness: Liveness;
  readonly log: Logger;
  readonly metrics: Metrics;
}

export interface KeyRequest {
  readonly key: Uint8Array;
  readonly partition: number;
  readonly targets: readonly PreferenceEntry[];
  readonly deadlineMs: number;
}

function failureError(f: QuorumFailure): RingstoreError {
  return new RingstoreError(f.kind === 'timeout' ? 'deadline-exceeded' : 'unavailable', f.message);
}

/**
 * The coordinator role: drives the pure put/get state machines of @ringstore/quorum over the peer
 * link. It performs their effects in order (persist, send, reply) and feeds replies back as events.
 */
export class Coordinator {
  constructor(private readonly deps: CoordinatorDeps) {}

  /** Writes locally (new dot under this node's actor), replicates, answers after W acks. */
  async put(
    req: KeyRequest,
    value: StoredValue,
    context: VersionVector,
    w: number,
  ): Promise<KeyObject> {
    if (w > req.targets.length) {
      // Refuse before writing anything: W cannot be met by the replicas that are up.
      throw new RingstoreError(
        'unavailable',
        `put acked 0 of W=${w} (only ${req.targets.length} replicas available; the write reached no replica)`,
      );
    }
    let written: KeyObject | undefined;
    await this.deps.storage.update(req.partition, req.key, (current) => {
      written = coordinateWrite(current, value, context, this.deps.actor);
      return encodeObject(written);
    });
    if (written === undefined)
      throw new RingstoreError('internal', 'local write produced no object');
    const object = written;
    const bytes = Buffer.from(encodeObject(object));
    const timeoutMs = Math.max(1, req.deadlineMs - Date.now());
    const start = startPut({
      targets: req.targets,
      w,
      localNodeId: this.deps.selfId,
      localAcked: true,
      requestTimeoutMs: timeoutMs,
    });
    await new Promise<void>((resolve, reject) => {
      let state = start.state;
      let timer: NodeJS.Timeout | undefined;
      const step = (event: PutEvent): void => {
        const next = stepPut(state, event);
        state = next.state;
        perform(next.effects);
      };
      const perform = (effects: readonly PutEffect[]): void => {
        for (const effect of effects) {
          switch (effect.type) {
            case 'replicate':
              this.send(
                effect.nodeId,
                {
                  partition: req.partition,
                  key: Buffer.from(req.key),
                  object: bytes,
                  hintFor: effect.hintFor ?? '',
                },
                req.deadlineMs,
              ).then(
                () => step({ type: 'ack', nodeId: effect.nodeId }),
                (e: unknown) =>
                  step({
                    type: 'fail',
                    nodeId: effect.nodeId,
                    reason: this.failed(effect.nodeId, e),
                  }),
              );
              break;
            case 'schedule-timeout':
              timer = setTimeout(() => step({ type: 'timeout' }), effect.afterMs);
              break;
            case 'respond':
              if (effect.result.ok) resolve();
              else reject(failureError(effect.result.failure));
              break;
            case 'done':
              clearTimeout(timer);
              break;
          }
        }
      };
      perform(start.effects);
    });
    return object;
  }

  /** Reads R replicas, answers with the merge, then read-repairs the replicas that were behind. */
  async get(req: KeyRequest, r: number): Promise<KeyObject | undefined> {
    const timeoutMs = Math.max(1, req.deadlineMs - Date.now());
    const start = startGet<KeyObject>({
      targets: req.targets,
      r,
      requestTimeoutMs: timeoutMs,
      repairWaitMs,
      ops: objectOps,
    });
    return new Promise<KeyObject | undefined>((resolve, reject) => {
      let state = start.state;
      const timers: NodeJS.Timeout[] = [];
      const step = (event: GetEvent<KeyObject>): void => {
        const next = stepGet(state, event);
        state = next.state;
        perform(next.effects);
      };
      const perform = (effects: readonly GetEffect<KeyObject>[]): void => {
        for (const effect of effects) {
          switch (effect.type) {
            case 'read':
              this.readFrom(effect.nodeId, req).then(step, (e: unknown) =>
                step({
                  type: 'fail',
                  nodeId: effect.nodeId,
                  reason: this.failed(effect.nodeId, e),
                }),
              );
              break;
            case 'schedule-timeout':
              timers.push(
                setTimeout(
                  () => step({ type: effect.timer === 'repair' ? 'repair-timeout' : 'timeout' }),
                  effect.afterMs,
                ),
              );
              break;
            case 'respond':
              if (effect.result.ok) resolve(effect.result.object);
              else reject(failureError(effect.result.failure));
              break;
            case 'repair':
              this.repair(effect.nodeIds, req, effect.object);
              break;
            case 'done':
              for (const t of timers) clearTimeout(t);
              break;
          }
        }
      };
      perform(start.effects);
    });
  }

  /** A replica's request failed: suspect it (routing avoids it for a while) and say why. */
  private failed(nodeId: string, e: unknown): string {
    const reason = reasonOf(e);
    if (nodeId !== this.deps.selfId) this.deps.liveness.suspect(nodeId, reason);
    return reason;
  }

  private async readFrom(nodeId: string, req: KeyRequest): Promise<GetEvent<KeyObject>> {
    if (nodeId === this.deps.selfId) {
      await Promise.resolve(); // deliver asynchronously, like a remote reply
      const copy = this.deps.replica.read(req.partition, req.key);
      return { type: 'reply', nodeId, object: copy.object, corrupt: copy.corrupt };
    }
    const reply = await this.deps.links.request(
      nodeId,
      { $case: 'read', value: { partition: req.partition, key: Buffer.from(req.key) } },
      Math.max(1, req.deadlineMs - Date.now()),
    );
    if (!reply.found) return { type: 'reply', nodeId, object: undefined, corrupt: reply.corrupt };
    const object = tryDecodeObject(reply.object);
    return { type: 'reply', nodeId, object, corrupt: object === undefined };
  }

  private send(
    nodeId: string,
    value: { partition: number; key: Buffer; object: Buffer; hintFor: string },
    deadlineMs: number,
  ): Promise<unknown> {
    if (nodeId === this.deps.selfId) return this.deps.replica.replicate(value);
    return this.deps.links.request(
      nodeId,
      { $case: 'replicate', value },
      Math.max(1, deadlineMs - Date.now()),
    );
  }

  private repair(nodeIds: readonly string[], req: KeyRequest, object: KeyObject): void {
    const bytes = Buffer.from(encodeObject(object));
    const repairDeadlineMs = Date.now() + 1_000;
    // The quorum machine repairs replicas that answered behind, without the key, or corrupt.
    this.deps.log.info(
      {
        partition: req.partition,
        key: Buffer.from(req.key).toString('base64'),
        replicas: nodeIds,
        cause: 'behind, missing or corrupt',
      },
      'read repair',
    );
    for (const nodeId of nodeIds) {
      this.deps.metrics.readRepairs.inc();
      this.send(
        nodeId,
        { partition: req.partition, key: Buffer.from(req.key), object: bytes, hintFor: '' },
        repairDeadlineMs,
      ).catch((e: unknown) =>
        this.deps.log.debug({ peer: nodeId, reason: reasonOf(e) }, 'read repair failed'),
      );
    }
  }
}

function reasonOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
