import { assert } from './assert.js';

/**
 * A version vector: (actor, counter) pairs sorted by actor, each actor once, counters > 0.
 * Actors are ordered by JavaScript string comparison (UTF-16 code units), everywhere in this
 * package and in its encodings.
 */
export type VersionVector = readonly (readonly [actor: string, counter: number])[];

/**
 * Largest counter a clock holds. Counters are exact JavaScript integers (varints of at most 8
 * bytes carry up to 2^53 - 1); this stops 2^32 short of that, so a counter is never one increment
 * from the edge of the representation. No key reaches it honestly (a billion writes a second
 * through one actor would take over three months); one that claims more came from a hostile or
 * broken peer, and is refused when decoded.
 */
export const counterMax = Number.MAX_SAFE_INTEGER - 2 ** 32;

/** Lone UTF-16 surrogates would not survive UTF-8 encoding, so actors must not contain them. */
const loneSurrogate = /\p{Surrogate}/u;

export function compareActors(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isActor(actor: string): boolean {
  return actor.length > 0 && !loneSurrogate.test(actor);
}

export function isCounter(counter: number): boolean {
  return Number.isSafeInteger(counter) && counter > 0 && counter <= counterMax;
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
      () => `counter of ${actor} must be an integer in 1..${counterMax}, got ${counter}`,
    );
    assert(
      previous === undefined || previous < actor,
      () => `actors must be sorted and unique: ${previous} then ${actor}`,
    );
    previous = actor;
  }
}
