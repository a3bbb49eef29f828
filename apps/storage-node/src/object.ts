import type { Sibling } from '@ringstore/proto';
import type { Actors } from './actor-epochs.js';
import {
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

/** What a client sees: the siblings (none when every value is a tombstone) and the context. */
export function clientView(object: KeyObject | undefined): {
  siblings: Sibling[];
  context: Buffer;
} {
  if (object === undefined) return { siblings: [], context: Buffer.alloc(0) };
  const all = values(object);
  const live = all.some((v) => !v.tombstone);
  const siblings = live
    ? all.map((v) => ({ value: Buffer.from(v.bytes), deleted: v.tombstone }))
    : [];
  return { siblings, context: Buffer.from(encodeContext(join(object))) };
}

export { encodeObject };
