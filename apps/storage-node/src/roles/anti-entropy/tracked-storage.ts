import type { StorageEngine, UpdateResult } from '@ringstore/storage';

/** Sees every object the node writes or removes: (partition, key, previous bytes, next bytes). */
export type WriteListener = (
  partition: number,
  key: Uint8Array,
  previous: Uint8Array | undefined,
  next: Uint8Array | undefined,
) => void;

/**
 * The node's storage with a write hook: every committed change to an object is reported, so the
 * Merkle trees follow the data without the roles knowing about them.
 */
export function trackWrites(inner: StorageEngine, listener: WriteListener): StorageEngine {
  return {
    get: (p, k) => inner.get(p, k),
    async update(partition, key, fn): Promise<UpdateResult> {
      const result = await inner.update(partition, key, fn);
      if (result.changed) listener(partition, key, result.previous, result.next);
      return result;
    },
    async remove(partition, key, expected) {
      const before = expected ?? found(inner, partition, key);
      const removed = await inner.remove(partition, key, expected);
      if (removed) listener(partition, key, before, undefined);
      return removed;
    },
    scan: (p, o) => inner.scan(p, o),
    countObjects: () => inner.countObjects(),
    addHints: (h) => inner.addHints(h),
    listHints: (t, l) => inner.listHints(t, l),
    deleteHints: (ids) => inner.deleteHints(ids),
    hintCounts: () => inner.hintCounts(),
    partitionHints: (p) => inner.partitionHints(p),
    dropHintsOlderThan: (ms) => inner.dropHintsOlderThan(ms),
    dropHintsBeyond: (t, n) => inner.dropHintsBeyond(t, n),
    getMeta: (n) => inner.getMeta(n),
    setMeta: (n, v) => inner.setMeta(n, v),
    stats: () => inner.stats(),
    close: () => inner.close(),
  };
}

function found(storage: StorageEngine, partition: number, key: Uint8Array): Uint8Array | undefined {
  const read = storage.get(partition, key);
  return read.status === 'found' ? read.object : undefined;
}
