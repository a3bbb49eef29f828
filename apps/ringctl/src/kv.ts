// The data commands' (get, put, delete) way to the cluster: the @ringstore/client SDK, seeded with
// the --node address. The SDK fetches the ring from it and sends each request straight to a
// replica of the key, failing over to the next one when a node cannot be reached. Its operating
// errors (RingstoreClientError) become RpcError here and nowhere else, so they print exactly as
// the cluster commands' errors do.
import {
  connect,
  RingstoreClientError,
  type Client,
  type GetResult,
  type ItemResult,
  type PutResult,
  type RoutingMode,
} from '@ringstore/client';
import type { Connection } from './connection-options.js';
import { RpcError } from './errors.js';

export interface KvConnectOptions {
  /** host:port of the node the ring is fetched from (--node or RINGSTORE_NODE). */
  readonly seed: string;
  /** Bounds the ring fetch, and each get, put or delete with all its attempts and backoffs. */
  readonly deadlineMs: number;
  readonly routing: RoutingMode;
  /** Only the key's primary replicas count towards R and W (--strict). */
  readonly strictQuorum: boolean;
  /** TLS and the bearer token, for the ring fetch and every call; absent: plaintext, no token. */
  readonly connection?: Connection | undefined;
}

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

/** What the data commands ask of the cluster. */
export interface KvApi {
  /** r = 0: the cluster default. */
  get(key: Buffer, r: number): Promise<GetResult>;
  /** Many keys in few calls (BatchGet): one result per key, in order. */
  getMany(keys: readonly Buffer[], r: number): Promise<ItemResult<GetResult>[]>;
  /** The context of the new version and every sibling it covers, the written value included. */
  put(args: PutArgs): Promise<PutResult>;
  delete(args: DeleteArgs): Promise<void>;
  /** Closes the SDK client if one was connected. Idempotent. */
  close(): void;
}

/**
 * Connects on the first call, not before: a command that fails its own checks (a bad key, an
 * unreadable --file) then exits without contacting the cluster, as it did before the SDK.
 */
export function connectKv(options: KvConnectOptions): KvApi {
  let connecting: Promise<Client> | undefined;
  let connected: Client | undefined;
  let closed = false;
  const open = async (): Promise<Client> => {
    const { seed, deadlineMs, routing, connection } = options;
    const opened = await connect({
      seeds: [seed],
      deadlineMs,
      routing,
      tls:
        connection?.tls === undefined
          ? undefined
          : { ca: connection.tls.ca, cert: connection.tls.cert, key: connection.tls.key },
      token: connection?.token,
    });
    // Closed while connecting: nobody will use it.
    if (closed) opened.close();
    connected = opened;
    return opened;
  };
  const client = (): Promise<Client> => (connecting ??= open());
  const { strictQuorum } = options;
  return {
    get: (key, r) => sdkCall(async () => (await client()).get(key, { r, strictQuorum })),
    getMany: (keys, r) => sdkCall(async () => (await client()).getMany(keys, { r, strictQuorum })),
    put: (args) =>
      sdkCall(async () =>
        (await client()).put(args.key, args.value, {
          context: args.context,
          w: args.w,
          strictQuorum,
        }),
      ),
    delete: (args) =>
      sdkCall(async () =>
        (await client()).delete(args.key, { context: args.context, w: args.w, strictQuorum }),
      ),
    close: () => {
      closed = true;
      connected?.close();
    },
  };
}

/** Runs an SDK call, its operating errors turned into RpcError (`STATUS_NAME: details`, exit 1). */
async function sdkCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof RingstoreClientError)
      throw new RpcError(error.code, error.statusName, error.details);
    throw error;
  }
}
