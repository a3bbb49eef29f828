/**
 * What a node stores at each dot: the client's bytes, or a tombstone (a delete is a put of a
 * tombstone, DESIGN.md section 3), and the coordinator's wall-clock time of the write, which
 * tombstone garbage collection and operators read (never used to order writes).
 */
export interface StoredValue {
  readonly bytes: Uint8Array;
  readonly tombstone: boolean;
  readonly timestampMs: number;
}

/** Same value: for `sync` on clocks with anonymous values, whose values carry no dot to compare. */
export function storedValueEquals(a: StoredValue, b: StoredValue): boolean {
  if (
    a.tombstone !== b.tombstone ||
    a.timestampMs !== b.timestampMs ||
    a.bytes.length !== b.bytes.length
  )
    return false;
  for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== b.bytes[i]) return false;
  return true;
}
