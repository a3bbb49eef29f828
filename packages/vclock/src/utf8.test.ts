import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecodeError } from './decode-error.js';
import { readUtf8, utf8Length, writeUtf8 } from './utf8.js';
import { unicodeArbitrary } from './test-support/arbitraries.js';

const seed = 77004;

function encode(text: string): Uint8Array {
  const out = new Uint8Array(utf8Length(text));
  expect(writeUtf8(out, 0, text)).toBe(out.length);
  return out;
}

describe('UTF-8 of actor names', () => {
  it('encodes as TextEncoder does and decodes back', () => {
    const textArbitraries = [
      unicodeArbitrary(0, 20),
      fc.string({ unit: 'grapheme-ascii', minLength: 60, maxLength: 100 }),
    ];
    for (const textArbitrary of textArbitraries) {
      fc.assert(
        fc.property(textArbitrary, (text) => {
          const bytes = encode(text);
          expect(Buffer.from(bytes).equals(new TextEncoder().encode(text))).toBe(true);
          expect(readUtf8(bytes, 'test')).toBe(text);
        }),
        { seed, numRuns: 300 },
      );
    }
  });

  it('keeps a leading byte order mark as part of the name', () => {
    expect(readUtf8(encode('\ufeffa'), 'test')).toBe('\ufeffa');
  });

  it('refuses invalid UTF-8 with a DecodeError', () => {
    for (const bytes of [
      [0xc0, 0x80],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0xff],
      [0x80],
      [0xf4, 0x90, 0x80, 0x80],
    ]) {
      expect(() => readUtf8(Uint8Array.from(bytes), 'test')).toThrow(DecodeError);
    }
  });
});
