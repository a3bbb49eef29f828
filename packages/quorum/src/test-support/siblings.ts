import type { ObjectOps } from '../index.js';

/**
 * A small stand-in for a DVVSet: a sorted set of sibling names. Merge is set union, so the merge
 * of two different replicas differs from both, which makes "the answer is the merge of exactly
 * these replies" checkable.
 */
export type Siblings = readonly string[];

export function siblings(...names: string[]): Siblings {
  return [...new Set(names)].sort();
}

export const siblingOps: ObjectOps<Siblings> = {
  merge: (a, b) => siblings(...a, ...b),
  sameVersion: (a, b) => a.length === b.length && a.every((name, i) => name === b[i]),
};

/** The merge of several replies; undefined when none has the key. */
export function mergeAll(objects: readonly (Siblings | undefined)[]): Siblings | undefined {
  let merged: Siblings | undefined;
  for (const o of objects) {
    if (o === undefined) continue;
    merged = merged === undefined ? o : siblingOps.merge(merged, o);
  }
  return merged;
}
