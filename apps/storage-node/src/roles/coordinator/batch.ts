import type {
  BatchGetRequest,
  BatchGetResponse,
  BatchGetResult,
  BatchPutRequest,
  BatchPutResponse,
  BatchWriteResult,
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  PutRequest,
  PutResponse,
} from '@ringstore/proto';
import { refused, toItemError } from '../../errors.js';

/** Most reads in one BatchGet (DynamoDB's BatchGetItem takes 100). */
export const batchGetItemsMax = 100;
/** Most writes in one BatchPut (DynamoDB's BatchWriteItem takes 25). */
export const batchPutItemsMax = 25;

/** The single-key operations a batch is made of (KvHandler). */
export interface KeyOps {
  get(req: GetRequest, deadlineMs: number): Promise<GetResponse>;
  put(req: PutRequest, deadlineMs: number): Promise<PutResponse>;
  delete(req: DeleteRequest, deadlineMs: number): Promise<DeleteResponse>;
}

/** Refuses a batch of no items or too many: INVALID_ARGUMENT, nothing read or written. */
function checkCount(op: string, count: number, max: number): void {
  if (count < 1 || count > max)
    throw refused('invalid-argument', `${op} takes 1 to ${max} items, got ${count}`);
}

/** For each item, the index of an earlier item with the same key (undefined: first of its key). */
function repeats(keys: readonly Uint8Array[]): (number | undefined)[] {
  const first = new Map<string, number>();
  return keys.map((key, i) => {
    const id = Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, i);
    return earlier;
  });
}

function repeatedKey(i: number, earlier: number): Error {
  return refused('invalid-argument', `item ${i} repeats the key of item ${earlier}`);
}

/**
 * Each item read on its own, as KvHandler.get would (its own validation, routing, forwarding,
 * quorum and read repair), all at once under the batch's deadline; one result per item, in order.
 * A bad or repeated key, or a read that fails, is that item's error only.
 */
export async function batchGet(
  ops: KeyOps,
  req: BatchGetRequest,
  deadlineMs: number,
): Promise<BatchGetResponse> {
  checkCount('BatchGet', req.items.length, batchGetItemsMax);
  const earlier = repeats(req.items.map((item) => item.key));
  const results = await Promise.all(
    req.items.map((item, i): Promise<BatchGetResult> => {
      const first = earlier[i];
      const read =
        first === undefined ? ops.get(item, deadlineMs) : Promise.reject(repeatedKey(i, first));
      return read.then(
        (value) => ({ result: { $case: 'ok', value } }),
        (e: unknown) => ({ result: { $case: 'error', value: toItemError(e) } }),
      );
    }),
  );
  return { results };
}

/**
 * Each put or delete applied on its own, as KvHandler.put and delete would, all at once under
 * the batch's deadline; one result per item, in order. An empty item, a repeated key or a write
 * that fails is that item's error only (with its Failure: whether it may have been applied).
 */
export async function batchPut(
  ops: KeyOps,
  req: BatchPutRequest,
  deadlineMs: number,
): Promise<BatchPutResponse> {
  checkCount('BatchPut', req.items.length, batchPutItemsMax);
  const earlier = repeats(req.items.map((item) => item.write?.value.key ?? new Uint8Array()));
  const results = await Promise.all(
    req.items.map((item, i): Promise<BatchWriteResult> => {
      const first = earlier[i];
      const write = item.write;
      const failed = (e: unknown): BatchWriteResult => ({
        result: { $case: 'error', value: toItemError(e) },
      });
      if (write === undefined)
        return Promise.resolve(
          failed(refused('invalid-argument', `item ${i} is neither a put nor a delete`)),
        );
      if (first !== undefined) return Promise.resolve(failed(repeatedKey(i, first)));
      if (write.$case === 'put')
        return ops
          .put(write.value, deadlineMs)
          .then((value): BatchWriteResult => ({ result: { $case: 'put', value } }), failed);
      return ops
        .delete(write.value, deadlineMs)
        .then((value): BatchWriteResult => ({ result: { $case: 'delete', value } }), failed);
    }),
  );
  return { results };
}
