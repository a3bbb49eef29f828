import { hash } from 'node:crypto';
import type { Sibling } from '@ringstore/proto';
import type { Actors } from './actor-epochs.js';
import {
  contextKeyFingerprintBytes,
  DecodeError,
  decodeObject,
  encodeContext,
  encodeObject,
  fresh,
  join,
  reusableActor,
  sameVersion,
  sync,
  update,
  values,
  type DVVSet,
  type StoredValue,
  type VersionVector,
} from '@ringstore/vclock';

/** A key's stored object: a DVVSet of values (tombstones included). See DESIGN.md section 3. */
export type KeyObject = DVVSet<StoredValue>;

export const objectOps = {
  merge: (a: KeyObject, b: KeyObject): KeyObject => sync(a, b),
  sameVersion: (a: KeyObject, b: KeyObject): boolean => sameVersion(a, b),
};

/** Decodes stored or received object bytes; undefined when they do not decode (a corrupt copy). */
export function tryDecodeObject(bytes: Uint8Array): KeyObject | undefined {
  try {
    return decodeObject(bytes);
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

/**
 * The coordinator's step of a client write: supersede what the context covers, add the new dot,
 * under this node's newest epoch actor the stored clock holds, or a new epoch (kv679: a key this
 * node holds no dot of here may have old dots of it elsewhere, which a reused dot would meet).
 */
export function coordinateWrite(
  current: Uint8Array | undefined,
  value: StoredValue,
  context: VersionVector,
  actors: Actors,
): KeyObject {
  const server = current === undefined ? undefined : tryDecodeObject(current);
  const actor = reusableActor(server, context, actors.base) ?? actors.newEpoch();
  return update(fresh(value, context), server, actor);
}

/** A replica's merge of a received object; undefined when it adds nothing to what is stored. */
export function mergeReceived(
  current: Uint8Array | undefined,
  received: KeyObject,
): Uint8Array | undefined {
  const stored = current === undefined ? undefined : tryDecodeObject(current);
  if (stored === undefined) return encodeObject(received);
  const merged = sync(stored, received);
  return sameVersion(merged, stored) ? undefined : encodeObject(merged);
}

/**
 * The key fingerprint a client context carries (docs/api.md): the first 8 bytes of SHA-256(key),
 * the same bytes that name the key in logs (keyTag), so a refused context can be matched up with
 * log lines. Not MD5: the ring's MD5 keeps only a key's top bits, and SHA-256 is native here and
 * allowed where MD5 is not (FIPS); any digest would do, the fingerprint is not a MAC.
 */
export function contextFingerprint(key: Uint8Array): Uint8Array {
  return hash('sha256', key, 'buffer').subarray(0, contextKeyFingerprintBytes);
}

/**
 * What a client sees: the siblings (none when every value is a tombstone) and the context, made
 * for `key` (a context passed back with another key is refused).
 */
export function clientView(
  key: Uint8Array,
  object: KeyObject | undefined,
): {
  siblings: Sibling[];
  context: Buffer;
} {
  if (object === undefined) return { siblings: [], context: Buffer.alloc(0) };
  const all = values(object);
  const live = all.some((v) => !v.tombstone);
  const siblings = live
    ? all.map((v) => ({ value: Buffer.from(v.bytes), deleted: v.tombstone }))
    : [];
  const context = encodeContext(join(object), contextFingerprint(key));
  return { siblings, context: Buffer.from(context.buffer, context.byteOffset, context.byteLength) };
}

export { encodeObject };
