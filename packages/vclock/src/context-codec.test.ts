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

const codeOf = (bytes: Uint8Array, limits?: DecodeLimits): string => {
  const outcome = decodeOutcome(() => decodeContext(bytes, limits));
  return outcome.ok ? 'ok' : outcome.code;
};

function expectDecodesCanonicallyOrRefuses(bytes: Uint8Array): boolean {
  const outcome = decodeOutcome(() => decodeContext(bytes));
  if (outcome.ok) {
    assertVersionVector(outcome.value);
    expect(hex(encodeContext(outcome.value))).toBe(hex(bytes));
  }
  return outcome.ok;
}

describe('encodeContext / decodeContext', () => {
  it('has a stable format (version 1), and no bytes for the empty context', () => {
    const vv: VersionVector = [
      ['a', 1],
      ['bé', 300],
    ];
    expect(hex(encodeContext(vv))).toBe('01' + '02' + '0161' + '01' + '0362c3a9' + 'ac02');
    expect(encodeContext([])).toEqual(new Uint8Array(0));
    expect(decodeContext(new Uint8Array(0))).toEqual([]);
  });

  it('round-trips every context, and the join of what update builds', () => {
    fc.assert(
      fc.property(contextArbitrary, (vv) => {
        expect(decodeContext(encodeContext(vv))).toEqual(vv);
      }),
      { seed, numRuns: 300 },
    );
    const o = update(
      fresh('v2', [['node-a', 3]]),
      update(fresh('v1'), undefined, 'node-a'),
      'nöde-b',
    );
    expect(decodeContext(encodeContext(join(o)))).toEqual(join(o));
  });

  it('refuses to encode what is not a version vector (a programmer error)', () => {
    expect(() =>
      encodeContext([
        ['b', 1],
        ['a', 1],
      ]),
    ).toThrow(AssertionError);
    expect(() => encodeContext([['a', 1.5]])).toThrow(AssertionError);
  });
});

describe('decodeContext on bad input', () => {
  it('names what is wrong with a stable code', () => {
    expect(codeOf(fromHex('02 01 01 61 01'))).toBe('unsupported-version');
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
    const bytes = encodeContext([
      ['a', 1],
      ['bcd', 2],
    ]);
    const limits = (overrides: Partial<DecodeLimits>): DecodeLimits => ({
      ...decodeLimitsDefault,
      ...overrides,
    });
    expect(codeOf(bytes, limits({ actorsMax: 2 }))).toBe('ok');
    expect(codeOf(bytes, limits({ actorsMax: 1 }))).toBe('oversized');
    expect(codeOf(bytes, limits({ actorBytesMax: 2 }))).toBe('oversized');
    expect(codeOf(bytes, limits({ inputBytesMax: 4 }))).toBe('oversized');
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
          if (expectDecodesCanonicallyOrRefuses(Uint8Array.from([1, ...likely]))) decoded++;
        },
      ),
      { seed, numRuns: 1000 },
    );
    expect(decoded).toBeGreaterThan(0);
    fc.assert(
      fc.property(
        contextArbitrary,
        fc.array(mutationArbitrary, { minLength: 1, maxLength: 3 }),
        (vv, mutations) => {
          expectDecodesCanonicallyOrRefuses(mutations.reduce(mutate, encodeContext(vv)));
        },
      ),
      { seed, numRuns: 1000 },
    );
  });

  it('refuses every truncation of a non-empty context except the empty one', () => {
    fc.assert(
      fc.property(contextArbitrary, (vv) => {
        const bytes = encodeContext(vv);
        for (let length = 1; length < bytes.length; length++) {
          expect(() => decodeContext(bytes.subarray(0, length))).toThrow(DecodeError);
        }
      }),
      { seed, numRuns: 100 },
    );
  });
});
