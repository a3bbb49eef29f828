import { assert } from './assert.js';

/**
 * A version vector: (actor, counter) pairs sorted by actor, each actor once, counters > 0.
 * Actors are ordered by JavaScript string comparison (UTF-16 code units), everywhere in this
 * package and in its encodings.
 */
export type VersionVector = readonly (readonly [actor: string, counter: number])[];

/** Largest counter: counters are exact JavaScript integers and fit a varint of 8 bytes. */
export const counterMax = Number.MAX_SAFE_INTEGER;

/** Lone UTF-16 surrogates would not survive UTF-8 encoding, so actors must not contain them. */
const loneSurrogate = /\p{Surrogate}/u;

export function compareActors(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isActor(actor: string): boolean {
  return actor.length > 0 && !loneSurrogate.test(actor);
}

export function isCounter(counter: number): boolean {
  return Number.isSafeInteger(counter) && counter > 0;
}

export function assertActor(actor: string): void {
  assert(
    isActor(actor),
    () => `actor must be a non-empty well-formed string, got ${JSON.stringify(actor)}`,
  );
}

export function assertVersionVector(vv: VersionVector): void {
  let previous: string | undefined;
  for (const [actor, counter] of vv) {
    assertActor(actor);
    assert(
      isCounter(counter),
      () => `counter of ${actor} must be an integer in 1..2^53-1, got ${counter}`,
    );
    assert(
      previous === undefined || previous < actor,
      () => `actors must be sorted and unique: ${previous} then ${actor}`,
    );
    previous = actor;
  }
}

/** True when `a` has seen every event `b` has: a[actor] >= b[actor] for every actor of b. */
export function vvDescends(a: VersionVector, b: VersionVector): boolean {
  let i = 0;
  for (const [actor, counter] of b) {
    let mine = a[i];
    while (mine !== undefined && mine[0] < actor) mine = a[++i];
    if (mine === undefined || mine[0] !== actor || mine[1] < counter) return false;
  }
  return true;
}

/** Pointwise maximum: the smallest vector that descends both. */
export function vvMerge(a: VersionVector, b: VersionVector): VersionVector {
  const merged: (readonly [string, number])[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x !== undefined && (y === undefined || x[0] < y[0])) {
      merged.push(x);
      i++;
    } else if (y !== undefined && (x === undefined || y[0] < x[0])) {
      merged.push(y);
      j++;
    } else if (x !== undefined && y !== undefined) {
      merged.push(x[1] >= y[1] ? x : y);
      i++;
      j++;
    }
  }
  return merged;
}

export function vvEqual(a: VersionVector, b: VersionVector): boolean {
  return (
    a.length === b.length &&
    a.every(([actor, counter], i) => b[i]?.[0] === actor && b[i]?.[1] === counter)
  );
}
