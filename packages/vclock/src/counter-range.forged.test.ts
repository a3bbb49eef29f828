import { describe, expect, it } from 'vitest';
import { epochActor, reusableActor } from './actor-epoch.js';
import { decodeContext, encodeContext } from './context-codec.js';
import { CounterRangeError, DecodeError } from './decode-error.js';
import { fresh, update, type DVVSet } from './dvvset.js';
import { decodeObject, encodeObject } from './object-codec.js';
import type { StoredValue } from './stored-value.js';
import { counterMax } from './version-vector.js';

// A peer replicated an object whose clock holds counters at 2^53 - 1: every later write to the
// key by that actor failed an assertion (INTERNAL), on every replica and after restarts.

const hexOf = (n: number): string => {
  const bytes: number[] = [];
  let rest = n;
  while (rest >= 128) {
    bytes.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return Buffer.from(bytes).toString('hex');
};

/** An object of one entry (actor "a", `counter`, no values), encoded by hand. */
const objectAt = (counter: number): Uint8Array =>
  Buffer.from(`01 01 01 61 ${hexOf(counter)} 00 00`.replaceAll(' ', ''), 'hex');
/** A context of one pair (actor "a", `counter`), encoded by hand. */
const contextAt = (counter: number): Uint8Array =>
  Buffer.from(`01 01 01 61 ${hexOf(counter)}`.replaceAll(' ', ''), 'hex');

function decodeFailure(decode: () => unknown): DecodeError {
  try {
    decode();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  throw new Error('expected a DecodeError');
}

const value: StoredValue = { bytes: Buffer.from('v'), tombstone: false, timestampMs: 1 };
const clockAt = (actor: string, counter: number): DVVSet<StoredValue> => ({
  entries: [{ actor, counter, values: [] }],
  anonymous: [],
});

describe('counters near the edge of what a number holds', () => {
  it('counterMax stays 2^32 below 2^53 - 1', () => {
    expect(counterMax).toBe(Number.MAX_SAFE_INTEGER - 2 ** 32);
  });

  it('decodeObject refuses a counter above counterMax as malformed, "counter out of range"', () => {
    for (const counter of [counterMax + 1, Number.MAX_SAFE_INTEGER]) {
      const e = decodeFailure(() => decodeObject(objectAt(counter)));
      expect(e.code).toBe('malformed');
      expect(e.message).toMatch(/counter out of range/);
    }
    expect(decodeObject(objectAt(counterMax)).entries[0]?.counter).toBe(counterMax);
  });

  it('decodeContext refuses one too, so a client cannot hand one in', () => {
    const fingerprint = new Uint8Array(8);
    const e = decodeFailure(() => decodeContext(contextAt(Number.MAX_SAFE_INTEGER), fingerprint));
    expect([e.code, e.message]).toEqual([
      'malformed',
      expect.stringMatching(/counter out of range/),
    ]);
    expect(decodeContext(contextAt(counterMax), fingerprint)).toEqual([['a', counterMax]]);
    const v2 = Buffer.from(encodeContext([['a', counterMax]], fingerprint));
    expect(v2).toEqual(
      Buffer.concat([Buffer.of(2), fingerprint, contextAt(counterMax).subarray(1)]),
    );
  });

  it('update at counterMax throws CounterRangeError (an operating error), not an assertion', () => {
    const full = clockAt('a', counterMax);
    expect(() => update(fresh(value), full, 'a')).toThrow(CounterRangeError);
    expect(() => update(fresh(value), full, 'a')).toThrow(/counter out of range/);
    // One below still takes its last dot, and the result still encodes and decodes.
    const last = update(fresh(value), clockAt('a', counterMax - 1), 'a');
    expect(last.entries[0]?.counter).toBe(counterMax);
    expect(decodeObject(encodeObject(last)).entries[0]?.counter).toBe(counterMax);
  });

  it('a context naming the actor at counterMax makes update refuse as well', () => {
    expect(() => update(fresh(value, [['a', counterMax]]), undefined, 'a')).toThrow(
      CounterRangeError,
    );
  });

  it('reusableActor leaves an epoch whose counter is used up: the write takes a new epoch', () => {
    const base = 'n1.abc';
    const a1 = epochActor(base, 1);
    expect(reusableActor(clockAt(a1, counterMax - 1), [], base)).toBe(a1);
    expect(reusableActor(clockAt(a1, counterMax), [], base)).toBeUndefined();
  });
});
