import { assert } from './assert.js';
import { partitionCountMax } from './limits.js';
import { md5Top16 } from './md5.js';
import { isPowerOfTwo } from './ring.js';

/**
 * The partition of a key: the top log2(partitionCount) bits of its position, MD5(key) read as a
 * 128-bit unsigned big-endian integer.
 */
export function partitionOf(key: Uint8Array, partitionCount: number): number {
  assert(
    isPowerOfTwo(partitionCount) && partitionCount <= partitionCountMax,
    `partitionCount must be a power of two in 1..${partitionCountMax}, got ${partitionCount}`,
  );
  // partitionCountMax is 2^16, so the partition is always within the digest's first two bytes.
  return md5Top16(key) >>> (16 - Math.log2(partitionCount));
}
