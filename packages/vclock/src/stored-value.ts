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
