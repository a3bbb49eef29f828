// An in-process gRPC server with the KV and Cluster services over a tiny in-memory store. It records
// every request and can be told to fail the next call with a given status (and, for KV calls, the
// ringstore-failure-bin trailer a real node sends with every KV error), so ringctl's tests talk
// real gRPC over 127.0.0.1 without a storage node. Its GetRing answers, by default, a one-node ring
// of itself, so the SDK behind the data commands routes every key to it. The membership RPCs answer
// from fields tests set; a fake that is not the claimant refuses the claimant-only ones.
import * as grpc from '@grpc/grpc-js';
import {
  type BackupChunk,
  ClusterService,
  Failure,
  KVService,
  type BatchGetRequest,
  type Change,
  type ClusterServer,
  type DeleteRequest,
  type GetRequest,
  type KVServer,
  type Member,
  type MoveClaimantRequest,
  type PartitionAntiEntropy,
  type Plan,
  type PutRequest,
  type Ring,
  type SetTransferLimitsRequest,
  type Sibling,
  type StageChangeRequest,
  type TransferLimits,
  type TransferProgress,
  type TriggerAntiEntropyRequest,
  type TriggerAntiEntropyResponse,
} from '@ringstore/proto';

interface StoredKey {
  siblings: Sibling[];
  version: number;
}

export type FakeMethod =
  | 'get'
  | 'put'
  | 'delete'
  | 'batchGet'
  | 'getRing'
  | 'listMembers'
  | 'getAntiEntropy'
  | 'triggerAntiEntropy'
  | 'getNodeStats'
  | 'stageChange'
  | 'planChanges'
  | 'commitPlan'
  | 'clearChanges'
  | 'getClusterStatus'
  | 'listTransfers'
  | 'setTransferLimits'
  | 'moveClaimant'
  | 'cancelTransition';

export interface RecordedRequest {
  readonly method: FakeMethod;
  readonly request:
    | GetRequest
    | BatchGetRequest
    | PutRequest
    | DeleteRequest
    | TriggerAntiEntropyRequest
    | StageChangeRequest
    | SetTransferLimitsRequest
    | MoveClaimantRequest
    | Record<string, never>;
  /** How long the call had left when it arrived (its deadline minus now); Infinity: no deadline. */
  readonly deadlineRemainingMs: number;
}

export interface FakeNode {
  readonly address: string;
  readonly requests: RecordedRequest[];
  /** Every key's state; tests may seed siblings directly. */
  readonly store: Map<string, StoredKey>;
  /** What GetRing answers; by default ringOver([address]), a ring of this node alone. */
  ring: Ring;
  members: Member[];
  /** What GetAntiEntropy answers. */
  antiEntropy: PartitionAntiEntropy[];
  /** What GetAntiEntropy reports as the node's --ae-interval-ms. */
  aeIntervalMs: number;
  /** What TriggerAntiEntropy answers. */
  triggerResponse: TriggerAntiEntropyResponse;
  /** This node's id in its ring (n1 by default), as ClusterStatus and ListTransfers name it. */
  id: string;
  /**
   * Whether this node takes membership changes (true by default). When false, StageChange,
   * PlanChanges, CommitPlan and ClearChanges are refused FAILED_PRECONDITION "not the claimant",
   * naming the ring's claimant, as a real node refuses them.
   */
  isClaimant: boolean;
  /** The changes staged so far (StageChange appends, ClearChanges empties). */
  staged: Change[];
  /** What PlanChanges answers, its changes replaced by the staged ones. */
  plan: Plan;
  /** What CommitPlan answers with (the ring the commit made). */
  committedRing: Ring;
  /** The ring version each member applied, for GetClusterStatus. */
  applied: { node: string; term: bigint; version: bigint }[];
  /** What ListTransfers answers: the transfers this node receives. */
  transfers: TransferProgress[];
  /** The limits in force; SetTransferLimits changes the fields it sets. */
  limits: TransferLimits;
  /** Called before each call is served: tests change the answers as calls go by. */
  onCall: ((method: FakeMethod) => void) | undefined;
  /**
   * When set, the next call fails with this status instead of being served: the next call of
   * `method` when given (data commands call GetRing first), else the next call of any method.
   */
  failNext: InjectedFailure | undefined;
  /** The next call (true), or the next call of this method, is never answered (to exercise deadlines). */
  hangNext: boolean | FakeMethod;
  /** What Cluster.Backup streams; undefined: UNIMPLEMENTED. */
  backupChunks: BackupChunk[] | undefined;
  stop(): Promise<void>;
}

/** A status a fake call fails with. */
export interface InjectedFailure {
  readonly code: grpc.status;
  /** For people only: the SDK decides nothing from it. */
  readonly details: string;
  readonly method?: FakeMethod | undefined;
  /**
   * The Failure sent, serialized, in the ringstore-failure-bin trailer, as a node does with every
   * KV error (Cluster errors carry none); absent: no trailer.
   */
  readonly trailer?: Failure | undefined;
}

/**
 * A ring the SDK can route with whose nodes n1, n2, ... are at `addresses`, in that order: 8
 * partitions, N = the node count, and node `firstOwner` the first owner of every partition, so
 * every key's preference list starts with it and then walks to the others.
 */
export function ringOver(addresses: readonly string[], firstOwner = 0): Ring {
  // Ring members must be sorted by id: n1..n9 are, n10 would not be.
  if (addresses.length < 1 || addresses.length > 9)
    throw new Error(`ringOver takes 1..9 addresses, got ${addresses.length}`);
  const nodes = addresses.map((address, index) => ({
    id: `n${index + 1}`,
    address,
    peerAddress: peerAddressOf(address),
    zone: '',
    status: 'valid',
  }));
  const partitionCount = 8;
  return {
    ...idleRingFields(),
    version: 1n,
    partitionCount,
    replicas: nodes.length,
    nodes,
    owners: new Array<number>(partitionCount).fill(firstOwner),
  };
}

/** host:port + 1: where a node listens for peers when its peer port is not given. */
export function peerAddressOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return `${address.slice(0, colon)}:${Number(address.slice(colon + 1)) + 1}`;
}

/** The membership fields of a ring with no transition running, n1 its claimant. */
export function idleRingFields(): Pick<
  Ring,
  'term' | 'clusterId' | 'claimant' | 'nextOwners' | 'transfers'
> {
  return { term: 1n, clusterId: 'fake-cluster', claimant: 'n1', nextOwners: [], transfers: [] };
}

/** A ring with no node: the placeholder of a fake's answers until a test sets them. */
function emptyRing(): Ring {
  return {
    ...idleRingFields(),
    version: 0n,
    partitionCount: 0,
    replicas: 0,
    nodes: [],
    owners: [],
  };
}

/** The context of a key version: "v" and the version number. Opaque to ringctl, like the real one. */
export function contextOf(version: number): Buffer {
  return Buffer.from(`v${version}`);
}

export async function startFakeNode(): Promise<FakeNode> {
  const server = new grpc.Server();
  const node: FakeNode = {
    address: '',
    requests: [],
    store: new Map(),
    ring: emptyRing(),
    members: [],
    antiEntropy: [],
    aeIntervalMs: 10_000,
    triggerResponse: {
      exchanges: 0,
      differences: 0n,
      repairs: 0n,
      bytesTransferred: 0n,
      tombstonesReaped: 0n,
    },
    id: 'n1',
    isClaimant: true,
    staged: [],
    plan: emptyPlan(),
    committedRing: emptyRing(),
    applied: [],
    transfers: [],
    limits: { concurrency: 2, objectsPerSecond: 0n, bytesPerSecond: 0n },
    onCall: undefined,
    failNext: undefined,
    hangNext: false,
    backupChunks: undefined,
    // Force: calls left hanging on purpose must not keep the server open.
    stop: () => Promise.resolve(server.forceShutdown()),
  };
  server.addService(KVService, kvServer(node));
  server.addService(ClusterService, clusterServer(node));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, boundPort) => {
      if (error === null) resolve(boundPort);
      else reject(error);
    });
  });
  const address = `127.0.0.1:${port}`;
  return Object.assign(node, { address, ring: ringOver([address]) });
}

/** Records the request, then either fails it (failNext) or answers with serve(). */
function handle<Req, Res>(
  node: FakeNode,
  method: RecordedRequest['method'],
  serve: (request: Req) => Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    node.requests.push({
      method,
      request: call.request as RecordedRequest['request'],
      deadlineRemainingMs: remainingMs(call.getDeadline()),
    });
    node.onCall?.(method);
    const aimed = node.failNext?.method;
    const failure = aimed === undefined || aimed === method ? node.failNext : undefined;
    const hang = node.hangNext === true || node.hangNext === method;
    if (failure !== undefined) node.failNext = undefined;
    if (hang) {
      node.hangNext = false;
      return;
    }
    if (failure !== undefined) {
      callback({ code: failure.code, details: failure.details, metadata: trailersOf(failure) });
      return;
    }
    try {
      callback(null, serve(call.request));
    } catch (error) {
      if (!(error instanceof FakeRefusal)) throw error;
      callback({ code: error.code, details: error.message });
    }
  };
}

/** The trailing metadata entry of proto/ringstore/v1/kv.proto, spelled out as a node spells it. */
const failureTrailerKey = 'ringstore-failure-bin';

function trailersOf(failure: InjectedFailure): grpc.Metadata {
  const trailers = new grpc.Metadata();
  if (failure.trailer !== undefined)
    trailers.set(failureTrailerKey, Buffer.from(Failure.encode(failure.trailer).finish()));
  return trailers;
}

function remainingMs(deadline: grpc.Deadline): number {
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  return deadlineMs - Date.now();
}

function kvServer(node: FakeNode): KVServer {
  const stored = (key: Buffer): StoredKey =>
    node.store.get(key.toString()) ?? { siblings: [], version: 0 };
  // A write whose context is the current version supersedes every sibling; any other becomes a sibling.
  const write = (request: PutRequest | DeleteRequest, sibling: Sibling): StoredKey => {
    const current = stored(request.key);
    const supersedes = request.context.equals(contextOf(current.version));
    const next = {
      siblings: supersedes ? [sibling] : [...current.siblings, sibling],
      version: current.version + 1,
    };
    node.store.set(request.key.toString(), next);
    return next;
  };
  return {
    // A node without KV.Session (older than it): the SDK falls back to unary calls, which this
    // fake records and answers.
    session: (call) => {
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not in the fake' });
    },
    get: handle(node, 'get', (request: GetRequest) => {
      const current = stored(request.key);
      return { siblings: current.siblings, context: contextOf(current.version) };
    }),
    put: handle(node, 'put', (request: PutRequest) => {
      const next = write(request, { value: request.value, deleted: false });
      return { context: contextOf(next.version), siblings: next.siblings };
    }),
    delete: handle(node, 'delete', (request: DeleteRequest) => {
      write(request, { value: Buffer.alloc(0), deleted: true });
      return {};
    }),
    batchGet: handle(node, 'batchGet', (request: BatchGetRequest) => ({
      results: request.items.map((item) => {
        const current = stored(item.key);
        return {
          result: {
            $case: 'ok' as const,
            value: { siblings: current.siblings, context: contextOf(current.version) },
          },
        };
      }),
    })),
    batchPut: (_call, callback) =>
      callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in the fake' }),
  };
}

function clusterServer(node: FakeNode): ClusterServer {
  return {
    getRing: handle(node, 'getRing', () => node.ring),
    listMembers: handle(node, 'listMembers', () => ({ members: node.members })),
    getAntiEntropy: handle(node, 'getAntiEntropy', () => ({
      partitions: node.antiEntropy,
      intervalMs: node.aeIntervalMs,
    })),
    triggerAntiEntropy: handle(node, 'triggerAntiEntropy', () => node.triggerResponse),
    getNodeStats: handle(node, 'getNodeStats', () => ({
      forwardedRequests: 0n,
      coordinatedRequests: 0n,
      transferObjectsSent: 0n,
    })),
    ...membershipServer(node),
    inspectKey: (_call, callback) =>
      callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in the fake' }),
    backup: (call) => {
      const chunks = node.backupChunks;
      if (chunks === undefined) {
        call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'no backup in the fake' });
        return;
      }
      for (const chunk of chunks) call.write(chunk);
      call.end();
    },
  };
}

/** The membership RPCs: the four claimant-only ones refuse at a node that is not the claimant. */
function membershipServer(node: FakeNode): MembershipMethods {
  return {
    stageChange: claimantOnly(node, 'stageChange', (request: StageChangeRequest) => {
      if (request.change !== undefined) node.staged.push(request.change);
      return { staged: node.staged };
    }),
    planChanges: claimantOnly(node, 'planChanges', () => ({
      ...node.plan,
      changes: node.staged,
    })),
    commitPlan: claimantOnly(node, 'commitPlan', () => {
      node.staged = [];
      return { ring: node.committedRing };
    }),
    clearChanges: claimantOnly(node, 'clearChanges', () => {
      const cleared = node.staged.length;
      node.staged = [];
      return { cleared };
    }),
    getClusterStatus: handle(node, 'getClusterStatus', () => ({
      ring: node.ring,
      // Only the claimant knows what is staged.
      staged: node.isClaimant ? node.staged : [],
      applied: node.applied,
      node: node.id,
    })),
    listTransfers: handle(node, 'listTransfers', () => ({
      transfers: node.transfers,
      limits: node.limits,
      node: node.id,
    })),
    setTransferLimits: handle(node, 'setTransferLimits', (request: SetTransferLimitsRequest) => {
      node.limits = {
        concurrency: request.concurrency ?? node.limits.concurrency,
        objectsPerSecond: request.objectsPerSecond ?? node.limits.objectsPerSecond,
        bytesPerSecond: request.bytesPerSecond ?? node.limits.bytesPerSecond,
      };
      return node.limits;
    }),
    // A forced take-over is sent to the node taking over, which is not the claimant.
    moveClaimant: handle(node, 'moveClaimant', (request: MoveClaimantRequest) => {
      if (!request.force) refuseUnlessClaimant(node);
      const { term, version } = node.ring;
      node.ring = request.force
        ? { ...node.ring, claimant: request.to, term: term + 1n, version: 1n }
        : { ...node.ring, claimant: request.to, version: version + 1n };
      return { ring: node.ring };
    }),
    cancelTransition: claimantOnly(node, 'cancelTransition', () => {
      node.ring = { ...node.ring, version: node.ring.version + 1n, transfers: [], nextOwners: [] };
      return { ring: node.ring };
    }),
  };
}

type MembershipMethods = Pick<
  ClusterServer,
  | 'stageChange'
  | 'planChanges'
  | 'commitPlan'
  | 'clearChanges'
  | 'getClusterStatus'
  | 'listTransfers'
  | 'setTransferLimits'
  | 'moveClaimant'
  | 'cancelTransition'
>;

/** Serves the call at the claimant; elsewhere refuses it as a real node does, naming the claimant. */
function claimantOnly<Req, Res>(
  node: FakeNode,
  method: FakeMethod,
  serve: (request: Req) => Res,
): grpc.handleUnaryCall<Req, Res> {
  return handle(node, method, (request: Req) => {
    refuseUnlessClaimant(node);
    return serve(request);
  });
}

function refuseUnlessClaimant(node: FakeNode): void {
  if (node.isClaimant) return;
  const { claimant, nodes } = node.ring;
  const address = nodes.find((n) => n.id === claimant)?.address ?? 'unknown address';
  throw new FakeRefusal(
    grpc.status.FAILED_PRECONDITION,
    `not the claimant: membership changes go to ${claimant} at ${address}`,
  );
}

/** Thrown by a fake's answer to refuse the call with this status, as a node's checks do. */
export class FakeRefusal extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

function emptyPlan(): Plan {
  return {
    current: emptyRing(),
    next: emptyRing(),
    changes: [],
    transfers: [],
    movement: [],
    replicaPartitionsMoving: 0,
    warnings: [],
    objectsPerPartition: 0n,
    bytesPerPartition: 0n,
  };
}
