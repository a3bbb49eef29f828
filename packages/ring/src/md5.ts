/**
 * MD5 (RFC 1321), used only to place keys on the ring: not for security. Written here because the
 * pure packages import nothing from node (no node:crypto) and run the same in clients and nodes.
 * The hot path (partitionOf on every request) allocates nothing: scratch buffers are
 * module-level, which is safe because this runs synchronously to the end.
 */

/** Per-round left-rotation amounts (RFC 1321 section 3.4). */
const shifts = Int32Array.from([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
  20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6,
  10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);

/** T[i] = floor(abs(sin(i + 1)) * 2^32), as the RFC tabulates it. */
const sines = Int32Array.from(
  { length: 64 },
  (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0,
);

/** Which message word step i reads. */
const wordIndexes = Int32Array.from({ length: 64 }, (_, i) => {
  if (i < 16) return i;
  if (i < 32) return (5 * i + 1) & 15;
  if (i < 48) return (3 * i + 5) & 15;
  return (7 * i) & 15;
});

const blockBytes = 64;
export const md5DigestBytes = 16;

const state = new Int32Array(4);
const words = new Int32Array(16);

/** The 16-byte MD5 digest of `input`. */
export function md5(input: Uint8Array): Uint8Array {
  hash(input);
  const digest = new Uint8Array(md5DigestBytes);
  for (let i = 0; i < md5DigestBytes; i++)
    digest[i] = ((state[i >> 2] ?? 0) >>> ((i & 3) * 8)) & 0xff;
  return digest;
}

/** The first two bytes of MD5(input), big-endian: all that partitionOf needs. */
export function md5Top16(input: Uint8Array): number {
  hash(input);
  const first = state[0] ?? 0;
  return ((first & 0xff) << 8) | ((first >>> 8) & 0xff);
}

/** Leaves MD5(input) in `state`: full blocks straight from the input, then the padded tail. */
function hash(input: Uint8Array): void {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89 | 0;
  state[2] = 0x98badcfe | 0;
  state[3] = 0x10325476;
  const fullBytes = input.length - (input.length % blockBytes);
  for (let offset = 0; offset < fullBytes; offset += blockBytes) {
    readWords(input, offset);
    compress();
  }
  const tailBytes = padTail(input, fullBytes);
  for (let offset = 0; offset < tailBytes; offset += blockBytes) {
    readWords(tail, offset);
    compress();
  }
}

/** Scratch for the last one or two blocks. */
const tail = new Uint8Array(2 * blockBytes);

/**
 * Writes to `tail` the bytes after the last full block, a 0x80 byte, zeros to 56 mod 64 and the
 * bit length as 64-bit little-endian; returns how many tail bytes that makes (64 or 128).
 */
function padTail(input: Uint8Array, from: number): number {
  const rest = input.length - from;
  const tailBytes = rest + 9 <= blockBytes ? blockBytes : 2 * blockBytes;
  tail.fill(0, 0, tailBytes);
  for (let i = 0; i < rest; i++) tail[i] = input[from + i] ?? 0;
  tail[rest] = 0x80;
  const bitLength = input.length * 8;
  writeUint32LittleEndian(tailBytes - 8, bitLength >>> 0);
  writeUint32LittleEndian(tailBytes - 4, Math.floor(bitLength / 2 ** 32));
  return tailBytes;
}

function writeUint32LittleEndian(at: number, value: number): void {
  for (let i = 0; i < 4; i++) tail[at + i] = (value >>> (8 * i)) & 0xff;
}

function readWords(bytes: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const at = offset + i * 4;
    words[i] =
      (bytes[at] ?? 0) |
      ((bytes[at + 1] ?? 0) << 8) |
      ((bytes[at + 2] ?? 0) << 16) |
      ((bytes[at + 3] ?? 0) << 24);
  }
}

/** One 64-step MD5 compression of `words` into `state`: four rounds of 16 steps. */
function compress(): void {
  let a = state[0] ?? 0;
  let b = state[1] ?? 0;
  let c = state[2] ?? 0;
  let d = state[3] ?? 0;
  let i = 0;
  for (; i < 16; i++) {
    const sum =
      (a + ((b & c) | (~b & d)) + (sines[i] ?? 0) + (words[wordIndexes[i] ?? 0] ?? 0)) | 0;
    a = d;
    d = c;
    c = b;
    b = rotateAdd(sum, shifts[i] ?? 0, b);
  }
  for (; i < 32; i++) {
    const sum =
      (a + ((d & b) | (~d & c)) + (sines[i] ?? 0) + (words[wordIndexes[i] ?? 0] ?? 0)) | 0;
    a = d;
    d = c;
    c = b;
    b = rotateAdd(sum, shifts[i] ?? 0, b);
  }
  for (; i < 48; i++) {
    const sum = (a + (b ^ c ^ d) + (sines[i] ?? 0) + (words[wordIndexes[i] ?? 0] ?? 0)) | 0;
    a = d;
    d = c;
    c = b;
    b = rotateAdd(sum, shifts[i] ?? 0, b);
  }
  for (; i < 64; i++) {
    const sum = (a + (c ^ (b | ~d)) + (sines[i] ?? 0) + (words[wordIndexes[i] ?? 0] ?? 0)) | 0;
    a = d;
    d = c;
    c = b;
    b = rotateAdd(sum, shifts[i] ?? 0, b);
  }
  state[0] = ((state[0] ?? 0) + a) | 0;
  state[1] = ((state[1] ?? 0) + b) | 0;
  state[2] = ((state[2] ?? 0) + c) | 0;
  state[3] = ((state[3] ?? 0) + d) | 0;
}

/** b + (sum rotated left by `shift`), in 32 bits. */
function rotateAdd(sum: number, shift: number, b: number): number {
  return (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
}
