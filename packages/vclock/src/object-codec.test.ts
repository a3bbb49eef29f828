import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DVVSet, DecodeLimits, StoredValue } from './index.js';
import { DecodeError, decodeObject, encodeObject, fresh, join, sync, update } from './index.js';
import { AssertionError } from './assert.js';
import { decodeLimitsDefault } from './decode-limits.js';
import { clockProblem } from './dvvset.js';
import {
  decodeOutcome,
  fromHex,
  hex,
  mutate,
  mutationArbitrary,
  objectArbitrary,
  viewOf,
} from './test-support/arbitraries.js';

const seed = 77001;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const value = (s: string, timestampMs = 1_700_000_000_000, tombstone = false): StoredValue => ({
  bytes: text(s),
  tombstone,
  timestampMs,
});

/** The decoder on untrusted bytes: a DecodeError, or an object whose encoding is those very bytes. */
function expectDecodesCanonicallyOrRefuses(bytes: Uint8Array, limits?: DecodeLimits): boolean {
  const outcome = decodeOutcome(() => decodeObject(bytes, limits));
  if (outcome.ok) {
    expect(clockProblem(outcome.value)).toBeUndefined();
    expect(hex(encodeObject(outcome.value))).toBe(hex(bytes));
  }
  return outcome.ok;
}

const codeOf = (bytes: Uint8Array, limits?: DecodeLimits): string => {
  const outcome = decodeOutcome(() => decodeObject(bytes, limits));
  return outcome.ok ? 'ok' : outcome.code;
};

describe('encodeObject / decodeObject', () => {
  it('has a stable format (version 1)', () => {
    const a = update(fresh(value('hi', 5)), undefined, 'a');
    const o = update(fresh(value('', 300, true), join(a)), a, 'bé');
    const spaced = (s: string): string => s.replace(/\s+/g, '');
    expect(hex(encodeObject(o))).toBe(
      spaced(
        '01' + // format version
          '02' + // two entries
          '01 61  01  00' + // actor "a", counter 1, no values
          '03 62c3a9  01  01' + // actor "bé", counter 1, one value:
          '01 ac02 00' + // tombstone, timestamp 300, no bytes
          '00', // no anonymous values
      ),
    );
    expect(hex(encodeObject(a))).toBe(spaced('01 01  01 61  01  01  00 05 02 6869  00'));
    expect(decodeObject(fromHex('01 00 00'))).toEqual({ entries: [], anonymous: [] });
  });

  it('round-trips every well-formed object', () => {
    fc.assert(
      fc.property(objectArbitrary, (o) => {
        const bytes = encodeObject(o);
        expect(viewOf(decodeObject(bytes))).toEqual(viewOf(o));
      }),
      { seed, numRuns: 300 },
    );
  });

  it('round-trips what update and sync build', () => {
    const a = update(fresh(value('v1')), undefined, 'node-a');
    const b = update(fresh(value('v2'), join(a)), undefined, 'node-b');
    const c = update(fresh(value('v3', 7, true)), a, 'nöde-c');
    const merged = sync(sync(a, b), c);
    expect(decodeObject(encodeObject(merged))).toEqual(merged);
  });

  it('copies value bytes out of the input, so the caller may reuse its buffer', () => {
    const bytes = encodeObject(update(fresh(value('abc')), undefined, 'a'));
    const decoded = decodeObject(bytes);
    bytes.fill(0);
    expect(decoded.entries[0]?.values[0]?.bytes).toEqual(text('abc'));
  });

  it('refuses to encode a malformed object (a programmer error)', () => {
    const bad: DVVSet<StoredValue> = {
      entries: [{ actor: 'a', counter: 1, values: [value('x'), value('y')] }],
      anonymous: [],
    };
    expect(() => encodeObject(bad)).toThrow(AssertionError);
    const badTime: DVVSet<StoredValue> = { entries: [], anonymous: [value('x', -1)] };
    expect(() => encodeObject(badTime)).toThrow(AssertionError);
  });
});

describe('decodeObject on bad input', () => {
  const valid = encodeObject(update(fresh(value('hello')), undefined, 'node-a'));

  it('names what is wrong with a stable code', () => {
    expect(codeOf(new Uint8Array(0))).toBe('truncated');
    expect(codeOf(fromHex('02 00 00'))).toBe('unsupported-version');
    expect(codeOf(fromHex('00'))).toBe('unsupported-version');
    expect(codeOf(fromHex('01 00'))).toBe('truncated');
    expect(codeOf(fromHex('01 00 00 00'))).toBe('malformed'); // trailing byte
    expect(codeOf(fromHex('01 80 00 00'))).toBe('malformed'); // overlong varint
    expect(codeOf(fromHex('01 ff ff ff ff ff ff ff ff 01'))).toBe('malformed'); // varint over 8 bytes
    expect(codeOf(fromHex('01 ff ff ff ff ff ff ff 7f'))).toBe('malformed'); // varint over 2^53-1
    expect(codeOf(fromHex('01 01 00 01 00 00'))).toBe('malformed'); // empty actor
    expect(codeOf(fromHex('01 01 01 61 00 00 00'))).toBe('malformed'); // counter 0
    expect(codeOf(fromHex('01 01 01 61 01 02 00 00 00 00 00 00 00'))).toBe('malformed'); // 2 values at 1 dot
    expect(codeOf(fromHex('01 02 01 62 01 00 01 61 01 00 00'))).toBe('malformed'); // actors unsorted
    expect(codeOf(fromHex('01 02 01 61 01 00 01 61 01 00 00'))).toBe('malformed'); // actor twice
    expect(codeOf(fromHex('01 01 02 c0 80 01 00 00'))).toBe('malformed'); // overlong UTF-8
    expect(codeOf(fromHex('01 01 03 ed a0 80 01 00 00'))).toBe('malformed'); // UTF-8 surrogate
    expect(codeOf(fromHex('01 01 01 ff 01 00 00'))).toBe('malformed'); // not UTF-8
    expect(codeOf(fromHex('01 00 01 02 00 00'))).toBe('malformed'); // unknown value flag
    expect(codeOf(fromHex('01 00 01 00 00 05 61'))).toBe('truncated'); // value shorter than announced
  });

  it('refuses announced sizes beyond the limits or the input before allocating anything', () => {
    const huge = 'ff ff ff ff ff ff ff 0f'; // 2^53 - 1
    expect(codeOf(fromHex(`01 ${huge}`))).toBe('oversized'); // entries
    expect(codeOf(fromHex('01 ff 07'))).toBe('truncated'); // 1023 entries, in the limit, not in the input
    expect(codeOf(fromHex(`01 00 ${huge}`))).toBe('oversized'); // anonymous values
    expect(codeOf(fromHex('01 00 ff 1f'))).toBe('truncated'); // 4095 values, in the limit, not in the input
    expect(codeOf(fromHex(`01 00 01 00 00 ${huge}`))).toBe('oversized'); // value length
    expect(codeOf(fromHex('01 00 01 00 00 ff ff ff 01'))).toBe('truncated'); // 4 MiB - 1, not in the input
    expect(codeOf(fromHex(`01 01 ${huge}`))).toBe('oversized'); // actor length
    expect(codeOf(fromHex('01 01 ff 01 61'))).toBe('truncated'); // 255-byte actor, not in the input
    expect(codeOf(fromHex(`01 01 01 61 ${huge} ${huge}`))).toBe('oversized'); // values of an entry
  });

  it('applies each limit it is given', () => {
    const limits = (overrides: Partial<DecodeLimits>): DecodeLimits => ({
      ...decodeLimitsDefault,
      ...overrides,
    });
    let o: DVVSet<StoredValue> = { entries: [], anonymous: [] };
    for (const actor of ['a', 'b', 'c'])
      o = sync(o, update(fresh(value('12345')), undefined, actor));
    const bytes = encodeObject(o);
    expect(codeOf(bytes, limits({}))).toBe('ok');
    expect(codeOf(bytes, limits({ actorsMax: 2 }))).toBe('oversized');
    expect(codeOf(bytes, limits({ valuesMax: 2 }))).toBe('oversized');
    expect(codeOf(bytes, limits({ valuesMax: 3 }))).toBe('ok');
    expect(codeOf(bytes, limits({ valueBytesMax: 4 }))).toBe('oversized');
    expect(codeOf(bytes, limits({ inputBytesMax: bytes.length - 1 }))).toBe('oversized');
    expect(
      codeOf(
        encodeObject(update(fresh(value('')), undefined, 'abc')),
        limits({ actorBytesMax: 2 }),
      ),
    ).toBe('oversized');
    expect(() => decodeObject(bytes, limits({ valuesMax: -1 }))).toThrow(AssertionError);
  });

  it('throws only DecodeError on arbitrary bytes, and decodes only canonical encodings', () => {
    const arbitraryInput = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.uint8Array({ maxLength: 64 }).map((tail) => Uint8Array.from([1, ...tail])),
      fc
        .array(fc.constantFrom(0x00, 0x01, 0x02, 0x61, 0x7f, 0x80, 0xff), { maxLength: 24 })
        .map((b) => Uint8Array.from([1, ...b])),
      // small counts, lengths and one-letter actors: often a valid object
      fc
        .array(fc.constantFrom(0x00, 0x00, 0x01, 0x01, 0x61), { maxLength: 12 })
        .map((b) => Uint8Array.from([1, ...b])),
    );
    let decoded = 0;
    fc.assert(
      fc.property(arbitraryInput, (bytes) => {
        if (expectDecodesCanonicallyOrRefuses(bytes)) decoded++;
      }),
      { seed, numRuns: 1500 },
    );
    expect(decoded).toBeGreaterThan(0); // the generator reaches valid encodings, not only garbage
  });

  it('throws only DecodeError on mutated valid encodings', () => {
    const outcomes = new Set<string>();
    fc.assert(
      fc.property(
        objectArbitrary,
        fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }),
        (o, mutations) => {
          const bytes = mutations.reduce(mutate, encodeObject(o));
          outcomes.add(codeOf(bytes));
          expectDecodesCanonicallyOrRefuses(bytes);
        },
      ),
      { seed, numRuns: 1500 },
    );
    expect([...outcomes].sort()).toEqual([
      'malformed',
      'ok',
      'oversized',
      'truncated',
      'unsupported-version',
    ]);
  });

  it('refuses every truncation of a valid encoding', () => {
    fc.assert(
      fc.property(objectArbitrary, (o) => {
        const bytes = encodeObject(o);
        for (let length = 0; length < bytes.length; length++) {
          expect(() => decodeObject(bytes.subarray(0, length))).toThrow(DecodeError);
        }
      }),
      { seed, numRuns: 80 },
    );
    expect(codeOf(valid)).toBe('ok');
  });
});
