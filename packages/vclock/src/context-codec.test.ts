import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecodeLimits, VersionVector } from './index.js';
import { DecodeError, decodeContext, encodeContext, fresh, join, update } from './index.js';
import { AssertionError } from './assert.js';
import { decodeLimitsDefault } from './decode-limits.js';
import { assertVersionVector } from './version-vector.js';
import {
  contextArbitrary,
  decodeOutcome,
  fromHex,
  hex,
  mutate,
  mutationArbitrary,
} from './test-support/arbitraries.js';

const seed = 77002;

/** The key fingerprint most tests encode and decode with (a node's: 8 bytes of a key's digest). */
const fp = fromHex('a1 b2 c3 d4 e5 f6 07 18');
const fpHex = hex(fp);

const codeOf = (bytes: Uint8Array, limits?: DecodeLimits): string => {
  const outcome = decodeOutcome(() => decodeContext(bytes, fp, limits));
  return outcome.ok ? 'ok' : outcome.code;
};

/** The version 1 form of a version 2 context: the same pairs, no fingerprint. */
const unkeyed = (v2: Uint8Array): Uint8Array =>
  v2.length === 0 ? v2 : Uint8Array.from([1, ...v2.subarray(1 + fp.length)]);

/**
 * Decodes `bytes` (with `fp`) or refuses them with a DecodeError; what decodes has one encoding:
 * `bytes` itself for version 2, its version 2 form for version 1.
 */
function expectDecodesCanonicallyOrRefuses(bytes: Uint8Array): boolean {
  const outcome = decodeOutcome(() => decodeContext(bytes, fp));
  if (outcome.ok) {
    assertVersionVector(outcome.value);
    const encoded = encodeContext(outcome.value, fp);
    expect(hex(bytes[0] === 1 ? unkeyed(encoded) : encoded)).toBe(hex(bytes));
  }
  return outcome.ok;
}

describe('encodeContext / decodeContext', () => {
  it('has a stable format (version 2, key fingerprint first), and no bytes for the empty context', () => {
    const vv: VersionVector = [
      ['a', 1],
      ['bé', 300],
    ];
    const pairs = '02' + '0161' + '01' + '0362c3a9' + 'ac02';
    expect(hex(encodeContext(vv, fp))).toBe('02' + fpHex + pairs);
    expect(decodeContext(fromHex('02' + fpHex + pairs), fp)).toEqual(vv);
    expect(encodeContext([], fp)).toEqual(new Uint8Array(0));
    expect(decodeContext(new Uint8Array(0), fp)).toEqual([]);
  });

  it('round-trips every context with its key fingerprint, and the join of what update builds', () => {
    fc.assert(
      fc.property(contextArbitrary, fc.uint8Array({ minLength: 8, maxLength: 8 }), (vv, key) => {
        expect(decodeContext(encodeContext(vv, key), key)).toEqual(vv);
      }),
      { seed, numRuns: 300 },
    );
    const o = update(
      fresh('v2', [['node-a', 3]]),
      update(fresh('v1'), undefined, 'node-a'),
      'nöde-b',
    );
    expect(decodeContext(encodeContext(join(o), fp), fp)).toEqual(join(o));
  });

  it('still decodes version 1 (no fingerprint: contexts clients got before), for any key', () => {
    const vv: VersionVector = [
      ['a', 1],
      ['bé', 300],
    ];
    const v1 = fromHex('01' + '02' + '0161' + '01' + '0362c3a9' + 'ac02');
    expect(decodeContext(v1, fp)).toEqual(vv);
    expect(decodeContext(v1, new Uint8Array(8))).toEqual(vv);
    fc.assert(
      fc.property(contextArbitrary, (vv) => {
        expect(decodeContext(unkeyed(encodeContext(vv, fp)), new Uint8Array(8))).toEqual(vv);
      }),
      { seed, numRuns: 100 },
    );
  });

  it('refuses a context made for another key: key-mismatch, naming both fingerprints', () => {
    const bytes = encodeContext([['a', 1]], fp);
    for (let i = 0; i < fp.length; i++) {
      const other = Uint8Array.from(fp);
      other[i] = other[i]! ^ 0x01;
      const outcome = decodeOutcome(() => decodeContext(bytes, other));
      expect(outcome).toEqual({ ok: false, code: 'key-mismatch' });
    }
    expect(() => decodeContext(bytes, new Uint8Array(8))).toThrow(
      new DecodeError(
        'key-mismatch',
        `context was made for another key (key fingerprint ${fpHex}, this key's 0000000000000000)`,
      ),
    );
    // The empty context names no key: valid with any.
    expect(decodeContext(encodeContext([], fp), new Uint8Array(8))).toEqual([]);
  });

  it('refuses to encode what is not a version vector, or a fingerprint not 8 bytes (programmer errors)', () => {
    expect(() =>
      encodeContext(
        [
          ['b', 1],
          ['a', 1],
        ],
        fp,
      ),
    ).toThrow(AssertionError);
    expect(() => encodeContext([['a', 1.5]], fp)).toThrow(AssertionError);
    expect(() => encodeContext([['a', 1]], new Uint8Array(7))).toThrow(AssertionError);
    expect(() => decodeContext(new Uint8Array(0), new Uint8Array(9))).toThrow(AssertionError);
  });
});

describe('decodeContext on bad input', () => {
  it('names what is wrong with a stable code', () => {
    const v2 = (rest: string): Uint8Array => fromHex('02' + fpHex + rest);
    expect(codeOf(fromHex('03 01 01 61 01'))).toBe('unsupported-version');
    expect(codeOf(fromHex('00 01 01 61 01'))).toBe('unsupported-version');
    expect(codeOf(fromHex('02'))).toBe('truncated');
    expect(codeOf(fromHex('02 a1 b2 c3'))).toBe('truncated'); // fingerprint cut short
    expect(codeOf(v2(''))).toBe('truncated');
    expect(codeOf(v2('00'))).toBe('malformed'); // the empty context is no bytes
    expect(codeOf(v2('01 01 61 01'))).toBe('ok');
    expect(codeOf(v2('01 01 61 01 00'))).toBe('malformed'); // trailing byte
    expect(codeOf(v2('01 01 61 00'))).toBe('malformed'); // counter 0
    expect(codeOf(fromHex('02 00 00 00 00 00 00 00 00 01 01 61 01'))).toBe('key-mismatch');
    // Version 1: the same pairs, no fingerprint.
    expect(codeOf(fromHex('01'))).toBe('truncated');
    expect(codeOf(fromHex('01 00'))).toBe('malformed'); // the empty context is no bytes
    expect(codeOf(fromHex('01 01 01 61'))).toBe('truncated');
    expect(codeOf(fromHex('01 01 01 61 00'))).toBe('malformed'); // counter 0
    expect(codeOf(fromHex('01 01 01 61 01 00'))).toBe('malformed'); // trailing byte
    expect(codeOf(fromHex('01 02 01 62 01 01 61 01'))).toBe('malformed'); // unsorted
    expect(codeOf(fromHex('01 02 01 61 01 01 61 02'))).toBe('malformed'); // repeated
    expect(codeOf(fromHex('01 01 01 80 01'))).toBe('malformed'); // not UTF-8
    expect(codeOf(fromHex('01 01 00 01 00'))).toBe('malformed'); // empty actor
    expect(codeOf(fromHex('01 ff ff ff ff ff ff ff 0f'))).toBe('oversized');
    expect(codeOf(fromHex('01 ff 07 01 61 01'))).toBe('truncated'); // 1023 pairs announced
    expect(codeOf(fromHex('01 01 ff ff ff ff 0f 61'))).toBe('oversized'); // actor length
  });

  it('applies its limits', () => {
    const bytes = encodeContext(
      [
        ['a', 1],
        ['bcd', 2],
      ],
      fp,
    );
    const limits = (overrides: Partial<DecodeLimits>): DecodeLimits => ({
      ...decodeLimitsDefault,
      ...overrides,
    });
    expect(codeOf(bytes, limits({ actorsMax: 2 }))).toBe('ok');
    expect(codeOf(bytes, limits({ actorsMax: 1 }))).toBe('oversized');
    expect(codeOf(bytes, limits({ actorBytesMax: 2 }))).toBe('oversized');
    expect(codeOf(bytes, limits({ inputBytesMax: bytes.length }))).toBe('ok');
    expect(codeOf(bytes, limits({ inputBytesMax: bytes.length - 1 }))).toBe('oversized');
  });

  it('throws only DecodeError on arbitrary bytes and on mutated valid contexts', () => {
    let decoded = 0;
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 48 }),
        fc.array(fc.constantFrom(0x00, 0x01, 0x02, 0x61, 0x62, 0x80), { maxLength: 12 }),
        (bytes, likely) => {
          expectDecodesCanonicallyOrRefuses(bytes);
          expectDecodesCanonicallyOrRefuses(Uint8Array.from([1, ...bytes]));
          expectDecodesCanonicallyOrRefuses(Uint8Array.from([2, ...fp, ...bytes]));
          if (expectDecodesCanonicallyOrRefuses(Uint8Array.from([1, ...likely]))) decoded++;
          if (expectDecodesCanonicallyOrRefuses(Uint8Array.from([2, ...fp, ...likely]))) decoded++;
        },
      ),
      { seed, numRuns: 1000 },
    );
    expect(decoded).toBeGreaterThan(1);
    fc.assert(
      fc.property(
        contextArbitrary,
        fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }),
        (vv, mutations) => {
          const v2 = encodeContext(vv, fp);
          expectDecodesCanonicallyOrRefuses(mutations.reduce(mutate, v2));
          expectDecodesCanonicallyOrRefuses(mutations.reduce(mutate, unkeyed(v2)));
        },
      ),
      { seed, numRuns: 1000 },
    );
  });

  it('refuses every truncation of a non-empty context except the empty one', () => {
    fc.assert(
      fc.property(contextArbitrary, (vv) => {
        for (const bytes of [encodeContext(vv, fp), unkeyed(encodeContext(vv, fp))]) {
          for (let length = 1; length < bytes.length; length++) {
            expect(() => decodeContext(bytes.subarray(0, length), fp)).toThrow(DecodeError);
          }
        }
      }),
      { seed, numRuns: 100 },
    );
  });
});
