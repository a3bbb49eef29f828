// Random and mutated bytes, numbers and text for the fuzzer, all from the run's seeded generator
// (pure: no clock, no global randomness), so a seed replays the same sequence of choices.
import type { Rng } from '../chaos/prng.js';

/** uint32 values at the edges of what decoders and range checks meet. */
export const uint32Edges: readonly number[] = [
  0,
  1,
  127,
  128,
  255,
  256,
  65_535,
  65_536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
];

/** uint64 values at the edges: 2^53 is where JavaScript numbers stop being exact. */
export const uint64Edges: readonly bigint[] = [
  0n,
  1n,
  2n ** 32n,
  2n ** 53n - 2n ** 32n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** Largest random body or field the fuzzer makes: above the client port's ~1.1 MiB limit. */
export const bytesRandomMax = 2 * 1024 * 1024;

/** Mutations applied to one message at most: a few, so most results stay near the original. */
const mutationsMax = 4;

export function chance(rng: Rng, probability: number): boolean {
  return rng.next() < probability;
}

export function randomBytes(rng: Rng, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = rng.int(0, 255);
  return out;
}

/** A length skewed small: most fields are short, a few long, very few huge. */
export function randomLength(rng: Rng): number {
  const r = rng.next();
  if (r < 0.5) return rng.int(0, 16);
  if (r < 0.85) return rng.int(17, 256);
  if (r < 0.985) return rng.int(257, 4096);
  if (r < 0.997) return rng.int(4097, 70_000);
  return rng.int(70_001, bytesRandomMax);
}

export function uint32(rng: Rng, typical: () => number): number {
  return chance(rng, 0.8) ? typical() : rng.pick(uint32Edges);
}

export function uint64(rng: Rng, typical: () => bigint): bigint {
  return chance(rng, 0.8) ? typical() : rng.pick(uint64Edges);
}

/** Text: short ASCII mostly; sometimes non-ASCII, a lone surrogate, control characters or long. */
export function randomText(rng: Rng): string {
  const r = rng.next();
  if (r < 0.6) return randomBytes(rng, rng.int(0, 12)).toString('hex');
  if (r < 0.7) return 'é漢😀'.repeat(rng.int(1, 4));
  if (r < 0.8) return `x\ud800y${String.fromCharCode(rng.int(0, 31))}`;
  if (r < 0.95) return randomBytes(rng, rng.int(1, 64)).toString('latin1');
  return 'L'.repeat(rng.int(200, 70_000));
}

/** A prefix of the input, shorter than it (empty included). */
export function truncate(rng: Rng, input: Buffer): Buffer {
  if (input.length === 0) return input;
  return input.subarray(0, rng.int(0, input.length - 1));
}

const interestingBytes = [0x00, 0x01, 0x7f, 0x80, 0xff];

function mutateOnce(rng: Rng, input: Buffer): Buffer {
  const at = input.length === 0 ? 0 : rng.int(0, input.length - 1);
  const out = Buffer.from(input);
  switch (rng.int(0, 6)) {
    case 0:
      if (out.length > 0) out[at] = (out[at] ?? 0) ^ (1 << rng.int(0, 7));
      return out;
    case 1:
      if (out.length > 0) out[at] = rng.pick(interestingBytes);
      return out;
    case 2:
      return Buffer.concat([
        out.subarray(0, at),
        randomBytes(rng, rng.int(1, 8)),
        out.subarray(at),
      ]);
    case 3:
      return Buffer.concat([out.subarray(0, at), out.subarray(at + rng.int(1, 8))]);
    case 4: {
      const end = Math.min(out.length, at + rng.int(1, 32));
      return Buffer.concat([out.subarray(0, end), out.subarray(at, end), out.subarray(end)]);
    }
    case 5:
      return truncate(rng, out);
    default:
      return Buffer.concat([out, randomBytes(rng, rng.int(1, 16))]);
  }
}

/** One to a few byte-level mutations: bit flips, odd bytes, inserts, deletes, repeats, cuts. */
export function mutateBytes(rng: Rng, input: Buffer): Buffer {
  let out = input;
  const count = rng.int(1, mutationsMax);
  for (let i = 0; i < count; i++) out = mutateOnce(rng, out);
  return out;
}
