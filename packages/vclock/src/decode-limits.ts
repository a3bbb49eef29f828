import { assert } from './assert.js';

/**
 * Bounds the decoders enforce on bytes from disk or the wire, so that garbage or a hostile peer
 * cannot make them allocate or loop beyond what the input itself allows. Writers must stay well
 * inside them (a node refuses a put that would create more siblings than its configured limit
 * long before `valuesMax`), or the object they write becomes undecodable.
 */
export interface DecodeLimits {
  /** Entries in a clock or context: one per actor (storage incarnation) that ever coordinated a write of the key. */
  readonly actorsMax: number;
  /** UTF-8 bytes of one actor name. */
  readonly actorBytesMax: number;
  /** Values in one object: siblings, tombstones included, dotted and anonymous together. */
  readonly valuesMax: number;
  /** Bytes of one value. */
  readonly valueBytesMax: number;
  /** Bytes of the whole encoded object or context. */
  readonly inputBytesMax: number;
}

export const decodeLimitsDefault: DecodeLimits = Object.freeze({
  // Clocks hold one entry per coordinating incarnation: a few per replica over a key's lifetime.
  actorsMax: 1024,
  actorBytesMax: 255,
  // Riak warns at 25 siblings and refuses at 100 by default; this is a ceiling against garbage.
  valuesMax: 4096,
  // The hard ceiling on values (DESIGN.md section 2).
  valueBytesMax: 4 * 1024 * 1024,
  // The storage engine's default largest object.
  inputBytesMax: 64 * 1024 * 1024,
});

export function assertDecodeLimits(limits: DecodeLimits): void {
  for (const [name, limit] of Object.entries(limits)) {
    assert(
      Number.isSafeInteger(limit) && limit >= 0,
      () => `decode limit ${name} must be a non-negative integer, got ${String(limit)}`,
    );
  }
}
