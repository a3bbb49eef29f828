import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssertionError } from './assert.js';
import { DecodeError } from './decode-error.js';
import { ByteReader, varintBytes, varintBytesMax, writeVarint } from './varint.js';

const seed = 77003;

function encode(value: number): Uint8Array {
  const out = new Uint8Array(varintBytes(value));
  expect(writeVarint(out, 0, value)).toBe(out.length);
  return out;
}

const readCode = (bytes: number[]): string => {
  try {
    new ByteReader(Uint8Array.from(bytes)).readVarint('test');
    return 'ok';
  } catch (e) {
    if (e instanceof DecodeError) return e.code;
    throw e;
  }
};

describe('varints', () => {
  it('writes LEB128 in its shortest form', () => {
    expect([...encode(0)]).toEqual([0]);
    expect([...encode(127)]).toEqual([0x7f]);
    expect([...encode(128)]).toEqual([0x80, 0x01]);
    expect([...encode(300)]).toEqual([0xac, 0x02]);
    expect([...encode(Number.MAX_SAFE_INTEGER)]).toEqual([
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f,
    ]);
    expect(varintBytes(Number.MAX_SAFE_INTEGER)).toBe(varintBytesMax);
    expect(() => encode(-1)).toThrow(AssertionError);
    expect(() => encode(2 ** 53)).toThrow(AssertionError);
    expect(() => encode(1.5)).toThrow(AssertionError);
  });

  it('round-trips every integer in 0..2^53-1', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.maxSafeNat(),
          fc.nat(1000),
          fc.integer({ min: 0, max: 52 }).map((e) => 2 ** e),
        ),
        (value) => {
          const reader = new ByteReader(encode(value));
          expect(reader.readVarint('test')).toBe(value);
          expect(reader.remainingBytes).toBe(0);
        },
      ),
      { seed, numRuns: 1000 },
    );
  });

  it('refuses truncated, overlong, too long and too large varints', () => {
    expect(readCode([])).toBe('truncated');
    expect(readCode([0x80])).toBe('truncated');
    expect(readCode([0x80, 0x00])).toBe('malformed');
    expect(readCode([0xff, 0x80, 0x00])).toBe('malformed');
    expect(readCode([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).toBe('malformed');
    expect(readCode([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10])).toBe('malformed');
    expect(readCode([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])).toBe('malformed'); // exactly 2^53
  });

  it('checks lengths against the remaining input', () => {
    const reader = new ByteReader(Uint8Array.of(1, 2, 3));
    expect(() => reader.readBytes(4, 'test')).toThrow(DecodeError);
    expect(reader.readView(2, 'test')).toEqual(Uint8Array.of(1, 2));
    expect(() => reader.expectEnd('test')).toThrow(DecodeError);
    expect(reader.readBytes(1, 'test')).toEqual(Uint8Array.of(3));
    reader.expectEnd('test');
    expect(() => reader.readByte('test')).toThrow(DecodeError);
  });
});
