// The cluster commands' gRPC (ring, members, ae, cluster ...): the generated ClusterClient against
// one node: the one given with --node, or one the cluster commands found in its ring (the claimant,
// every member). Commands see a small promise API with plain arguments; gRPC status codes are
// turned into RpcError here. The data commands go through the @ringstore/client SDK (kv.ts).
import * as grpc from '@grpc/grpc-js';
import {
  ClusterClient,
  type BackupChunk,
  type Change,
  type ClusterStatus,
  type KeyInspection,
  type ListTransfersResponse,
  type Member,
  type PartitionAntiEntropy,
  type Plan,
  type Ring,
  type SetTransferLimitsRequest,
  type TransferLimits,
  type TriggerAntiEntropyResponse,
} from '@ringstore/proto';
import { plaintextConnection, type Connection, type TlsFiles } from './connection-options.js';
import { RpcError } from './errors.js';

/** Largest message either side may send; matches gRPC's default so the limit is explicit. */
const messageBytesMax = 4 * 1024 * 1024;

const channelOptions: grpc.ChannelOptions = {
  'grpc.max_send_message_length': messageBytesMax,
  'grpc.max_receive_message_length': messageBytesMax,
  // One attempt per command: a retried trigger would run every exchange again.
  'grpc.enable_retries': 0,
  // One short call per process: no keepalive pings, and a fresh subchannel per connection.
  'grpc.keepalive_time_ms': -1,
  'grpc.use_local_subchannel_pool': 1,
};

export interface TriggerAntiEntropyArgs {
  /** Partitions to exchange; empty: every partition the node replicates. */
  readonly partitions: readonly number[];
  /** Rebuild the partitions' trees from storage before exchanging. */
  readonly rebuild: boolean;
}

/** What the cluster commands ask of a node. Every call carries the deadline given at connect. */
export interface ClusterApi {
  getRing(): Promise<Ring>;
  listMembers(): Promise<Member[]>;
  /** The node's anti-entropy state of every partition it replicates. */
  /** Every partition this node replicates, and its --ae-interval-ms (0: on demand only). */
  getAntiEntropy(): Promise<{ partitions: PartitionAntiEntropy[]; intervalMs: number }>;
  /** Runs exchanges now and answers when they are done (give it a long deadline). */
  triggerAntiEntropy(args: TriggerAntiEntropyArgs): Promise<TriggerAntiEntropyResponse>;
  /** Stages one membership change (claimant only); every change staged so far, this one last. */
  stageChange(change: Change): Promise<Change[]>;
  /** The transition the staged changes make (claimant only). */
  planChanges(): Promise<Plan>;
  /** Applies the last plan (claimant only); the ring the commit made. */
  commitPlan(): Promise<Ring | undefined>;
  /** Drops the staged changes (claimant only); how many there were. */
  clearChanges(): Promise<number>;
  getClusterStatus(): Promise<ClusterStatus>;
  /** The transfers the node receives, and its transfer limits. */
  listTransfers(): Promise<ListTransfersResponse>;
  /** Changes the limits the request sets (none: changes nothing); the limits now in force. */
  setTransferLimits(limits: SetTransferLimitsRequest): Promise<TransferLimits>;
  /** Hands the claimant role to `to` (at the claimant), or forced, takes it over (at `to`). */
  moveClaimant(to: string, force: boolean): Promise<Ring | undefined>;
  /** Drops the running transition before its flip (claimant only); the ring that wrote. */
  cancelTransition(): Promise<Ring | undefined>;
  /** The node's own view of one key: placement, stored object, hints, Merkle segment. */
  inspectKey(key: Buffer): Promise<KeyInspection>;
  /**
   * Cluster.Backup: the node's snapshot, chunk by chunk; the next chunk is read only once
   * `onChunk` has resolved (backpressure to the node). The deadline covers the whole stream.
   */
  backup(pagesPerStep: number, onChunk: (chunk: BackupChunk) => Promise<void>): Promise<void>;
  close(): void;
}

type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: Callback<Res>,
) => grpc.ClientUnaryCall;

/**
 * Opens no connection until the first call (a usage error found later costs nothing). With
 * `connection.tls` the channel uses TLS; `connection.token` goes with every call as metadata
 * (not call credentials, which grpc-js refuses on plaintext channels).
 */
export function connectCluster(
  address: string,
  deadlineMs: number,
  connection: Connection = plaintextConnection,
): ClusterApi {
  const cluster = new ClusterClient(address, channelCredentials(connection.tls), channelOptions);
  const { token } = connection;
  const call = <Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> =>
    unary(method, request, deadlineMs, token);
  return {
    getRing: () => call(cluster.getRing.bind(cluster), {}),
    listMembers: async () => (await call(cluster.listMembers.bind(cluster), {})).members,
    getAntiEntropy: () => call(cluster.getAntiEntropy.bind(cluster), {}),
    triggerAntiEntropy: (args) =>
      call(cluster.triggerAntiEntropy.bind(cluster), {
        partitions: [...args.partitions],
        rebuild: args.rebuild,
      }),
    stageChange: async (change) =>
      (await call(cluster.stageChange.bind(cluster), { change })).staged,
    planChanges: () => call(cluster.planChanges.bind(cluster), {}),
    commitPlan: async () => (await call(cluster.commitPlan.bind(cluster), {})).ring,
    clearChanges: async () => (await call(cluster.clearChanges.bind(cluster), {})).cleared,
    getClusterStatus: () => call(cluster.getClusterStatus.bind(cluster), {}),
    listTransfers: () => call(cluster.listTransfers.bind(cluster), {}),
    setTransferLimits: (limits) => call(cluster.setTransferLimits.bind(cluster), { ...limits }),
    moveClaimant: async (to, force) =>
      (await call(cluster.moveClaimant.bind(cluster), { to, force })).ring,
    cancelTransition: async () => (await call(cluster.cancelTransition.bind(cluster), {})).ring,
    inspectKey: (key) => call(cluster.inspectKey.bind(cluster), { key }),
    backup: async (pagesPerStep, onChunk) => {
      const stream = cluster.backup({ pagesPerStep }, callMetadata(token), {
        deadline: Date.now() + deadlineMs,
      });
      try {
        for await (const chunk of stream) await onChunk(chunk as BackupChunk);
      } catch (e) {
        stream.cancel();
        throw isServiceError(e) ? toRpcError(e) : e;
      }
    },
    close: () => {
      cluster.close();
    },
  };
}

function channelCredentials(tls: TlsFiles | undefined): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  return grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null);
}

function unary<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  deadlineMs: number,
  token: string | undefined,
): Promise<Res> {
  const options: Partial<grpc.CallOptions> = { deadline: Date.now() + deadlineMs };
  const metadata = callMetadata(token);
  return new Promise((resolve, reject) => {
    method(request, metadata, options, (error, response) => {
      if (error === null) resolve(response);
      else reject(toRpcError(error));
    });
  });
}

/** Every call's metadata: the bearer token, when given. */
function callMetadata(token: string | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata({ waitForReady: false });
  if (token !== undefined) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function isServiceError(e: unknown): e is grpc.ServiceError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'number' && 'details' in e;
}

/**
 * The node could not be asked (down, partitioned, or too slow for the deadline), as opposed to a
 * node that answered and refused.
 */
export function isUnreachable(error: RpcError): boolean {
  return (
    error.code === Number(grpc.status.UNAVAILABLE) ||
    error.code === Number(grpc.status.DEADLINE_EXCEEDED)
  );
}

function toRpcError(error: grpc.ServiceError): RpcError {
  const statusName = grpc.status[error.code] ?? `STATUS_${error.code}`;
  // grpc-js appends an empty "Resolution note:" to connection failures; drop it.
  const details = (error.details || error.message).replace(/\s*Resolution note:\s*$/, '');
  return new RpcError(error.code, statusName, details);
}
