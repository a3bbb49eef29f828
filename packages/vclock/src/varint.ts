import { assert } from './assert.js';
import { DecodeError } from './decode-error.js';

/**
 * Unsigned LEB128 varints carrying integers in 0..2^53-1: seven bits a byte, low bits first, high
 * bit set on every byte but the last. Only the shortest form is accepted.
 */

/** Largest integer a varint carries: it must stay exact in a JavaScript number. */
export const varintValueMax = Number.MAX_SAFE_INTEGER;
/** Longest varint: 8 bytes carry 56 bits, enough for 53. */
export const varintBytesMax = 8;

const continuationBit = 0x80;
const payloadMask = 0x7f;
const payloadBase = 128;

export function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = Math.floor(value / payloadBase); rest > 0; rest = Math.floor(rest / payloadBase))
    bytes++;
  return bytes;
}

/** Writes `value` at `offset` and returns the offset after it. */
export function writeVarint(out: Uint8Array, offset: number, value: number): number {
  assert(
    Number.isSafeInteger(value) && value >= 0,
    () => `varint value must be an integer in 0..2^53-1, got ${value}`,
  );
  let rest = value;
  let at = offset;
  while (rest >= payloadBase) {
    out[at++] = (rest % payloadBase) | continuationBit;
    rest = Math.floor(rest / payloadBase);
  }
  out[at++] = rest;
  return at;
}

/** Reads input front to back; every read checks the remaining bytes before it takes any. */
export class ByteReader {
  private offset = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get remainingBytes(): number {
    return this.bytes.length - this.offset;
  }

  get offsetBytes(): number {
    return this.offset;
  }

  readByte(what: string): number {
    const byte = this.bytes[this.offset];
    if (byte === undefined)
      throw new DecodeError('truncated', `input ends at byte ${this.offset}, reading ${what}`);
    this.offset++;
    return byte;
  }

  readVarint(what: string): number {
    const start = this.offset;
    let value = 0;
    let scale = 1;
    for (let index = 0; index < varintBytesMax; index++) {
      const byte = this.readByte(what);
      value += (byte & payloadMask) * scale;
      if ((byte & continuationBit) === 0) {
        if (byte === 0 && index > 0)
          throw new DecodeError('malformed', `${what}: overlong varint at byte ${start}`);
        if (value > varintValueMax)
          throw new DecodeError('malformed', `${what}: ${value} exceeds 2^53-1`);
        return value;
      }
      scale *= payloadBase;
    }
    throw new DecodeError(
      'malformed',
      `${what}: varint at byte ${start} is longer than ${varintBytesMax} bytes`,
    );
  }

  /** A view of the next `lengthBytes` bytes, for bytes that are decoded at once and not kept. */
  readView(lengthBytes: number, what: string): Uint8Array {
    this.expectBytes(lengthBytes, what);
    const view = this.bytes.subarray(this.offset, this.offset + lengthBytes);
    this.offset += lengthBytes;
    return view;
  }

  /** Refuses a length that the rest of the input cannot hold, before anything is allocated for it. */
  expectBytes(lengthBytes: number, what: string): void {
    if (lengthBytes > this.remainingBytes) {
      throw new DecodeError(
        'truncated',
        `${what}: ${lengthBytes} bytes announced, ${this.remainingBytes} remain`,
      );
    }
  }

  /** A copy of the next `lengthBytes` bytes (a copy, so the caller may reuse its input buffer). */
  readBytes(lengthBytes: number, what: string): Uint8Array {
    if (lengthBytes > this.remainingBytes) {
      throw new DecodeError(
        'truncated',
        `${what}: ${lengthBytes} bytes announced, ${this.remainingBytes} remain`,
      );
    }
    const copy = this.bytes.slice(this.offset, this.offset + lengthBytes);
    this.offset += lengthBytes;
    return copy;
  }

  /** Refuses trailing bytes: an encoding has exactly one form. */
  expectEnd(what: string): void {
    if (this.remainingBytes !== 0) {
      throw new DecodeError(
        'malformed',
        `${what}: ${this.remainingBytes} trailing bytes at byte ${this.offset}`,
      );
    }
  }
}
