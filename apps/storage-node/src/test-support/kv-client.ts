import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import {
  ClusterClient,
  Failure,
  KVClient,
  type GetResponse,
  type Member,
  type NodeStats,
  type PartitionAntiEntropy,
  type PutResponse,
  type Ring,
  type TriggerAntiEntropyResponse,
} from '@ringstore/proto';

/** Test-side gRPC clients for one node, promisified, every call with a deadline. */
export interface NodeClient {
  get(
    key: string | Uint8Array,
    opts?: { r?: number; strict?: boolean; deadlineMs?: number },
  ): Promise<GetResponse>;
  put(
    key: string | Uint8Array,
    value: string | Uint8Array,
    opts?: { context?: Uint8Array; w?: number; strict?: boolean; deadlineMs?: number },
  ): Promise<PutResponse>;
  delete(
    key: string | Uint8Array,
    opts?: { context?: Uint8Array; w?: number; strict?: boolean; deadlineMs?: number },
  ): Promise<void>;
  ring(): Promise<Ring>;
  close(): void;
}

const deadlineDefaultMs = 5_000;

function bytes(v: string | Uint8Array): Buffer {
  return typeof v === 'string' ? Buffer.from(v) : Buffer.from(v);
}

function deadline(ms: number | undefined): Date {
  return new Date(Date.now() + (ms ?? deadlineDefaultMs));
}

export function connectNode(address: string): NodeClient {
  const kv = new KVClient(address, credentials.createInsecure());
  const cluster = new ClusterClient(address, credentials.createInsecure());
  return {
    get: (key, opts = {}) =>
      new Promise((resolve, reject) =>
        kv.get(
          { key: bytes(key), r: opts.r ?? 0, strictQuorum: opts.strict ?? false },
          new Metadata(),
          { deadline: deadline(opts.deadlineMs) },
          (e, res) => (e ? reject(e) : resolve(res)),
        ),
      ),
    put: (key, value, opts = {}) =>
      new Promise((resolve, reject) =>
        kv.put(
          {
            key: bytes(key),
            value: bytes(value),
            context: Buffer.from(opts.context ?? []),
            w: opts.w ?? 0,
            strictQuorum: opts.strict ?? false,
          },
          new Metadata(),
          { deadline: deadline(opts.deadlineMs) },
          (e, res) => (e ? reject(e) : resolve(res)),
        ),
      ),
    delete: (key, opts = {}) =>
      new Promise((resolve, reject) =>
        kv.delete(
          {
            key: bytes(key),
            context: Buffer.from(opts.context ?? []),
            w: opts.w ?? 0,
            strictQuorum: opts.strict ?? false,
          },
          new Metadata(),
          { deadline: deadline(opts.deadlineMs) },
          (e) => (e ? reject(e) : resolve()),
        ),
      ),
    ring: () =>
      new Promise((resolve, reject) =>
        cluster.getRing({}, new Metadata(), { deadline: deadline(undefined) }, (e, res) =>
          e ? reject(e) : resolve(res),
        ),
      ),
    close: () => {
      kv.close();
      cluster.close();
    },
  };
}

export function siblingValues(res: GetResponse): string[] {
  return res.siblings.map((s) => (s.deleted ? '<deleted>' : s.value.toString())).sort();
}

/** The gRPC status code of a failed call (or -1 when it did not fail). */
export async function statusOf(
  p: Promise<unknown>,
): Promise<{ code: number; details: string; failure: Failure | undefined }> {
  try {
    await p;
    return { code: -1, details: '', failure: undefined };
  } catch (e) {
    const se = e as ServiceError;
    // The node's failure detail: a serialized ringstore.v1.Failure in the trailing metadata.
    const raw = se.metadata?.get('ringstore-failure-bin')[0];
    const failure = Buffer.isBuffer(raw) ? Failure.decode(raw) : undefined;
    return { code: se.code, details: se.details, failure };
  }
}

/** Cluster.ListMembers of one node, with a deadline. */
export function listMembers(address: string): Promise<Member[]> {
  const cluster = new ClusterClient(address, credentials.createInsecure());
  return new Promise<Member[]>((resolve, reject) =>
    cluster.listMembers({}, new Metadata(), { deadline: deadline(undefined) }, (e, res) =>
      e ? reject(e) : resolve(res.members),
    ),
  ).finally(() => cluster.close());
}

/** Cluster.GetAntiEntropy of one node. */
export function antiEntropyStatus(address: string): Promise<PartitionAntiEntropy[]> {
  const cluster = new ClusterClient(address, credentials.createInsecure());
  return new Promise<PartitionAntiEntropy[]>((resolve, reject) =>
    cluster.getAntiEntropy({}, new Metadata(), { deadline: deadline(undefined) }, (e, res) =>
      e ? reject(e) : resolve(res.partitions),
    ),
  ).finally(() => cluster.close());
}

/** Cluster.TriggerAntiEntropy of one node: runs the exchanges and answers when done. */
export function triggerAntiEntropy(
  address: string,
  partitions: number[] = [],
  rebuild = false,
): Promise<TriggerAntiEntropyResponse> {
  const cluster = new ClusterClient(address, credentials.createInsecure());
  return new Promise<TriggerAntiEntropyResponse>((resolve, reject) =>
    cluster.triggerAntiEntropy(
      { partitions, rebuild },
      new Metadata(),
      { deadline: deadline(60_000) },
      (e, res) => (e ? reject(e) : resolve(res)),
    ),
  ).finally(() => cluster.close());
}

/** Cluster.GetNodeStats of one node. */
export function nodeStats(address: string): Promise<NodeStats> {
  const cluster = new ClusterClient(address, credentials.createInsecure());
  return new Promise<NodeStats>((resolve, reject) =>
    cluster.getNodeStats({}, new Metadata(), { deadline: deadline(undefined) }, (e, res) =>
      e ? reject(e) : resolve(res),
    ),
  ).finally(() => cluster.close());
}
