import { keyBytesMax } from '@ringstore/storage';
import { DecodeError, decodeObject } from '@ringstore/vclock';
import { asRingstoreError, invalidArgument } from '../errors.js';
import type { KeyObject } from '../object.js';
import type {
  LinkHandlers,
  ReplyOf,
  RequestBody,
  RequestCase,
  RequestContext,
  RequestOf,
} from './link.js';

/**
 * Checks of what peers send. A peer is checked, not trusted, even over mutual TLS (defence in
 * depth: a buggy or compromised node must not be able to corrupt or crash the others): every
 * partition number in range, every key within limits and in the partition it is named under,
 * every object decodable with its counters in range. Bad input is INVALID_ARGUMENT, refused
 * before anything is changed; never INTERNAL, never a crash.
 *
 * The roles check what needs their state (whether this node stores the partition, hint targets,
 * the local copy a reap names); `checkPeerRequest` checks the shape of every Link request before
 * its handler runs.
 */

/**
 * Longest key a peer message may carry: the storage engine's bound, far above any configured key
 * limit (a longer key reaching the engine is an assertion there, so it is refused here first).
 */
export const peerKeyBytesMax = keyBytesMax;

/** What the checks need of the ring: Q, and where a key belongs. */
export interface PartitionRing {
  readonly partitionCount: number;
  partitionOf(key: Uint8Array): number;
}

export function checkPartition(partition: number, partitionCount: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= partitionCount)
    throw invalidArgument(`partition ${partition} out of range 0..${partitionCount - 1}`);
}

export function checkKey(key: Uint8Array): void {
  if (key.length === 0 || key.length > peerKeyBytesMax)
    throw invalidArgument(`key of ${key.length} bytes: keys are 1..${peerKeyBytesMax} bytes`);
}

/** A key as a peer names it: partition in range, key within limits, and the key's own partition. */
export function checkKeyLocation(ring: PartitionRing, partition: number, key: Uint8Array): void {
  checkPartition(partition, ring.partitionCount);
  checkKey(key);
  const own = ring.partitionOf(key);
  if (own !== partition)
    throw invalidArgument(`the key belongs to partition ${own}, not to partition ${partition}`);
}

/**
 * The request was made under a newer ring than this node's: the sender knows a replica set this
 * node has not applied yet (a pending replica it does not know it is, a member it has not heard
 * of), so what this node's ring says about it cannot be held against the request.
 */
export function madeUnderNewerRing(
  req: { readonly ringTerm: bigint; readonly ringVersion: bigint },
  doc: { readonly term: number; readonly version: number },
): boolean {
  const term = BigInt(doc.term);
  return req.ringTerm > term || (req.ringTerm === term && req.ringVersion > BigInt(doc.version));
}

/**
 * An object a peer sent, decoded; INVALID_ARGUMENT naming why when it does not decode (bad bytes,
 * a limit, a counter out of range).
 */
export function decodeReceived(bytes: Uint8Array, what: string): KeyObject {
  try {
    return decodeObject(bytes);
  } catch (e) {
    if (e instanceof DecodeError) throw invalidArgument(`${what} does not decode: ${e.message}`);
    throw e;
  }
}

/** The shape of a Link request: throws INVALID_ARGUMENT (a RingstoreError) when it is wrong. */
export function checkPeerRequest(body: RequestBody, ring: PartitionRing): void {
  switch (body.$case) {
    case 'replicate':
    case 'read':
    case 'reap':
      return checkKeyLocation(ring, body.value.partition, body.value.key);
    case 'handoff':
      for (const o of body.value.objects) checkKeyLocation(ring, o.partition, o.key);
      return;
    case 'hintsHeld':
    case 'transferReport':
      return checkPartition(body.value.partition, ring.partitionCount);
    case 'transferPage':
      checkPartition(body.value.partition, ring.partitionCount);
      if (body.value.afterKey.length > peerKeyBytesMax)
        throw invalidArgument(`afterKey of ${body.value.afterKey.length} bytes`);
      return;
    case 'forwardGet':
    case 'forwardPut':
    case 'forwardDelete':
      return; // checked as a client's request is (KvHandler)
  }
}

/** `handlers`, each running checkPeerRequest first (a refusal is its rejection). */
export function withPeerChecks(handlers: LinkHandlers, ring: PartitionRing): LinkHandlers {
  const checked = <C extends RequestCase>(kind: C): LinkHandlers[C] => {
    const handler = handlers[kind] as (
      req: RequestOf<C>,
      ctx: RequestContext,
    ) => Promise<ReplyOf<C>>;
    const run = (req: RequestOf<C>, ctx: RequestContext): Promise<ReplyOf<C>> => {
      try {
        checkPeerRequest({ $case: kind, value: req } as RequestBody, ring);
      } catch (e) {
        return Promise.reject(asRingstoreError(e));
      }
      return handler(req, ctx);
    };
    return run as unknown as LinkHandlers[C];
  };
  return {
    replicate: checked('replicate'),
    read: checked('read'),
    forwardGet: checked('forwardGet'),
    forwardPut: checked('forwardPut'),
    forwardDelete: checked('forwardDelete'),
    handoff: checked('handoff'),
    reap: checked('reap'),
    hintsHeld: checked('hintsHeld'),
    transferPage: checked('transferPage'),
    transferReport: checked('transferReport'),
  };
}
