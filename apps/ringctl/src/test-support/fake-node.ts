// An in-process gRPC server with the KV and Cluster services over a tiny in-memory store. It records
// every request and can be told to fail the next call with a given status (and, for KV calls, the
// ringstore-failure-bin trailer a real node sends with every KV error), so ringctl's tests talk
// real gRPC over 127.0.0.1 without a storage node. Its GetRing answers, by default, a one-node ring
// of itself, so the SDK behind the data commands routes every key to it.
import * as grpc from '@grpc/grpc-js';
import {
  ClusterService,
  Failure,
  KVService,
  type ClusterServer,
  type DeleteRequest,
  type GetRequest,
  type KVServer,
  type Member,
  type PartitionAntiEntropy,
  type PutRequest,
  type Ring,
  type Sibling,
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
  | 'getRing'
  | 'listMembers'
  | 'getAntiEntropy'
  | 'triggerAntiEntropy'
  | 'getNodeStats';

export interface RecordedRequest {
  readonly method: FakeMethod;
  readonly request:
    GetRequest | PutRequest | DeleteRequest | TriggerAntiEntropyRequest | Record<string, never>;
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
  /** What TriggerAntiEntropy answers. */
  triggerResponse: TriggerAntiEntropyResponse;
  /**
   * When set, the next call fails with this status instead of being served: the next call of
   * `method` when given (data commands call GetRing first), else the next call of any method.
   */
  failNext: InjectedFailure | undefined;
  /** The next call (true), or the next call of this method, is never answered (to exercise deadlines). */
  hangNext: boolean | FakeMethod;
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
    zone: '',
    status: 'up',
  }));
  const partitionCount = 8;
  return {
    version: 1n,
    partitionCount,
    replicas: nodes.length,
    nodes,
    owners: new Array<number>(partitionCount).fill(firstOwner),
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
    ring: { version: 0n, partitionCount: 0, replicas: 0, nodes: [], owners: [] },
    members: [],
    antiEntropy: [],
    triggerResponse: {
      exchanges: 0,
      differences: 0n,
      repairs: 0n,
      bytesTransferred: 0n,
      tombstonesReaped: 0n,
    },
    failNext: undefined,
    hangNext: false,
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
    const aimed = node.failNext?.method;
    const failure = aimed === undefined || aimed === method ? node.failNext : undefined;
    const hang = node.hangNext === true || node.hangNext === method;
    if (failure !== undefined) node.failNext = undefined;
    if (hang) {
      node.hangNext = false;
      return;
    }
    if (failure === undefined) callback(null, serve(call.request));
    else callback({ code: failure.code, details: failure.details, metadata: trailersOf(failure) });
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
  };
}

function clusterServer(node: FakeNode): ClusterServer {
  return {
    getRing: handle(node, 'getRing', () => node.ring),
    listMembers: handle(node, 'listMembers', () => ({ members: node.members })),
    getAntiEntropy: handle(node, 'getAntiEntropy', () => ({ partitions: node.antiEntropy })),
    triggerAntiEntropy: handle(node, 'triggerAntiEntropy', () => node.triggerResponse),
    getNodeStats: handle(node, 'getNodeStats', () => ({
      forwardedRequests: 0n,
      coordinatedRequests: 0n,
    })),
  };
}
