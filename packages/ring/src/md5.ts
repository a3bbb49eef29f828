/**
 * MD5 (RFC 1321), used only to place keys on the ring: not for security. Written here because the
 * pure packages import nothing from node (no node:crypto) and run the same in clients and nodes.
 */

/** Per-round left-rotation amounts (RFC 1321 section 3.4). */
const shifts: readonly number[] = [
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 4,
  11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/** T[i] = floor(abs(sin(i + 1)) * 2^32), as the RFC tabulates it. */
const sines: Int32Array = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);

const blockBytes = 64;
export const md5DigestBytes = 16;

/** The 16-byte MD5 digest of `input`. */
export function md5(input: Uint8Array): Uint8Array {
  const padded = pad(input);
  const state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
  const words = new Int32Array(16);
  for (let offset = 0; offset < padded.length; offset += blockBytes) {
    readWords(padded, offset, words);
    compress(state, words);
  }
  const digest = new Uint8Array(md5DigestBytes);
  for (let i = 0; i < 4; i++) {
    const word = state[i] ?? 0;
    digest[i * 4] = word & 0xff;
    digest[i * 4 + 1] = (word >>> 8) & 0xff;
    digest[i * 4 + 2] = (word >>> 16) & 0xff;
    digest[i * 4 + 3] = (word >>> 24) & 0xff;
  }
  return digest;
}

/** The message, a 0x80 byte, zeros to 56 mod 64, then the bit length as 64-bit little-endian. */
function pad(input: Uint8Array): Uint8Array {
  const paddedBytes = Math.ceil((input.length + 9) / blockBytes) * blockBytes;
  const padded = new Uint8Array(paddedBytes);
  padded.set(input);
  padded[input.length] = 0x80;
  const bitLength = input.length * 8;
  const view = new DataView(padded.buffer);
  view.setUint32(paddedBytes - 8, bitLength >>> 0, true);
  view.setUint32(paddedBytes - 4, Math.floor(bitLength / 2 ** 32), true);
  return padded;
}

function readWords(bytes: Uint8Array, offset: number, words: Int32Array): void {
  for (let i = 0; i < 16; i++) {
    const at = offset + i * 4;
    words[i] = (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24);
  }
}

/** One 64-step MD5 compression of a 16-word block into `state`. */
function compress(state: Int32Array, words: Int32Array): void {
  let a = state[0] ?? 0;
  let b = state[1] ?? 0;
  let c = state[2] ?? 0;
  let d = state[3] ?? 0;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const sum = (a + f + (sines[i] ?? 0) + (words[g] ?? 0)) | 0;
    const shift = shifts[i] ?? 0;
    a = d;
    d = c;
    c = b;
    b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
  }
  state[0] = ((state[0] ?? 0) + a) | 0;
  state[1] = ((state[1] ?? 0) + b) | 0;
  state[2] = ((state[2] ?? 0) + c) | 0;
  state[3] = ((state[3] ?? 0) + d) | 0;
}
