import type { ServerCredentials } from '@grpc/grpc-js';
import {
  Metadata,
  Server,
  type handleUnaryCall,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import {
  ClusterService,
  KVService,
  PeerService,
  protoRoot,
  clientProtoFiles,
  type ClusterServer,
  type KVServer,
  type PeerServer,
  type MoveClaimantRequest,
  type SetTransferLimitsRequest,
  type StageChangeRequest,
  type GossipRequest,
  type MerkleLevelRequest,
  type SegmentKeysRequest,
  type PushRingRequest,
  type BackupChunk,
  type BackupRequest,
  type InspectKeyRequest,
} from '@ringstore/proto';
import type { Backups } from './backup.js';
import type { KeyInspector } from './inspect-key.js';
import type { TransportSecurity } from './transport.js';
import { isUndecodable, tolerant } from './undecodable.js';
import { gated, refuseUndecodable } from './gate.js';
import { Sessions, sessionLimitsDefault, type SessionLimits } from './session.js';
import {
  batchGet,
  batchGetItemsMax,
  batchPut,
  batchPutItemsMax,
} from './roles/coordinator/batch.js';
import type { Admitted, ClientGuard } from './security/guard.js';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import type { ClusterView } from './cluster-view.js';
import { refused, invalidArgument, toServiceError } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { serveLink, type LinkHandlers, type LinkLimits } from './peer/link.js';
import type { PeerTraffic } from './peer/traffic.js';
import type { KvHandler } from './roles/coordinator/kv-handler.js';
import type { AntiEntropy } from './roles/anti-entropy/anti-entropy.js';
import type { Gossiper } from './roles/gossip/gossiper.js';
import type { RingKeeper } from './ring/ring-keeper.js';
import type { Claimant } from './roles/claimant/claimant.js';
import type { Transfers } from './roles/transfer/transfer.js';

/** Room in a client message beside its key and value: the context, field tags, framing. */
export const clientMessageOverheadBytes = 64 * 1024;

/**
 * Largest message the client port takes: the configured key and value limits plus overhead
 * (about 1.1 MiB by default), so a larger one is refused by grpc-js as it arrives
 * (RESOURCE_EXHAUSTED), never buffered whole first.
 */
export function clientMessageBytesMax(limits: { keyBytesMax: number; valueBytesMax: number }) {
  return limits.keyBytesMax + limits.valueBytesMax + clientMessageOverheadBytes;
}

/** Counts client requests in progress, so shutdown can wait for them (bounded). */
export class InflightTracker {
  private count = 0;
  private draining = false;
  private waiters: (() => void)[] = [];

  enter(): boolean {
    if (this.draining) return false;
    this.count++;
    return true;
  }

  leave(): void {
    this.count--;
    if (this.count === 0) for (const w of this.waiters.splice(0)) w();
  }

  /** Refuses new requests and resolves when the in-flight ones finished or after timeoutMs. */
  drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

export interface ServerDeps {
  readonly view: ClusterView;
  /** Who a peer call comes from (its certificate with mTLS). */
  readonly peerIdOf: TransportSecurity['peerIdOf'];
  readonly gossip: Gossiper;
  readonly antiEntropy: AntiEntropy;
  readonly kv: KvHandler;
  readonly keeper: RingKeeper;
  readonly claimant: Claimant;
  readonly transfers: Transfers;
  readonly linkHandlers: LinkHandlers;
  /** Client requests forwarded and coordinated, transfer objects sent: Cluster.GetNodeStats. */
  readonly nodeCounts: () => {
    readonly forwarded: number;
    readonly coordinated: number;
    readonly transferObjectsSent: number;
  };
  readonly linkLimits: LinkLimits;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  readonly inflight: InflightTracker;
  /** Tokens, roles, rate limits and admission, before any work. */
  readonly guard: ClientGuard;
  /** Largest message the client port receives (clientMessageBytesMax). */
  readonly clientMessageBytesMax: number;
  /**
   * HTTP/2 streams one client connection may have open: beyond, the client queues the call
   * instead of the node's HTTP/2 layer, before the gate and the request timer see it (calls queued
   * there were not capped by the request timeout). Above the admission limit, so that one
   * client's excess reaches the gate and is refused with retry-after-ms.
   */
  readonly clientStreamsMax: number;
  /** KV.Session's limits; default sessionLimitsDefault. */
  readonly sessionLimits?: SessionLimits;
  /** Cluster.Backup's snapshots of this node's database. */
  readonly backups: Backups;
  /** Per-peer link counters (the metrics read them): the serving side of each link adds to them. */
  readonly peerTraffic?: PeerTraffic;
  /** Cluster.InspectKey: this node's own view of one key. */
  readonly keyInspector: KeyInspector;
}

function deadlineOf(call: ServerUnaryCall<unknown, unknown>, requestTimeoutMs: number): number {
  const ours = Date.now() + requestTimeoutMs;
  const d = call.getDeadline();
  const theirs = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(theirs) ? Math.min(ours, theirs) : ours;
}

/** Response metadata naming the ring version, so smart clients notice a newer ring. */
export const ringVersionHeader = 'x-ringstore-ring-version';
/** And its term: a ring of a new term (a forced claimant take-over) may have a lower version. */
export const ringTermHeader = 'x-ringstore-ring-term';

function unary<Req, Res>(
  deps: ServerDeps,
  op: string,
  fn: (req: Req, deadlineMs: number) => Promise<Res>,
  withRingVersion = false,
  /** Operations the request carries (a batch's items): what admission and rate limits count. */
  unitsOf: (req: Req) => number = () => 1,
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
    const onAdmitted = (headers: readonly (readonly [string, string])[]): void => {
      const md = new Metadata();
      for (const [key, value] of headers) md.set(key, value);
      if (withRingVersion) {
        md.set(ringVersionHeader, deps.view.version.toString());
        md.set(ringTermHeader, String(deps.view.document.term));
      }
      call.sendMetadata(md);
    };
    const request = {
      op,
      path: call.getPath(),
      metadata: call.metadata,
      request: call.request,
      deadlineMs: deadlineOf(call, deps.requestTimeoutMs),
      // A request that did not decode counts 1 (gated refuses it first).
      units: isUndecodable(call.request) ? 1 : unitsOf(call.request),
      onAdmitted,
    };
    void gated(deps, request, fn).then((outcome) => {
      if (outcome.ok) callback(null, outcome.response);
      else callback(toServiceError(outcome.error));
    });
  };
}

function kvService(deps: ServerDeps, sessions: Sessions): KVServer {
  const sessionDeps = { ...deps, sessionLimits: deps.sessionLimits ?? sessionLimitsDefault };
  return {
    session: (call) => sessions.serve(call, sessionDeps),
    get: unary(deps, 'get', (req, deadlineMs) => deps.kv.get(req, deadlineMs), true),
    put: unary(deps, 'put', (req, deadlineMs) => deps.kv.put(req, deadlineMs), true),
    delete: unary(deps, 'delete', (req, deadlineMs) => deps.kv.delete(req, deadlineMs), true),
    batchGet: unary(
      deps,
      'batch_get',
      (req, deadlineMs) => batchGet(deps.kv, req, deadlineMs),
      true,
      (req) => Math.min(req.items.length, batchGetItemsMax),
    ),
    batchPut: unary(
      deps,
      'batch_put',
      (req, deadlineMs) => batchPut(deps.kv, req, deadlineMs),
      true,
      (req) => Math.min(req.items.length, batchPutItemsMax),
    ),
  };
}

function clusterService(deps: ServerDeps): ClusterServer {
  return {
    getRing: unary(deps, 'get_ring', () => Promise.resolve(deps.view.toMessage())),
    // Node.status is the member's place in the ring (cluster.proto), not gossip's own word for a
    // live member ("up"): liveness is Member.alive.
    listMembers: unary(deps, 'list_members', () =>
      Promise.resolve({
        members: deps.gossip.members().map((m) => ({
          ...m,
          node:
            m.node === undefined
              ? undefined
              : { ...m.node, status: deps.view.statusOf(m.node.id) ?? m.node.status },
        })),
      }),
    ),
    getNodeStats: unary(deps, 'get_node_stats', () => {
      const counts = deps.nodeCounts();
      return Promise.resolve({
        forwardedRequests: BigInt(counts.forwarded),
        coordinatedRequests: BigInt(counts.coordinated),
        transferObjectsSent: BigInt(counts.transferObjectsSent),
      });
    }),
    getAntiEntropy: unary(deps, 'get_anti_entropy', () =>
      Promise.resolve({
        partitions: deps.antiEntropy.status(),
        intervalMs: deps.antiEntropy.intervalMs,
      }),
    ),
    inspectKey: unary(deps, 'inspect_key', (req: InspectKeyRequest) =>
      Promise.resolve().then(() => deps.keyInspector.inspect(req.key)),
    ),
    ...membershipService(deps),
    // Runs whole exchanges: bounded by the caller's deadline only, not the node's request timeout.
    triggerAntiEntropy: (call, callback) => {
      let admitted: Admitted;
      try {
        refuseUndecodable(call.request);
        admitted = deps.guard.admit(call.getPath(), call.metadata, 0, Infinity);
      } catch (e) {
        callback(toServiceError(e));
        return;
      }
      deps.antiEntropy
        .trigger(call.request.partitions, call.request.rebuild)
        .then(
          (res) => callback(null, res),
          (e: unknown) => callback(toServiceError(e)),
        )
        .finally(() => admitted.leave());
    },
    backup: (call) => serveBackup(deps, call),
  };
}

/**
 * Cluster.Backup: admitted as an admin call (the roles table), then the snapshot streamed with
 * backpressure (a chunk waits for the client to take the last); ends OK, or with the refusal.
 */
function serveBackup(
  deps: ServerDeps,
  call: ServerWritableStream<BackupRequest, BackupChunk>,
): void {
  let admitted: Admitted;
  try {
    refuseUndecodable(call.request);
    admitted = deps.guard.admit(call.getPath(), call.metadata, 0, Infinity);
  } catch (e) {
    call.emit('error', toServiceError(e));
    return;
  }
  let gone = false;
  call.on('cancelled', () => (gone = true));
  const sink = (chunk: BackupChunk): Promise<void> =>
    call.write(chunk) || gone
      ? Promise.resolve()
      : new Promise((resolve) => {
          const done = (): void => {
            call.off('drain', done);
            call.off('cancelled', done);
            resolve();
          };
          call.once('drain', done);
          call.once('cancelled', done);
        });
  deps.backups
    .send(call.request.pagesPerStep, sink, () => gone)
    .then(
      () => {
        if (!gone) call.end();
      },
      (e: unknown) => {
        if (gone) return;
        deps.log.warn({ err: e }, 'backup failed');
        call.emit('error', toServiceError(e));
      },
    )
    .finally(() => admitted.leave());
}

/** The membership RPCs of issue 12 (staged at the claimant; transfers and limits per node). */
function membershipService(deps: ServerDeps) {
  const { claimant, transfers } = deps;
  const now = <T>(fn: () => T) => Promise.resolve().then(fn);
  return {
    stageChange: unary(deps, 'stage_change', (req: StageChangeRequest) =>
      now(() => ({ staged: claimant.stageChange(req) })),
    ),
    planChanges: unary(deps, 'plan_changes', () => now(() => claimant.planChanges())),
    commitPlan: unary(deps, 'commit_plan', () =>
      now(() => {
        claimant.commitPlan();
        return { ring: deps.view.toMessage() };
      }),
    ),
    clearChanges: unary(deps, 'clear_changes', () =>
      now(() => ({ cleared: claimant.clearChanges() })),
    ),
    getClusterStatus: unary(deps, 'get_cluster_status', () => now(() => claimant.status())),
    cancelTransition: unary(deps, 'cancel_transition', () =>
      now(() => {
        claimant.cancelTransition('cancelled by an operator');
        return { ring: deps.view.toMessage() };
      }),
    ),
    moveClaimant: unary(deps, 'move_claimant', (req: MoveClaimantRequest) =>
      now(() => {
        claimant.moveClaimant(req.to, req.force);
        return { ring: deps.view.toMessage() };
      }),
    ),
    listTransfers: unary(deps, 'list_transfers', () =>
      now(() => ({
        transfers: transfers.list(),
        limits: transfers.limitsMessage(),
        node: deps.view.selfId,
      })),
    ),
    setTransferLimits: unary(deps, 'set_transfer_limits', (req: SetTransferLimitsRequest) =>
      now(() => {
        transfers.setLimits(checkedLimits(req));
        return transfers.limitsMessage();
      }),
    ),
  };
}

/** Limits within the same bounds as the flags, or INVALID_ARGUMENT naming the field. */
function checkedLimits(req: SetTransferLimitsRequest) {
  const out: { concurrency?: number; objectsPerSecond?: number; bytesPerSecond?: number } = {};
  if (req.concurrency !== undefined) {
    if (req.concurrency < 1 || req.concurrency > 64)
      throw invalidArgument('concurrency must be 1..64');
    out.concurrency = req.concurrency;
  }
  for (const key of ['objectsPerSecond', 'bytesPerSecond'] as const) {
    const v = req[key];
    if (v === undefined) continue;
    if (v > 100_000_000_000n) throw invalidArgument(`${key} must be at most 1e11 (0: unlimited)`);
    out[key] = Number(v);
  }
  return out;
}

type LinkCall = Parameters<PeerServer['link']>[0];

/**
 * The node a peer call comes from, checked: a node identity (its certificate's, with mTLS) is
 * required, and but for FetchRing (a new node learning the ring from a seed) it must be a member
 * of the ring (neither removed nor unknown). UNAUTHENTICATED / PERMISSION_DENIED otherwise.
 */
function peerCaller(
  deps: ServerDeps,
  call: Parameters<ServerDeps['peerIdOf']>[0],
  anyNode = false,
): string {
  const id = deps.peerIdOf(call);
  if (id === undefined)
    throw refused('unauthenticated', 'peer calls need a node identity (a node certificate)');
  if (anyNode) return id;
  const member = deps.view.document.nodes.some((n) => n.id === id && n.status !== 'removed');
  if (!member) throw refused('permission-denied', `${id.slice(0, 64)} is not a member of the ring`);
  return id;
}

/** A unary Peer handler: the caller checked, then fn; errors as statuses, never thrown. */
function peerUnary<Req, Res>(
  deps: ServerDeps,
  fn: (req: Req, from: string) => Res | Promise<Res>,
  anyNode = false,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let from: string;
    try {
      from = peerCaller(deps, call, anyNode);
      refuseUndecodable(call.request);
    } catch (e) {
      callback(toServiceError(e));
      return;
    }
    Promise.resolve()
      .then(() => fn(call.request, from))
      .then(
        (res) => callback(null, res),
        (e: unknown) => callback(toServiceError(e)),
      );
  };
}

function peerService(deps: ServerDeps, served: Set<LinkCall>): PeerServer {
  return {
    link: (call) => {
      let from: string;
      try {
        from = peerCaller(deps, call);
      } catch (e) {
        call.emit('error', toServiceError(e));
        return;
      }
      served.add(call);
      const forget = (): void => void served.delete(call);
      call.on('close', forget);
      call.on('error', forget);
      call.on('cancelled', forget);
      const traffic = deps.peerTraffic?.of(from);
      serveLink(call, deps.linkHandlers, deps.log, deps.linkLimits, from, traffic);
    },
    gossip: peerUnary(deps, (req: GossipRequest, from) => {
      if (req.from !== from)
        throw refused('permission-denied', `${from} may not gossip as ${req.from.slice(0, 64)}`);
      return deps.gossip.handle(req);
    }),
    merkleLevel: peerUnary(deps, (req: MerkleLevelRequest) => deps.antiEntropy.merkleLevel(req)),
    segmentKeys: peerUnary(deps, (req: SegmentKeysRequest) => deps.antiEntropy.segmentKeys(req)),
    fetchRing: peerUnary(deps, () => deps.keeper.fetchRing(), true),
    pushRing: peerUnary(deps, (req: PushRingRequest) => deps.keeper.pushRing(req)),
  };
}

/** Server reflection over the client port's .proto sources, so grpcurl works without them. */
function addReflection(server: Server): void {
  const definition = loadSync([...clientProtoFiles, healthProtoPath], {
    includeDirs: [protoRoot],
    keepCase: false,
    longs: String,
    defaults: true,
  });
  new ReflectionService(definition).addToServer(server);
}

export interface RunningServer {
  /** The client port: KV, Cluster, health and reflection. */
  readonly server: Server;
  /** The peer port: the Peer service (node-to-node traffic) and health. */
  readonly peerServer: Server;
  readonly health: HealthImplementation;
  readonly port: number;
  readonly peerPort: number;
  /** Health of the node and of ringstore.v1.KV, on both ports: SERVING or NOT_SERVING. */
  setServing(serving: boolean): void;
  /** What setServing last said (false until the node has started): the HTTP /healthz too. */
  serving(): boolean;
  /** Graceful stop: ends the peers' links, refuses new calls (GOAWAY), waits for the rest, bounded. */
  shutdown(timeoutMs: number): Promise<void>;
}

/** Where the two ports listen and with which transport security. */
export interface Listeners {
  readonly listen: string;
  readonly peerListen: string;
  readonly credentials: ServerCredentials;
  readonly peerCredentials: ServerCredentials;
}

/**
 * Server-side keepalive: slower than the peers' own (they ping every peerKeepaliveMs), since it
 * is for clients that vanished; it reclaims their connections within about 40 s.
 */
const serverKeepaliveMs = 30_000;
const serverKeepaliveTimeoutMs = 10_000;

function bind(server: Server, address: string, credentials: ServerCredentials): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (e, bound) => (e ? reject(e) : resolve(bound)));
  });
}

function stopServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Starts the client port (KV, Cluster, health, reflection) and the peer port (Peer, health): the
 * internal Peer service is never served where clients connect (as etcd's 2379/2380).
 */
export async function startGrpcServer(
  deps: ServerDeps,
  listeners: Listeners,
): Promise<RunningServer> {
  const keepalive = {
    'grpc.keepalive_time_ms': serverKeepaliveMs,
    'grpc.keepalive_timeout_ms': serverKeepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 1,
  };
  const server = new Server({
    'grpc.max_receive_message_length': deps.clientMessageBytesMax,
    'grpc.max_concurrent_streams': deps.clientStreamsMax,
    'grpc.max_send_message_length': deps.linkLimits.messageBytesMax,
    ...keepalive,
  });
  const peerServer = new Server({
    'grpc.max_receive_message_length': deps.linkLimits.messageBytesMax,
    'grpc.max_send_message_length': deps.linkLimits.messageBytesMax,
    ...keepalive,
  });
  const sessions = new Sessions();
  server.addService(tolerant(KVService), kvService(deps, sessions));
  server.addService(tolerant(ClusterService), clusterService(deps));
  const served = new Set<LinkCall>();
  peerServer.addService(tolerant(PeerService), peerService(deps, served));
  const health = new HealthImplementation({ '': 'NOT_SERVING', 'ringstore.v1.KV': 'NOT_SERVING' });
  health.addToServer(server);
  health.addToServer(peerServer);
  addReflection(server);
  let port: number;
  let peerPort: number;
  try {
    port = await bind(server, listeners.listen, listeners.credentials);
    peerPort = await bind(peerServer, listeners.peerListen, listeners.peerCredentials);
  } catch (e) {
    server.forceShutdown();
    peerServer.forceShutdown();
    throw e;
  }
  const shutdown = async (timeoutMs: number): Promise<void> => {
    for (const call of served) call.end(); // peers see the link end and fail over at once
    served.clear();
    sessions.drain(); // each session ends once its calls in progress are answered
    await Promise.all([stopServer(server, timeoutMs), stopServer(peerServer, timeoutMs)]);
  };
  let serving = false;
  const setServing = (now: boolean): void => {
    serving = now;
    const status = now ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', status);
    health.setStatus('ringstore.v1.KV', status);
  };
  return {
    server,
    peerServer,
    health,
    port,
    peerPort,
    setServing,
    serving: () => serving,
    shutdown,
  };
}
