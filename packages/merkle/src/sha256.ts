import { assert } from './assert.js';

/**
 * SHA-256 (FIPS 180-4) in plain TypeScript: the pure packages may not import node:crypto, and the
 * tree needs a hash that every replica computes identically on any platform. A 256-bit
 * cryptographic hash keeps accidental collisions out of the question (see README.md for the odds);
 * speed is secondary because a write hashes three short messages and a root refresh a few KiB.
 */

export const sha256Bytes = 32;
const blockBytes = 64;
// Messages are hashed in one piece by this package (a key is at most 4 MiB by DESIGN.md), but the
// length field is 64-bit: refuse anything whose bit length would not fit a safe integer.
const messageBytesMax = 2 ** 50;

// First 32 bits of the fractional parts of the cube roots of the first 64 primes.
const roundConstants = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// First 32 bits of the fractional parts of the square roots of the first 8 primes.
const initialState = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

// Message schedule scratch space. Safe to share: compress never yields mid-block.
const schedule = new Int32Array(64);

/** Incremental SHA-256: update() any number of times, then digest() once. */
export class Sha256 {
  readonly #state = initialState.slice();
  readonly #pending = new Uint8Array(blockBytes);
  #pendingBytes = 0;
  #messageBytes = 0;
  #finished = false;

  update(data: Uint8Array): this {
    assert(!this.#finished, 'sha256 update after digest');
    assert(this.#messageBytes + data.length <= messageBytesMax, 'sha256 message too long');
    this.#messageBytes += data.length;
    let offset = 0;
    if (this.#pendingBytes > 0) {
      offset = Math.min(blockBytes - this.#pendingBytes, data.length);
      this.#pending.set(data.subarray(0, offset), this.#pendingBytes);
      this.#pendingBytes += offset;
      if (this.#pendingBytes < blockBytes) return this;
      compress(this.#state, this.#pending, 0);
      this.#pendingBytes = 0;
    }
    for (; offset + blockBytes <= data.length; offset += blockBytes)
      compress(this.#state, data, offset);
    this.#pending.set(data.subarray(offset), 0);
    this.#pendingBytes = data.length - offset;
    return this;
  }

  digest(): Uint8Array {
    assert(!this.#finished, 'sha256 digest twice');
    this.#finished = true;
    const pending = this.#pending;
    pending.fill(0, this.#pendingBytes);
    pending[this.#pendingBytes] = 0x80;
    if (this.#pendingBytes + 1 > blockBytes - 8) {
      compress(this.#state, pending, 0);
      pending.fill(0);
    }
    const view = new DataView(pending.buffer, pending.byteOffset, blockBytes);
    const bits = this.#messageBytes * 8;
    view.setUint32(blockBytes - 8, Math.floor(bits / 2 ** 32));
    view.setUint32(blockBytes - 4, bits >>> 0);
    compress(this.#state, pending, 0);
    const out = new Uint8Array(sha256Bytes);
    const outView = new DataView(out.buffer);
    this.#state.forEach((word, i) => outView.setInt32(i * 4, word));
    return out;
  }
}

/** SHA-256 of the concatenation of parts. */
export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const hash = new Sha256();
  for (const part of parts) hash.update(part);
  return hash.digest();
}

// One 64-byte block at bytes[offset]. Int32 arithmetic with `| 0` keeps V8 on small integers.
function compress(state: Int32Array, bytes: Uint8Array, offset: number): void {
  const w = schedule;
  for (let i = 0; i < 16; i++) {
    const at = offset + i * 4;
    w[i] =
      ((bytes[at] ?? 0) << 24) |
      ((bytes[at + 1] ?? 0) << 16) |
      ((bytes[at + 2] ?? 0) << 8) |
      (bytes[at + 3] ?? 0);
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15] ?? 0;
    const y = w[i - 2] ?? 0;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = ((w[i - 16] ?? 0) + s0 + (w[i - 7] ?? 0) + s1) | 0;
  }
  let a = state[0] ?? 0;
  let b = state[1] ?? 0;
  let c = state[2] ?? 0;
  let d = state[3] ?? 0;
  let e = state[4] ?? 0;
  let f = state[5] ?? 0;
  let g = state[6] ?? 0;
  let h = state[7] ?? 0;
  for (let i = 0; i < 64; i++) {
    const sigma1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const choose = (e & f) ^ (~e & g);
    const t1 = (h + sigma1 + choose + (roundConstants[i] ?? 0) + (w[i] ?? 0)) | 0;
    const sigma0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const majority = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (sigma0 + majority) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = ((state[0] ?? 0) + a) | 0;
  state[1] = ((state[1] ?? 0) + b) | 0;
  state[2] = ((state[2] ?? 0) + c) | 0;
  state[3] = ((state[3] ?? 0) + d) | 0;
  state[4] = ((state[4] ?? 0) + e) | 0;
  state[5] = ((state[5] ?? 0) + f) | 0;
  state[6] = ((state[6] ?? 0) + g) | 0;
  state[7] = ((state[7] ?? 0) + h) | 0;
}
