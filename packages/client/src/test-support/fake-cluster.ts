// In-process stand-ins for storage nodes: N grpc-js servers on 127.0.0.1 serving KV and
// Cluster.GetRing over one shared in-memory store. Every node serves every key (as a real node
// would, by forwarding), records which node served which key, names the ring version in its
// response metadata, and can be told to fail (with the ringstore-failure-bin trailer a real node
// sends with every KV error, and any other trailers, such as an admission check's retry-after-ms),
// hang or stop. It records every call's authorization header, can require a bearer token on every
// call, and can serve TLS.
import * as grpc from '@grpc/grpc-js';
import {
  ClusterService,
  KVService,
  type ClusterServer,
  Failure,
  type DeleteRequest,
  type GetRequest,
  type ItemError,
  type KVServer,
  type SessionReply,
  type SessionRequest,
  type SessionResponse,
  type PutRequest,
  type Ring as RingMessage,
  type Sibling,
  type Transfer,
} from '@ringstore/proto';
import { claim, partitionOf, primaryReplicas, type Ring } from '@ringstore/ring';
import type { RingNodeStatus } from '../ring-view.js';

export type KvOp = 'get' | 'put' | 'delete';

/** One request a fake node served or refused. */
export interface ServedRequest {
  readonly nodeId: string;
  readonly op: KvOp;
  /** The key as UTF-8. */
  readonly key: string;
  /** Served by a node that is not one of the key's N primaries (a real node would forward it). */
  readonly forwarded: boolean;
  /** The request as received (context, w, r...). */
  readonly request: GetRequest | PutRequest | DeleteRequest;
  /** When it arrived (Date.now()). */
  readonly atMs: number;
}

/** One call a fake node received, KV or Cluster.GetRing, refused or not. */
export interface ReceivedCall {
  readonly nodeId: string;
  readonly method: KvOp | 'getRing' | 'batchGet' | 'batchPut';
  /** The call's `authorization` metadata; undefined when it had none. */
  readonly authorization: string | undefined;
  /** When it arrived (Date.now()). */
  readonly atMs: number;
}

/** The trailing metadata entry of proto/ringstore/v1/kv.proto, spelled out as a node spells it. */
const failureTrailerKey = 'ringstore-failure-bin';

/** A failure a node returns instead of serving, after sending its response headers. */
export interface InjectedFailure {
  readonly code: grpc.status;
  /** For people only: the SDK must decide nothing from it. */
  readonly details: string;
  /**
   * The Failure sent, serialized, in the ringstore-failure-bin trailer, as every node does;
   * undefined: no trailer (a proxy, or a node too old to send one).
   */
  readonly trailer: Failure | undefined;
  /** Only for this operation; absent: every KV operation. */
  readonly op?: KvOp | undefined;
  /** How many requests fail; absent: all of them until cleared. */
  times?: number | undefined;
  /** More trailing metadata, such as `retry-after-ms`. */
  readonly trailers?: Readonly<Record<string, string>> | undefined;
  /**
   * Refused before the response headers (a trailers-only response), as a node's admission or
   * credentials check does before any work; absent: after the headers, as the handler does.
   */
  readonly beforeHeaders?: boolean | undefined;
}

export interface FakeNode {
  readonly id: string;
  readonly address: string;
  /** GetRing calls this node answered. */
  getRingCalls: number;
  /** When set, matching KV requests fail with it (recorded as served, since they arrived). */
  failure: InjectedFailure | undefined;
  /** When true, KV requests are never answered and get no response headers (a stuck node). */
  hanging: boolean;
  readonly stopped: boolean;
  /** Closes the server at once: its port refuses connections from now on. */
  stop(): void;
}

interface StoredKey {
  siblings: Sibling[];
  version: number;
}

export interface FakeClusterOptions {
  /** Servers to start. */
  readonly nodeCount: number;
  /** How many of them (the first ones) are in the initial ring; default all. */
  readonly ringNodeCount?: number | undefined;
  readonly partitionCount?: number | undefined;
  readonly replicas?: number | undefined;
  /** Credentials every node serves with; default plaintext. */
  readonly serverCredentials?: grpc.ServerCredentials | undefined;
}

/** What a ring set with `setRing` holds beyond its owners. */
export interface RingShape {
  /** Default 1. */
  readonly term?: bigint | undefined;
  /** Member statuses by id; default 'valid'. */
  readonly statuses?: Readonly<Record<string, RingNodeStatus>> | undefined;
  /** Nodes listed in `nodes` that own no partition (joining, left or removed ones). */
  readonly alsoListed?: readonly string[] | undefined;
  /** Default 'fake'. */
  readonly clusterId?: string | undefined;
  /** The running transition's transfers; default none. */
  readonly transfers?: readonly Transfer[] | undefined;
}

export interface FakeCluster {
  readonly nodes: readonly FakeNode[];
  /** Requests in arrival order (those refused by `requiredToken` left out). */
  readonly served: ServedRequest[];
  /** Every call received, in arrival order, with its authorization header. */
  readonly calls: ReceivedCall[];
  /**
   * When set, every call (KV and GetRing) without `authorization: Bearer <requiredToken>` is
   * refused with UNAUTHENTICATED before any work, as a node with tokens configured does.
   */
  requiredToken: string | undefined;
  readonly store: Map<string, StoredKey>;
  /** The ring GetRing returns (its version included). */
  ringMessage(): RingMessage;
  /** The ring as @ringstore/ring sees it, to check routing against primaryReplicas. */
  ring(): Ring;
  /** The key's N primary replicas in preference order. */
  primariesOf(key: string): string[];
  /**
   * Claims a new ring over these node ids (owners), GetRing then answering it at `version`; `shape`
   * sets its term, statuses and the nodes listed without owning anything.
   */
  setRing(nodeIds: readonly string[], version: bigint, shape?: RingShape): void;
  /** The version KV responses name; default: the ring's own. */
  advertisedVersion: bigint | undefined;
  /** The term KV responses name; default: the ring's own; null: none (a node older than it). */
  advertisedTerm: bigint | null | undefined;
  /** Delay before GetRing answers, to make refetches overlap. */
  getRingDelayMs: number;
  /**
   * Nodes serve KV.Session (default true): its calls are served, refused, failed and hung exactly
   * as the unary ones, one reply frame per call. False: UNIMPLEMENTED, as a node older than it.
   */
  sessions: boolean;
  /** KV.Session streams opened, per node id (UNIMPLEMENTED ones included). */
  readonly sessionsOpened: Map<string, number>;
  node(id: string): FakeNode;
  stop(): void;
}

/** The opaque context of a stored version, as the fake hands it out. */
export function contextOf(version: number): Buffer {
  return Buffer.from(`v${version}`);
}

/** Node ids sort as the ring sorts members: n01, n02, ... */
function nodeIdOf(index: number): string {
  return `n${String(index + 1).padStart(2, '0')}`;
}

export async function startFakeCluster(options: FakeClusterOptions): Promise<FakeCluster> {
  const partitionCount = options.partitionCount ?? 16;
  const replicas = options.replicas ?? 3;
  const nodes: FakeNodeState[] = [];
  // Claimed over every node for now; the initial ring is set once the servers are up.
  const state: FakeRingState = {
    version: 1n,
    shape: {},
    ring: { partitionCount, members: [], owners: [] },
  };
  const cluster: FakeCluster = {
    nodes,
    served: [],
    calls: [],
    requiredToken: undefined,
    store: new Map(),
    advertisedVersion: undefined,
    advertisedTerm: undefined,
    getRingDelayMs: 0,
    sessions: true,
    sessionsOpened: new Map(),
    ring: () => state.ring,
    ringMessage: () => ringMessageOf(state, replicas, nodes),
    primariesOf: (key) =>
      primaryReplicas(state.ring, partitionOf(Buffer.from(key), partitionCount), replicas),
    setRing: (ids, version, shape = {}) => {
      const claimed = claim(
        ids.map((id) => ({ id, zone: '' })),
        { partitionCount, replicas },
      );
      state.ring = listing(claimed, shape.alsoListed ?? []);
      state.version = version;
      state.shape = shape;
    },
    node: (id) => {
      const found = nodes.find((n) => n.id === id);
      if (found === undefined) throw new Error(`no fake node ${id}`);
      return found;
    },
    stop: () => {
      for (const node of nodes) node.stop();
    },
  };
  for (let i = 0; i < options.nodeCount; i++) {
    const credentials = options.serverCredentials ?? grpc.ServerCredentials.createInsecure();
    const node = await startNode(nodeIdOf(i), cluster, () => state.version, credentials);
    nodes.push(node);
  }
  cluster.setRing(
    nodes.slice(0, options.ringNodeCount ?? options.nodeCount).map((n) => n.id),
    1n,
  );
  return cluster;
}

interface FakeNodeState extends FakeNode {
  readonly server: grpc.Server;
}

interface FakeRingState {
  version: bigint;
  shape: RingShape;
  ring: Ring;
}

/** `ring` with `extraIds` added to its members (sorted, as rings keep them), owning nothing. */
function listing(ring: Ring, extraIds: readonly string[]): Ring {
  const members = [...ring.members, ...extraIds.map((id) => ({ id, zone: '' }))].sort((a, b) =>
    a.id < b.id ? -1 : 1,
  );
  const index = new Map(members.map((m, i) => [m.id, i]));
  const owners = ring.owners.map((o) => index.get(ring.members[o]?.id ?? '') ?? 0);
  return { partitionCount: ring.partitionCount, members, owners };
}

function ringMessageOf(
  state: FakeRingState,
  replicas: number,
  nodes: readonly FakeNodeState[],
): RingMessage {
  const { ring, shape } = state;
  const addressOf = (id: string): string => nodes.find((n) => n.id === id)?.address ?? '';
  return {
    version: state.version,
    term: shape.term ?? 1n,
    clusterId: shape.clusterId ?? 'fake',
    claimant: ring.members[0]?.id ?? '',
    partitionCount: ring.partitionCount,
    replicas,
    nodes: ring.members.map((m) => ({
      id: m.id,
      address: addressOf(m.id),
      zone: m.zone,
      status: shape.statuses?.[m.id] ?? 'valid',
      peerAddress: '',
    })),
    owners: [...ring.owners],
    nextOwners: [],
    transfers: [...(shape.transfers ?? [])],
  };
}

async function startNode(
  id: string,
  cluster: FakeCluster,
  ringVersion: () => bigint,
  credentials: grpc.ServerCredentials,
): Promise<FakeNodeState> {
  const server = new grpc.Server();
  let stopped = false;
  const node: FakeNodeState = {
    id,
    address: '',
    server,
    getRingCalls: 0,
    failure: undefined,
    hanging: false,
    get stopped() {
      return stopped;
    },
    stop: () => {
      stopped = true;
      server.forceShutdown();
    },
  };
  server.addService(KVService, kvServer(node, cluster, ringVersion));
  server.addService(ClusterService, clusterServer(node, cluster));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (error, boundPort) => {
      if (error === null) resolve(boundPort);
      else reject(error);
    });
  });
  return Object.assign(node, { address: `127.0.0.1:${port}` });
}

type Handler<Req, Res> = grpc.handleUnaryCall<Req, Res>;

/** Headers first (as the real node does), then the injected failure or the answer. */
function kvHandler<Req extends GetRequest | PutRequest | DeleteRequest, Res>(
  op: KvOp,
  node: FakeNodeState,
  cluster: FakeCluster,
  ringVersion: () => bigint,
  serve: (req: Req) => Res,
): Handler<Req, Res> {
  return (call, callback) => {
    if (!admitted(node, op, cluster, call, callback)) return;
    if (node.hanging) return;
    const failure = takeFailure(node, op);
    if (failure?.beforeHeaders !== true) call.sendMetadata(headersOf(cluster, ringVersion));
    const key = call.request.key.toString('utf8');
    const forwarded = !cluster.primariesOf(key).includes(node.id);
    const atMs = Date.now();
    cluster.served.push({ nodeId: node.id, op, key, forwarded, request: call.request, atMs });
    if (failure !== undefined) {
      callback({ code: failure.code, details: failure.details, metadata: trailersOf(failure) });
      return;
    }
    callback(null, serve(call.request));
  };
}

function headersOf(cluster: FakeCluster, ringVersion: () => bigint): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-ringstore-ring-version', (cluster.advertisedVersion ?? ringVersion()).toString());
  const term =
    cluster.advertisedTerm === undefined ? cluster.ringMessage().term : cluster.advertisedTerm;
  if (term !== null) md.set('x-ringstore-ring-term', term.toString());
  return md;
}

/** The node's injected failure if it applies to `op`, used up once its `times` are. */
function takeFailure(node: FakeNodeState, op: KvOp): InjectedFailure | undefined {
  const failure = node.failure;
  if (failure === undefined || (failure.op !== undefined && failure.op !== op)) return undefined;
  if (failure.times !== undefined && --failure.times <= 0) node.failure = undefined;
  return failure;
}

/**
 * Records the call, and refuses it (UNAUTHENTICATED, trailers only) when the cluster requires a
 * token the call does not carry. True when the call may go on.
 */
function admitted(
  node: FakeNodeState,
  method: ReceivedCall['method'],
  cluster: FakeCluster,
  call: { readonly metadata: grpc.Metadata },
  callback: (error: Partial<grpc.StatusObject>) => void,
): boolean {
  const value = call.metadata.get('authorization')[0];
  const authorization = typeof value === 'string' ? value : undefined;
  cluster.calls.push({ nodeId: node.id, method, authorization, atMs: Date.now() });
  const required = cluster.requiredToken;
  if (required === undefined || authorization === `Bearer ${required}`) return true;
  const details = authorization === undefined ? 'no bearer token' : 'unknown bearer token';
  callback({ code: grpc.status.UNAUTHENTICATED, details });
  return false;
}

function trailersOf(failure: InjectedFailure): grpc.Metadata {
  const trailers = new grpc.Metadata();
  if (failure.trailer !== undefined)
    trailers.set(failureTrailerKey, Buffer.from(Failure.encode(failure.trailer).finish()));
  for (const [key, value] of Object.entries(failure.trailers ?? {})) trailers.set(key, value);
  return trailers;
}

function kvServer(node: FakeNodeState, cluster: FakeCluster, ringVersion: () => bigint): KVServer {
  const { store } = cluster;
  const write = (key: Buffer, context: Buffer, sibling: Sibling): StoredKey => {
    const name = key.toString('utf8');
    const current = store.get(name) ?? { siblings: [], version: 0 };
    const supersedes = current.version > 0 && context.equals(contextOf(current.version));
    const next = {
      siblings: supersedes ? [sibling] : [...current.siblings, sibling],
      version: current.version + 1,
    };
    store.set(name, next);
    return next;
  };
  const unary = {
    get: kvHandler('get', node, cluster, ringVersion, (req: GetRequest) => {
      const current = store.get(req.key.toString('utf8'));
      return current === undefined
        ? { siblings: [], context: Buffer.alloc(0) }
        : { siblings: current.siblings, context: contextOf(current.version) };
    }),
    put: kvHandler('put', node, cluster, ringVersion, (req: PutRequest) => {
      const next = write(req.key, req.context, { value: req.value, deleted: false });
      return { context: contextOf(next.version), siblings: next.siblings };
    }),
    delete: kvHandler('delete', node, cluster, ringVersion, (req: DeleteRequest) => {
      write(req.key, req.context, { value: Buffer.alloc(0), deleted: true });
      return {};
    }),
  };
  return {
    ...unary,
    session: (stream) => {
      cluster.sessionsOpened.set(node.id, (cluster.sessionsOpened.get(node.id) ?? 0) + 1);
      if (!cluster.sessions) {
        stream.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not in the fake' });
        return;
      }
      serveSession(stream, unary, cluster, ringVersion);
    },
    // An older node: no batch calls (the SDK then sends each item alone). A hanging node does
    // not answer them either.
    batchGet: batchHandler('batchGet', node, cluster),
    batchPut: batchHandler('batchPut', node, cluster),
  };
}

function batchHandler(
  method: 'batchGet' | 'batchPut',
  node: FakeNodeState,
  cluster: FakeCluster,
): Handler<unknown, never> {
  return (call, callback) => {
    if (!admitted(node, method, cluster, call, callback)) return;
    if (node.hanging) return;
    unimplemented(call, callback);
  };
}

/**
 * A session's calls served by the unary handlers (admission, failures, hanging and records
 * included): each answer becomes a reply frame naming the ring, each error an ItemError built
 * from the status and trailers the unary call would have ended with.
 */
function serveSession(
  stream: grpc.ServerDuplexStream<SessionRequest, SessionResponse>,
  unary: Pick<KVServer, 'get' | 'put' | 'delete'>,
  cluster: FakeCluster,
  ringVersion: () => bigint,
): void {
  stream.on('data', (frame: SessionRequest) => {
    for (const c of frame.calls) {
      const body = c.call;
      if (body === undefined) continue;
      const handler = unary[body.$case] as Handler<unknown, unknown>;
      const call = {
        request: body.value,
        metadata: stream.metadata,
        sendMetadata: () => undefined,
      } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
      handler(call, (error, response) => {
        const result = (
          error === null || error === undefined
            ? { $case: body.$case, value: response }
            : { $case: 'error', value: itemErrorOf(error) }
        ) as SessionReply['result'];
        const term =
          cluster.advertisedTerm === undefined
            ? cluster.ringMessage().term
            : cluster.advertisedTerm;
        stream.write({
          replies: [{ id: c.id, result }],
          ringVersion: cluster.advertisedVersion ?? ringVersion(),
          ringTerm: term ?? 0n,
        });
      });
    }
  });
  stream.on('end', () => stream.end());
  stream.on('error', () => undefined);
}

function itemErrorOf(error: Partial<grpc.StatusObject> | grpc.ServerErrorResponse): ItemError {
  const trailers = error.metadata;
  const bin = trailers?.get(failureTrailerKey)[0];
  const retryAfter = Number(trailers?.get('retry-after-ms')[0] ?? 0);
  const numberOf = (key: string): number | undefined => {
    const value = trailers?.get(key)[0];
    return value === undefined ? undefined : Number(value);
  };
  return {
    code: error.code ?? grpc.status.UNKNOWN,
    message: error.details ?? '',
    failure: Buffer.isBuffer(bin) ? Failure.decode(bin) : undefined,
    retryAfterMs: Number.isSafeInteger(retryAfter) ? retryAfter : 0,
    rateLimit: numberOf('x-ratelimit-limit'),
    rateLimitRemaining: numberOf('x-ratelimit-remaining'),
  };
}

function unimplemented(_call: unknown, callback: grpc.sendUnaryData<never>): void {
  callback({ code: grpc.status.UNIMPLEMENTED, details: 'not in the fake' });
}

function clusterServer(node: FakeNodeState, cluster: FakeCluster): ClusterServer {
  return {
    getRing: (call, callback) => {
      if (!admitted(node, 'getRing', cluster, call, callback)) return;
      node.getRingCalls++;
      const answer = (): void => callback(null, cluster.ringMessage());
      if (cluster.getRingDelayMs > 0) setTimeout(answer, cluster.getRingDelayMs);
      else answer();
    },
    listMembers: unimplemented,
    getAntiEntropy: unimplemented,
    triggerAntiEntropy: unimplemented,
    getNodeStats: unimplemented,
    stageChange: unimplemented,
    planChanges: unimplemented,
    commitPlan: unimplemented,
    clearChanges: unimplemented,
    getClusterStatus: unimplemented,
    listTransfers: unimplemented,
    setTransferLimits: unimplemented,
    moveClaimant: unimplemented,
    cancelTransition: unimplemented,
    inspectKey: unimplemented,
    backup: (call) =>
      call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'not in the fake' }),
  };
}
