import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { ReplyOf, RequestBody, RequestCase } from '../peer/link.js';
import type { Peers } from '../peer/peers.js';
import { Replica } from '../roles/replica/replica.js';

export interface PeerCall {
  readonly nodeId: string;
  readonly body: RequestBody;
  readonly timeoutMs: number;
}

/** A peer's answer to one call, in place of its replica's. */
export type PeerAnswer = (call: PeerCall) => Promise<unknown>;

/**
 * The one Peers method the coordinator uses (`request`), for unit tests: every peer is a real
 * Replica on its own in-memory engine, so what a peer stores can be read back. An entry in
 * `answers` replaces a peer's answer (a failure, a stale reply, a reply that never comes).
 */
export class FakePeers {
  readonly calls: PeerCall[] = [];
  readonly answers = new Map<string, PeerAnswer>();
  private readonly replicas = new Map<string, { storage: StorageEngine; replica: Replica }>();

  constructor(nodeIds: readonly string[], log: Logger, metrics: Metrics) {
    for (const id of nodeIds) {
      const storage = openMemoryEngine();
      this.replicas.set(id, { storage, replica: new Replica(storage, log, metrics) });
    }
  }

  /** This fake where the node's code wants Peers (it has private members, so a cast). */
  asPeers(): Peers {
    return this as unknown as Peers;
  }

  request<C extends RequestCase>(
    nodeId: string,
    body: Extract<RequestBody, { $case: C }>,
    timeoutMs: number,
  ): Promise<ReplyOf<C>> {
    const call: PeerCall = { nodeId, body, timeoutMs };
    this.calls.push(call);
    const answer = this.answers.get(nodeId) ?? ((c: PeerCall) => this.serve(c));
    return answer(call) as Promise<ReplyOf<C>>;
  }

  /** What the peer's replica answers: replicate and read, as the replica role's handlers do. */
  serve(call: PeerCall): Promise<unknown> {
    const { replica } = this.peer(call.nodeId);
    switch (call.body.$case) {
      case 'replicate':
        return replica.replicate(call.body.value).then(() => ({}));
      case 'read': {
        const { partition, key } = call.body.value;
        return Promise.resolve(replica.readMessage(partition, key));
      }
      case 'forwardGet':
      case 'forwardPut':
      case 'forwardDelete':
      case 'handoff':
      case 'reap':
      case 'hintsHeld':
      case 'transferPage':
      case 'transferReport':
        return Promise.reject(new Error(`fake peer does not serve ${call.body.$case}`));
    }
  }

  /** The calls of one kind, in the order they were made. */
  callsOf(kind: RequestCase): PeerCall[] {
    return this.calls.filter((c) => c.body.$case === kind);
  }

  storageOf(nodeId: string): StorageEngine {
    return this.peer(nodeId).storage;
  }

  async close(): Promise<void> {
    for (const { storage } of this.replicas.values()) await storage.close();
  }

  private peer(nodeId: string): { storage: StorageEngine; replica: Replica } {
    const peer = this.replicas.get(nodeId);
    if (peer === undefined) throw new Error(`fake peers have no ${nodeId}`);
    return peer;
  }
}
