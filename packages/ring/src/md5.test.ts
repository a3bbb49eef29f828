import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { md5 } from './md5.js';

const seed = 1321;

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function md5Hex(text: string): string {
  return hex(md5(new TextEncoder().encode(text)));
}

describe('md5', () => {
  it('matches the RFC 1321 test suite (appendix A.5)', () => {
    expect(md5Hex('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex('a')).toBe('0cc175b9c0f1b6a831c399e269772661');
    expect(md5Hex('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(md5Hex('message digest')).toBe('f96b697d7cb7938d525a2f31aaf161d0');
    expect(md5Hex('abcdefghijklmnopqrstuvwxyz')).toBe('c3fcd3d76192e4007dfb496cca67e13b');
    expect(md5Hex('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')).toBe(
      'd174ab98d277d9f5a5611c2c9f419d9f',
    );
    expect(
      md5Hex('12345678901234567890123456789012345678901234567890123456789012345678901234567890'),
    ).toBe('57edf4a22be3c955ac49da2e2107b67a');
  });

  it('agrees with node:crypto at every length around the 64-byte block and padding edges', () => {
    for (let length = 0; length <= 200; length++) {
      const input = Uint8Array.from({ length }, (_, i) => (i * 31 + length) & 0xff);
      expect(hex(md5(input))).toBe(createHash('md5').update(input).digest('hex'));
    }
  });

  it('agrees with node:crypto on arbitrary byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (input) => {
        expect(hex(md5(input))).toBe(createHash('md5').update(input).digest('hex'));
      }),
      { seed, numRuns: 300 },
    );
  });

  it('does not modify its input', () => {
    const input = Uint8Array.from([1, 2, 3, 4]);
    md5(input);
    expect([...input]).toEqual([1, 2, 3, 4]);
  });
});
