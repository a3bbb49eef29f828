import type {
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  PutRequest,
  PutResponse,
} from '@ringstore/proto';
import type { VersionVector } from '@ringstore/vclock';
import type { ClusterView } from '../../cluster-view.js';
import { RingstoreError, asRingstoreError } from '../../errors.js';
import type { Metrics } from '../../metrics.js';
import { clientView } from '../../object.js';
import type { PeerLinks } from '../../peer-link.js';
import type { Liveness } from '../gossip/liveness.js';
import type { Coordinator, KeyRequest } from './coordinator.js';
import {
  parseContext,
  quorumOf,
  validateKey,
  validateValue,
  type RequestLimits,
} from './validate.js';

export interface KvHandlerOptions extends RequestLimits {
  readonly r: number;
  readonly w: number;
}

type Op = 'get' | 'put' | 'delete';

/** Failures that prove a forwarded write was never applied: it was not sent, or reached no replica. */
function provablyNotApplied(message: string): boolean {
  return /reached no replica|unreachable \(link down|unknown node|shutting down/.test(message);
}

/** Client requests this node forwarded (it did not replicate the key) or coordinated itself. */
export interface RequestCounts {
  forwarded: number;
  coordinated: number;
}

/**
 * The KV operations behind both the public gRPC service and forwarded peer requests: validate,
 * then coordinate when this node replicates the key, or forward to a replica that does (one hop).
 */
export class KvHandler {
  readonly counts: RequestCounts = { forwarded: 0, coordinated: 0 };

  constructor(
    private readonly view: ClusterView,
    private readonly coordinator: Coordinator,
    private readonly links: PeerLinks,
    private readonly metrics: Metrics,
    private readonly liveness: Liveness,
    private readonly options: KvHandlerOptions,
  ) {}

  async get(req: GetRequest, deadlineMs: number, forwarded = false): Promise<GetResponse> {
    validateKey(req.key, this.options);
    const r = quorumOf('r', req.r, this.options.r, this.options);
    const target = this.route(req.key, req.strictQuorum, deadlineMs, forwarded);
    if (target === undefined)
      return this.forward('get', req.key, deadlineMs, (node, ms) =>
        this.links.request(node, { $case: 'forwardGet', value: req }, ms),
      );
    return clientView(await this.coordinator.get(target, r));
  }

  async put(req: PutRequest, deadlineMs: number, forwarded = false): Promise<PutResponse> {
    validateKey(req.key, this.options);
    validateValue(req.value, this.options);
    const context = parseContext(req.context);
    const w = quorumOf('w', req.w, this.options.w, this.options);
    const target = this.route(req.key, req.strictQuorum, deadlineMs, forwarded);
    if (target === undefined)
      return this.forward('put', req.key, deadlineMs, (node, ms) =>
        this.links.request(node, { $case: 'forwardPut', value: req }, ms),
      );
    const written = await this.coordinator.put(
      target,
      { bytes: req.value, tombstone: false, timestampMs: Date.now() },
      context,
      w,
    );
    return clientView(written);
  }

  /** A tombstone put. Without a context, the key's current context is read first (as Riak does). */
  async delete(req: DeleteRequest, deadlineMs: number, forwarded = false): Promise<DeleteResponse> {
    validateKey(req.key, this.options);
    let context: VersionVector = parseContext(req.context);
    const w = quorumOf('w', req.w, this.options.w, this.options);
    const target = this.route(req.key, req.strictQuorum, deadlineMs, forwarded);
    if (target === undefined)
      return this.forward('delete', req.key, deadlineMs, (node, ms) =>
        this.links.request(node, { $case: 'forwardDelete', value: req }, ms),
      );
    if (req.context.length === 0) {
      const current = await this.coordinator.get(target, this.options.r);
      context = current === undefined ? [] : parseContext(clientView(current).context);
    }
    await this.coordinator.put(
      target,
      { bytes: new Uint8Array(), tombstone: true, timestampMs: Date.now() },
      context,
      w,
    );
    return {};
  }

  /** The request to coordinate here, or undefined when the key belongs to other nodes. */
  /**
   * Sloppy quorum (the default): down or suspected primaries are replaced by the next fallbacks,
   * which keep the write as a hint. Strict quorum: only the up primaries are asked, so W or R
   * counts primaries alone (Riak's pw/pr).
   */
  private route(
    key: Uint8Array,
    strictQuorum: boolean,
    deadlineMs: number,
    forwarded: boolean,
  ): KeyRequest | undefined {
    const partition = this.view.partitionOf(key);
    if (!this.view.isReplica(partition)) {
      if (forwarded)
        throw new RingstoreError(
          'unavailable',
          `forwarded a key this node does not replicate (partition ${partition}): rings disagree`,
        );
      return undefined;
    }
    const targets = this.view.targets(partition, (id) => this.liveness.isUp(id), strictQuorum);
    this.counts.coordinated++;
    return { key, partition, targets, deadlineMs };
  }

  /** Sends the request to the key's replicas in preference order until one answers (bounded by N). */
  private async forward<T>(
    op: Op,
    key: Uint8Array,
    deadlineMs: number,
    send: (nodeId: string, timeoutMs: number) => Promise<T>,
  ): Promise<T> {
    this.metrics.forwarded.inc({ op });
    this.counts.forwarded++;
    let last: RingstoreError | undefined;
    const primaries = this.view.primaries(this.view.partitionOf(key));
    // Up replicas first; the others only if every up one failed.
    const ordered = [
      ...primaries.filter((id) => this.liveness.isUp(id)),
      ...primaries.filter((id) => !this.liveness.isUp(id)),
    ];
    for (const nodeId of ordered) {
      const remainingMs = deadlineMs - Date.now();
      if (remainingMs <= 0) break;
      try {
        return await send(nodeId, remainingMs);
      } catch (e) {
        last = asRingstoreError(e);
        // A write goes to the next replica only when this one provably did not apply it.
        if (last.code !== 'unavailable' || (op !== 'get' && !provablyNotApplied(last.message)))
          throw last;
        this.liveness.suspect(nodeId, last.message);
      }
    }
    throw (
      last ?? new RingstoreError('deadline-exceeded', 'deadline passed before any replica answered')
    );
  }
}
