// getMany and putMany: many keys in few calls. Keys are grouped by the node the client would
// send each one to first (its first primary replica), and each group goes as BatchGet (at most
// 100 keys) or BatchPut (at most 25 writes) calls, routed and retried as a single-key call to
// the group's first key would be. A key of the group that the node does not replicate is
// forwarded by the node (one extra hop, as for any-node routing). Each item gets its own result;
// an item that failed in a way its single-key call would retry (a read that found too few
// replicas, a write refused before it was applied) is retried alone, within the deadline.
import { status } from '@grpc/grpc-js';
import type {
  BatchGetRequest,
  BatchGetResponse,
  BatchPutRequest,
  BatchPutResponse,
  BatchWrite,
  GetResponse,
  ItemError,
  PutResponse,
} from '@ringstore/proto';
import { assert } from './assert.js';
import { mayRetry, type OpKind } from './dispatch.js';
import { fromItemError, RingstoreClientError } from './errors.js';
import type { KvStub } from './session.js';
import type { UnaryMethod } from './unary.js';

/** Keys in one BatchGet call: the node's limit (DynamoDB's BatchGetItem). */
export const batchGetItemsMax = 100;
/** Writes in one BatchPut call: the node's limit (DynamoDB's BatchWriteItem). */
export const batchPutItemsMax = 25;
/** Most items one getMany or putMany takes: it holds them all, and their results, in memory. */
export const manyItemsMax = 10_000;

/** One item's outcome: its value, or the error its own single-key call would have thrown. */
export type ItemResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: RingstoreClientError };

/** What the batch calls need of the client. */
export interface BatchDeps {
  /** A call routed (and retried) as a single-key call of `key` would be. */
  run<Req, Res>(
    kind: OpKind,
    key: Uint8Array,
    request: Req,
    method: (kv: KvStub) => UnaryMethod<Req, Res>,
    deadlineMs: number,
  ): Promise<Res>;
  /** The node the client sends `key` to first (its first primary replica). */
  firstReplica(key: Uint8Array): string;
}

/**
 * Indexes of `keys` grouped by their first replica, each group cut into chunks of at most `max`
 * (in key order within a node, nodes in order of first appearance).
 */
export function chunksByNode(
  keys: readonly Uint8Array[],
  firstReplica: (key: Uint8Array) => string,
  max: number,
): number[][] {
  assert(Number.isSafeInteger(max) && max >= 1, `max ${max}`);
  const groups = new Map<string, number[]>();
  keys.forEach((key, i) => {
    const node = firstReplica(key);
    const group = groups.get(node);
    if (group === undefined) groups.set(node, [i]);
    else group.push(i);
  });
  const chunks: number[][] = [];
  for (const group of groups.values())
    for (let i = 0; i < group.length; i += max) chunks.push(group.slice(i, i + max));
  return chunks;
}

/** A batch call's answer for its chunk: one result per item, or the error of the whole call. */
type ChunkOutcome<R> = { readonly results: R[] } | { readonly error: RingstoreClientError };

async function callChunk<Req, Res, R>(
  deps: BatchDeps,
  kind: OpKind,
  key: Uint8Array,
  request: Req,
  method: (kv: KvStub) => UnaryMethod<Req, Res>,
  deadlineMs: number,
  resultsOf: (res: Res) => R[],
  expected: number,
): Promise<ChunkOutcome<R>> {
  try {
    const results = resultsOf(await deps.run(kind, key, request, method, deadlineMs));
    if (results.length !== expected)
      return {
        error: new RingstoreClientError({
          code: Number(status.INTERNAL),
          details: `batch answer holds ${results.length} results for ${expected} items`,
        }),
      };
    return { results };
  } catch (e) {
    if (e instanceof RingstoreClientError) return { error: e };
    throw e;
  }
}

export interface ManyGet {
  readonly keys: readonly Buffer[];
  readonly r: number;
  readonly strictQuorum: boolean;
  readonly deadlineMs: number;
  /** The single-key get, for an item to be retried alone (or a node without BatchGet). */
  readonly single: (key: Buffer, deadlineMs: number) => Promise<GetResponse>;
}

/** getMany's engine: results in the order of `keys`. */
export async function getMany(deps: BatchDeps, m: ManyGet): Promise<ItemResult<GetResponse>[]> {
  assert(m.keys.length <= manyItemsMax, `getMany takes at most ${manyItemsMax} keys`);
  const deadlineAt = Date.now() + m.deadlineMs;
  const out = new Array<ItemResult<GetResponse>>(m.keys.length);
  const chunks = chunksByNode(m.keys, (k) => deps.firstReplica(k), batchGetItemsMax);
  await Promise.all(
    chunks.map(async (chunk) => {
      const request: BatchGetRequest = {
        items: chunk.map((i) => ({ key: m.keys[i]!, r: m.r, strictQuorum: m.strictQuorum })),
      };
      const outcome = await callChunk(
        deps,
        'read',
        m.keys[chunk[0]!]!,
        request,
        (kv) => kv.batchGet.bind(kv),
        m.deadlineMs,
        (res: BatchGetResponse) => res.results,
        chunk.length,
      );
      await Promise.all(
        chunk.map(async (i, j) => {
          const failed = itemFailure(outcome, j, (r) =>
            r.result?.$case === 'error' ? r.result.value : undefined,
          );
          if (failed === undefined) {
            const r = 'results' in outcome ? outcome.results[j]?.result : undefined;
            if (r?.$case === 'ok') out[i] = { ok: true, value: r.value };
            else out[i] = { ok: false, error: malformed() };
            return;
          }
          out[i] = await alone(failed, 'read', deadlineAt, (ms) => m.single(m.keys[i]!, ms));
        }),
      );
    }),
  );
  return out;
}

export interface ManyPut {
  readonly items: readonly BatchWrite[];
  readonly deadlineMs: number;
  /** The single-key write, for an item to be retried alone (or a node without BatchPut). */
  readonly single: (item: BatchWrite, deadlineMs: number) => Promise<PutResponse | undefined>;
}

/** putMany's engine: results in the order of `items` (undefined for a delete). */
export async function putMany(
  deps: BatchDeps,
  m: ManyPut,
): Promise<ItemResult<PutResponse | undefined>[]> {
  assert(m.items.length <= manyItemsMax, `putMany takes at most ${manyItemsMax} items`);
  const deadlineAt = Date.now() + m.deadlineMs;
  const keys = m.items.map((item) => item.write?.value.key ?? Buffer.alloc(0));
  const out = new Array<ItemResult<PutResponse | undefined>>(m.items.length);
  const chunks = chunksByNode(keys, (k) => deps.firstReplica(k), batchPutItemsMax);
  await Promise.all(
    chunks.map(async (chunk) => {
      const request: BatchPutRequest = { items: chunk.map((i) => m.items[i]!) };
      const outcome = await callChunk(
        deps,
        'write',
        keys[chunk[0]!]!,
        request,
        (kv) => kv.batchPut.bind(kv),
        m.deadlineMs,
        (res: BatchPutResponse) => res.results,
        chunk.length,
      );
      await Promise.all(
        chunk.map(async (i, j) => {
          const failed = itemFailure(outcome, j, (r) =>
            r.result?.$case === 'error' ? r.result.value : undefined,
          );
          if (failed === undefined) {
            const r = 'results' in outcome ? outcome.results[j]?.result : undefined;
            if (r?.$case === 'put') out[i] = { ok: true, value: r.value };
            else if (r?.$case === 'delete') out[i] = { ok: true, value: undefined };
            else out[i] = { ok: false, error: malformed() };
            return;
          }
          out[i] = await alone(failed, 'write', deadlineAt, (ms) => m.single(m.items[i]!, ms));
        }),
      );
    }),
  );
  return out;
}

/** The item's error (its own, or its whole call's); undefined when it has a result. */
function itemFailure<R>(
  outcome: ChunkOutcome<R>,
  j: number,
  errorOf: (r: R) => ItemError | undefined,
): RingstoreClientError | undefined {
  if ('error' in outcome) return outcome.error;
  const r = outcome.results[j];
  const item = r === undefined ? undefined : errorOf(r);
  return item === undefined ? undefined : fromItemError(item, undefined);
}

function malformed(): RingstoreClientError {
  return new RingstoreClientError({
    code: Number(status.INTERNAL),
    details: 'batch answer holds an item with no result',
  });
}

/**
 * An item that failed: alone through its single-key call when its error says a retry is safe
 * and useful (as the single-key call would retry it), or when the node has no batch calls
 * (UNIMPLEMENTED: an older node); otherwise the error is its result.
 */
async function alone<T>(
  error: RingstoreClientError,
  kind: OpKind,
  deadlineAt: number,
  single: (deadlineMs: number) => Promise<T>,
): Promise<ItemResult<T>> {
  const remainingMs = deadlineAt - Date.now();
  const unimplemented = error.code === Number(status.UNIMPLEMENTED);
  if (remainingMs <= 0 || !(unimplemented || mayRetry(kind, error))) return { ok: false, error };
  try {
    return { ok: true, value: await single(remainingMs) };
  } catch (e) {
    if (e instanceof RingstoreClientError) return { ok: false, error: e };
    throw e;
  }
}
