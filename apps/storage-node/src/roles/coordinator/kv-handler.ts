import type {
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  PutRequest,
  PutResponse,
} from '@ringstore/proto';
import type { ClusterView } from '../../cluster-view.js';
import { refused } from '../../errors.js';
import type { Liveness } from '../../liveness.js';
import { clientView } from '../../object.js';
import type { LinkHandlers, RequestContext } from '../../peer/link.js';
import type { Peers } from '../../peer/peers.js';
import type { Coordinator, KeyRequest } from './coordinator.js';
import type { Forwarder } from './forward.js';
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

/** Where a request is served: coordinated here, or forwarded (this node does not replicate it). */
type Route =
  | { readonly kind: 'coordinate'; readonly req: KeyRequest }
  | { readonly kind: 'forward'; readonly partition: number };

/**
 * The KV operations behind the public gRPC service and forwarded peer requests: validate (bad
 * input changes nothing), then coordinate when this node replicates the key, or forward.
 */
export class KvHandler {
  /** Client requests this node coordinated. */
  coordinated = 0;

  constructor(
    private readonly view: ClusterView,
    private readonly coordinator: Coordinator,
    private readonly forwarder: Forwarder,
    private readonly peers: Peers,
    private readonly liveness: Liveness,
    private readonly options: KvHandlerOptions,
  ) {}

  /** The coordinator role's peer messages: requests other nodes forwarded here. */
  readonly handlers: Pick<LinkHandlers, 'forwardGet' | 'forwardPut' | 'forwardDelete'> = {
    forwardGet: (req, ctx: RequestContext) => this.get(req, ctx.deadlineMs, true),
    forwardPut: (req, ctx: RequestContext) => this.put(req, ctx.deadlineMs, true),
    forwardDelete: (req, ctx: RequestContext) => this.delete(req, ctx.deadlineMs, true),
  };

  async get(req: GetRequest, deadlineMs: number, forwarded = false): Promise<GetResponse> {
    validateKey(req.key, this.options);
    const r = quorumOf('r', req.r, this.options.r, this.options);
    const route = this.route(req.key, req.strictQuorum, deadlineMs, forwarded);
    if (route.kind === 'forward') {
      return this.forwarder.forward('get', route.partition, deadlineMs, (node, ms) =>
        this.peers.request(node, { $case: 'forwardGet', value: req }, ms),
      );
    }
    return clientView(req.key, await this.coordinator.get(route.req, r));
  }

  async put(req: PutRequest, deadlineMs: number, forwarded = false): Promise<PutResponse> {
    validateKey(req.key, this.options);
    validateValue(req.value, this.options);
    const context = parseContext(req.context, req.key);
    const w = quorumOf('w', req.w, this.options.w, this.options);
    const route = this.route(req.key, req.strictQuorum, deadlineMs, forwarded);
    if (route.kind === 'forward') {
      return this.forwarder.forward('put', route.partition, deadlineMs, (node, ms) =>
        this.peers.request(node, { $case: 'forwardPut', value: req }, ms),
      );
    }
    const value = { bytes: req.value, tombstone: false, timestampMs: Date.now() };
    return clientView(req.key, await this.coordinator.put(route.req, value, context, w));
  }

  async delete(req: DeleteRequest, deadlineMs: number, forwarded = false): Promise<DeleteResponse> {
    validateKey(req.key, this.options);
    const context = req.context.length === 0 ? undefined : parseContext(req.context, req.key);
    const w = quorumOf('w', req.w, this.options.w, this.options);
    const route = this.route(req.key, req.strictQuorum, deadlineMs, forwarded);
    if (route.kind === 'forward') {
      return this.forwarder.forward('delete', route.partition, deadlineMs, (node, ms) =>
        this.peers.request(node, { $case: 'forwardDelete', value: req }, ms),
      );
    }
    await this.coordinator.delete(route.req, context, w, this.options.r);
    return {};
  }

  /**
   * Sloppy quorum (the default): down primaries are replaced by the next up fallbacks, which keep
   * the write as a hint. Strict quorum: only the up primaries are asked, so W or R counts
   * primaries alone (Riak's pw/pr).
   */
  private route(
    key: Uint8Array,
    strictQuorum: boolean,
    deadlineMs: number,
    forwarded: boolean,
  ): Route {
    const partition = this.view.partitionOf(key);
    if (!this.view.isReplica(partition)) {
      if (forwarded) {
        // Refused before anything ran here: the sender may try the next replica.
        throw refused(
          'unavailable',
          `forwarded a key this node does not replicate (partition ${partition}): rings disagree`,
        );
      }
      return { kind: 'forward', partition };
    }
    const preferenceList = this.view.preferenceList(
      partition,
      (id) => this.liveness.isRoutable(id),
      strictQuorum,
    );
    const pending = this.view.pendingFor(partition, preferenceList, (id) =>
      this.liveness.isRoutable(id),
    );
    this.coordinated++;
    return { kind: 'coordinate', req: { key, partition, preferenceList, pending, deadlineMs } };
  }
}
