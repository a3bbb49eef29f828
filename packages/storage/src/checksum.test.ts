import fc from 'fast-check';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Portable, hintChecksum, objectChecksum } from './checksum.js';

describe('checksum', () => {
  it('is CRC-32 (ISO-HDLC): the standard check value of "123456789"', () => {
    expect(crc32Portable(Buffer.from('123456789'), 0)).toBe(0xcbf43926);
  });

  it('computes the same CRC-32 as zlib, also when continued (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 50 }), (a, b) => {
        const expected = zlib.crc32(Buffer.concat([a, b]));
        expect(crc32Portable(b, crc32Portable(a, 0))).toBe(expected);
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it('gives an empty key the same checksum whatever buffer backs it', () => {
    const object = Buffer.from('v');
    const expected = objectChecksum(1, Buffer.alloc(0), object);
    expect(objectChecksum(1, new Uint8Array(), object)).toBe(expected);
    expect(objectChecksum(1, Buffer.from(new Uint8Array().buffer, 0, 0), object)).toBe(expected);
    expect(objectChecksum(1, Buffer.from(Buffer.alloc(0)), object)).toBe(expected);
  });

  it('changes when the partition, the key/object boundary or a byte changes', () => {
    const base = objectChecksum(1, Buffer.from('ab'), Buffer.from('c'));
    expect(objectChecksum(2, Buffer.from('ab'), Buffer.from('c'))).not.toBe(base);
    expect(objectChecksum(1, Buffer.from('a'), Buffer.from('bc'))).not.toBe(base);
    expect(objectChecksum(1, Buffer.from('ab'), Buffer.from('d'))).not.toBe(base);
  });

  it('covers a hint’s target and creation time', () => {
    const key = Buffer.from('k');
    const object = Buffer.from('o');
    const base = hintChecksum('n2', 10, 1, key, object);
    expect(hintChecksum('n3', 10, 1, key, object)).not.toBe(base);
    expect(hintChecksum('n2', 11, 1, key, object)).not.toBe(base);
    expect(hintChecksum('n2', 10, 1, key, object)).toBe(base);
  });
});
