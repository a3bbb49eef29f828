// The only module that talks gRPC. Commands see a small promise API with plain arguments; a later
// change swaps this implementation for the @ringstore/client SDK without touching the commands.
// gRPC status codes are turned into RpcError here and nowhere else.
import * as grpc from '@grpc/grpc-js';
import {
  ClusterClient,
  KVClient,
  type GetResponse,
  type Member,
  type PartitionAntiEntropy,
  type PutResponse,
  type Ring,
  type TriggerAntiEntropyResponse,
} from '@ringstore/proto';
import { RpcError } from './errors.js';

/** Largest message either side may send; matches gRPC's default so the limit is explicit. */
const messageBytesMax = 4 * 1024 * 1024;

const channelOptions: grpc.ChannelOptions = {
  'grpc.max_send_message_length': messageBytesMax,
  'grpc.max_receive_message_length': messageBytesMax,
  // Retrying a put is the caller's decision (it may create a sibling); the CLI makes one attempt.
  'grpc.enable_retries': 0,
  // One short call per process: no keepalive pings, and a fresh subchannel per connection.
  'grpc.keepalive_time_ms': -1,
  'grpc.use_local_subchannel_pool': 1,
};

export interface PutArgs {
  readonly key: Buffer;
  readonly value: Buffer;
  readonly context: Buffer;
  /** 0: the cluster default. */
  readonly w: number;
}

export interface DeleteArgs {
  readonly key: Buffer;
  readonly context: Buffer;
  /** 0: the cluster default. */
  readonly w: number;
}

export interface TriggerAntiEntropyArgs {
  /** Partitions to exchange; empty: every partition the node replicates. */
  readonly partitions: readonly number[];
  /** Rebuild the partitions' trees from storage before exchanging. */
  readonly rebuild: boolean;
}

/** What ringctl asks of a node. Every call carries the deadline given at connect. */
export interface NodeApi {
  /** r = 0: the cluster default. */
  get(key: Buffer, r: number): Promise<GetResponse>;
  /** The context of the new version and every sibling it covers, the written value included. */
  put(args: PutArgs): Promise<PutResponse>;
  delete(args: DeleteArgs): Promise<void>;
  getRing(): Promise<Ring>;
  listMembers(): Promise<Member[]>;
  /** The node's anti-entropy state of every partition it replicates. */
  getAntiEntropy(): Promise<PartitionAntiEntropy[]>;
  /** Runs exchanges now and answers when they are done (give it a long deadline). */
  triggerAntiEntropy(args: TriggerAntiEntropyArgs): Promise<TriggerAntiEntropyResponse>;
  close(): void;
}

type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: Callback<Res>,
) => grpc.ClientUnaryCall;

export function connectNode(address: string, deadlineMs: number, strictQuorum = false): NodeApi {
  const credentials = grpc.credentials.createInsecure();
  const kv = new KVClient(address, credentials, channelOptions);
  const cluster = new ClusterClient(address, credentials, channelOptions);
  const call = <Req, Res>(method: UnaryMethod<Req, Res>, request: Req): Promise<Res> =>
    unary(method, request, deadlineMs);
  return {
    get: (key, r) => call(kv.get.bind(kv), { key, r, strictQuorum }),
    put: (args) => call(kv.put.bind(kv), { ...args, strictQuorum }),
    delete: async (args) => {
      await call(kv.delete.bind(kv), { ...args, strictQuorum });
    },
    getRing: () => call(cluster.getRing.bind(cluster), {}),
    listMembers: async () => (await call(cluster.listMembers.bind(cluster), {})).members,
    getAntiEntropy: async () => (await call(cluster.getAntiEntropy.bind(cluster), {})).partitions,
    triggerAntiEntropy: (args) =>
      call(cluster.triggerAntiEntropy.bind(cluster), { partitions: [...args.partitions], rebuild: args.rebuild }),
    close: () => {
      kv.close();
      cluster.close();
    },
  };
}

function unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, deadlineMs: number): Promise<Res> {
  const options: Partial<grpc.CallOptions> = { deadline: Date.now() + deadlineMs };
  return new Promise((resolve, reject) => {
    method(request, new grpc.Metadata({ waitForReady: false }), options, (error, response) => {
      if (error === null) resolve(response);
      else reject(toRpcError(error));
    });
  });
}

function toRpcError(error: grpc.ServiceError): RpcError {
  const statusName = grpc.status[error.code] ?? `STATUS_${error.code}`;
  // grpc-js appends an empty "Resolution note:" to connection failures; drop it.
  const details = (error.details || error.message).replace(/\s*Resolution note:\s*$/, '');
  return new RpcError(error.code, statusName, details);
}
