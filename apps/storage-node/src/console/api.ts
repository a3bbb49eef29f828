import type {
  KeyInspection,
  Member,
  PartitionAntiEntropy,
  Ring as RingMessage,
  TransferLimits,
  TransferProgress,
} from '@ringstore/proto';
import { RingstoreError } from '../errors.js';
import type { RequestHistory } from './history.js';
import type { WarningLog } from './warnings.js';

/**
 * The web console's data: JSON documents built from the node's own state, the same state the
 * Cluster RPCs answer from. Documented in docs/operations.md ("The web console"); every number
 * is a plain JSON number (uint64 counters fit: they are counts and milliseconds), phi of a
 * member never heard from is the string "inf".
 */
export interface ConsoleSources {
  readonly nodeId: string;
  /** The node's software version. */
  readonly version: string;
  ring(): RingMessage;
  /** This node's view of one key (Cluster.InspectKey's); throws RingstoreError for a bad key. */
  inspect(key: Uint8Array): KeyInspection;
  members(): Member[];
  isUp(nodeId: string): boolean;
  /** Ring version each member is known to have applied. */
  applied(): ReadonlyMap<string, number>;
  transfers(): { inbound: TransferProgress[]; limits: TransferLimits };
  hints(): ReadonlyMap<string, number>;
  antiEntropy(): PartitionAntiEntropy[];
  readonly aeIntervalMs: number;
  readonly requests: RequestHistory;
  readonly warnings: WarningLog;
  /** Whether the KV service is SERVING (grpc health). */
  serving(): boolean;
}

export type ApiResult =
  | { readonly status: 200; readonly body: unknown }
  | { readonly status: 400 | 404; readonly body: { error: { code: string; message: string } } };

/** Text of a key typed into the console: 4 MiB is the largest --key-bytes-max, base64 of it. */
const keyTextCharsMax = Math.ceil((4 * 1024 * 1024 * 4) / 3) + 4;

export class ConsoleApi {
  /** When each member's heartbeat counter last moved, as this node saw it (ms, wall clock). */
  private readonly heartbeats = new Map<string, { heartbeat: bigint; at: number }>();

  constructor(
    private readonly sources: ConsoleSources,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes the members' heartbeat counters; called every second, so ages are right within 1 s. */
  observeHeartbeats(): void {
    const now = this.now();
    const seen = new Set<string>();
    for (const m of this.sources.members()) {
      const id = m.node?.id ?? '';
      seen.add(id);
      const last = this.heartbeats.get(id);
      if (last === undefined || last.heartbeat !== m.heartbeat)
        this.heartbeats.set(id, { heartbeat: m.heartbeat, at: now });
    }
    for (const id of this.heartbeats.keys()) if (!seen.has(id)) this.heartbeats.delete(id);
  }

  /** GET /api/<name>; `query` holds the URL's parameters. */
  handle(name: string, query: URLSearchParams): ApiResult {
    switch (name) {
      case 'overview':
        return ok(this.overview());
      case 'ring':
        return ok(this.ringView());
      case 'key':
        return this.key(query);
      case 'transfers':
        return ok(this.transfersView());
      case 'hints':
        return ok(this.hintsView());
      case 'anti-entropy':
        return ok(this.antiEntropyView());
      case 'requests':
        return ok({
          intervalMs: this.sources.requests.intervalMs,
          samples: this.sources.requests.list(),
        });
      case 'warnings':
        return ok({ warnings: this.sources.warnings.list() });
      default:
        return {
          status: 404,
          body: { error: { code: 'NOT_FOUND', message: `no /api/${name.slice(0, 64)}` } },
        };
    }
  }

  private overview() {
    const s = this.sources;
    const ring = s.ring();
    const applied = s.applied();
    const now = this.now();
    this.observeHeartbeats();
    return {
      node: s.nodeId,
      version: s.version,
      now,
      serving: s.serving(),
      ring: {
        clusterId: ring.clusterId,
        term: Number(ring.term),
        version: Number(ring.version),
        partitions: ring.partitionCount,
        replicas: ring.replicas,
        claimant: ring.claimant,
        transitioning: ring.nextOwners.length > 0,
      },
      members: s.members().map((m) => {
        const id = m.node?.id ?? '';
        const self = id === s.nodeId;
        const owned = ring.owners.filter((o) => ring.nodes[o]?.id === id).length;
        const seen = this.heartbeats.get(id);
        return {
          id,
          address: m.node?.address ?? '',
          peerAddress: m.node?.peerAddress ?? '',
          zone: m.node?.zone ?? '',
          // The member's place in the ring (valid, joining, leaving, ...); liveness is apart.
          status: ring.nodes.find((n) => n.id === id)?.status ?? m.node?.status ?? '',
          liveness: self || m.alive ? 'up' : 'down',
          self,
          phi: self ? 0 : readablePhi(m.phi),
          suspected: m.suspected,
          heartbeat: Number(m.heartbeat),
          heartbeatAgeMs: self || seen === undefined ? 0 : Math.max(0, now - seen.at),
          generation: Number(m.generation),
          ringVersion: applied.get(id) ?? null,
          partitionsOwned: owned,
        };
      }),
    };
  }

  private ringView() {
    const ring = this.sources.ring();
    return {
      partitions: ring.partitionCount,
      replicas: ring.replicas,
      version: Number(ring.version),
      nodes: ring.nodes.map((n) => ({ id: n.id, status: n.status, zone: n.zone })),
      owners: ring.owners,
      nextOwners: ring.nextOwners,
      transfers: ring.transfers.map((t) => ({
        partition: t.partition,
        added: t.added,
        removed: t.removed,
        state: t.state,
        since: Number(t.since),
      })),
    };
  }

  /**
   * /api/key?key=TEXT[&encoding=utf8|hex|base64]: where the key lives and who serves it, from
   * this node's KeyInspector (the same answer as Cluster.InspectKey; a key KV refuses is a 400).
   */
  private key(query: URLSearchParams): ApiResult {
    const text = query.get('key') ?? '';
    const encoding = query.get('encoding') ?? 'utf8';
    if (encoding !== 'utf8' && encoding !== 'hex' && encoding !== 'base64')
      return bad('encoding must be utf8, hex or base64');
    if (encoding === 'hex' && !/^([0-9a-fA-F]{2})*$/.test(text))
      return bad('the key is not hex (an even number of 0-9a-f)');
    // Longer text than any key the node takes is refused before it is decoded.
    if (text.length > keyTextCharsMax)
      return bad(`the key is longer than ${keyTextCharsMax} characters`);
    let k: KeyInspection;
    try {
      k = this.sources.inspect(Buffer.from(text, encoding));
    } catch (e) {
      if (e instanceof RingstoreError) return bad(e.message);
      throw e;
    }
    const isUp = (id: string): boolean => id === this.sources.nodeId || this.sources.isUp(id);
    return ok({
      position: k.position,
      partition: k.partition,
      preferenceList: k.preferenceList.map((e) => ({
        node: e.node,
        hintFor: e.hintFor === '' ? null : e.hintFor,
        up: isUp(e.node),
      })),
    });
  }

  private transfersView() {
    const { inbound, limits } = this.sources.transfers();
    const ring = this.ringView();
    return {
      node: this.sources.nodeId,
      transitions: ring.transfers,
      inbound: inbound.map((t) => ({
        partition: t.partition,
        from: t.from,
        to: t.to,
        state: t.state,
        objectsDone: Number(t.objectsDone),
        objectsTotal: Number(t.objectsTotal),
        bytesDone: Number(t.bytesDone),
        bytesTotal: Number(t.bytesTotal),
        objectsPerSecond: t.objectsPerSecond,
        bytesPerSecond: t.bytesPerSecond,
        lastProgressMs: Number(t.lastProgressMs),
        stalled: t.stalled,
        pages: Number(t.pages),
      })),
      limits: {
        concurrency: limits.concurrency,
        objectsPerSecond: Number(limits.objectsPerSecond),
        bytesPerSecond: Number(limits.bytesPerSecond),
      },
    };
  }

  private hintsView() {
    const targets = [...this.sources.hints()]
      .map(([target, pending]) => ({ target, pending, up: this.sources.isUp(target) }))
      .sort((a, b) => a.target.localeCompare(b.target));
    return { node: this.sources.nodeId, targets };
  }

  private antiEntropyView() {
    const partitions = this.sources.antiEntropy();
    const intervalMs = this.sources.aeIntervalMs;
    return {
      node: this.sources.nodeId,
      now: this.now(),
      intervalMs,
      // One exchange (one partition) per interval: a round of every partition held takes this.
      fullRoundMs: intervalMs > 0 ? intervalMs * partitions.length : null,
      partitions: partitions.map((p) => ({
        partition: p.partition,
        lastExchangeMs: Number(p.lastExchangeMs),
        lastPeer: p.lastPeer,
        exchanges: Number(p.exchanges),
        differences: Number(p.differences),
        repairs: Number(p.repairs),
        keys: Number(p.keys),
      })),
    };
  }
}

/** phi as a finite number (2 decimals) or "inf": the node reports a never-heard member as MAX_VALUE. */
export function readablePhi(phi: number): number | 'inf' {
  if (!Number.isFinite(phi) || phi >= 1e300) return 'inf';
  return Math.round(phi * 100) / 100;
}

function ok(body: unknown): ApiResult {
  return { status: 200, body };
}

function bad(message: string): ApiResult {
  return { status: 400, body: { error: { code: 'INVALID_ARGUMENT', message } } };
}
