import fc from 'fast-check';
import type { DVVSet, Entry, StoredValue, VersionVector } from '../index.js';
import { DecodeError } from '../index.js';
import { counterMax, isActor } from '../version-vector.js';

/**
 * Code points of every UTF-8 length, never a surrogate (fast-check's 'binary' unit would do,
 * but builds its tables for seconds).
 */
const codePointArbitrary = fc.oneof(
  fc.integer({ min: 0x00, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0x7ff }),
  fc.integer({ min: 0x800, max: 0xd7ff }),
  fc.integer({ min: 0xe000, max: 0xffff }),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
);

/** Well-formed strings of any Unicode text. */
export function unicodeArbitrary(lengthMin: number, lengthMax: number): fc.Arbitrary<string> {
  return fc
    .array(codePointArbitrary, { minLength: lengthMin, maxLength: lengthMax })
    .map((points) => String.fromCodePoint(...points));
}

/** Actor names: ASCII ids, any Unicode (astral, U+FEFF, NUL), never lone surrogates. */
export const actorArbitrary: fc.Arbitrary<string> = fc
  .oneof(
    fc.constantFrom('node-a', 'node-b', 'nöde-c', '\ufeffbom', '😀', 'a\u0000b', 'x'.repeat(70)),
    fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 10 }),
    unicodeArbitrary(1, 6),
  )
  .filter(isActor);

const sortActors = (actors: string[]): string[] =>
  [...actors].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));

export const counterArbitrary: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1, max: 10 }),
  fc.integer({ min: 1, max: 2 ** 32 }),
  fc.constant(counterMax),
);

export const storedValueArbitrary: fc.Arbitrary<StoredValue> = fc.record({
  bytes: fc.uint8Array({ maxLength: 40 }),
  tombstone: fc.boolean(),
  timestampMs: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 1_600_000_000_000, max: 2_000_000_000_000 }),
    fc.maxSafeNat(),
  ),
});

function entryArbitrary(actor: string): fc.Arbitrary<Entry<StoredValue>> {
  return fc
    .tuple(fc.array(storedValueArbitrary, { maxLength: 3 }), counterArbitrary)
    .map(([values, counter]) => ({ actor, counter: Math.max(counter, values.length), values }));
}

/** Well-formed objects (not only reachable ones): every shape the encoding must carry. */
export const objectArbitrary: fc.Arbitrary<DVVSet<StoredValue>> = fc
  .tuple(
    fc.uniqueArray(actorArbitrary, { maxLength: 5 }),
    fc.array(storedValueArbitrary, { maxLength: 2 }),
  )
  .chain(([actors, anonymous]) =>
    fc.tuple(...sortActors(actors).map(entryArbitrary)).map((entries) => ({ entries, anonymous })),
  );

export const contextArbitrary: fc.Arbitrary<VersionVector> = fc
  .uniqueArray(fc.tuple(actorArbitrary, counterArbitrary), {
    selector: ([actor]) => actor,
    maxLength: 6,
  })
  .map((pairs) => [...pairs].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));

/** A change to valid bytes that a disk, a network or a hostile peer could make. */
export type Mutation =
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly byte: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number };

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    byte: fc.constantFrom(0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0xed),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    // large varints (announcing huge counts or lengths), or random bytes
    bytes: fc.oneof(
      fc.constantFrom(
        Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f),
        Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x01),
        Uint8Array.of(0xff, 0xff, 0xff, 0x7f),
      ),
      fc.uint8Array({ minLength: 1, maxLength: 4 }),
    ),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 4 }),
  }),
);

export function mutate(bytes: Uint8Array, mutation: Mutation): Uint8Array {
  const at = bytes.length === 0 ? 0 : mutation.at % bytes.length;
  const copy = Uint8Array.from(bytes);
  switch (mutation.kind) {
    case 'truncate':
      return bytes.subarray(0, at);
    case 'flip':
      if (copy.length > 0) copy[at] = copy[at]! ^ (1 << mutation.bit);
      return copy;
    case 'set':
      if (copy.length > 0) copy[at] = mutation.byte;
      return copy;
    case 'insert':
      return Uint8Array.from([...bytes.subarray(0, at), ...mutation.bytes, ...bytes.subarray(at)]);
    case 'delete':
      return Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + mutation.count)]);
  }
}

/**
 * Runs a decoder on untrusted bytes: the value it returns, or the code of the DecodeError it
 * throws. Any other exception propagates and fails the test.
 */
export function decodeOutcome<T>(
  decode: () => T,
): { ok: true; value: T } | { ok: false; code: DecodeError['code'] } {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (e instanceof DecodeError) return { ok: false, code: e.code };
    throw e;
  }
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
export const fromHex = (text: string): Uint8Array =>
  Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

/**
 * An object with value bytes as hex strings: deep equality on Uint8Array is slow in Vitest, and
 * property tests compare thousands of objects.
 */
export function viewOf(o: DVVSet<StoredValue>): unknown {
  const view = (v: StoredValue): unknown => ({ ...v, bytes: hex(v.bytes) });
  return {
    entries: o.entries.map((e) => ({ ...e, values: e.values.map(view) })),
    anonymous: o.anonymous.map(view),
  };
}
